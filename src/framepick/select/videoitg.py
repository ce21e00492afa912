"""VideoITG (paper 002): a full-attention relevance classifier on frozen features, spread by instruction type.

The classifier itself is :mod:`framepick.policies.videoitg` and the instruction typing and
spreading rules are :mod:`framepick.policies.instruction`; ``framepick train videoitg`` trains it
with per-frame binary cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from framepick.errors import InvalidArgumentError
from framepick.policies.instruction import INSTRUCTION_TYPES
from framepick.registry import register_selector
from framepick.select.learned import LearnedSelector

# The types themselves are defined once, next to the rules that spread frames by them (torch-free).
INSTRUCTIONS = ("auto", *INSTRUCTION_TYPES)


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
        if not isinstance(self.instruction, str) or self.instruction not in INSTRUCTIONS:
            raise InvalidArgumentError(
                f"instruction must be one of {', '.join(INSTRUCTIONS)}, got {self.instruction!r}"
            )

    def policy_options(self) -> dict:
        return {"instruction": self.instruction}
