"""ReFoCUS (paper 001): an autoregressive frame-selection policy on frozen features, trained with GRPO.

The policy itself is :mod:`framepick.policies.refocus`; ``framepick train refocus`` trains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from framepick.registry import register_selector
from framepick.select.learned import LearnedSelector


@register_selector("refocus")
@dataclass(frozen=True)
class RefocusSelector(LearnedSelector):
    """ReFoCUS policy (learned, needs refocus=CKPT): frames picked one by one, each step seeing those already chosen."""

    name: ClassVar[str] = "refocus"
