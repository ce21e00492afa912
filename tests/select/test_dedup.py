"""The near-duplicate guard: off, a method is unchanged; on, no two chosen frames are copies."""

from __future__ import annotations

import numpy as np
import pytest

import framepick.select  # noqa: F401  (registers the selectors)
from framepick.errors import InvalidArgumentError
from framepick.select import load_selector
from framepick.select.base import SelectorInput
from framepick.select.dedup import (
    NEAR_DUPLICATE_THRESHOLD,
    NearDuplicateGuard,
    drop_near_duplicates,
    near_duplicate_neighbour_pairs,
)
from framepick.types import Features, Scene

from burst_video import burst_video, unit


def max_pair_similarity(inputs: SelectorInput, positions: np.ndarray) -> float:
    emb = inputs.features.embeddings[positions]
    return float(np.max((emb @ emb.T)[np.triu_indices(len(positions), 1)]))


def with_scenes(inputs: SelectorInput) -> SelectorInput:
    from dataclasses import replace

    total = inputs.num_candidates
    return replace(inputs, scenes=tuple(Scene(a, min(a + 9, total - 1)) for a in range(0, total, 10)))


def test_neighbour_pairs_count_consecutive_copies_only() -> None:
    a, b = unit(np.eye(4)[:2])
    rows = np.stack([a, a, b, b, a])  # pairs: copy, new, copy, new
    assert near_duplicate_neighbour_pairs(rows) == 2
    assert near_duplicate_neighbour_pairs(rows[:1]) == 0
    tilted = unit(np.stack([a, a + 0.2 * b]))  # cosine 0.98
    assert near_duplicate_neighbour_pairs(tilted, threshold=0.99) == 0
    assert near_duplicate_neighbour_pairs(tilted, threshold=0.97) == 1


def test_drop_keeps_the_most_relevant_copy_and_refills_by_relevance() -> None:
    inputs, burst = burst_video()
    chosen = np.arange(50, 58)  # eight copies of one picture
    kept = drop_near_duplicates(chosen, inputs.features.embeddings, 8, scores=inputs.scores)
    assert kept.shape == (8,)
    assert len(set(kept) & set(burst)) == 1
    assert {0, 10, 20, 30, 40} <= set(kept), "refilled with the most relevant distinct frames"
    emb = inputs.features.embeddings[kept]
    assert near_duplicate_neighbour_pairs(emb) <= 2  # only frames of one shot can still be alike


def test_without_scores_the_refill_spreads_in_time() -> None:
    inputs, _ = burst_video()
    kept = drop_near_duplicates(np.arange(50, 58), inputs.features.embeddings, 3)
    assert kept[0] < 20, "the farthest distinct frame from the burst is early in the video"


def test_when_everything_is_a_copy_it_still_returns_k_frames() -> None:
    rng = np.random.default_rng(0)
    one = unit(rng.normal(size=(1, 8)))
    frames = unit(one + 1e-3 * rng.normal(size=(20, 8)))
    kept = drop_near_duplicates(np.arange(5), frames, 5, scores=np.arange(20.0))
    assert kept.shape == (5,) and np.all(np.diff(kept) > 0)
    assert drop_near_duplicates(np.arange(3), frames, 50).shape == (20,)


@pytest.mark.parametrize("name", ["topk", "aks", "bolt", "kframes", "mmr", "uniform"])
def test_guard_removes_the_burst_copies(name: str) -> None:
    inputs, burst = burst_video()
    inputs = with_scenes(inputs)
    guarded = load_selector(name, dedup=True).select(inputs, 6, np.random.default_rng(0))
    assert guarded.positions.shape == (6,)
    assert len(set(guarded.positions) & set(burst)) <= 1
    assert max_pair_similarity(inputs, guarded.positions) < NEAR_DUPLICATE_THRESHOLD


@pytest.mark.parametrize("name", ["topk", "aks", "bolt", "kframes"])
def test_paper_methods_are_unchanged_without_the_guard(name: str) -> None:
    inputs, _ = burst_video()
    inputs = with_scenes(inputs)
    plain = type(load_selector(name))()
    for params in ({}, {"dedup": None}, {"dedup": False}):
        selector = load_selector(name, **params)
        assert not isinstance(selector, NearDuplicateGuard)
        for k in (4, 8, 32):
            np.testing.assert_array_equal(
                selector.select(inputs, k, np.random.default_rng(3)).positions,
                plain.select(inputs, k, np.random.default_rng(3)).positions,
            )


def test_topk_without_guard_takes_the_copies_and_with_guard_does_not() -> None:
    inputs, burst = burst_video()
    assert set(load_selector("topk").select(inputs, 8, np.random.default_rng(0)).positions) == set(burst)
    guarded = load_selector("topk+dedup").select(inputs, 8, np.random.default_rng(0)).positions
    assert len(set(guarded) & set(burst)) == 1


def test_guard_spelling_threshold_and_params() -> None:
    guard = load_selector("kframes+dedup")
    assert isinstance(guard, NearDuplicateGuard) and guard.threshold == NEAR_DUPLICATE_THRESHOLD
    assert guard.name == "kframes" and "features" in guard.needs and "scenes" in guard.needs
    assert guard.query_aware and guard.params()["dedup"] == NEAR_DUPLICATE_THRESHOLD
    assert guard.params()["mode"] == "auto"  # the inner method's parameters stay visible
    assert load_selector("aks", dedup=0.9, t1=0.5).threshold == 0.9
    assert load_selector("aks", dedup=0.9, t1=0.5).inner.t1 == 0.5
    assert load_selector("uniform", dedup=True).query_aware is False


@pytest.mark.parametrize("bad", [0, 1.5, -0.2, "high", float("nan")])
def test_threshold_is_validated(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r"dedup must be a number in \(0, 1\]"):
        load_selector("topk", dedup=bad)


def test_guard_needs_features() -> None:
    with pytest.raises(InvalidArgumentError, match="dedup.*needs frame features"):
        load_selector("topk+dedup").select(SelectorInput(num_candidates=5, scores=np.arange(5.0)), 2, np.random.default_rng(0))
