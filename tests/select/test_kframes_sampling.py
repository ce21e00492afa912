"""K-frames Focused / Hybrid sampling (paper 000, Appendix D.2) on hand-made clip sets.

Every expected number is worked out by hand in the comments. ``evenly_spaced(n, m)`` picks offsets
floor((2i + 1) n / 2m), i = 0 .. m-1 (centres of m equal segments).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framepick.errors import InvalidArgumentError
from framepick.select.kframes_sampling import (
    SamplingParams,
    allocate_frames,
    exact_shares,
    focused_sampling,
    hybrid_sampling,
    hybrid_split,
    merge_clips,
)
from framepick.types import Clip


def P1(a: int, b: int, reason: str | None = None, score: float | None = None) -> Clip:
    return Clip(a, b, "P1", score=score, reason=reason)


def P2(a: int, b: int, reason: str | None = None, score: float | None = None) -> Clip:
    return Clip(a, b, "P2", score=score, reason=reason)


def spans(clips) -> list[tuple[int, int, str]]:
    return [(c.start_index, c.end_index, c.priority) for c in clips]


# ---------------------------------------------------------------- merging (Algorithm 1, line 2)


def test_merge_same_type_within_tau_and_concatenate_reasons() -> None:
    merged = merge_clips([P1(22, 30, "second", 4.95), P1(10, 20, "first", 5.0)], tau=2)
    # gap = 22 - 20 = 2 <= tau: one clip, reasons in time order, highest score kept.
    assert spans(merged) == [(10, 30, "P1")]
    assert merged[0].reason == "first second" and merged[0].score == 5.0


def test_no_merge_beyond_tau_across_types_or_across_another_clip() -> None:
    assert spans(merge_clips([P1(10, 20), P1(23, 30)])) == [(10, 20, "P1"), (23, 30, "P1")]  # gap 3
    assert spans(merge_clips([P1(10, 20), P2(21, 30)])) == [(10, 20, "P1"), (21, 30, "P2")]
    # The P1 clips are 2 apart in time but not neighbours: a P2 clip sits between them.
    assert spans(merge_clips([P1(0, 10), P2(11, 11), P1(12, 20)])) == [(0, 10, "P1"), (11, 11, "P2"), (12, 20, "P1")]
    assert spans(merge_clips([P2(0, 5), P2(8, 9)], tau=3)) == [(0, 9, "P2")]


def test_overlaps_go_to_p1_and_split_the_p2_clip() -> None:
    merged = merge_clips([P2(0, 100, "context"), P1(40, 50, "answer")])
    assert spans(merged) == [(0, 39, "P2"), (40, 50, "P1"), (51, 100, "P2")]
    assert merged[0].reason == merged[2].reason == "context"
    assert spans(merge_clips([P1(0, 10), P1(5, 20)])) == [(0, 20, "P1")]


# ------------------------------------------------------------ allocation (Eq. 5, P1-at-least-1)


def test_eq5_allocation_with_rounding_fixed_to_k() -> None:
    clips = [P1(10, 19), P2(40, 59), P2(80, 84)]
    # weights w * l: 2 * 10 = 20, 1 * 20 = 20, 1 * 5 = 5; sum 45.
    # k = 8: exact 8 * 20/45 = 3.556, 3.556, 8 * 5/45 = 0.889 -> floors 3, 3, 0 (sum 6).
    # Two more by largest fraction: 0.889 (clip 3), then 0.556 tied -> P1 first (clip 1).
    np.testing.assert_allclose(exact_shares(clips, 8), [160 / 45, 160 / 45, 40 / 45])
    assert allocate_frames(clips, 8).tolist() == [4, 3, 1]
    # k = 9: exact 4, 4, 1: no rounding at all.
    assert allocate_frames(clips, 9).tolist() == [4, 4, 1]


def test_p1_at_least_one_short_p1_next_to_long_p2() -> None:
    clips = [P2(0, 99), P1(100, 101)]
    # w * l = 100 and 4; k = 8: exact 7.69 and 0.31 -> floors 7, 0, the spare frame to 0.69 -> 8, 0.
    # The P1 clip borrows one frame from the P2 donor (8 > 1): 7, 1.
    assert allocate_frames(clips, 8).tolist() == [7, 1]
    # Where the P1 clip is found in the end result:
    positions = focused_sampling(clips, 120, 8)
    assert np.sum(positions >= 100) == 1 and positions.size == 8


def test_p1_at_least_one_prefers_p2_donors() -> None:
    clips = [P1(0, 49), P2(50, 79), P1(90, 90)]
    # w * l = 100, 30, 2; sum 132; k = 10: exact 7.58, 2.27, 0.15 -> 7, 2, 0 + spare to 0.58 -> 8, 2, 0.
    # The starving P1 clip borrows from the P2 clip (2 > 1) although the P1 clip is richer.
    assert allocate_frames(clips, 10).tolist() == [8, 1, 1]


def test_p1_at_least_one_is_relaxed_when_the_budget_is_too_small() -> None:
    clips = [P1(0, 9), P1(20, 20), P1(30, 30)]
    # w * l = 20, 2, 2; k = 2: exact 1.67, 0.17, 0.17 -> 1, 0, 0 + spare to 0.67 -> 2, 0, 0.
    # Clip 2 (first of the equal shares) borrows from clip 1 (2 > 1); then no donor has > 1 frame.
    assert allocate_frames(clips, 2).tolist() == [1, 1, 0]
    assert allocate_frames(clips, 1).tolist() == [1, 0, 0]


# ------------------------------------------------------------------------- Focused sampling


def test_focused_equally_spaced_inside_each_clip() -> None:
    clips = [P1(10, 19), P2(40, 59), P2(80, 84)]
    # Allocation 4, 3, 1 (see above). Clip 1, 10 frames, 4 picks: offsets 10//8, 30//8, 50//8,
    # 70//8 = 1, 3, 6, 8 -> 11, 13, 16, 18. Clip 2, 20 frames, 3 picks: 20//6, 60//6, 100//6 =
    # 3, 10, 16 -> 43, 50, 56. Clip 3, 5 frames, 1 pick: 5//2 = 2 -> 82.
    assert focused_sampling(clips, 100, 8).tolist() == [11, 13, 16, 18, 43, 50, 56, 82]


def test_focused_top_up_from_non_key_frames_after_the_last_pick() -> None:
    # One 3-frame clip owed all 8 frames: it gives 10, 11, 12 (last = 12). Top-up of 5 from the
    # non-key frames after 12, i.e. 13 .. 99 (87 frames): offsets 87//10, 261//10, 435//10,
    # 609//10, 783//10 = 8, 26, 43, 60, 78 -> 21, 39, 56, 73, 91.
    assert focused_sampling([P1(10, 12)], 100, 8).tolist() == [10, 11, 12, 21, 39, 56, 73, 91]


def test_focused_top_up_falls_back_to_any_unpicked_frame() -> None:
    # The clip ends the video, so there is nothing after its last pick: the 3 missing frames are
    # spread over the unpicked frames 0 .. 94: offsets 95//6, 285//6, 475//6 = 15, 47, 79.
    assert focused_sampling([P1(95, 99)], 100, 8).tolist() == [15, 47, 79, 95, 96, 97, 98, 99]


def test_focused_without_clips_is_uniform() -> None:
    assert focused_sampling([], 100, 4).tolist() == [12, 37, 62, 87]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), total=st.integers(1, 300), k=st.integers(1, 70), hybrid=st.booleans())
def test_strictly_increasing_in_range_and_exactly_min_k_t(data, total, k, hybrid) -> None:
    clips = []
    for _ in range(data.draw(st.integers(0, 6))):
        a = data.draw(st.integers(0, total - 1))
        b = data.draw(st.integers(a, min(total - 1, a + 60)))
        clips.append(Clip(a, b, data.draw(st.sampled_from(["P1", "P2"]))))
    sample = hybrid_sampling if hybrid else focused_sampling
    positions = sample(clips, total, k)
    assert positions.shape == (min(k, total),)
    assert np.all(np.diff(positions) > 0) and positions[0] >= 0 and positions[-1] < total
    merged = merge_clips(clips)
    key = np.zeros(total, bool)
    for c in merged:
        key[c.start_index : c.end_index + 1] = True
    if not hybrid and merged and all(len(c) >= k for c in merged):
        # Every clip can hold its whole allocation (k_j <= k), so there is no top-up and Focused
        # sampling never leaves the key clips.
        assert bool(np.all(key[positions]))
    if hybrid and not merged:
        np.testing.assert_array_equal(positions, focused_sampling([], total, k))  # plain uniform


def test_out_of_range_clips_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match=r"clip \[90, 120\] is outside the candidates \[0, 99\]"):
        focused_sampling([P1(90, 120)], 100, 8)


# -------------------------------------------------------------------------- Hybrid (Eqs. 6-8)


def test_hybrid_split_r_min_binding() -> None:
    # |p| = 10, |b| = 90, k = 10: raw = round(10 * 40 / 130) = round(3.08) = 3 < ceil(10 * 0.5) = 5.
    assert hybrid_split(10, 90, 10) == (5, 5)


def test_hybrid_split_r_min_not_binding() -> None:
    # |p| = 50, |b| = 50: raw = round(10 * 200 / 250) = 8 > 5.
    assert hybrid_split(50, 50, 10) == (8, 2)


def test_hybrid_split_capped_by_predicted_frames() -> None:
    # |p| = 3: raw = round(10 * 12 / 109) = 1; max(5, 1) = 5, capped to |p| = 3; k_b = 7.
    assert hybrid_split(3, 97, 10) == (3, 7)


def test_hybrid_split_remaining_slots_go_to_the_side_with_capacity() -> None:
    # a_pred = 0, r_min = 0.2: raw = 0, k_p = ceil(50 * 0.2) = 10, k_b = min(10, 40) = 10: 30 short,
    # and only p has room: k_p = 40.
    assert hybrid_split(90, 10, 50, a_pred=0.0, r_min=0.2) == (40, 10)


def test_hybrid_split_ceil_ignores_float_noise() -> None:
    # 10 * 0.3 = 3.0000000000000004 in floating point; the bound is 3, not 4.
    # raw = round(10 * 80 / 1080) = round(0.74) = 1.
    assert hybrid_split(20, 1000, 10, r_min=0.3) == (3, 7)


def test_hybrid_sampling_by_hand() -> None:
    # T = 100, one P1 clip 40..49: split (5, 5) as in the r_min-binding case.
    # Clip, 10 frames, 5 picks: offsets 1, 3, 5, 7, 9 -> 41, 43, 45, 47, 49.
    # Background 0..39, 50..99 (90 frames), 5 picks: offsets 9, 27, 45, 63, 81 -> 9, 27, 55, 73, 91.
    assert hybrid_sampling([P1(40, 49)], 100, 10).tolist() == [9, 27, 41, 43, 45, 47, 49, 55, 73, 91]


def test_hybrid_fills_a_clip_shortfall_from_other_predicted_frames() -> None:
    # |p| = 2 + 40 = 42, |b| = 58; k = 20: raw = round(20 * 168 / 226) = round(14.87) = 15.
    # Eq. 5 inside p: w*l = 4 and 40 -> exact 15 * 4/44 = 1.36, 13.64 -> 1, 14 (sum 15). No clip
    # is owed more than it has, so exactly 15 predicted and 5 background frames.
    clips = [P1(0, 1), P2(50, 89)]
    positions = hybrid_sampling(clips, 100, 20)
    key = (positions <= 1) | ((positions >= 50) & (positions <= 89))
    assert int(key.sum()) == 15
    # A P1 clip owed more than its length. |p| = 4, |b| = 96, k = 10: raw = round(10 * 16 / 112)
    # = 1, k_p = min(4, max(5, 1)) = 4, k_b = 6. Eq. 5 inside p: w*l = 4, 2 -> exact 2.67, 1.33
    # -> 3, 1. The P1 clip has only 2 frames; the P2 clip gives its centre (51); the missing
    # frame comes from the other predicted frames (50) before any extra background frame.
    clips = [P1(0, 1), P2(50, 51)]
    positions = hybrid_sampling(clips, 100, 10)
    assert {0, 1, 50, 51} <= set(positions.tolist()) and positions.size == 10


def test_params_are_validated() -> None:
    with pytest.raises(InvalidArgumentError, match=r"w_p1 must be a number in \(0, inf\], got -1"):
        SamplingParams(w_p1=-1)
