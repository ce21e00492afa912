"""K-frames as the paper runs it: an MLLM names the query's key clips, then any k frames come from them.

Paper 000 (K-frames), Sec. 3 and Appendix D: the clip predictor sees the video's frames with two
temporal prompts, the **visual prompt** (each frame's index t rendered onto the frame) and the
**textual prompt** (a line before each frame's visual tokens), and the Fig. 14 instruction; it
answers with clips ``<time>frames s-e, P1,</time><reason>..</reason>`` (or the plainer
``s-e, P1, reason`` lines the instruction asks for). The existing parser
(:func:`framepick.select.clips_io.parse_clips_text`) reads them and the Appendix D.2 sampling
(:class:`framepick.select.kframes.KFramesSelector`) picks any k frames.

Choices the paper leaves open, made here:

- **What the predictor sees.** At most ``shown`` frames (default 64), evenly spaced over the
  candidate grid and numbered 0..n-1 in both prompts: an MLLM's context holds tens of frames,
  not a 256-candidate grid, and the paper's own model is fed a sampled video. A clip over shown
  frames ``a..b`` covers the candidates from shown frame a up to (not including) shown frame b+1:
  the candidates between two shown frames belong to the scene the model saw around them.
- **The index drawn on the frame**: white digits on a black box in the top-left corner, about a
  tenth of the frame's height tall (Number-It style, the prior work the paper follows).
- **When the reply cannot be used** (no clip parses, a clip outside the shown frames, an empty
  reply, a server error), the clips come from the scenes scored by similarity (framepick's
  stand-in, :func:`framepick.select.kframes.clips_from_scenes`, what ``kframes`` does without a
  model) and the selection says so in its
  ``params``: ``clip_source`` is ``similarity`` with ``clip_fallback`` the reason. Never silently.
- The reply is cached like an answer (the model's id, the video, the shown frames, the question),
  so asking again costs no model call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from framepick.answer.base import AnswererOptions, ChatModel
from framepick.answer.cache import AnswerCache, ChatReplies
from framepick.answer.prompt import ImagePart, Part, TextPart
from framepick.api import feature_cache, select_prepared
from framepick.errors import FramepickError, InvalidArgumentError
from framepick.select.clips_io import parse_clips_text
from framepick.types import Clip, Query, Selection, question_with_options

if TYPE_CHECKING:
    from framepick.pipeline import PreparedVideo

INSTRUCTION = (
    "You are a Video Analyst. Given a video and a question, you need to segment the video into scenes and "
    "select the segments helpful to answer the question. For each segment, add a relevance tag and a brief "
    "reason:\n- P1 = directly answers\n- P2 = strongly supports\n"
    "Return segments in chronological order as start_idx-end_idx, P1|P2, short reason."
)
"""The paper's Fig. 14 instruction, word for word."""
PROMPT_VERSION = "kframes-fig14-v1"
"""Names the prompt in the reply cache: change the words, change this."""
DEFAULT_SHOWN = 64
MAX_REPLY_TOKENS = 512


@dataclass(frozen=True)
class ClipPrediction:
    """Key clips over the candidates, where they came from, and the model's raw reply."""

    clips: tuple[Clip, ...]
    source: str
    """``mllm`` or ``similarity`` (the fallback)."""
    fallback: str | None = None
    """Why the model's clips were not used; None when they were."""
    reply: str | None = None
    cached: bool = False
    shown: int = 0
    """How many frames the model was shown."""

    def params(self, model_id: str) -> dict[str, Any]:
        """What a selection's ``params`` say about its clips."""
        return {"clip_model": model_id, "clip_source": self.source, "clip_fallback": self.fallback,
                "clip_frames_shown": self.shown, "clip_reply_cached": self.cached}


def shown_positions(num_candidates: int, shown: int) -> np.ndarray:
    """Candidate positions of the frames the model sees: all when few, else ``shown`` evenly spaced."""
    if shown < 1:
        raise InvalidArgumentError(f"the clip model must be shown at least 1 frame, got {shown}")
    if num_candidates <= shown:
        return np.arange(num_candidates, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, num_candidates - 1, shown)).astype(np.int64))


