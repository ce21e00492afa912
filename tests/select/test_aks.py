"""AKS against an independent re-statement of the authors' released frame_select.py.

The oracle below is written from a reading of ncTimTang/AKS @ 46675011 (``meanstd`` and ``main``):
normalise (s - min) / (max - min); recursively, keep a segment when mean(top-k) - mean > t1 and
std > t2, else halve it at len // 2 while depth < all_depth; each kept segment at depth d gives
heapq.nlargest(int(k / 2**d)) of its frames. It uses Python recursion and heapq, unlike the
library's level-by-level numpy version, so the two can disagree if either is wrong.
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framepick.select.aks import AKSSelector, aks_leaves, aks_positions, aks_reference_positions, min_max_normalise
from framepick.select.base import SelectorInput


def oracle(scores: np.ndarray, k: int, t1: float = 0.8, t2: float = -100, all_depth: int = 5) -> tuple[list[int], list[int]]:
    """(frames the released script returns, depths of its kept segments)."""
    scores = list(map(float, scores))
    if len(scores) < k:
        return list(range(len(scores))), []
    lo, hi = min(scores), max(scores)
    norm = [(s - lo) / (hi - lo) for s in scores]
    kept: list[tuple[list[int], int]] = []

    def judge(frames: list[int], depth: int) -> None:
        if not frames:  # the script keeps splitting empty halves; they never yield a frame
            return
        values = np.array([norm[f] for f in frames])
        best = heapq.nlargest(k, range(len(frames)), values.__getitem__)
        if np.mean([values[b] for b in best]) - np.mean(values) > t1 and np.std(values) > t2:
            kept.append((frames, depth))
        elif depth < all_depth:
            half = len(frames) // 2
            judge(frames[:half], depth + 1)
            judge(frames[half:], depth + 1)
        else:
            kept.append((frames, depth))

    judge(list(range(len(scores))), 0)
    out: list[int] = []
    for frames, depth in kept:
        best = heapq.nlargest(int(k / 2**depth), range(len(frames)), key=lambda i: norm[frames[i]])
        out.extend(frames[b] for b in best)
    return sorted(out), [d for _, d in kept]


def random_scores(rng: np.random.Generator, total: int, kind: int) -> np.ndarray:
    if kind == 0:
        return rng.random(total)
    if kind == 1:  # a few sharp peaks over a flat floor: triggers the keep-without-splitting branch
        scores = rng.random(total) * 0.05
        scores[rng.choice(total, size=max(1, total // 100), replace=False)] = 1.0
        return scores
    if kind == 2:  # heavy ties
        return rng.integers(0, 4, size=total).astype(float)
    return np.cumsum(rng.normal(size=total))  # smooth, CLIP-like drift


def cases():
    rng = np.random.default_rng(2025)
    for _ in range(400):
        total = int(rng.choice([rng.integers(1, 70), rng.integers(70, 2000)]))
        k = int(rng.choice([1, 2, 4, 8, 16, 32, 64, rng.integers(1, 130)]))
        scores = random_scores(rng, total, int(rng.integers(0, 4)))
        if np.ptp(scores) == 0:
            continue
        t1 = float(rng.choice([0.8, 0.8, 0.5, 0.2, 0.05]))
        depth = int(rng.choice([5, 5, 0, 1, 3, 7]))
        yield scores, k, t1, depth


def test_reference_positions_equal_the_oracle_on_many_random_arrays() -> None:
    shallow = short = 0
    for scores, k, t1, depth in cases():
        expected, depths = oracle(scores, k, t1, -100, depth)
        got = aks_reference_positions(scores, k, t1, -100, depth)
        assert got.tolist() == expected, (len(scores), k, t1, depth)
        shallow += any(d < depth for d in depths)
        short += len(expected) < min(k, len(scores))
    # The test data reach both branches of the judge and the round-down that the fill repairs.
    assert shallow > 20 and short > 20


def test_selector_keeps_the_reference_frames_and_returns_min_k_t() -> None:
    for scores, k, t1, depth in cases():
        expected, _ = oracle(scores, k, t1, -100, depth)
        got = AKSSelector(t1=t1, all_depth=depth).select(SelectorInput(len(scores), scores=scores), k, np.random.default_rng(0))
        assert len(got.positions) == min(k, len(scores))
        assert set(expected) <= set(got.positions.tolist())
        np.testing.assert_array_equal(got.scores, scores[got.positions])


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.floats(-5, 5, allow_nan=False, width=32), min_size=1, max_size=300),
    k=st.integers(1, 70),
    t1=st.sampled_from([0.8, 0.3, 0.0]),
)
def test_reference_matches_oracle_property(values: list[float], k: int, t1: float) -> None:
    scores = np.array(values, dtype=np.float64)
    if np.ptp(scores) == 0:
        return
    expected, _ = oracle(scores, k, t1)
    assert aks_reference_positions(scores, k, t1).tolist() == expected
    assert set(expected) <= set(aks_positions(scores, k, t1).tolist())


def test_a_single_peak_is_kept_whole_at_the_root() -> None:
    scores = np.zeros(100)
    scores[37] = 1.0
    leaves = aks_leaves(min_max_normalise(scores), 1, 0.8, -100, 5)
    assert [(leaf.start, leaf.stop, leaf.depth) for leaf in leaves] == [(0, 100, 0)]
    assert aks_positions(scores, 1).tolist() == [37]


def test_fill_takes_the_best_frame_of_the_best_leaves_when_all_round_down() -> None:
    # 64 frames, k = 8: every segment is split to depth 5 (32 leaves of 2 frames) and owed 8/32
    # frames, which the reference rounds down to nothing. The fill gives the 8 leaves with the
    # best frames one frame each: their best.
    rng = np.random.default_rng(4)
    scores = rng.random(64)
    assert oracle(scores, 8)[0] == []
    got = aks_positions(scores, 8)
    leaf_best = np.maximum(scores[0::2], scores[1::2])
    best_leaves = np.sort(np.argsort(-leaf_best)[:8])
    assert (got // 2).tolist() == best_leaves.tolist()  # one frame per leaf, the 8 best leaves
    assert np.all(scores[got] == leaf_best[got // 2])  # and the best frame of each


def test_fill_prefers_leaves_with_the_largest_unpaid_share() -> None:
    # k = 3 over 8 frames with all_depth = 1: two leaves of 4 frames, each owed 1.5 frames; the
    # reference pays 1 each (frames 2 and 4). Both leaves have the same unpaid 0.5, so the third
    # frame is the higher of the two next-best frames: 0.85 (frame 3) beats 0.3 (frame 6).
    scores = np.array([0.0, 0.1, 0.9, 0.85, 1.0, 0.2, 0.3, 0.25])
    assert oracle(scores, 3, all_depth=1)[0] == [2, 4]
    assert aks_positions(scores, 3, all_depth=1).tolist() == [2, 3, 4]


def test_constant_scores_fall_back_to_uniform_and_the_reference_refuses_them() -> None:
    assert aks_positions(np.ones(100), 4).tolist() == [12, 37, 62, 87]
    with pytest.raises(ValueError):
        aks_reference_positions(np.ones(100), 4)
