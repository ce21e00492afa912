"""TSPO (paper 003): an event-aware temporal agent on frozen features.

Two agents answer to ``tspo``, told apart by what the checkpoint is:

- ``tspo=CKPT_DIR``, a folder ``framepick train tspo`` wrote (it has ``policy.json``): framepick's
  own trainable variant, :mod:`framepick.policies.tspo` (re-implemented from the paper's text).
- ``tspo=SOURCE`` for anything else (a TSPO-0.4B folder, a hub id in the local Hugging Face cache,
  an agent state dict ``FILE.pth``): the authors' released agent, exactly as ``tspo-release=SOURCE``
  runs it (:mod:`framepick.select.tspo_release`).

Either way ``mode`` is ``topk`` (default) or their ``bin-max``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.policies.tspo_modes import Mode, check_mode
from framepick.registry import register_selector
from framepick.select.base import SelectorInput, SelectorOutput
from framepick.select.learned import LearnedSelector

if TYPE_CHECKING:
    from framepick.select.tspo_release import TSPOReleaseSelector


@register_selector("tspo")
@dataclass(frozen=True)
class TSPOSelector(LearnedSelector):
    """TSPO temporal agent (learned, tspo=CKPT from `framepick train tspo`; a TSPO-0.4B source runs the authors' agent, as tspo-release)."""

    name: ClassVar[str] = "tspo"

    mode: Mode = "topk"
    """``topk`` (the k best of S) or ``bin-max`` (the best of each of k even bins, the authors' Video-MME mode)."""
    window: int | None = None
    """The authors' agent only: frames each frame attends to (default 12, theirs). framepick's
    checkpoints keep their window in ``policy.json``."""

    def __post_init__(self) -> None:
        check_mode(self.mode)
        if self.release() is not None:
            return  # the authors' agent: its source was checked as it was built
        super().__post_init__()
        if self.window is not None and self.checkpoint is not None:
            raise InvalidArgumentError(
                f"window is a parameter of the TSPO authors' agent; checkpoint {self.checkpoint!r} "
                "(from `framepick train tspo`) keeps its own window in policy.json"
            )

    def release(self) -> TSPOReleaseSelector | None:
        """The authors' agent when :attr:`checkpoint` is theirs (not a ``framepick train`` folder), else None."""
        if not isinstance(self.checkpoint, str) or not self.checkpoint.strip():
            return None
        from framepick.policies.tspo_release_io import is_framepick_checkpoint

        if is_framepick_checkpoint(self.checkpoint):
            return None
        from framepick.policies.tspo_release import RELEASE_WINDOW
        from framepick.select.tspo_release import TSPOReleaseSelector

        return TSPOReleaseSelector(self.checkpoint, self.mode, RELEASE_WINDOW if self.window is None else self.window)

    def auto_encoder(self) -> str | None:
        release = self.release()
        return super().auto_encoder() if release is None else release.auto_encoder()

    def params(self) -> dict:
        release = self.release()
        agent = {"agent": "framepick"} if release is None else {"agent": "release", "window": release.window}
        return {**asdict(self), **agent}

    def policy_options(self) -> dict:
        return {"mode": self.mode}

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        release = self.release()
        return super().select(inputs, k, rng) if release is None else release.select(inputs, k, rng)
