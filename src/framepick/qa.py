"""Answer a question about a video in one call: select K frames, show them to an MLLM, read its answer.

>>> result = framepick.answer_question("talk.mp4", "What does the speaker hold up?",
...     ["a book", "a phone", "a cup"], k=16, method="aks", answerer="hf:Qwen/Qwen2.5-VL-7B-Instruct")
>>> result.answer.letter, result.answer.option_probs, result.selection.timestamps

The chosen frames are decoded at the video's own resolution (the answerer fits them to what it
sends), in time order, each with its true timestamp. The answer is cached (:mod:`framepick.answer.cache`):
asking again costs a selection, not a model call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from framepick.answer import Answer, Answerer, AnswererOptions, load_answerer
from framepick.answer.cache import AnswerCache, answer_with_cache
from framepick.api import DEFAULT_METHOD, feature_cache, select_frames
from framepick.device import use_device
from framepick.errors import InvalidArgumentError
from framepick.pipeline import chosen_frames
from framepick.select.base import Selector
from framepick.types import Selection


@dataclass(frozen=True)
class QAResult:
    """The selection, the answer, whether the answer came from the cache, and where time went."""

    selection: Selection
    answer: Answer
    answerer: str
    """The answerer's id (backend, model, prompt)."""
    cached: bool
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds: the selection's stages (probe, decode, encode, select), then ``decode_chosen``
    (the chosen frames at full resolution) and ``answer`` (the model call)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.answer.letter if self.answer.letter is not None else self.answer.text,
            "letter": self.answer.letter,
            "option_probs": None if self.answer.option_probs is None else [round(p, 6) for p in self.answer.option_probs],
            "answer_source": self.answer.source,
            "reply": self.answer.text,
            "answerer": self.answerer,
            "cached": self.cached,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "selection": self.selection.to_dict(),
        }


def answer_question(
    video: str | Path,
    question: str,
    options: Sequence[str] = (),
    *,
    k: int = 16,
    method: str | Selector = DEFAULT_METHOD,
    answerer: str | Answerer = "offline",
    encoder: str = "auto",
    device: str | None = None,
    dtype: str | None = None,
    prompt: str | None = None,
    max_side: int | None = None,
    candidates: int | None = 256,
    fps: float | None = None,
    max_candidates: int | None = None,
    keyframes_only: bool = False,
    seed: int = 0,
    method_params: Mapping[str, Any] | None = None,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
    progress: bool = False,
) -> QAResult:
    """Select ``k`` frames of ``video`` for ``question`` and answer it with ``answerer``.

    With ``options`` the answer is a letter with a probability per option where the backend gives
    them (``answer.source`` says how it was read); without, it is the model's text. ``answerer`` is
    a spec (``offline``, ``hf:HUB_ID_OR_DIR``, ``openai:MODEL@URL``) or a built :class:`Answerer`;
    ``device``/``dtype``/``prompt``/``max_side`` configure a spec'd one (:class:`AnswererOptions`),
    and ``device`` also places the selection's torch models (:mod:`framepick.device`).
    """
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError("question must be a non-empty string")
    options = tuple(str(o) for o in options)
    if len(options) == 1:
        raise InvalidArgumentError("a multiple-choice question needs at least 2 options (or none for an open answer)")
    if device is not None:
        use_device(device)
    if isinstance(answerer, str):
        answerer = load_answerer(answerer, AnswererOptions(device=device, dtype=dtype, prompt=prompt, max_side=max_side))
    elif not isinstance(answerer, Answerer):
        raise InvalidArgumentError(f"answerer must be a spec such as 'offline' or an Answerer, got {type(answerer).__name__}")

    selection = select_frames(
        video, question, k, method=method, encoder=encoder, options=options, candidates=candidates, fps=fps,
        max_candidates=max_candidates, keyframes_only=keyframes_only, seed=seed, method_params=method_params,
        cache=cache, allow_damaged=allow_damaged, progress=progress,
    )
    store = feature_cache(cache)
    timings = dict(selection.timings)

    def frames() -> tuple[np.ndarray, Sequence[float] | None]:
        start = time.perf_counter()
        pixels = chosen_frames(selection)
        timings["decode_chosen"] = time.perf_counter() - start
        return pixels, selection.timestamps

    start = time.perf_counter()
    answer, cached = answer_with_cache(
        answerer,
        None if store is None else AnswerCache(store),
        video_hash=selection.video.content_hash if selection.video is not None else "",
        indices=selection.indices,
        frames=frames,
        question=question,
        options=options,
    )
    timings["answer"] = time.perf_counter() - start - timings.get("decode_chosen", 0.0)
    return QAResult(selection, answer, answerer.id, cached, timings)
