"""The answerer interface: frames and a multiple-choice question in, an answer out.

Real MLLM backends (an OpenAI-compatible server, a local transformers model) and the offline
matcher implement the same :class:`Answerer`, so rewards and accuracy are computed one way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from framepick.types import option_letter


@dataclass(frozen=True)
class Answer:
    """What an answerer said, with a probability per option when the backend can give them."""

    letter: str | None
    """The chosen option's letter, or None when the reply named none."""
    option_probs: tuple[float, ...] | None = None
    """One probability per option, summing to 1, when the backend exposes them."""
    text: str | None = None
    """The raw reply, for backends that generate text."""

    def __post_init__(self) -> None:
        if self.option_probs is not None:
            probs = np.asarray(self.option_probs, dtype=np.float64)
            if probs.ndim != 1 or probs.size == 0 or np.any(probs < 0) or not np.isclose(probs.sum(), 1.0, atol=1e-6):
                raise ValueError(f"option_probs must be a probability vector, got {self.option_probs}")
            object.__setattr__(self, "option_probs", tuple(float(p) for p in probs))

    @classmethod
    def from_probs(cls, probs: Sequence[float], text: str | None = None) -> "Answer":
        probs = np.asarray(probs, dtype=np.float64)
        return cls(letter=option_letter(int(np.argmax(probs))), option_probs=tuple(probs), text=text)


class Answerer(ABC):
    """Answers a multiple-choice question about a few frames of a video."""

    id: str
    """Names the backend and its model; keys the answer cache."""

    @abstractmethod
    def answer(
        self,
        frames: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        """``frames`` are [n,H,W,3] uint8 RGB in time order, ``timestamps`` their seconds."""
