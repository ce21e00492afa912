"""TSPO's temporal agent: the windowed attention, the paper's size, and its start at retrieval."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framepick.errors import InvalidArgumentError
from framepick.policies.base import make_observation, sinusoidal_positions
from framepick.policies.tspo import LocalWindowAttention, TSPOAgent, TSPOConfig


def unit_rows(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def dense_reference(attention: LocalWindowAttention, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The same attention as a full [T,T] matrix with everything outside the window masked."""
    length, dim = x.shape
    heads, window = attention.heads, attention.window
    head_dim = dim // heads
    q, k, v = attention.qkv(x).chunk(3, dim=-1)
    q = (q + positions).view(length, heads, head_dim).transpose(0, 1)
    k = (k + positions).view(length, heads, head_dim).transpose(0, 1)
    v = v.view(length, heads, head_dim).transpose(0, 1)
    offset = torch.arange(length)[None, :] - torch.arange(length)[:, None]  # j - i
    allowed = (offset >= -(window // 2)) & (offset <= window - window // 2 - 1)
    scores = (q @ k.transpose(-1, -2)) / head_dim**0.5
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    return attention.out((weights @ v).transpose(0, 1).reshape(length, dim))


@pytest.mark.parametrize("length,window", [(1, 12), (5, 12), (40, 12), (40, 5), (64, 1)])
def test_windowed_attention_equals_masked_dense_attention(length: int, window: int) -> None:
    torch.manual_seed(0)
    attention = LocalWindowAttention(16, 4, window)
    torch.nn.init.normal_(attention.out.weight)  # the zero init would make every output 0
    x = torch.randn(length, 16)
    positions = sinusoidal_positions(length, 16)
    torch.testing.assert_close(attention(x, positions), dense_reference(attention, x, positions), atol=1e-5, rtol=1e-5)


def test_size_matches_the_paper_at_clip_width() -> None:
    assert 3.4e6 < TSPOAgent(TSPOConfig(dim=768)).num_parameters() < 3.6e6


def test_untrained_agent_scores_twice_the_cosine_and_selects_like_retrieval() -> None:
    torch.manual_seed(0)
    agent = TSPOAgent(TSPOConfig(dim=16, heads=4))
    frames = unit_rows(50, 16)
    obs = make_observation(frames, frames[7])
    cosine = torch.as_tensor(frames @ frames[7])
    with torch.no_grad():
        torch.testing.assert_close(agent.frame_scores(obs), 2 * cosine, atol=1e-5, rtol=1e-5)
        chosen = agent.select(obs, 5)
    assert chosen.tolist() == sorted(torch.argsort(-cosine)[:5].tolist())


def test_log_prob_is_the_sum_of_log_softmax_at_the_temperature() -> None:
    torch.manual_seed(0)
    agent = TSPOAgent(TSPOConfig(dim=16, heads=4))
    obs = make_observation(unit_rows(30, 16), unit_rows(1, 16, seed=1))
    agent.set_temperature(0.5)
    actions = agent.sample(obs, 4, 3, torch.Generator().manual_seed(0))
    log_prob, entropy = agent.log_prob(obs, actions)
    expected = torch.log_softmax(agent.frame_scores(obs) / 0.5, dim=-1)[actions].sum(-1)
    torch.testing.assert_close(log_prob, expected)
    assert actions.shape == (3, 4) and all(len(set(row)) == 4 for row in actions.tolist())
    assert torch.all(entropy > 0)


def test_gradients_reach_every_parameter_once_the_residual_branches_move() -> None:
    torch.manual_seed(0)
    agent = TSPOAgent(TSPOConfig(dim=16, heads=4))
    for module in (agent.attention.out, agent.mlp[2]):
        torch.nn.init.normal_(module.weight, std=0.1)
    obs = make_observation(unit_rows(30, 16), unit_rows(1, 16, seed=1))
    log_prob, _ = agent.log_prob(obs, torch.tensor([[1, 2, 3]]))
    log_prob.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in agent.parameters())


@pytest.mark.parametrize("field,value,message", [("heads", 5, "heads \\(5\\) must divide dim"), ("window", 0, "window must be"), ("temperature", 0, "temperature must be > 0")])
def test_config_is_validated(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        TSPOConfig(**{"dim": 16, "heads": 4, field: value})
