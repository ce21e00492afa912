"""BOLT (Liu et al., CVPR 2025): inverse-transform sampling of query-similarity scores."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from framepick.registry import register_selector
from framepick.select._common import require_scores
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k
from framepick.validation import check_number


def bolt_quantiles(k: int) -> np.ndarray:
    """The k CDF levels BOLT inverts: ``linspace(1/k, 1 - 1/k, k)``, as the released code.

    For k = 1 that formula gives the single level 1.0, which can index past the last frame; we use
    the median (0.5) instead. For k = 2 it gives 0.5 twice (a guaranteed collision), kept as is.
    """
    if k == 1:
        return np.array([0.5])
    return np.linspace(1.0 / k, 1.0 - 1.0 / k, k)


def bolt_density(scores: np.ndarray, power: float) -> np.ndarray:
    """Min-max normalised scores raised to ``power``, as a probability over candidates.

    Constant scores (0/0 in the reference) become a flat density, i.e. uniform sampling.
    """
    low, span = np.min(scores), np.ptp(scores)
    if span == 0:
        return np.full(scores.shape[0], 1.0 / scores.shape[0])
    weights = ((scores - low) / span) ** power
    return weights / np.sum(weights)


def inverse_transform_positions(scores: np.ndarray, k: int, power: float = 3.0) -> np.ndarray:
    """The plain BOLT step: ``searchsorted(cdf, levels)``, k non-decreasing positions with repeats."""
    cdf = np.cumsum(bolt_density(np.asarray(scores, dtype=np.float64), power))
    picks = np.searchsorted(cdf, bolt_quantiles(k))
    # Float round-off can leave cdf[-1] a hair under a level; never index past the last frame.
    return np.minimum(picks, scores.shape[0] - 1).astype(np.int64)


def spread_collisions(picks: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Keep every distinct pick; move each repeated pick to the nearest free candidate in time.

    Repeats are resolved in quantile order (left to right). At equal distance the higher-scored
    side wins, then the earlier frame. Nearest-in-time keeps BOLT's meaning: many quantiles landing
    on one frame say the density is concentrated there, so the extra frames belong next to it.
    Returns sorted unique positions, as many as ``picks`` holds (assuming len(picks) <= T).
    """
    total = scores.shape[0]
    distinct, counts = np.unique(picks, return_counts=True)
    if distinct.shape[0] == picks.shape[0]:
        return distinct
    taken = np.zeros(total, dtype=bool)
    taken[distinct] = True
    free = np.flatnonzero(~taken).tolist()  # sorted, shrinks as repeats are placed
    placed: list[int] = []
    for position, count in zip(distinct.tolist(), counts.tolist()):
        for _ in range(count - 1):
            at = bisect.bisect_left(free, position)
            left = free[at - 1] if at > 0 else None
            right = free[at] if at < len(free) else None
            if left is None or (
                right is not None
                and (right - position, -scores[right]) < (position - left, -scores[left])
            ):
                placed.append(free.pop(at))  # type: ignore[arg-type]
            else:
                placed.append(free.pop(at - 1))
    return np.sort(np.concatenate([distinct, np.asarray(placed, dtype=np.int64)]))


def bolt_positions(scores: np.ndarray, k: int, power: float = 3.0) -> np.ndarray:
    """min(k, T) distinct sorted positions: BOLT's picks plus collision fills."""
    scores = np.asarray(scores, dtype=np.float64)
    total = scores.shape[0]
    if total <= k:
        return np.arange(total, dtype=np.int64)
    return spread_collisions(inverse_transform_positions(scores, k, power), scores)


@register_selector("bolt")
@dataclass(frozen=True)
class BOLTSelector(Selector):
    """BOLT: inverse-transform sampling with density proportional to normalised score ** power.

    Follows the authors' released ``select_frames.py`` (sming256/BOLT @ 8a9ba45): scores are
    min-max normalised to [0, 1], raised to ``power`` (3 in the paper and its scripts; 2.5 for
    LongVideoBench there), divided by their sum, cumulated, and inverted at the k levels
    ``linspace(1/k, 1 - 1/k, k)`` with ``searchsorted`` (left side). The least relevant frame has
    zero density and is never drawn by that step.

    Choices where the paper and code are silent:

    - Collisions: the reference keeps repeated frames. We keep every distinct frame it draws and
      move each repeat to the nearest unpicked frame in time (ties: higher score, then earlier),
      resolved left to right, so k distinct frames come back.
    - k = 1: the level is 0.5 (the reference's formula gives 1.0, which can run off the end).
    - Constant scores (0/0 in the reference): a flat density, i.e. near-uniform frames.
    - Fewer candidates than k: all of them. ``rng`` is unused: the levels are deterministic.
    """

    name: ClassVar[str] = "bolt"
    needs: ClassVar[frozenset[Need]] = frozenset({"scores"})
    query_aware: ClassVar[bool] = True

    power: float = 3.0
    """Exponent applied to the normalised scores; larger concentrates frames on the peaks.
    1 leaves them as they are (the released script's ``--power -1``)."""

    def __post_init__(self) -> None:
        check_number("power", self.power, low=0.0, high=100.0, low_open=True)

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        k = check_k(k)
        scores = require_scores(inputs, self.name)
        positions = bolt_positions(scores, k, float(self.power))
        return SelectorOutput(positions=positions, scores=scores[positions])
