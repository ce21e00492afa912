"""ReFoCUS's autoregressive policy (paper 001, Algorithm 2): shapes, initialisation, exact
log-probabilities against sampling, masking, gradients, and a GRPO smoke test on a known answer."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from framepick.errors import InvalidArgumentError
from framepick.policies import build_policy, policy_class
from framepick.policies.base import make_observation, plackett_luce_log_prob
from framepick.policies.refocus import RefocusConfig, RefocusPolicy
from framepick.train.grpo import clipped_surrogate_loss, group_advantages

from policies.threads import one_thread  # noqa: F401  (autouse)

DIM = 16




def random_obs(length: int, seed: int = 0, dim: int = DIM):
    generator = torch.Generator().manual_seed(seed)
    frames = F.normalize(torch.randn(length, dim, generator=generator), dim=1)
    return make_observation(frames, torch.randn(dim, generator=generator))


def make_policy(seed: int = 0, **fields) -> RefocusPolicy:
    torch.manual_seed(seed)
    return RefocusPolicy(RefocusConfig(dim=fields.pop("dim", DIM), **fields))


def scrambled_policy(seed: int = 0) -> RefocusPolicy:
    """A policy far from its initialisation, so every step depends on what was chosen before."""
    policy = make_policy(seed, init_temperature=1.0)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for parameter in (policy.query_head.weight, policy.key_head.weight, policy.value_head.weight):
            parameter.copy_(torch.randn(parameter.shape, generator=generator) / math.sqrt(DIM))
        policy.value_head.bias.copy_(torch.randn(DIM, generator=generator))
        policy.log_logit_scale.fill_(math.log(3.0 * math.sqrt(DIM)))
    return policy


def test_registered_and_sized() -> None:
    assert policy_class("refocus") is RefocusPolicy
    policy = build_policy("refocus", dim=DIM)
    assert policy.method == "refocus" and isinstance(policy.config, RefocusConfig)
    assert policy.num_parameters() == 3 * DIM * DIM + DIM + 1  # Q, K, V heads + V bias + logit scale
    assert RefocusConfig.from_dict(policy.config.to_dict()) == policy.config


@pytest.mark.parametrize(
    "fields,pattern",
    [
        ({"init_temperature": 0.0}, "init_temperature must be > 0"),
        ({"init_temperature": float("nan")}, "init_temperature must be a finite number"),
        ({"init_temperature": "0.05"}, "init_temperature must be a finite number"),
        ({"value_gain": -0.1}, "value_gain must be >= 0"),
        ({"dim": 0}, r"dim must be an integer in \[1, inf\]"),
    ],
)
def test_config_is_validated(fields: dict, pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        RefocusConfig(**fields)


def test_orthogonal_initialisation_of_the_heads() -> None:
    policy = make_policy(3)
    query, key, value = policy.query_head, policy.key_head, policy.value_head
    assert query.bias is None and key.bias is None
    assert torch.equal(query.weight, key.weight), "Query and Key start from the same orthogonal matrix"
    torch.testing.assert_close(query.weight.T @ query.weight, torch.eye(DIM), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.svdvals(value.weight), torch.full((DIM,), 0.1), atol=1e-5, rtol=0)
    assert torch.count_nonzero(value.bias) == 0
    assert float(policy.log_logit_scale.detach().exp()) == pytest.approx(math.sqrt(DIM) / 0.05)
    # Different seeds give different rotations: the init is orthogonal, not the identity.
    assert not torch.allclose(make_policy(4).query_head.weight, query.weight)


@pytest.mark.parametrize("dim,temperature", [(16, 0.05), (16, 1.0), (64, 0.01)])
def test_first_step_logits_are_cosine_over_init_temperature(dim: int, temperature: float) -> None:
    policy = make_policy(1, dim=dim, init_temperature=temperature)
    obs = random_obs(50, seed=2, dim=dim)
    cosine = obs.frames @ obs.query
    expected = cosine / temperature
    torch.testing.assert_close(policy.frame_scores(obs), expected, atol=1e-5 / temperature, rtol=1e-5)
    # ... and they are the logits the first draw is made from.
    actions = torch.arange(50).unsqueeze(1)
    log_prob, _ = policy.log_prob(obs, actions)
    torch.testing.assert_close(log_prob, torch.log_softmax(expected, dim=0), atol=1e-4, rtol=1e-4)
    # Greedy selection starts where top-k retrieval does.
    assert int(policy.select(obs, 1)) == int(torch.argmax(cosine))


def test_sample_shapes_distinct_positions_in_drawn_order() -> None:
    policy, obs = make_policy(), random_obs(40)
    actions = policy.sample(obs, 8, 16, torch.Generator().manual_seed(0))
    assert actions.shape == (16, 8) and actions.dtype == torch.long
    assert int(actions.min()) >= 0 and int(actions.max()) < 40
    assert all(len(set(row.tolist())) == 8 for row in actions)
    assert any(row.tolist() != sorted(row.tolist()) for row in actions), "drawn order is kept, not sorted"


def test_sample_is_deterministic_for_a_generator_seed() -> None:
    policy, obs = make_policy(), random_obs(40)
    a = policy.sample(obs, 8, 16, torch.Generator().manual_seed(5))
    b = policy.sample(obs, 8, 16, torch.Generator().manual_seed(5))
    c = policy.sample(obs, 8, 16, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_k_at_least_t_takes_every_candidate() -> None:
    policy, obs = make_policy(), random_obs(5)
    for k in (5, 9):
        assert torch.equal(policy.select(obs, k), torch.arange(5))
        actions = policy.sample(obs, k, 4, torch.Generator().manual_seed(0))
        assert actions.shape == (4, 5)
        assert all(sorted(row.tolist()) == list(range(5)) for row in actions)
    single = random_obs(1)
    assert policy.select(single, 3).tolist() == [0]
    assert policy.sample(single, 3, 2, torch.Generator().manual_seed(0)).tolist() == [[0], [0]]


def test_select_is_deterministic_sorted_and_distinct() -> None:
    policy, obs = scrambled_policy(), random_obs(300, seed=4)
    chosen = policy.select(obs, 32)
    assert chosen.shape == (32,) and chosen.dtype == torch.long
    assert bool((chosen.diff() > 0).all()), "sorted, no repeats"
    assert torch.equal(policy.select(obs, 32), chosen)
    assert torch.equal(scrambled_policy().select(obs, 32), chosen)


def test_log_prob_is_the_sampling_distribution() -> None:
    """T = 4, k = 2: the 12 ordered pairs' probabilities sum to 1 and match sampled frequencies."""
    policy, obs = scrambled_policy(7), random_obs(4, seed=8)
    pairs = torch.tensor(list(itertools.permutations(range(4), 2)))
    with torch.no_grad():
        log_prob, entropy = policy.log_prob(obs, pairs)
    probabilities = log_prob.exp()
    assert float(probabilities.sum()) == pytest.approx(1.0, abs=1e-5)
    assert bool((entropy > 0).all()) and bool((entropy <= math.log(4) + 1e-6).all())

    draws = 40_000
    samples = policy.sample(obs, 2, draws, torch.Generator().manual_seed(0))
    codes = samples[:, 0] * 4 + samples[:, 1]
    frequency = torch.bincount(codes, minlength=16).float()[pairs[:, 0] * 4 + pairs[:, 1]] / draws
    torch.testing.assert_close(frequency, probabilities, atol=0.015, rtol=0)

    # The second draw depends on the first through the value update: not plain Plackett-Luce.
    plain, _ = plackett_luce_log_prob(policy.frame_scores(obs).detach(), pairs)
    assert not torch.allclose(plain, log_prob, atol=1e-2)