def render_index(frame: np.ndarray, number: int) -> np.ndarray:
    """The visual prompt: ``number`` drawn in the frame's top-left corner, white on black."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
    size = max(10, image.height // 10)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(image)
    text = str(number)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, size // 5)
    draw.rectangle((0, 0, right - left + 2 * pad, bottom - top + 2 * pad), fill=(0, 0, 0))
    draw.text((pad - left, pad - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(image)


def prompt_parts(frames: np.ndarray, question: str) -> list[Part]:
    """The user turn: per frame its textual prompt and the frame with its index drawn on, then
    the Fig. 14 instruction and the question."""
    parts: list[Part] = []
    for number, frame in enumerate(frames):
        parts.append(TextPart(f"Frame {number}:"))
        parts.append(ImagePart(render_index(frame, number), None))
    parts.append(TextPart(f"{INSTRUCTION}\nQuestion: {question.strip()}"))
    return parts


def clips_on_candidates(clips: tuple[Clip, ...], shown: np.ndarray, num_candidates: int) -> tuple[Clip, ...]:
    """Clips over shown frames ``0..n-1`` as clips over candidate positions (module docstring)."""
    ends = np.append(shown[1:] - 1, num_candidates - 1)  # the last candidate each shown frame stands for
    return tuple(
        replace(clip, start_index=int(shown[clip.start_index]), end_index=int(ends[clip.end_index]))
        for clip in clips
    )


def predict_clips(
    replies: ChatReplies,
    frames: np.ndarray,
    shown: np.ndarray,
    num_candidates: int,
    question: str,
    *,
    video_hash: str = "",
    shown_indices: np.ndarray | None = None,
) -> ClipPrediction | str:
    """The model's key clips over the candidates, or the reason they cannot be had (a string).

    The reply is cached under the video's hash and the source indices of the shown frames."""
    try:
        reply, cached = replies.ask(
            PROMPT_VERSION, lambda: prompt_parts(frames, question), MAX_REPLY_TOKENS, video_hash=video_hash,
            indices=[] if shown_indices is None else shown_indices.tolist(), text=question,
        )
    except FramepickError as exc:  # a server error: the fallback, said in the output
        return f"the clip model failed: {exc}"
    if not reply.strip():
        return "the clip model's reply was empty"
    try:
        clips = parse_clips_text(reply, num_candidates=len(shown))
    except InvalidArgumentError as exc:
        return f"the clip model's reply has no usable clips ({exc})"
    if not clips:
        return "the clip model named no P1 or P2 clip"
    return ClipPrediction(clips_on_candidates(clips, shown, num_candidates), "mllm", reply=reply, cached=cached)


