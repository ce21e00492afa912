"""BOLT: distinct frames that keep every pick of the released inverse-transform step."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from framepick.select.base import SelectorInput
from framepick.select.bolt import BOLTSelector, bolt_positions, inverse_transform_positions, spread_collisions


def oracle(scores: np.ndarray, n: int, power: float) -> np.ndarray:
    """Re-statement of sming256/BOLT select_frames.py ``inverse_transform_sampling`` (n >= 2)."""
    s = (scores - scores.min()) / (scores - scores.min()).max()
    density = s**power
    cdf = np.cumsum(density / density.sum())
    return np.searchsorted(cdf, np.linspace(1 / n, 1 - 1 / n, n))


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(2, 600),
    k=st.integers(2, 100),
    seed=st.integers(0, 2**16),
    power=st.sampled_from([1.0, 2.5, 3.0, 8.0]),
    peaky=st.booleans(),
)
def test_keeps_every_inverse_transform_pick_and_returns_k_distinct(total, k, seed, power, peaky) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.random(total)
    if peaky:
        scores = scores**12  # mass on a few frames: many quantiles collide
    if np.ptp(scores) == 0:
        return
    picks = oracle(scores, k, power)
    np.testing.assert_array_equal(inverse_transform_positions(scores, k, power), np.minimum(picks, total - 1))
    out = BOLTSelector(power=power).select(SelectorInput(total, scores=scores), k, rng)
    assert len(out.positions) == min(k, total) == len(set(out.positions.tolist()))
    if k <= total:
        assert set(picks.tolist()) <= set(out.positions.tolist())


def test_collisions_move_to_the_nearest_free_frames() -> None:
    scores = np.zeros(100)
    scores[50] = 1.0  # all density on frame 50: every quantile lands there
    assert inverse_transform_positions(scores, 5).tolist() == [50] * 5
    # Nearest free frames, equal distances resolved to the earlier frame (equal scores).
    assert bolt_positions(scores, 5).tolist() == [48, 49, 50, 51, 52]


def test_equal_distance_prefers_the_higher_score() -> None:
    scores = np.array([0.0, 0.1, 0.2, 0.9, 0.3, 0.1])
    # Frame 2 is drawn twice; frames 1 and 3 are both 1 away and 3 scores higher.
    assert spread_collisions(np.array([2, 2]), scores).tolist() == [2, 3]
    # Three repeats: 3 (1 away, beats 1 on score), then 1 (1 away; 4 is 2 away), then 4 (0 and 4
    # are both 2 away; 4 scores higher).
    assert spread_collisions(np.array([2, 2, 2, 2]), scores).tolist() == [1, 2, 3, 4]


def test_frames_follow_the_density() -> None:
    scores = np.full(1000, 0.1)
    scores[600:700] = 1.0
    positions = bolt_positions(scores, 32, 3.0)
    # With power 3 the relevant tenth holds 1 / (1 + 0.9 * 1e-3 / 0.1) ~ 99 % of the mass.
    assert np.mean((positions >= 600) & (positions < 700)) > 0.9


def test_k_one_uses_the_median_level() -> None:
    scores = np.linspace(0, 1, 11)  # density ~ s^3: the median of the mass sits high
    cdf = np.cumsum(scores**3 / np.sum(scores**3))
    assert bolt_positions(scores, 1).tolist() == [int(np.searchsorted(cdf, 0.5))]