def test_without_values_it_is_plackett_luce_over_the_first_logits() -> None:
    policy, obs = scrambled_policy(2), random_obs(30, seed=3)
    with torch.no_grad():
        policy.value_head.weight.zero_()
        policy.value_head.bias.zero_()
    actions = policy.sample(obs, 6, 8, torch.Generator().manual_seed(1))
    log_prob, entropy = policy.log_prob(obs, actions)
    expected_log_prob, expected_entropy = plackett_luce_log_prob(policy.frame_scores(obs).detach(), actions)
    torch.testing.assert_close(log_prob, expected_log_prob, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(entropy, expected_entropy, atol=1e-4, rtol=1e-5)


def test_chosen_frames_are_masked() -> None:
    # One frame equals the query at a very low temperature: unmasked, it would win every step.
    generator = torch.Generator().manual_seed(0)
    frames = F.normalize(torch.randn(6, DIM, generator=generator), dim=1)
    obs = make_observation(frames, frames[2])
    policy = make_policy(init_temperature=1e-3)
    assert sorted(policy.select(obs, 6).tolist()) == list(range(6))
    for row in policy.sample(obs, 6, 200, torch.Generator().manual_seed(3)):
        assert sorted(row.tolist()) == list(range(6))
        assert int(row[0]) == 2
    with pytest.raises(InvalidArgumentError, match="must not repeat"):
        policy.log_prob(obs, torch.tensor([[2, 2]]))
    with pytest.raises(InvalidArgumentError, match=r"positions in \[0, 5\]"):
        policy.log_prob(obs, torch.tensor([[2, 6]]))


def test_inputs_are_validated() -> None:
    policy = make_policy()
    with pytest.raises(InvalidArgumentError, match=r"needs frames \[T,16\]"):
        policy.select(random_obs(10, dim=8), 2)
    with pytest.raises(InvalidArgumentError, match="k must be an integer"):
        policy.select(random_obs(10), 0)
    with pytest.raises(InvalidArgumentError, match="group must be an integer"):
        policy.sample(random_obs(10), 2, 0, torch.Generator())


def test_gradients_reach_every_parameter() -> None:
    policy, obs = make_policy(), random_obs(40)
    actions = policy.sample(obs, 8, 16, torch.Generator().manual_seed(0))
    log_prob, entropy = policy.log_prob(obs, actions)
    advantages = torch.linspace(-1.0, 1.0, 16)
    loss = -(advantages * log_prob).mean() - 0.002 * entropy.mean()
    loss.backward()
    for name, parameter in policy.named_parameters():
        assert parameter.grad is not None, name
        assert bool(torch.isfinite(parameter.grad).all()), name
        assert float(parameter.grad.abs().sum()) > 0, name


def test_set_temperature_is_a_no_op() -> None:
    policy, obs = make_policy(), random_obs(40)
    before = policy.sample(obs, 8, 4, torch.Generator().manual_seed(0))
    policy.set_temperature(0.001)
    assert torch.equal(policy.sample(obs, 8, 4, torch.Generator().manual_seed(0)), before)


def test_checkpoint_round_trip(tmp_path) -> None:
    from framepick.policies.checkpoint import load_policy, save_policy

    policy, obs = scrambled_policy(), random_obs(100)
    save_policy(tmp_path, policy, encoder_id="test-encoder")
    loaded, meta = load_policy(tmp_path, method="refocus")
    assert meta["parameters"] == policy.num_parameters()
    assert torch.equal(loaded.select(obs, 16), policy.select(obs, 16))
    torch.testing.assert_close(loaded.frame_scores(obs), policy.frame_scores(obs))


def test_grpo_raises_the_reward_on_a_known_answer() -> None:
    """Frames 10-14 of 64 are relevant; the reward is the fraction of the k chosen inside them."""
    # init_temperature 1: a near-uniform start (reward about 5/64), not the query's nearest frames.
    policy, obs = make_policy(0, init_temperature=1.0), random_obs(64, seed=11)
    relevant = torch.zeros(64, dtype=torch.bool)
    relevant[10:15] = True
    optimizer = torch.optim.Adam(policy.parameters(), lr=0.03)
    generator = torch.Generator().manual_seed(0)
    mean_rewards = []
    for _ in range(30):
        actions = policy.sample(obs, 4, 16, generator)
        rewards = relevant[actions].float().mean(dim=1)
        mean_rewards.append(float(rewards.mean()))
        with torch.no_grad():
            old_log_prob, _ = policy.log_prob(obs, actions)
        advantages = group_advantages(rewards)
        for _ in range(2):
            log_prob, entropy = policy.log_prob(obs, actions)
            loss = clipped_surrogate_loss(log_prob, old_log_prob, advantages) - 0.002 * entropy.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    first, last = sum(mean_rewards[:5]) / 5, sum(mean_rewards[-5:]) / 5
    assert first < 0.25 and last > first + 0.4, (first, last)
    assert float(relevant[policy.select(obs, 4)].float().mean()) >= 0.5
