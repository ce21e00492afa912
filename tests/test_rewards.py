"""Rewards against values computed by hand from the papers' equations."""

from __future__ import annotations

import math

import pytest

from framepick.errors import InvalidArgumentError
from framepick.rewards import (
    accuracy_reward,
    log_ratio_reward,
    margin_reward,
    temporal_reward,
    tspo_reward,
)


def test_accuracy_reward_reads_letters_loosely():
    assert accuracy_reward("B", "B") == 1.0
    assert accuracy_reward("(b)", "B") == 1.0
    assert accuracy_reward("C", "B") == 0.0
    assert accuracy_reward(None, "B") == 0.0
    with pytest.raises(InvalidArgumentError):
        accuracy_reward("A", "not a letter")


def test_temporal_reward_is_the_fraction_inside_the_spans():
    spans = [[10.0, 15.0], [25.0, 30.0]]
    assert temporal_reward([11.0, 12.0, 20.0, 26.0], spans) == 0.75
    assert temporal_reward([10.0, 15.0], spans) == 1.0  # both ends count
    assert temporal_reward([1.0, 2.0], spans) == 0.0
    assert temporal_reward([], spans) == 0.0


def test_tspo_reward_adds_one_without_spans():
    assert tspo_reward("A", "A", [11.0, 20.0], [[10.0, 15.0]]) == 1.5  # R_A + R_T
    assert tspo_reward("B", "A", [11.0, 20.0], [[10.0, 15.0]]) == 0.5
    assert tspo_reward("A", "A", [11.0, 20.0], []) == 2.0  # R_A + 1


def test_log_ratio_reward_is_kframes_eq_2():
    probs = [0.6, 0.3, 0.1]
    # p_correct / mean(p_wrong): 0.6 / 0.2 = 3
    assert log_ratio_reward(probs, 0) == pytest.approx(math.tanh(math.log(3.0)))
    assert log_ratio_reward(probs, 0, tau=2.0) == pytest.approx(math.tanh(math.log(3.0) / 2))
    # correct option 2: 0.1 / 0.45
    assert log_ratio_reward(probs, 2) == pytest.approx(math.tanh(math.log(0.1 / 0.45)))
    assert log_ratio_reward([0.25] * 4, 1) == pytest.approx(0.0)
    # an option ruled out exactly stays finite
    assert -1.0 <= log_ratio_reward([0.0, 1.0], 0) < -0.99
    with pytest.raises(InvalidArgumentError):
        log_ratio_reward(probs, 0, tau=0.0)


def test_margin_reward_is_refocus_eq_5():
    probs = [0.6, 0.3, 0.1]
    assert margin_reward(probs, 0) == pytest.approx(math.tanh((math.log(0.6) - math.log(0.3)) / 2))
    assert margin_reward(probs, 2) == pytest.approx(math.tanh((math.log(0.1) - math.log(0.6)) / 2))
    assert margin_reward([1.0, 0.0], 0) == 1.0 and margin_reward([1.0, 0.0], 1) == -1.0
    assert margin_reward([0.0, 0.0, 1.0], 0) == -1.0  # the best wrong option is certain
    assert margin_reward([0.0, 0.0, 1.0], 2) == 1.0
    assert margin_reward([0.0, 0.0], 0) == 0.0  # p* = p~ = 0: no margin either way


@pytest.mark.parametrize("reward", [log_ratio_reward, margin_reward])
@pytest.mark.parametrize("probs, correct", [([1.0], 0), ([0.5, 0.5], 2), ([0.5, float("nan")], 0), ([-0.1, 1.1], 0)])
def test_bad_probabilities_are_refused(reward, probs, correct):
    with pytest.raises(InvalidArgumentError):
        reward(probs, correct)
