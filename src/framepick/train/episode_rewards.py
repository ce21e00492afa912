"""Rewards and validation metrics of chosen frame subsets on an :class:`~framepick.train.episodes.Episode`.

These connect the pure rewards of :mod:`framepick.rewards` to the answers on the subsets, from
whichever source gives them (:mod:`framepick.train.subset_answers`: the offline matcher's cached
table, or a real MLLM asked through the answer cache). The answers of a whole group are asked
together (:func:`group_rewards`), so an MLLM answers them concurrently.

With an MLLM, a subset's answer may fail (a timeout after retries, a 400): :func:`group_rewards`
then raises :class:`GroupNotAnswered` and the trainer skips that group's update (counted, with a
warning) rather than reward a failure as a wrong answer, which would teach the policy to avoid
whatever frames the server failed on. A model that gives a letter without probabilities (a server
without ``logprobs``) still gives R_A; the margin, log-ratio and difficulty rewards need the
probabilities and say so in one line.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from framepick.errors import FramepickError, InvalidArgumentError
from framepick.rewards import (
    accuracy_reward,
    log_ratio_reward,
    margin_reward,
    temporal_reward,
)
from framepick.spacing import evenly_spaced
from framepick.train.config import TrainConfig
from framepick.train.episodes import Episode
from framepick.train.subset_answers import SubsetAnswer, SubsetAnswers
from framepick.types import option_letter


class GroupNotAnswered(FramepickError):
    """Some subsets of a group got no answer (their calls failed): the group trains nothing."""


def group_rewards(
    episode: Episode, subsets: Sequence[Sequence[int]], config: TrainConfig, answers: SubsetAnswers
) -> list[dict[str, float]]:
    """The reward parts of every subset of a group (:func:`subset_reward`), answered together.

    MSJoE's difficulty needs the answer on k evenly spaced frames too; it is asked in the same batch.
    """
    batch = [list(map(int, positions)) for positions in subsets]
    uniform = None
    if config.reward == "difficulty" and episode.correct is not None and batch:
        uniform = evenly_spaced(episode.num_candidates, len(batch[0]))
        batch.append([int(p) for p in uniform])
    results = answers.answer(episode, batch)
    failed = [r for r in results if isinstance(r, FramepickError)]
    if failed:
        raise GroupNotAnswered(f"{len(failed)} of {len(results)} subset answers failed, the first: {failed[0]}")
    uniform_answer = results.pop() if uniform is not None else None
    return [subset_reward(episode, positions, config, answer, uniform_answer) for positions, answer in zip(subsets, results)]


def subset_reward(
    episode: Episode,
    positions: Sequence[int],
    config: TrainConfig,
    answer: SubsetAnswer | None,
    uniform_answer: SubsetAnswer | None = None,
) -> dict[str, float]:
    """Reward of one chosen subset, with its parts (``reward``, ``accuracy``, ``temporal``, ``margin``).

    ``answer`` is the answer on the subset (None: no answer is known, only the evidence can reward
    a choice); ``uniform_answer`` the answer on k evenly spaced frames, for ``difficulty``.
    """
    positions = np.asarray(positions, dtype=np.int64)
    spans = episode.sample.spans
    temporal = temporal_reward(episode.timestamps[positions].tolist(), spans) if spans else 0.0
    parts = {"temporal": temporal, "hit": float(bool(episode.in_span[positions].any()))}
    if answer is None:  # no answer known: only the evidence can reward a choice
        parts.update(accuracy=0.0, margin=0.0, reward=config.temporal_weight * temporal)
        return parts
    correct = int(episode.correct)
    accuracy = accuracy_reward(answer.letter, option_letter(correct))
    parts["accuracy"] = accuracy
    if answer.probs is not None:
        parts["margin"] = margin_reward(answer.probs, correct)
    elif config.reward != "tspo":
        raise InvalidArgumentError(
            f"the {config.reward} reward needs option probabilities, and the answerer gave a letter without them "
            "(a server without logprobs); serve the model with logprobs, or train with the tspo reward"
        )
    if config.reward == "tspo":
        # TSPO: R_A + R_T on needle data; R_A + 1 where a sample has no evidence span (after Eq. 11).
        main = accuracy + (config.temporal_weight * temporal if spans else 1.0)
    elif config.reward == "margin":
        main = parts["margin"] + config.temporal_weight * temporal
    elif config.reward == "log_ratio":
        main = log_ratio_reward(answer.probs, correct) + config.temporal_weight * temporal
    else:  # difficulty
        main = difficulty_reward(accuracy, correct, uniform_answer) + config.temporal_weight * temporal
    parts["reward"] = float(main)
    return parts


def difficulty_reward(accuracy: float, correct: int, uniform_answer: SubsetAnswer | None) -> float:
    """MSJoE-style difficulty-aware accuracy: a right answer earns 1 + d, d = 1 - p_uniform(correct).

    MSJoE names a "difficulty-aware reward" without a formula in the material we have; we measure a
    question's difficulty by how unlikely the answerer is to be right on k uniformly spaced frames,
    so finding evidence that uniform sampling misses pays up to twice as much as answering an easy one.
    """
    if uniform_answer is None or uniform_answer.probs is None:
        raise InvalidArgumentError("the difficulty reward needs the answerer's option probabilities on uniform frames")
    difficulty = 1.0 - float(uniform_answer.probs[correct])
    return accuracy * (1.0 + difficulty)


def selection_metrics(episode: Episode, positions: Sequence[int], answer: SubsetAnswer | None) -> dict[str, float]:
    """hit (a chosen frame inside the evidence), in-span fraction and accuracy of one selection.

    ``answer`` is the answer on the selection; accuracy is left out without one.
    """
    positions = np.asarray(positions, dtype=np.int64)
    metrics = {
        "hit": float(bool(episode.in_span[positions].any())),
        "in_span": float(episode.in_span[positions].mean()) if positions.size else 0.0,
    }
    if answer is not None:
        metrics["accuracy"] = accuracy_reward(answer.letter, option_letter(int(episode.correct)))
    return metrics
