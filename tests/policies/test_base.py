"""Shared policy helpers: Plackett-Luce probabilities, Gumbel top-k draws, observations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from framepick.errors import InvalidArgumentError
from framepick.policies.base import gumbel_top_k, make_observation, plackett_luce_log_prob, sinusoidal_positions


def test_plackett_luce_sums_to_one_over_ordered_subsets_and_matches_gumbel_draws() -> None:
    logits = torch.tensor([1.0, 0.2, -0.5, 0.7])
    pairs = torch.tensor(list(itertools.permutations(range(4), 2)))
    log_prob, _ = plackett_luce_log_prob(logits, pairs)
    assert math.isclose(float(log_prob.exp().sum()), 1.0, rel_tol=1e-5)
    draws = gumbel_top_k(logits, 2, 40000, torch.Generator().manual_seed(0))
    counts = {tuple(p): 0 for p in pairs.tolist()}
    for row in draws.tolist():
        counts[tuple(row)] += 1
    empirical = torch.tensor([counts[tuple(p)] / 40000 for p in pairs.tolist()])
    assert torch.allclose(empirical, log_prob.exp(), atol=0.01)


def test_plackett_luce_gradients_are_finite_with_masked_frames() -> None:
    logits = torch.randn(6, requires_grad=True)
    log_prob, entropy = plackett_luce_log_prob(logits, torch.tensor([[0, 3, 5], [2, 1, 4]]))
    (log_prob.sum() + entropy.sum()).backward()
    assert torch.all(torch.isfinite(logits.grad))


def test_gumbel_top_k_rows_are_distinct_and_capped_at_t() -> None:
    draws = gumbel_top_k(torch.zeros(5), 9, 3, torch.Generator().manual_seed(1))
    assert draws.shape == (3, 5)
    assert all(len(set(row)) == 5 for row in draws.tolist())


def test_make_observation_averages_and_normalises_the_query() -> None:
    frames = np.eye(4, dtype=np.float32)
    obs = make_observation(frames, np.stack([frames[0], frames[1]]), None, "  q? ")
    assert torch.allclose(obs.query, torch.tensor([1, 1, 0, 0]) / math.sqrt(2))
    assert obs.options.shape == (0, 4) and obs.question == "q?"
    with pytest.raises(InvalidArgumentError, match="query embedding must have the frames' width 4"):
        make_observation(frames, np.ones(3))


def test_sinusoidal_positions_match_the_formula() -> None:
    table = sinusoidal_positions(10, 6)
    assert table.shape == (10, 6)
    assert math.isclose(float(table[3, 0]), math.sin(3.0), rel_tol=1e-6)
    assert math.isclose(float(table[3, 1]), math.cos(3.0), rel_tol=1e-6)
