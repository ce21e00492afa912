"""Answers cached on disk, so that no MLLM is asked the same thing twice.

The key is everything that decides what the model sees and how its reply is read: the answerer's
id (backend, model, prompt template, image size), the question, the options, and the frames, named
by the video's content hash and the chosen source frame indices (not by their pixels: the frames
of one video and index are the same wherever they were decoded). A rerun of an evaluation, or the
same subset scored twice during RL, is answered from here, and the frames are not even decoded
(:func:`answer_with_cache` decodes only on a miss).

Entries live in the feature cache's folder (same checksummed, atomically written files: a torn
entry reads as a miss), one small entry per answer.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from framepick.answer.base import Answer, Answerer, ChatModel
from framepick.encode.cache import FeatureCache

if TYPE_CHECKING:
    from framepick.answer.prompt import Part

_FIELD = "answer_json"


def answer_key(answerer_id: str, video_hash: str, indices: Sequence[int], question: str, options: Sequence[str]) -> str:
    """The cache key of one question asked of one set of frames by one answerer."""
    blob = json.dumps(
        [answerer_id, video_hash, [int(i) for i in indices], question, [str(o) for o in options]],
        ensure_ascii=False,
    )
    return "answer-" + hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class AnswerCache:
    """Answers kept in a :class:`FeatureCache`'s folder; counts its hits and misses."""

    store: FeatureCache
    hits: int = 0
    misses: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, hit: bool) -> None:
        with self._lock:  # answers run on a caller's threads
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def get(self, key: str) -> Answer | None:
        arrays = self.store.get(key)
        if arrays is None or _FIELD not in arrays:
            return None
        try:
            data = json.loads(arrays[_FIELD].tobytes().decode("utf-8"))
            probs = data.get("option_probs")
            return Answer(
                letter=data.get("letter"),
                option_probs=None if probs is None else tuple(probs),
                text=data.get("text"),
                source=data.get("source"),
            )
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError, ValueError):
            return None  # an entry from an incompatible version: ask again

    def put(self, key: str, answer: Answer) -> None:
        data = {"letter": answer.letter, "option_probs": answer.option_probs, "text": answer.text, "source": answer.source}
        self.store.put(key, {_FIELD: np.frombuffer(json.dumps(data).encode("utf-8"), dtype=np.uint8)})

    @property
    def hit_rate(self) -> float | None:
        asked = self.hits + self.misses
        return None if asked == 0 else self.hits / asked


def answer_with_cache(
    answerer: Answerer,
    cache: AnswerCache | None,
    *,
    video_hash: str,
    indices: Sequence[int],
    frames: Callable[[], tuple[np.ndarray, Sequence[float] | None]],
    question: str,
    options: Sequence[str],
) -> tuple[Answer, bool]:
    """``answerer``'s answer on the frames at ``indices`` of the video ``video_hash``, and whether
    it came from the cache. ``frames()`` decodes them (frames, timestamps) and is called only on a
    miss. Without a cache, or without a content hash to name the video by, it always asks."""
    key = answer_key(answerer.id, video_hash, indices, question, options) if cache is not None and video_hash else None
    if key is not None:
        cached = cache.get(key)
        if cached is not None:
            cache.count(hit=True)
            return cached, True
        cache.count(hit=False)
    pixels, timestamps = frames()
    answer = answerer.answer(pixels, timestamps, question, options)
    if key is not None:
        cache.put(key, answer)
    return answer, False


@dataclass
class ReplyCounts:
    """How many replies a run asked a model for, and how many the cache gave (thread-safe)."""

    asked: int = 0
    cached: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, cached: bool) -> None:
        with self._lock:  # replies are asked on a caller's threads
            if cached:
                self.cached += 1
            else:
                self.asked += 1


@dataclass
class ChatReplies:
    """A chat model's free-text replies through the answer cache, counted.

    The papers' MLLM stages (K-frames' clip predictor, MSJoE's queries, VidThinker, PeakClips) ask
    for text, not an option; each asks here, so none asks the same thing twice. The key is
    :func:`answer_key` with ``"{model id}:{label}"`` as the answerer: ``label`` names the prompt
    (its version, a step, a reply-length limit), ``video_hash``/``indices`` the frames shown,
    ``text``/``options`` the rest of the prompt. A model error (:class:`~framepick.errors.FramepickError`)
    is raised to the caller and nothing is cached, so a rerun asks again.
    """

    model: ChatModel
    cache: AnswerCache | None = None
    counts: ReplyCounts = field(default_factory=ReplyCounts)

    def ask(
        self,
        label: str,
        parts: Callable[[], Sequence[Part]],
        max_tokens: int,
        *,
        video_hash: str = "",
        indices: Sequence[int] = (),
        text: str = "",
        options: Sequence[str] = (),
    ) -> tuple[str, bool]:
        """The reply, and whether it came from the cache; ``parts()`` builds the prompt (decoding
        frames) only on a miss."""
        key = None
        if self.cache is not None:
            key = answer_key(f"{self.model.id}:{label}", video_hash, indices, text, options)
            hit = self.cache.get(key)
            if hit is not None and hit.text is not None:
                self.counts.count(cached=True)
                return hit.text, True
        reply = self.model.generate(list(parts()), max_tokens)
        self.counts.count(cached=False)
        if key is not None:
            self.cache.put(key, Answer(letter=None, text=reply))
        return reply, False
