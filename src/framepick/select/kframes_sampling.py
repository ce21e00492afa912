"""K-frames any-k sampling from key clips: Focused and Hybrid (paper 000, Appendix D.2).

Pure functions over ``(clips, num_candidates, k, params)`` so they can be tested by hand and run on
clips from a real K-frames model (see :mod:`framepick.select.clips_io`). Clip ranges are inclusive
candidate positions, ``0 <= start_index <= end_index < num_candidates``.

Where Appendix D.2 is silent we choose, and say so here:

- *Overlapping clips of different priority* (the model emits chronological, disjoint segments,
  but hand-written clips may overlap): P1 wins; the P2 clip is trimmed, or split in two, to the
  frames outside every P1 clip. Done before merging, so no frame belongs to two clips.
- *Merging within tau*: consecutive clips (in start order) of the same priority merge when
  ``next.start - current.end <= tau`` (overlap included). The merged clip spans both, keeps the
  highest score and joins the reasons with a space; clips of the other type are never jumped.
- *Rounding of Eq. 5*: "round, then fix so the sum is k" is done by largest remainder (each k_j is
  the floor or the ceiling of its exact share; the ceilings go to the largest fractional parts,
  ties to P1, then to the earlier clip), which is what rounding and then correcting the clips
  with the largest rounding error yields.
- *P1-at-least-1*: P1 clips with no frame are served in order of their exact share (largest
  first, ties earlier); each borrows one frame from the donor with k_i > 1 that is P2 if any,
  else P1, and has the most frames (ties earlier). With no donor left the guarantee is relaxed.
- *Equally spaced*: the centres of k_j equal segments of the clip's frames (after the chronology
  restriction), as :func:`framepick.select._common.evenly_spaced`; a clip owed more frames than
  it has gives all of them (Eq. 5 has no cap) and the shortfall goes to the top-up.
- *Top-up*: Algorithm 1's step (evenly spaced non-key frames after the last picked index) comes
  first; if still short, evenly spaced unpicked key-clip frames, then evenly spaced unpicked
  frames anywhere, so min(k, T) frames always come back. Hybrid fills a shortfall the same way
  from unpicked predicted frames, then unpicked background frames.
- *round / ceil in Eqs. 6-7*: round half up; ``ceil(k * r_min)`` ignores float noise below 1e-9
  (k = 10, r_min = 0.3 gives 3, not 4). Eq. 6 with ``a_pred |p| + |b| = 0`` gives k_p_raw = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.select._common import pick_evenly
from framepick.types import Clip
from framepick.validation import check_number


@dataclass(frozen=True)
class SamplingParams:
    """Hyper-parameters of Focused / Hybrid sampling; defaults are the paper's Tables 7-8."""

    tau: int = 2
    """Merge tolerance: same-type neighbours whose gap (next start - end) is <= tau merge."""
    w_p1: float = 2.0
    """Eq. 5 class weight of P1 clips."""
    w_p2: float = 1.0
    """Eq. 5 class weight of P2 clips."""
    a_pred: float = 4.0
    """Eq. 6 prediction-to-background length weight (a_pred : 1)."""
    r_min: float = 0.5
    """Eq. 7 lower bound on the predicted share of the budget, in [0, 1]."""

    def __post_init__(self) -> None:
        check_number("tau", self.tau, low=0, integer=True)
        check_number("w_p1", self.w_p1, low=0.0, low_open=True)
        check_number("w_p2", self.w_p2, low=0.0, low_open=True)
        check_number("a_pred", self.a_pred, low=0.0)
        check_number("r_min", self.r_min, low=0.0, high=1.0)


DEFAULT_PARAMS = SamplingParams()


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def check_clips_in_range(clips: Iterable[Clip], num_candidates: int) -> None:
    for clip in clips:
        if clip.end_index >= num_candidates:
            raise InvalidArgumentError(
                f"clip [{clip.start_index}, {clip.end_index}] is outside the candidates [0, {num_candidates - 1}]"
            )


