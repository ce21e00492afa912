"""Where a trainer's answers on sampled frame subsets come from: one seam, two sources.

The rewards (:mod:`framepick.train.episode_rewards`) ask :meth:`SubsetAnswers.answer` for the
answers on a batch of subsets of one episode's candidates (a GRPO group, or a validation's
budgets) and do not care which source gave them:

- :class:`TableAnswers` (``--answerer offline``, the default): the episode's option-to-frame
  table; the offline matcher's exact answer on any subset, with no decode and no model call
  (numbers unchanged from before this seam: tested against metrics recorded with the old code).
- :class:`ModelAnswers` (``--answerer hf:...`` or ``openai:...``: any answerer that is not an
  :class:`~framepick.answer.base.OptionSimilarityAnswerer`): the MLLM's answer on the subset's
  frames, shown in time order, asked through the answer cache (:mod:`framepick.answer.cache`: the
  same keys as ``framepick eval``, so a subset asked before, by a previous step, run or
  evaluation, costs no call and no decode). A group is answered together: identical subsets are
  asked once, the frames no cached answer covers are decoded in one pass
  (:class:`~framepick.train.frame_memo.FrameMemo`), and the calls run ``answerer.max_concurrency``
  at a time on threads (a server answers them together). A local ``hf:`` model has
  ``max_concurrency`` 1: its subsets are one forward pass each, in turn (no padded batch forward).

A failed call (:class:`~framepick.errors.FramepickError`: a timeout after retries, a 400, a prompt
longer than the context, frames that do not decode) is that subset's failure, returned in its
place and counted; the caller decides what it means (training skips the group's update,
validation leaves that accuracy out). ``max(8, 2 x max_concurrency)`` failures in a row, as in
``framepick eval``, raise one :class:`~framepick.errors.AnswererError`: the model is down.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.answer.base import Answerer, OptionSimilarityAnswerer
from framepick.errors import AnswererError, FramepickError, InvalidArgumentError
from framepick.train.episodes import Episode
from framepick.train.frame_memo import DEFAULT_MEMO_MB, FrameMemo, subset_frames
from framepick.types import option_letter

if TYPE_CHECKING:
    from framepick.answer.cache import AnswerCache

logger = logging.getLogger(__name__)

MAX_FAILED_IN_A_ROW = 8
"""As ``framepick eval``: this many failed model calls in a row (at least twice the calls in
flight) stop the run."""


@dataclass(frozen=True)
class SubsetAnswer:
    """An answer on one subset: option probabilities (None when the model gave only a letter)."""

    probs: np.ndarray | None
    letter: str | None


@dataclass
class AnswerCounts:
    """What answering cost so far: model calls, answers from the cache, failed calls."""

    asked: int = 0
    cached: int = 0
    failed: int = 0

    def copy(self) -> AnswerCounts:
        return AnswerCounts(self.asked, self.cached, self.failed)

    def since(self, before: AnswerCounts) -> dict[str, int]:
        return {
            "answers_asked": self.asked - before.asked,
            "answers_cached": self.cached - before.cached,
            "answer_failures": self.failed - before.failed,
        }


class SubsetAnswers(ABC):
    """Answers on subsets of an episode's candidates, whatever gives them."""

    answerer: Answerer
    kind: str
    """``table`` (the offline matcher's cached table) or ``model`` (an MLLM asked per subset)."""

    def __init__(self) -> None:
        self.counts = AnswerCounts()

    @property
    def id(self) -> str:
        return self.answerer.id

    @abstractmethod
    def answer(self, episode: Episode, subsets: Sequence[Sequence[int]]) -> list[SubsetAnswer | FramepickError | None]:
        """One result per subset (candidate positions): its answer, None when the episode has no
        answer to ask for (no gold answer or fewer than 2 options), or the failure of its call."""


class TableAnswers(SubsetAnswers):
    """The offline matcher's answers from the episode's option-to-frame table (no call, no decode)."""

    kind = "table"

    def __init__(self, answerer: OptionSimilarityAnswerer) -> None:
        super().__init__()
        self.answerer = answerer

    def answer(self, episode: Episode, subsets: Sequence[Sequence[int]]) -> list[SubsetAnswer | FramepickError | None]:
        if episode.answer_similarity is None:
            return [None] * len(subsets)
        results: list[SubsetAnswer | FramepickError | None] = []
        for positions in subsets:
            probs = self.answerer.probs_from_similarity(episode.answer_similarity[:, np.asarray(positions, dtype=np.int64)])
            results.append(SubsetAnswer(probs, option_letter(int(np.argmax(probs)))))
        return results


