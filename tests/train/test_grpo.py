"""The policy-gradient pieces, checked against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from framepick.train.grpo import (
    clipped_surrogate_loss,
    group_advantages,
    positive_weight,
    ratio_diagnostics,
    reinforce_loss,
    weighted_bce_loss,
)


def test_group_advantages_are_standardised_within_the_group() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0])
    advantages = group_advantages(rewards, eps=0.0)
    assert torch.allclose(advantages, torch.tensor([1.0, -1.0, -1.0, 1.0]))
    assert torch.allclose(group_advantages(rewards, scale=False), torch.tensor([0.5, -0.5, -0.5, 0.5]))


def test_equal_rewards_give_zero_advantages_not_nan() -> None:
    advantages = group_advantages(torch.full((8,), 0.7))
    assert torch.all(advantages == 0)


def test_clipped_surrogate_on_policy_is_the_policy_gradient() -> None:
    log_prob = torch.tensor([-1.0, -2.0, -3.0], requires_grad=True)
    advantages = torch.tensor([1.0, -0.5, 2.0])
    loss = clipped_surrogate_loss(log_prob, log_prob.detach(), advantages)
    loss.backward()
    # ratio = 1: d(-mean(ratio * A)) / d log_prob = -A / n
    assert torch.allclose(log_prob.grad, -advantages / 3)
    assert math.isclose(float(loss.detach()), -float(advantages.mean()), rel_tol=1e-6)


def test_clip_stops_the_gradient_beyond_the_trust_region() -> None:
    old = torch.tensor([0.0, 0.0])
    new = torch.tensor([math.log(1.5), math.log(0.5)], requires_grad=True)
    advantages = torch.tensor([1.0, -1.0])
    loss = clipped_surrogate_loss(new, old, advantages, clip=0.2)
    loss.backward()
    # Ratio 1.5 with A > 0 and ratio 0.5 with A < 0 are both outside [0.8, 1.2] on the improving side.
    assert torch.all(new.grad == 0)
    assert math.isclose(float(loss.detach()), -(1.2 * 1.0 + 0.8 * -1.0) / 2, rel_tol=1e-6)


def test_reinforce_uses_the_group_mean_as_baseline() -> None:
    log_prob = torch.zeros(4, requires_grad=True)
    rewards = torch.tensor([2.0, 0.0, 1.0, 1.0])
    reinforce_loss(log_prob, rewards).backward()
    assert torch.allclose(log_prob.grad, -(rewards - 1.0) / 4)


@pytest.mark.parametrize("positives,total,expected", [(1, 101, 5.0), (25, 125, 2.0), (50, 100, 1.0), (0, 10, 1.0)])
def test_positive_weight_is_capped_sqrt_of_the_ratio(positives: int, total: int, expected: float) -> None:
    labels = torch.zeros(total)
    labels[:positives] = 1
    assert math.isclose(positive_weight(labels), expected)


def test_weighted_bce_matches_the_formula() -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, 0.0, -3.0])
    labels = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    weight = 2.0  # sqrt(4 / 1)
    expected = -(weight * math.log(torch.sigmoid(logits[0])) + sum(math.log(1 - torch.sigmoid(x)) for x in logits[1:])) / 5
    assert math.isclose(float(weighted_bce_loss(logits, labels)), expected, rel_tol=1e-5)


def test_ratio_diagnostics_are_cleanrls_approx_kl_and_clip_fraction() -> None:
    old = torch.tensor([-2.0, -1.0, -3.0, -0.5])
    ratio = [1.5, 0.5, 1.0, 1.1]
    new = (old + torch.log(torch.tensor(ratio))).requires_grad_()
    approx_kl, clip_fraction = ratio_diagnostics(new, old, clip=0.2)
    # k3 = (r - 1) - log r per sample, by hand: 0.5 - ln 1.5, -0.5 - ln 0.5, 0, 0.1 - ln 1.1.
    by_hand = ((0.5 - math.log(1.5)) + (-0.5 - math.log(0.5)) + 0.0 + (0.1 - math.log(1.1))) / 4
    assert math.isclose(approx_kl, by_hand, rel_tol=1e-5) and math.isclose(approx_kl, 0.0730931, rel_tol=1e-4)
    assert clip_fraction == 0.5  # 1.5 and 0.5 are outside [0.8, 1.2]; 1.0 and 1.1 are inside
    assert ratio_diagnostics(new, old, clip=0.05)[1] == 0.75
    assert ratio_diagnostics(new, old, clip=0.6)[1] == 0.0
    assert new.grad is None and not isinstance(approx_kl, torch.Tensor)


def test_ratio_diagnostics_on_policy_are_zero() -> None:
    log_prob = torch.tensor([-1.0, -7.5, -0.1])
    assert ratio_diagnostics(log_prob, log_prob.clone(), clip=0.2) == (0.0, 0.0)
