"""TSPO (paper 003): an event-aware temporal agent on frozen features, trained with GRPO.

The agent itself is :mod:`framepick.policies.tspo`; ``framepick train tspo`` trains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from framepick.registry import register_selector
from framepick.select.learned import LearnedSelector


@register_selector("tspo")
@dataclass(frozen=True)
class TSPOSelector(LearnedSelector):
    """TSPO temporal agent (learned, needs tspo=CKPT): top-k of event- plus frame-level query similarity."""

    name: ClassVar[str] = "tspo"