class ModelAnswers(SubsetAnswers):
    """An MLLM's answers on the subsets' frames, through the answer cache (see the module docstring)."""

    kind = "model"

    def __init__(self, answerer: Answerer, cache: AnswerCache | None = None, *, memo_mb: int = DEFAULT_MEMO_MB) -> None:
        super().__init__()
        if isinstance(answerer, OptionSimilarityAnswerer):
            raise InvalidArgumentError(f"{answerer.id!r} answers from a table: use TableAnswers")
        self.answerer = answerer
        self.cache = cache
        self.memo = FrameMemo(answerer.max_side, memo_mb)
        self.in_flight = max(1, int(answerer.max_concurrency))
        self.most_in_a_row = max(MAX_FAILED_IN_A_ROW, 2 * self.in_flight)
        self.failed_in_a_row = 0

    def answer(self, episode: Episode, subsets: Sequence[Sequence[int]]) -> list[SubsetAnswer | FramepickError | None]:
        from framepick.answer.cache import answer_key

        sample = episode.sample
        if episode.correct is None or len(sample.options) < 2:
            return [None] * len(subsets)
        if episode.candidates is None:
            raise InvalidArgumentError(f"episode {episode.id!r} has no candidates to decode for {self.id!r}")
        # Frames in time order, each subset once: the same subset drawn twice is asked once.
        unique = list(dict.fromkeys(tuple(sorted(int(p) for p in positions)) for positions in subsets))
        video_hash = episode.candidates.video.content_hash if episode.candidates.video else ""
        found: dict[tuple[int, ...], SubsetAnswer | FramepickError] = {}
        keys: dict[tuple[int, ...], str | None] = {}
        for positions in unique:
            sources = episode.candidates.indices[list(positions)].tolist()
            key = answer_key(self.id, video_hash, sources, sample.question, sample.options) if self.cache is not None and video_hash else None
            keys[positions] = key
            if key is None:
                continue
            cached = self.cache.get(key)
            self.cache.count(hit=cached is not None)
            if cached is not None:
                self.counts.cached += 1
                found[positions] = _from_answer(cached)
        todo = [p for p in unique if p not in found]
        if todo:
            found.update(zip(todo, self._ask(episode, todo, [keys[p] for p in todo])))
        return [found[tuple(sorted(int(p) for p in positions))] for positions in subsets]

    def _ask(
        self, episode: Episode, todo: list[tuple[int, ...]], keys: list[str | None]
    ) -> list[SubsetAnswer | FramepickError]:
        """Decode what ``todo`` needs (once), then ask the model, ``in_flight`` at a time."""
        candidates = episode.candidates
        needed = np.asarray(sorted({p for positions in todo for p in positions}), dtype=np.int64)
        frames = self.memo.frames(candidates.take(needed), episode.video_index)
        sample = episode.sample

        def one(positions: tuple[int, ...]):
            sources = candidates.indices[list(positions)].tolist()
            pixels = subset_frames(frames, sources)
            if pixels is None:
                missing = [s for s in sources if s not in frames]
                return AnswererError(f"frame(s) {missing[:5]} of {candidates.video.path!r} do not decode")
            try:
                return self.answerer.answer(pixels, episode.timestamps[list(positions)].tolist(), sample.question, sample.options)
            except FramepickError as exc:
                return exc

        if self.in_flight > 1 and len(todo) > 1:
            with ThreadPoolExecutor(max_workers=min(self.in_flight, len(todo)), thread_name_prefix="reward") as pool:
                replies = list(pool.map(one, todo))
        else:
            replies = [one(positions) for positions in todo]
        results: list[SubsetAnswer | FramepickError] = []
        last_error: FramepickError | None = None
        for key, reply in zip(keys, replies):
            if isinstance(reply, FramepickError):
                self.counts.failed += 1
                self.failed_in_a_row += 1
                last_error = reply
                logger.warning("sample %s: a reward answer failed: %s", sample.id, reply)
                results.append(reply)
                continue
            self.counts.asked += 1
            self.failed_in_a_row = 0
            if key is not None:
                self.cache.put(key, reply)
            results.append(_from_answer(reply))
        if last_error is not None and self.failed_in_a_row >= self.most_in_a_row:
            raise AnswererError(
                f"{self.failed_in_a_row} reward answers in a row failed, the last: {last_error}; "
                "the training state is saved: rerun the same command to resume"
            )
        return results


def _from_answer(answer) -> SubsetAnswer:
    probs = None if answer.option_probs is None else np.asarray(answer.option_probs, dtype=np.float64)
    return SubsetAnswer(probs, answer.letter)


def subset_answers_for(answerer: Answerer | SubsetAnswers) -> SubsetAnswers:
    """``answerer`` as a :class:`SubsetAnswers`: a table for the offline matcher, else the model
    without an answer cache (the CLI passes a :class:`ModelAnswers` with its cache instead)."""
    if isinstance(answerer, SubsetAnswers):
        return answerer
    if isinstance(answerer, OptionSimilarityAnswerer):
        return TableAnswers(answerer)
    if isinstance(answerer, Answerer):
        return ModelAnswers(answerer)
    raise InvalidArgumentError(f"training needs an answerer (offline, hf:..., openai:...), got {type(answerer).__name__}")
