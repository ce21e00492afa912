"""Rewards and validation metrics of chosen frame subsets on an :class:`~framepick.train.episodes.Episode`.

These connect the pure rewards of :mod:`framepick.rewards` to an episode's cached answer
table: an answer on a subset is the offline answerer's answer on exactly those frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.rewards import accuracy_reward, log_ratio_reward, margin_reward, temporal_reward
from framepick.spacing import evenly_spaced
from framepick.train.config import TrainConfig
from framepick.train.episodes import Episode
from framepick.types import option_letter

if TYPE_CHECKING:
    from framepick.answer.base import OptionSimilarityAnswerer


def option_probs(episode: Episode, positions: Sequence[int], answerer: OptionSimilarityAnswerer) -> np.ndarray | None:
    """The answerer's option probabilities on the frames at ``positions``; None without an answer table."""
    if episode.answer_similarity is None:
        return None
    return answerer.probs_from_similarity(episode.answer_similarity[:, np.asarray(positions, dtype=np.int64)])


def subset_reward(
    episode: Episode, positions: Sequence[int], config: TrainConfig, answerer: OptionSimilarityAnswerer
) -> dict[str, float]:
    """Reward of one chosen subset, with its parts (``reward``, ``accuracy``, ``temporal``, ``margin``)."""
    positions = np.asarray(positions, dtype=np.int64)
    spans = episode.sample.spans
    temporal = temporal_reward(episode.timestamps[positions].tolist(), spans) if spans else 0.0
    probs = option_probs(episode, positions, answerer)
    parts = {"temporal": temporal, "hit": float(bool(episode.in_span[positions].any()))}
    if probs is None:  # no answer known: only the evidence can reward a choice
        parts.update(accuracy=0.0, margin=0.0, reward=config.temporal_weight * temporal)
        return parts
    correct = int(episode.correct)
    accuracy = accuracy_reward(option_letter(int(np.argmax(probs))), option_letter(correct))
    parts["accuracy"] = accuracy
    parts["margin"] = margin_reward(probs, correct)
    if config.reward == "tspo":
        # TSPO: R_A + R_T on needle data; R_A + 1 where a sample has no evidence span (after Eq. 11).
        main = accuracy + (config.temporal_weight * temporal if spans else 1.0)
    elif config.reward == "margin":
        main = parts["margin"] + config.temporal_weight * temporal
    elif config.reward == "log_ratio":
        main = log_ratio_reward(probs, correct) + config.temporal_weight * temporal
    else:  # difficulty
        main = difficulty_reward(episode, accuracy, positions.size, answerer) + config.temporal_weight * temporal
    parts["reward"] = float(main)
    return parts


def difficulty_reward(episode: Episode, accuracy: float, k: int, answerer: OptionSimilarityAnswerer) -> float:
    """MSJoE-style difficulty-aware accuracy: a right answer earns 1 + d, d = 1 - p_uniform(correct).

    MSJoE names a "difficulty-aware reward" without a formula in the material we have; we measure a
    question's difficulty by how unlikely the answerer is to be right on k uniformly spaced frames,
    so finding evidence that uniform sampling misses pays up to twice as much as answering an easy one.
    """
    uniform = evenly_spaced(episode.num_candidates, k)
    probs = option_probs(episode, uniform, answerer)
    difficulty = 1.0 - float(probs[int(episode.correct)])
    return accuracy * (1.0 + difficulty)


def selection_metrics(
    episode: Episode, positions: Sequence[int], answerer: OptionSimilarityAnswerer
) -> dict[str, float]:
    """hit (a chosen frame inside the evidence), in-span fraction and accuracy of one selection."""
    positions = np.asarray(positions, dtype=np.int64)
    probs = option_probs(episode, positions, answerer)
    metrics = {
        "hit": float(bool(episode.in_span[positions].any())),
        "in_span": float(episode.in_span[positions].mean()) if positions.size else 0.0,
    }
    if probs is not None:
        metrics["accuracy"] = float(int(np.argmax(probs)) == int(episode.correct))
    return metrics
