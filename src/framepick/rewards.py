"""Rewards for frame-selection policies, as pure functions of an answer and a selection.

- :func:`accuracy_reward`: TSPO's R_A (paper 003, Eq. 10): 1 when the answer is right.
- :func:`temporal_reward`: TSPO's R_T (Eq. 11): the fraction of chosen frames inside the evidence.
- :func:`tspo_reward`: R_A + R_T on needle data, R_A + 1 on data without spans (Sec. after Eq. 11).
- :func:`log_ratio_reward`: K-frames' Eq. 2, tanh(log(p_correct / mean p_wrong) / tau).
- :func:`margin_reward`: ReFoCUS's Eq. 5, tanh((z* - z~) / 2) with z the log-probabilities of the
  correct option and the best wrong one.

Option probabilities come from :class:`framepick.answer.base.Answer.option_probs`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.spans import frames_in_spans
from framepick.types import option_position

# Probabilities are floored here before taking logs, so an option an answerer rules out exactly
# gives a large finite ratio instead of inf/NaN in a training batch.
_PROB_FLOOR = 1e-12


def accuracy_reward(predicted: str | None, gold: str) -> float:
    """R_A: 1.0 when ``predicted`` names the same option letter as ``gold`` ("B", "(b)", "B."), else 0.0."""
    gold_position = option_position(gold)
    if gold_position is None:
        raise InvalidArgumentError(f"gold answer must be an option letter, got {gold!r}")
    return float(predicted is not None and option_position(predicted) == gold_position)


def temporal_reward(timestamps: Sequence[float], spans: Sequence[Sequence[float]]) -> float:
    """R_T: chosen frames inside any ``[start, end]`` span (ends included) / chosen frames; 0 for none."""
    inside = frames_in_spans(timestamps, spans)
    return sum(inside) / len(inside) if inside else 0.0


def tspo_reward(predicted: str | None, gold: str, timestamps: Sequence[float], spans: Sequence[Sequence[float]]) -> float:
    """TSPO's total reward: R_A + R_T where evidence spans exist (needle data), else R_A + 1."""
    temporal = temporal_reward(timestamps, spans) if spans else 1.0
    return accuracy_reward(predicted, gold) + temporal


def log_ratio_reward(option_probs: Sequence[float], correct: int, tau: float = 1.0) -> float:
    """K-frames Eq. 2: tanh(log(p_correct / mean of the wrong options' p) / tau), in (-1, 1).

    The paper names a temperature tau without giving its value; 1.0 is the neutral default.
    """
    probs = _checked(option_probs, correct)
    if not (isinstance(tau, (int, float)) and tau > 0 and math.isfinite(tau)):
        raise InvalidArgumentError(f"tau must be a positive number, got {tau!r}")
    wrong = float(np.mean(np.delete(probs, correct)))
    ratio = max(float(probs[correct]), _PROB_FLOOR) / max(wrong, _PROB_FLOOR)
    return math.tanh(math.log(ratio) / tau)


def margin_reward(option_probs: Sequence[float], correct: int) -> float:
    """ReFoCUS Eq. 5 from option probabilities: ``(p* - p~) / (p* + p~) = tanh((log p* - log p~) / 2)``.

    ``p~`` is the most probable wrong option. The ratio form is exact and needs no logs; it is 0
    when both probabilities are 0.
    """
    probs = _checked(option_probs, correct)
    best_wrong = float(np.max(np.delete(probs, correct)))
    mine = float(probs[correct])
    total = mine + best_wrong
    return 0.0 if total <= 0 else (mine - best_wrong) / total


def _checked(option_probs: Sequence[float], correct: int) -> np.ndarray:
    probs = np.asarray(option_probs, dtype=np.float64)
    if probs.ndim != 1 or probs.size < 2:
        raise InvalidArgumentError(f"option_probs must hold at least 2 probabilities, got shape {probs.shape}")
    if not np.all(np.isfinite(probs)) or np.any(probs < 0):
        raise InvalidArgumentError("option_probs must be finite and non-negative")
    if not 0 <= correct < probs.size:
        raise InvalidArgumentError(f"correct option {correct} is not among the {probs.size} options")
    return probs
