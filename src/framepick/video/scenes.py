"""Scene segmentation of a candidate grid by colour-histogram differences (K-frames, Sec. 3.1).

K-frames "calculate[s] the change in visual content throughout the video by computing the
histogram difference between consecutive frames (Sheena & Narayanan, 2015)", which gives "a
scene-boundary score for each frame transition", and segments "at these high-scoring boundaries".
It does not say what counts as high-scoring; :func:`detect_scenes` documents the choice made here.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Scene

DEFAULT_STD_FACTOR = 1.0
"""Adaptive threshold = mean + DEFAULT_STD_FACTOR * std of the boundary scores."""
DEFAULT_MIN_SCORE = 0.1
"""Floor under the adaptive threshold: a transition that moves less than 10% of the colour mass
between bins is never a cut, so a single continuous shot is not split by codec noise or motion."""


def _check_histograms(histograms: np.ndarray) -> np.ndarray:
    try:
        array = np.asarray(histograms, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError("histograms must be a numeric [T, B] array") from None
    if array.ndim != 2:
        raise InvalidArgumentError(f"histograms must be 2-D [T, B] (one row per candidate); got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InvalidArgumentError("histograms must be finite and non-negative")
    return array


def boundary_scores(histograms: np.ndarray) -> np.ndarray:
    """[T,B] histograms -> [T-1] change scores in [0, 1] between consecutive candidates.

    The score is the total-variation distance between consecutive rows, each row normalised to sum
    to one: ``0.5 * sum(|h_t / |h_t| - h_{t+1} / |h_{t+1}||)``. It is the absolute histogram
    difference of Sheena & Narayanan, scaled so that 0 means identical colour distributions and 1
    means disjoint ones, whatever the number of bins or channels (for :func:`color_histograms`
    output, each channel weighs one third).
    """
    array = _check_histograms(histograms)
    if array.shape[0] < 2:
        return np.zeros(0, dtype=np.float64)
    totals = array.sum(axis=1, keepdims=True)
    normalised = array / np.where(totals > 0, totals, 1.0)
    return 0.5 * np.abs(np.diff(normalised, axis=0)).sum(axis=1)


def detect_scenes(
    histograms: np.ndarray,
    *,
    threshold: float | None = None,
    min_scene_len: int = 2,
    max_scenes: int | None = None,
    std_factor: float = DEFAULT_STD_FACTOR,
) -> tuple[Scene, ...]:
    """Split the candidates into scenes: inclusive position ranges covering ``0..T-1`` in order.

    A cut between candidates ``j`` and ``j + 1`` needs all of:

    1. its :func:`boundary_scores` value exceeds the threshold. By default the threshold is
       adaptive, ``max(mean + std_factor * std, DEFAULT_MIN_SCORE)`` over this video's scores: the
       statistic of the method K-frames cites (Sheena & Narayanan 2015 threshold histogram
       differences by their mean plus a multiple of their standard deviation), which adapts to
       how much a given video moves, while the floor keeps one continuous shot from being cut at
       its noise peaks. ``std_factor=1`` is the least conservative common choice: over a sparse
       candidate grid many transitions are real cuts, and they inflate the std. A fixed
       ``threshold`` (score units, 0..1) replaces all of this.
    2. it is a local maximum of the scores (a gradual transition spread over several candidates
       gives one cut, at its steepest point, not one per step);
    3. it keeps every scene at least ``min_scene_len`` candidates long. Cuts are accepted strongest
       first, so when two candidates compete within ``min_scene_len`` the sharper change wins;
    4. at most ``max_scenes - 1`` cuts are kept (again the strongest).
    """
    scores = boundary_scores(histograms)
    return scenes_from_boundaries(
        scores, np.shape(histograms)[0], threshold=threshold, min_scene_len=min_scene_len,
        max_scenes=max_scenes, std_factor=std_factor,
    )


def feature_boundary_scores(embeddings: np.ndarray) -> np.ndarray:
    """[T,D] frame embeddings -> [T-1] change scores in [0, 1]: ``(1 - cos) / 2`` of consecutive rows.

    Scene cuts for a user's own features (``framepick select --features``), where no pixels are
    left to take histograms of: the same [0, 1] scale as :func:`boundary_scores` (0 unchanged,
    1 opposite), so :func:`scenes_from_boundaries` applies its rule unchanged. Its floor
    (``DEFAULT_MIN_SCORE`` 0.1) then means a cut needs consecutive rows with cosine below 0.8.
    """
    array = np.asarray(embeddings, dtype=np.float64)
    if array.ndim != 2 or not np.all(np.isfinite(array)):
        raise InvalidArgumentError(f"embeddings must be a finite [T, D] array; got shape {array.shape}")
    if array.shape[0] < 2:
        return np.zeros(0, dtype=np.float64)
    unit = array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
    cosine = np.clip((unit[:-1] * unit[1:]).sum(axis=1), -1.0, 1.0)
    return (1.0 - cosine) / 2.0


def scenes_from_boundaries(
    scores: np.ndarray,
    total: int,
    *,
    threshold: float | None = None,
    min_scene_len: int = 2,
    max_scenes: int | None = None,
    std_factor: float = DEFAULT_STD_FACTOR,
) -> tuple[Scene, ...]:
    """The scenes of ``total`` candidates given their [total-1] change scores: the rule of
    :func:`detect_scenes`, for scores from any source (histograms, or
    :func:`feature_boundary_scores`)."""
    scores = np.asarray(scores, dtype=np.float64)
    if total and np.shape(scores) != (total - 1,):
        raise InvalidArgumentError(f"need {total - 1} boundary scores for {total} candidates, got shape {np.shape(scores)}")
    if isinstance(min_scene_len, bool) or not isinstance(min_scene_len, (int, np.integer)) or min_scene_len < 1:
        raise InvalidArgumentError(f"min_scene_len must be a positive integer; got {min_scene_len!r}")
    if max_scenes is not None and (
        isinstance(max_scenes, bool) or not isinstance(max_scenes, (int, np.integer)) or max_scenes < 1
    ):
        raise InvalidArgumentError(f"max_scenes must be a positive integer or None; got {max_scenes!r}")
    if threshold is not None and not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold >= 0):
        raise InvalidArgumentError(f"threshold must be a finite number >= 0 or None; got {threshold!r}")
    if not (isinstance(std_factor, (int, float)) and math.isfinite(std_factor)):
        raise InvalidArgumentError(f"std_factor must be a finite number; got {std_factor!r}")
    if total == 0:
        return ()
    cuts = _choose_cuts(scores, _threshold(scores, threshold, std_factor), int(min_scene_len), max_scenes)
    starts = [0] + [c + 1 for c in cuts]
    ends = [c for c in cuts] + [total - 1]
    return tuple(Scene(int(s), int(e)) for s, e in zip(starts, ends))


def _threshold(scores: np.ndarray, threshold: float | None, std_factor: float) -> float:
    if threshold is not None:
        return float(threshold)
    if scores.size == 0:
        return math.inf
    return max(float(scores.mean() + std_factor * scores.std()), DEFAULT_MIN_SCORE)


def _choose_cuts(scores: np.ndarray, threshold: float, min_len: int, max_scenes: int | None) -> list[int]:
    """Transitions to cut at (cut ``j`` ends a scene at candidate ``j``), sorted."""
    n = scores.size + 1
    if n < 2 * min_len:
        return []
    padded = np.concatenate(([-np.inf], scores, [-np.inf]))
    # >= on the left and > on the right: on a plateau only its first transition is a peak.
    peaks = (scores > threshold) & (scores >= padded[:-2]) & (scores > padded[2:])
    candidates = np.flatnonzero(peaks)
    order = candidates[np.argsort(-scores[candidates], kind="stable")]
    max_cuts = math.inf if max_scenes is None else max_scenes - 1
    accepted: list[int] = []  # kept sorted: the nearest accepted cuts are the two around a new one
    for cut in order.tolist():
        if len(accepted) >= max_cuts:
            break
        # Scene [.., cut] and [cut + 1, ..] must both keep min_len candidates from the video ends ...
        if cut + 1 < min_len or n - 1 - cut < min_len:
            continue
        # ... and from every accepted cut (checking the neighbours, not all: thousands of cuts
        # on a 20,000-candidate grid made that quadratic).
        place = bisect.bisect_left(accepted, cut)
        if (place > 0 and cut - accepted[place - 1] < min_len) or (
            place < len(accepted) and accepted[place] - cut < min_len
        ):
            continue
        accepted.insert(place, cut)
    return accepted
