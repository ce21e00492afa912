"""VideoITG (paper 002): a full-attention relevance classifier on frozen features, spread by instruction type.

The classifier itself is :mod:`framepick.policies.videoitg` and the instruction typing and
spreading rules are :mod:`framepick.policies.instruction`; ``framepick train videoitg`` trains it
with per-frame binary cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from framepick.policies.instruction import check_instruction
from framepick.registry import register_selector
from framepick.select.learned import LearnedSelector


@register_selector("videoitg")
@dataclass(frozen=True)
class VideoITGSelector(LearnedSelector):
    """VideoITG classifier (learned, needs videoitg=CKPT): per-frame relevance, spread by the question's type."""

    name: ClassVar[str] = "videoitg"
    instruction: str = "auto"
    """Instruction type deciding how frames are spread: auto (typed from the question) or
    semantic, motion, semantic_motion, no_clue."""

    def __post_init__(self) -> None:
        super().__post_init__()
        # The choices and their check live once, beside the rules that spread frames by type
        # (torch-free), so the selector refuses exactly what the classifier would.
        check_instruction(self.instruction)

    def policy_options(self) -> dict:
        return {"instruction": self.instruction}