def _trim_p2_by_p1(clips: Sequence[Clip]) -> list[Clip]:
    """Split or trim P2 clips so that no frame is both P1 and P2 (P1 wins)."""
    p1_ranges = sorted((c.start_index, c.end_index) for c in clips if c.priority == "P1")
    out = [c for c in clips if c.priority == "P1"]
    for clip in clips:
        if clip.priority != "P2":
            continue
        start = clip.start_index
        for a, b in p1_ranges:
            if b < start or a > clip.end_index:
                continue
            if a > start:
                piece = replace(clip, start_index=start, end_index=a - 1, end_seconds=None)
                out.append(piece if start == clip.start_index else replace(piece, start_seconds=None))
            start = max(start, b + 1)
        if start <= clip.end_index:
            out.append(clip if start == clip.start_index else replace(clip, start_index=start, start_seconds=None))
    return out


def _join(first: Clip, second: Clip) -> Clip:
    scores = [s for s in (first.score, second.score) if s is not None]
    reasons = [r.strip() for r in (first.reason, second.reason) if r and r.strip()]
    later = second if second.end_index > first.end_index else first
    return replace(
        first,
        end_index=later.end_index,
        end_seconds=later.end_seconds,
        score=max(scores) if scores else None,
        reason=" ".join(reasons) if reasons else None,
    )


def merge_clips(clips: Iterable[Clip], tau: int = 2) -> tuple[Clip, ...]:
    """Algorithm 1, line 2: sort, resolve P1/P2 overlaps, merge same-type neighbours within tau."""
    ordered = sorted(_trim_p2_by_p1(list(clips)), key=lambda c: (c.start_index, c.end_index))
    merged: list[Clip] = []
    for clip in ordered:
        last = merged[-1] if merged else None
        if last is not None and last.priority == clip.priority and clip.start_index - last.end_index <= tau:
            merged[-1] = _join(last, clip)
        else:
            merged.append(clip)
    return tuple(merged)


def exact_shares(clips: Sequence[Clip], k: int, params: SamplingParams = DEFAULT_PARAMS) -> np.ndarray:
    """Eq. 5 before rounding: k * w(t_j) l_j / sum_i w(t_i) l_i."""
    if not clips:
        return np.zeros(0)
    weighted = np.array([(params.w_p1 if c.priority == "P1" else params.w_p2) * len(c) for c in clips])
    return k * weighted / weighted.sum()


def allocate_frames(clips: Sequence[Clip], k: int, params: SamplingParams = DEFAULT_PARAMS) -> np.ndarray:
    """Per-clip budgets k_j: Eq. 5, rounding fixed so they sum to k, then P1-at-least-1.

    ``clips`` are used as given (merge them first). Returns int64 [len(clips)].
    """
    if not clips:
        return np.zeros(0, dtype=np.int64)
    exact = exact_shares(clips, k, params)
    alloc = np.floor(exact).astype(np.int64)
    is_p1 = np.array([c.priority == "P1" for c in clips])
    missing = k - int(alloc.sum())
    if missing > 0:
        # lexsort's last key is primary: larger fraction, then P1, then earlier clip.
        order = np.lexsort((np.arange(len(clips)), ~is_p1, -(exact - alloc)))
        alloc[order[:missing]] += 1
    starving = [j for j in np.lexsort((np.arange(len(clips)), -exact)) if is_p1[j] and alloc[j] == 0]
    for j in starving:
        donors = np.flatnonzero(alloc > 1)
        if donors.size == 0:
            break  # the budget cannot cover every P1 clip: the guarantee is relaxed
        # Prefer P2 donors, then the richest, then the earliest.
        donor = donors[np.lexsort((donors, -alloc[donors], is_p1[donors]))[0]]
        alloc[donor] -= 1
        alloc[j] += 1
    return alloc