class ClipPredictor:
    """An MLLM clip predictor over prepared videos: shows it the frames, asks, parses, falls back.

    ``select --clip-model`` and ``eval --clip-model`` both use one; it counts the questions asked
    and the fallbacks, for the run's closing line.
    """

    def __init__(self, model: ChatModel, *, shown: int = DEFAULT_SHOWN, cache: AnswerCache | None = None) -> None:
        from framepick.answer import load_chat_model

        model = load_chat_model(model, flag="--clip-model")
        if isinstance(shown, bool) or not isinstance(shown, int) or shown < 1:
            raise InvalidArgumentError(f"--clip-frames must be an integer >= 1, got {shown!r}")
        self.model = model
        self.shown = shown
        self.replies = ChatReplies(model, cache)
        self.asked = 0
        self.fallbacks = 0

    @classmethod
    def load(cls, spec: str | ChatModel, options: AnswererOptions | None = None, *, shown: int = DEFAULT_SHOWN,
             cache: bool | str | Path | None = True) -> "ClipPredictor":
        """From an answerer spec (``hf:...``, ``openai:...``) or a built model; ``cache`` as in ``select``."""
        from framepick.answer import load_chat_model

        model = load_chat_model(spec, options, flag="--clip-model")
        store = feature_cache(cache)
        return cls(model, shown=shown, cache=None if store is None else AnswerCache(store))

    def describe(self) -> dict[str, Any]:
        """What a run records about the clip predictor it used."""
        return {"clip_model": self.model.id, "clip_prompt": PROMPT_VERSION, "clip_frames": self.shown}

    def predict(self, prepared: PreparedVideo, question: str) -> tuple[ClipPrediction, float, float]:
        """(the clips or the fallback and its reason, decode seconds, model seconds)."""
        from framepick.video.decode import VideoDecoder

        self.asked += 1
        positions = shown_positions(prepared.num_candidates, self.shown)
        start = time.perf_counter()
        try:
            with VideoDecoder(prepared.index.info.path, index=prepared.index) as decoder:
                decoded = decoder.get_frames(prepared.candidates.take(positions))
        except FramepickError as exc:  # the video went away or broke since it was prepared
            decoded = None
            predicted: ClipPrediction | str = f"the frames for the clip model could not be decoded ({exc})"
        decode_seconds = time.perf_counter() - start
        start = time.perf_counter()
        kept = np.zeros(0, dtype=np.int64)
        if decoded is not None:
            kept = np.searchsorted(prepared.indices, decoded.indices)  # frames that failed drop out
            predicted = predict_clips(
                self.replies, decoded.frames, kept, prepared.num_candidates, question,
                video_hash=prepared.index.info.content_hash, shown_indices=np.asarray(decoded.indices),
            )
        model_seconds = time.perf_counter() - start
        if isinstance(predicted, str):
            # Without the model's clips the selector makes its own from the scenes and the query similarity.
            self.fallbacks += 1
            predicted = ClipPrediction((), "similarity", fallback=predicted)
        return replace(predicted, shown=int(len(kept))), decode_seconds, model_seconds


def select_with_clip_model(
    video: str | Path,
    question: str,
    k: int,
    *,
    clip_model: str | ChatModel,
    choices: Sequence[str] = (),
    shown: int = DEFAULT_SHOWN,
    encoder: str = "auto",
    candidates: int | None = 256,
    fps: float | None = None,
    max_candidates: int | None = None,
    keyframes_only: bool = False,
    method_params: Mapping[str, Any] | None = None,
    options: AnswererOptions | None = None,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
    progress: bool = False,
) -> Selection:
    """K-frames with an MLLM clip predictor: ``framepick select --method kframes --clip-model SPEC``.

    ``clip_model`` is an answerer spec that names an MLLM (``hf:...``, ``openai:...``) or a built
    :class:`~framepick.answer.base.ChatModel`. The selection's ``params`` say where the clips came
    from (``clip_source``), why the model's were not used (``clip_fallback``), and its ``clips``
    carry each clip's reason as the model wrote it.
    """
    from framepick import pipeline
    from framepick.encode import load_encoder, resolve_auto
    from framepick.select.kframes import KFramesSelector
    from framepick.video.candidates import GridSpec

    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError("K-frames' clip model needs a non-empty question")
    predictor = ClipPredictor.load(clip_model, options, shown=shown, cache=cache)
    selector = KFramesSelector(**dict(method_params or {}))
    encoder_obj = load_encoder(resolve_auto(need_text=True) if encoder == "auto" else encoder)
    grid = GridSpec(count=None if fps is not None else candidates, fps=fps, max_candidates=max_candidates,
                    keyframes_only=keyframes_only)
    prepared = pipeline.prepare_video(video, grid, [encoder_obj], scenes=True, cache=feature_cache(cache),
                                      allow_damaged=allow_damaged, progress=progress)
    # The question as the clip model is trained to read it: with its lettered options, if any.
    prediction, decode_seconds, model_seconds = predictor.predict(prepared, question_with_options(question, choices))
    selection = select_prepared(
        prepared, k, method=selector, encoder=encoder_obj, query=Query(text=question.strip()),
        clips=prediction.clips or None,
    )
    params = {**selection.params, **prediction.params(predictor.model.id)}
    timings = {**prepared.timings, **selection.timings}
    timings["decode"] = timings.get("decode", 0.0) + decode_seconds
    timings["clip_model"] = model_seconds
    return replace(selection, params=params, timings=timings)
