"""MMR: relevant frames that are not copies of each other."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.errors import InvalidArgumentError
from framepick.select import load_selector
from framepick.select.base import SelectorInput
from framepick.select.mmr import mmr_order, normalised_relevance
from framepick.select.topk import top_k_positions
from framepick.types import Features

from burst_video import burst_video


def test_topk_takes_the_burst_and_mmr_takes_one_frame_of_it() -> None:
    inputs, burst = burst_video()
    topk = top_k_positions(inputs.scores, 6)
    assert set(topk) <= set(burst), "the test's premise: top-k is copies of one picture"
    chosen = load_selector("mmr").select(inputs, 6, np.random.default_rng(0)).positions
    # One frame of the burst, then the most relevant frame of each of the five other shots.
    assert len(set(chosen) & set(burst)) == 1
    np.testing.assert_array_equal(sorted(set(chosen) - set(burst)), [0, 10, 20, 30, 40])
    emb = inputs.features.embeddings[chosen]
    assert np.max((emb @ emb.T)[np.triu_indices(6, 1)]) < 0.9


def test_first_pick_is_the_most_relevant_and_weight_one_is_topk() -> None:
    inputs, _ = burst_video()
    rel = normalised_relevance(inputs.scores)
    order = mmr_order(rel, inputs.features.embeddings, 8, 0.5)
    assert order[0] == int(np.argmax(inputs.scores))
    only_relevance = load_selector("mmr", relevance_weight=1.0).select(inputs, 8, np.random.default_rng(0))
    np.testing.assert_array_equal(only_relevance.positions, top_k_positions(inputs.scores, 8))


def test_any_k_and_deterministic() -> None:
    inputs, _ = burst_video()
    selector = load_selector("mmr")
    for k in (1, 8, 59, 60, 200):
        a = selector.select(inputs, k, np.random.default_rng(1)).positions
        b = selector.select(inputs, k, np.random.default_rng(2)).positions
        np.testing.assert_array_equal(a, b)
        assert a.shape == (min(k, 60),)
        assert np.all(np.diff(a) > 0)


def test_constant_scores_spread_over_distinct_shots() -> None:
    inputs, _ = burst_video()
    flat = SelectorInput(num_candidates=60, scores=np.zeros(60), features=inputs.features)
    chosen = load_selector("mmr").select(flat, 6, np.random.default_rng(0)).positions
    emb = flat.features.embeddings[chosen]
    assert np.max((emb @ emb.T)[np.triu_indices(6, 1)]) < 0.9  # six different shots (the burst counts as one)


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan"), "0.5"])
def test_relevance_weight_is_validated(weight: object) -> None:
    with pytest.raises(InvalidArgumentError, match=r"relevance_weight must be a number in \[0, 1\]"):
        load_selector("mmr", relevance_weight=weight)


def test_needs_features() -> None:
    with pytest.raises(InvalidArgumentError, match="needs frame features"):
        load_selector("mmr").select(SelectorInput(num_candidates=5, scores=np.arange(5.0)), 2, np.random.default_rng(0))
