"""The selector interface: what every frame-selection method receives and returns.

A selector is a small dataclass holding its hyper-parameters (validated in ``__post_init__``) with
one method, :meth:`Selector.select`. It works in *candidate positions* (0 .. T-1); the pipeline
maps positions to source frame indices and timestamps. Class attributes tell the pipeline what to
compute before calling it, so that, e.g., ``uniform`` never loads an encoder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Candidates, Clip, Features, Scene

Need = Literal["scores", "scenes", "features", "options"]


@dataclass(frozen=True)
class SelectorInput:
    """Everything a selector may look at. Fields a selector does not declare in ``needs`` may be None."""

    num_candidates: int
    scores: np.ndarray | None = None
    """[T] query relevance per candidate, higher is more relevant (e.g. cosine similarity)."""
    scenes: tuple[Scene, ...] | None = None
    """Scenes covering 0 .. T-1 in order, from histogram-difference segmentation."""
    clips: tuple[Clip, ...] | None = None
    """Key clips given by the caller (e.g. a K-frames model's output), in candidate positions."""
    features: Features | None = None
    """[T,D] frame embeddings, for learned selectors."""
    query_embedding: np.ndarray | None = None
    """[Q,D] query embeddings in the same space as ``features``."""
    candidates: Candidates | None = None
    """The candidates themselves (source indices, times), when they come from a video."""
    option_embeddings: np.ndarray | None = None
    """[m,D] embeddings of "question option" texts (for methods that declare the ``options`` need)."""
    question: str | None = None
    """The question text, when the query has one (e.g. VideoITG reads its instruction type from it)."""

    def __post_init__(self) -> None:
        if self.num_candidates < 1:
            raise InvalidArgumentError(f"need at least one candidate frame, got {self.num_candidates}")
        if self.scores is not None and np.shape(self.scores) != (self.num_candidates,):
            raise InvalidArgumentError(
                f"scores must hold one value per candidate ({self.num_candidates}), got shape {np.shape(self.scores)}"
            )
        if self.candidates is not None and len(self.candidates) != self.num_candidates:
            raise InvalidArgumentError(
                f"num_candidates is {self.num_candidates} but {len(self.candidates)} candidates were given"
            )

    @property
    def timestamps(self) -> np.ndarray | None:
        """[T] seconds of the candidates, when they come from a video."""
        return None if self.candidates is None else self.candidates.timestamps


@dataclass(frozen=True)
class SelectorOutput:
    """Chosen candidate positions (sorted, unique), their scores, and the clips the method used."""

    positions: np.ndarray
    scores: np.ndarray | None = None
    clips: tuple[Clip, ...] = ()

    def __post_init__(self) -> None:
        positions = np.asarray(self.positions, dtype=np.int64)
        if positions.ndim != 1 or (positions.size and np.any(np.diff(positions) <= 0)):
            raise ValueError("selector positions must be 1-D, sorted and unique")
        object.__setattr__(self, "positions", positions)


class Selector(ABC):
    """Base class of all frame-selection methods."""

    name: ClassVar[str]
    needs: ClassVar[frozenset[Need]] = frozenset()
    """What the pipeline must compute before calling :meth:`select`."""
    query_aware: ClassVar[bool] = False
    """True when the method needs a question or query image."""

    @abstractmethod
    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        """Choose min(k, T) distinct candidate positions."""

    def auto_encoder(self) -> str | None:
        """The encoder ``--encoder auto`` means for this selector (the one its weights were trained
        with), or None for the usual choice. A learned checkpoint names it in its description."""
        return None

    def params(self) -> dict:
        """Hyper-parameters, for the output's ``params``; dataclass fields by default."""
        from dataclasses import asdict, is_dataclass

        return asdict(self) if is_dataclass(self) else {}


def check_k(k: int) -> int:
    """Validate the frame budget at the public boundary."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidArgumentError(f"k must be a positive integer, got {k!r}")
    if k < 1:
        raise InvalidArgumentError(f"k must be a positive integer, got {k}")
    return int(k)
