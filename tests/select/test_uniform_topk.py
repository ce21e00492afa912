"""The two baselines: uniform (segment centres) and top-k retrieval."""

from __future__ import annotations

import numpy as np

from framepick.select.base import SelectorInput
from framepick.select.topk import TopKSelector, top_k_positions
from framepick.select.uniform import UniformSelector


def test_uniform_is_segment_centres() -> None:
    # T = 10, k = 3: floor(10/6), floor(30/6), floor(50/6) = 1, 5, 8.
    assert UniformSelector().select(SelectorInput(10), 3, np.random.default_rng(0)).positions.tolist() == [1, 5, 8]
    # T = 256, k = 8: centres of 32-frame segments.
    got = UniformSelector().select(SelectorInput(256), 8, np.random.default_rng(0)).positions
    assert got.tolist() == list(range(16, 256, 32))
    assert UniformSelector().select(SelectorInput(9), 9, np.random.default_rng(0)).positions.tolist() == list(range(9))


def test_uniform_ignores_scores_but_reports_them() -> None:
    scores = np.arange(10.0)
    out = UniformSelector().select(SelectorInput(10, scores=scores), 3, np.random.default_rng(0))
    assert out.positions.tolist() == [1, 5, 8] and out.scores.tolist() == [1.0, 5.0, 8.0]


def test_topk_highest_scores_with_stable_ties() -> None:
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    assert top_k_positions(scores, 2).tolist() == [1, 2]  # three tie at 3: the earliest two
    out = TopKSelector().select(SelectorInput(5, scores=scores), 4, np.random.default_rng(0))
    assert out.positions.tolist() == [1, 2, 3, 4] and out.scores.tolist() == [3.0, 3.0, 2.0, 3.0]
