"""How an evaluation gets its answers: from cached embeddings, from the answer cache, or from the model.

An :class:`~framepick.answer.base.EmbeddingAnswerer` (the offline matcher) answers from the
features the run prepared: no decode, no cache needed. Any other answerer (an MLLM) is asked
through the answer cache (:mod:`framepick.answer.cache`): a rerun, or another method that chose
the same frames, costs nothing, and the chosen frames are decoded only on a miss.

A server answers many requests at once, so :class:`AnswerWindow` keeps up to the answerer's
``max_concurrency`` answers in flight on threads and hands them back **in submission order**: the
records file is appended in the same order as with one answer at a time, and a record is written
only once its answer is in, so kill -9 still loses at most the answers in flight (a rerun asks
them again, or reads them from the answer cache).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from framepick.answer.base import Answer, Answerer, EmbeddingAnswerer
from framepick.answer.cache import AnswerCache, answer_with_cache
from framepick.types import Sample, Selection

if TYPE_CHECKING:
    from framepick.pipeline import PreparedVideo


@dataclass(frozen=True)
class Answered:
    """One selection's answer (None when the sample has no options) and what it cost."""

    answer: Answer | None
    decode_seconds: float = 0.0
    answer_seconds: float = 0.0
    cached: bool = False


def answer_selection(
    answerer: Answerer,
    prepared: PreparedVideo,
    selection: Selection,
    sample: Sample,
    cache: AnswerCache | None,
) -> Answered:
    """The answerer's answer on the selected frames. Safe to call from several threads."""
    if len(sample.options) < 2:
        return Answered(None)
    if isinstance(answerer, EmbeddingAnswerer) and answerer.encoder_id in prepared.features:
        start = time.perf_counter()
        embeddings = prepared.features[answerer.encoder_id].embeddings[selection.positions]
        answer = answerer.answer_embeddings(embeddings, selection.timestamps, sample.question, sample.options)
        return Answered(answer, answer_seconds=time.perf_counter() - start)

    decode_seconds = 0.0

    def frames():
        nonlocal decode_seconds
        from framepick.video.decode import VideoDecoder

        start = time.perf_counter()
        with VideoDecoder(prepared.index.info.path, index=prepared.index) as decoder:
            decoded = decoder.get_frames(selection.indices)
        decode_seconds = time.perf_counter() - start
        return decoded.frames, decoded.timestamps

    start = time.perf_counter()
    answer, cached = answer_with_cache(
        answerer, cache, video_hash=prepared.index.info.content_hash, indices=selection.indices,
        frames=frames, question=sample.question, options=sample.options,
    )
    return Answered(answer, decode_seconds, time.perf_counter() - start - decode_seconds, cached)


class AnswerWindow:
    """Up to ``size`` answers in flight; each finishes, in submission order, through its callback.

    With ``size`` 1 a job runs at once on the caller's thread (no pool, no reordering): exactly
    the sequential loop. A job's exception is handed to its callback instead of a result; the
    callback decides whether it is a counted failure or stops the run (by raising).
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="answer") if self.size > 1 else None
        self._pending: deque[tuple[Future, Callable[[Answered | Exception], None]]] = deque()

    def submit(self, job: Callable[[], Answered], finish: Callable[[Answered | Exception], None]) -> None:
        if self._pool is None:
            try:
                result: Answered | Exception = job()
            except Exception as exc:  # noqa: BLE001 - the callback decides what a failure means
                result = exc
            finish(result)
            return
        self._pending.append((self._pool.submit(job), finish))
        self.drain(keep=self.size)

    def drain(self, keep: int = 0) -> None:
        """Finish the oldest jobs until at most ``keep`` are in flight."""
        while len(self._pending) > keep:
            future, finish = self._pending.popleft()
            try:
                result: Answered | Exception = future.result()
            except Exception as exc:  # noqa: BLE001
                result = exc
            finish(result)

    def close(self) -> None:
        """Drop what is still in flight (after an error or an interrupt) without waiting for it."""
        for future, _ in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