def sample_within_clips(clips: Sequence[Clip], alloc: np.ndarray) -> tuple[np.ndarray, int]:
    """Algorithm 1, lines 5-9: evenly spaced frames per clip, strictly after the last picked one.

    Returns the picked positions (increasing) and the last picked position (-1 when none).
    """
    picked: list[np.ndarray] = []
    last = -1
    for clip, count in zip(clips, alloc.tolist()):
        if count <= 0:
            continue
        pool = np.arange(max(clip.start_index, last + 1), clip.end_index + 1, dtype=np.int64)
        chosen = pick_evenly(pool, count)
        if chosen.size:
            picked.append(chosen)
            last = int(chosen[-1])
    positions = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    return positions, last


def key_mask(clips: Iterable[Clip], num_candidates: int) -> np.ndarray:
    mask = np.zeros(num_candidates, dtype=bool)
    for clip in clips:
        mask[clip.start_index : clip.end_index + 1] = True
    return mask


def _fill_from(taken: np.ndarray, pool: np.ndarray, need: int) -> int:
    """Mark ``need`` evenly spaced unpicked members of ``pool`` as taken; return how many."""
    if need <= 0:
        return 0
    chosen = pick_evenly(pool[~taken[pool]], need)
    taken[chosen] = True
    return int(chosen.shape[0])


def focused_sampling(
    clips: Sequence[Clip], num_candidates: int, k: int, params: SamplingParams = DEFAULT_PARAMS
) -> np.ndarray:
    """Algorithm 1: min(k, T) sorted positions taken from the key clips (then the top-up)."""
    check_clips_in_range(clips, num_candidates)
    k = min(int(k), num_candidates)
    merged = merge_clips(clips, params.tau)
    positions, last = sample_within_clips(merged, allocate_frames(merged, k, params))
    taken = np.zeros(num_candidates, dtype=bool)
    taken[positions] = True
    need = k - int(taken.sum())
    mask = key_mask(merged, num_candidates)
    everything = np.arange(num_candidates, dtype=np.int64)
    # Algorithm 1, line 11, then the fallbacks described in the module docstring.
    need -= _fill_from(taken, everything[(everything > last) & ~mask], need)
    need -= _fill_from(taken, everything[mask], need)
    _fill_from(taken, everything, need)
    return np.flatnonzero(taken)


def hybrid_split(
    num_pred: int, num_background: int, k: int, a_pred: float = 4.0, r_min: float = 0.5
) -> tuple[int, int]:
    """Eqs. 6-8 plus "remaining slots go to the side with capacity": (k_p, k_b), summing to
    min(k, |p| + |b|)."""
    denominator = a_pred * num_pred + num_background
    raw = _round_half_up(k * a_pred * num_pred / denominator) if denominator > 0 else 0
    k_p = min(num_pred, max(math.ceil(k * r_min - 1e-9), raw))  # Eq. 7
    k_b = min(num_background, k - k_p)  # Eq. 8
    spare = k - k_p - k_b
    if spare > 0:
        extra = min(num_pred - k_p, spare)
        k_p += extra
        k_b += min(num_background - k_b, spare - extra)
    return k_p, k_b


def hybrid_sampling(
    clips: Sequence[Clip], num_candidates: int, k: int, params: SamplingParams = DEFAULT_PARAMS
) -> np.ndarray:
    """Algorithm 2: min(k, T) sorted positions, k_p from the key clips and k_b from the rest."""
    check_clips_in_range(clips, num_candidates)
    k = min(int(k), num_candidates)
    merged = merge_clips(clips, params.tau)
    mask = key_mask(merged, num_candidates)
    background = np.flatnonzero(~mask)
    k_p, k_b = hybrid_split(int(mask.sum()), background.shape[0], k, params.a_pred, params.r_min)
    predicted, _ = sample_within_clips(merged, allocate_frames(merged, k_p, params))
    taken = np.zeros(num_candidates, dtype=bool)
    taken[predicted] = True
    taken[pick_evenly(background, k_b)] = True
    need = k - int(taken.sum())
    need -= _fill_from(taken, np.flatnonzero(mask), need)
    _fill_from(taken, background, need)
    return np.flatnonzero(taken)
