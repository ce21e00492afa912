"""VidThinker: evidence labels for VideoITG from an (M)LLM (paper 002, Sec. 3.1; prompts in
:mod:`framepick.data.vidthinker_prompts`). ``framepick data vidthinker --manifest M --llm SPEC``.

Per sample, in the paper's order:

1. **Instructed clip captioning.** The video is cut into 5 s clips (``clip_seconds``; a tail
   shorter than a fifth of a clip joins the clip before it). The LLM first distils the question
   and its answer into cue phrases (``k = LLM(q, a)``), then the MLLM captions each clip from
   ``frames_per_clip`` frames (default 4: the frames nearest the centres of 4 equal slots of the
   clip, i.e. 0.8 frames/s) with the cue as a reference (``c_i = MLLM(k, v_i)``). Each clip is
   captioned on its own: Eq. 1 conditions ``c_i`` on ``k`` and ``v_i`` only, and independent calls
   are cacheable and can run in parallel ("recurrent" in the text is not given a form).
2. **Instructed clip retrieval.** The LLM reads the numbered captions with Table 8's prompt and
   names the relevant clips (strict JSON, ``clipnum`` in Table 8's forms). ``None.`` means the
   paper drops the question ("to reduce annotation noise"): the sample is written without labels.
3. **Instructed frame localization.** Every sampled frame of a retrieved clip is shown alone with
   the QA pair and the MLLM answers yes or no (Eq. 3); frames of the other clips are 0.

The same ``--llm`` model does every step (the paper uses an MLLM for captions and frames and
GPT-4o-mini for the text steps; any :class:`~framepick.answer.base.ChatModel` does both). With it,
the instruction type (Sec. 3.2) is asked of the LLM too; the keyword rules
(:func:`~framepick.policies.instruction.classify_instruction`) stay the offline path elsewhere.

Written per sample (the data contract ``framepick train videoitg`` reads):

- ``extra.frame_labels = {"timestamps": [...], "labels": [0|1, ...]}``: every sampled frame of the
  video, in time order, 1 where the model said yes.
- ``spans``: the evidence spans in seconds, one per run of consecutive yes frames. A frame stands
  for its slot of the clip (``clip_seconds / frames_per_clip`` wide), so a run's span is from the
  start of its first frame's slot to the end of its last frame's, and a lone yes frame is a span
  of one slot, not of zero length. The sample's old spans are replaced.
- ``extra.instruction_type``, ``extra.vidthinker`` (the model id, prompt version, cue, retrieved
  clips 0-based, explanation).

A sample whose model call fails or whose reply cannot be read is written unchanged except for
``extra.vidthinker_error`` (the reason) and counted: never fatal, never dropped silently. Every
reply is cached in the feature cache's folder (key: the model id, :data:`PROMPT_VERSION` and the
step, the video's content hash, the frame indices shown, the prompt text), so a rerun asks the
model nothing and decodes nothing.

Cost per sample: 2 text calls (type, cue) + one caption per clip + 1 retrieval + one call per
sampled frame of the retrieved clips: with ``n`` clips of which ``r`` are retrieved and ``F``
frames per clip, ``3 + n + r*F`` calls (a 2-minute video with 4 retrieved clips: 3 + 24 + 16 = 43).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from framepick.answer.base import ChatModel
from framepick.answer.cache import AnswerCache, ChatReplies
from framepick.answer.prompt import ImagePart, Part, TextPart
from framepick.data import vidthinker_prompts as prompts
from framepick.answer.reply import ReplyError
from framepick.data.vidthinker_prompts import PROMPT_VERSION
from framepick.errors import FramepickError, InvalidArgumentError, one_line
from framepick.types import Sample, option_position
from framepick.validation import check_positive_int

CLIP_SECONDS = 5.0
"""Sec. 3.1: "uniformly divided into short clips (5 seconds each)"."""
DEFAULT_FRAMES_PER_CLIP = 4
MAX_TOKENS = {"type": 16, "cue": 96, "caption": 160, "retrieve": 512, "frame": 8}
"""Reply budgets per step: a type's name, a sentence or two, a short caption, Table 8's JSON with
its explanation, a yes or no."""
TEXT_ONLY = "text-only"
"""The video hash in the key of a call that is shown no frame (type, cue, retrieval)."""


@dataclass(frozen=True)
class VideoClip:
    """One clip of the video and the frames sampled in it."""

    start: float
    end: float
    indices: np.ndarray
    """[F'] source frame indices (F' <= frames_per_clip: nearest frames that coincide count once)."""
    times: np.ndarray
    """[F'] their presentation times."""
    slots: np.ndarray
    """[F', 2] the part of the clip each frame stands for, in seconds."""


def clip_layout(
    frame_times: np.ndarray, duration: float, clip_seconds: float = CLIP_SECONDS,
    frames_per_clip: int = DEFAULT_FRAMES_PER_CLIP,
) -> list[VideoClip]:
    """The video's clips and, per clip, the frames nearest the centres of ``frames_per_clip`` equal
    slots (module docstring). ``frame_times`` are every frame's times, sorted."""
    check_positive_int("frames_per_clip", frames_per_clip)
    if not clip_seconds > 0:
        raise InvalidArgumentError(f"clip_seconds must be positive, got {clip_seconds}")
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if frame_times.size == 0 or not duration > 0:
        raise InvalidArgumentError("the video has no frames to caption")
    count = max(1, int(np.floor(duration / clip_seconds)))
    if duration - count * clip_seconds >= clip_seconds / 5:
        count += 1  # a tail of at least a fifth of a clip is a clip; a shorter one joins the last
    bounds = [(i * clip_seconds, min((i + 1) * clip_seconds, duration)) for i in range(count)]
    bounds[-1] = (bounds[-1][0], duration)
    clips = []
    for start, end in bounds:
        width = (end - start) / frames_per_clip
        centres = start + (np.arange(frames_per_clip) + 0.5) * width
        nearest = _nearest(frame_times, centres)
        unique = np.unique(nearest)
        slots = [(start + j * width, start + (j + 1) * width) for j in range(frames_per_clip)]
        merged = np.array([
            (min(slots[j][0] for j in np.flatnonzero(nearest == n)), max(slots[j][1] for j in np.flatnonzero(nearest == n)))
            for n in unique
        ])
        clips.append(VideoClip(start, end, unique.astype(np.int64), frame_times[unique], merged))
    return clips


def _nearest(sorted_times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    right = np.clip(np.searchsorted(sorted_times, targets), 1, max(1, sorted_times.size - 1))
    left = right - 1
    if sorted_times.size == 1:
        return np.zeros(targets.size, dtype=np.int64)
    take_right = np.abs(sorted_times[right] - targets) < np.abs(targets - sorted_times[left])
    return np.where(take_right, right, left).astype(np.int64)


def evidence_spans(clips: Sequence[VideoClip], labels: Sequence[int]) -> list[tuple[float, float]]:
    """Spans in seconds of the runs of consecutive yes frames over all clips' frames in order."""
    slots = np.concatenate([clip.slots for clip in clips]) if clips else np.zeros((0, 2))
    spans: list[tuple[float, float]] = []
    run_start = None
    for position, label in enumerate(list(labels) + [0]):
        if label and run_start is None:
            run_start = position
        elif not label and run_start is not None:
            spans.append((round(float(slots[run_start, 0]), 3), round(float(slots[position - 1, 1]), 3)))
            run_start = None
    return spans


@dataclass
class Asker:
    """Asks VidThinker's prompts through ``replies`` (the cache key names the step)."""

    replies: ChatReplies

    @property
    def model(self) -> ChatModel:
        return self.replies.model

    def ask(self, step: str, video_hash: str, indices: Sequence[int], text: str,
            images: Callable[[], list[Part]] | None = None) -> str:
        """The reply to ``images() + [text]`` (``images`` is called only on a cache miss)."""
        parts = lambda: (images() if images is not None else []) + [TextPart(text)]
        return self.replies.ask(f"{PROMPT_VERSION}:{step}", parts, MAX_TOKENS[step], video_hash=video_hash,
                                indices=indices, text=text)[0]


class ClipFrames:
    """The clips' frames of one video, decoded on first need and kept per clip."""

    def __init__(self, path: str, index: Any, clips: Sequence[VideoClip]) -> None:
        self._path, self._index, self._clips = path, index, clips
        self._frames: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        self._decoder: Any = None

    def of_clip(self, number: int) -> np.ndarray:
        with self._lock:
            if number not in self._frames:
                from framepick.video.decode import VideoDecoder

                if self._decoder is None:
                    self._decoder = VideoDecoder(self._path, index=self._index)
                clip = self._clips[number]
                decoded = self._decoder.get_frames(clip.indices)
                if len(decoded.indices) != len(clip.indices):
                    missing = sorted(set(clip.indices.tolist()) - set(np.asarray(decoded.indices).tolist()))
                    raise FramepickError(f"frames {missing} of clip {number + 1} did not decode")
                self._frames[number] = decoded.frames
            return self._frames[number]

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()


@dataclass(frozen=True)
class Labels:
    """What VidThinker found for one sample."""

    instruction_type: str
    cue: str
    retrieved: tuple[int, ...]
    explanation: str
    timestamps: tuple[float, ...]
    labels: tuple[int, ...]
    spans: tuple[tuple[float, float], ...]


def answer_text(sample: Sample) -> str | None:
    """The answer as words (the correct option's text), or None for a sample without one."""
    position = option_position(sample.answer) if sample.answer is not None else None
    return None if position is None else sample.options[position]


def annotate_video(
    asker: Asker, sample: Sample, index: Any, *, clip_seconds: float = CLIP_SECONDS,
    frames_per_clip: int = DEFAULT_FRAMES_PER_CLIP,
) -> Labels:
    """VidThinker's three steps (and the instruction type) on one sample whose video ``index`` is
    open. Raises :class:`ReplyError` for an unreadable reply (or a ``None.`` retrieval) and
    :class:`FramepickError` for a failed call or decode."""
    info = index.info
    clips = clip_layout(index.frame_timestamps, info.duration_seconds, clip_seconds, frames_per_clip)
    question, answer = sample.question, answer_text(sample)
    video = info.content_hash or info.path
    kind = prompts.read_instruction_type(asker.ask("type", TEXT_ONLY, [], prompts.type_prompt(question)))
    cue = prompts.read_text(asker.ask("cue", TEXT_ONLY, [], prompts.cue_prompt(question, answer)), "cue")
    frames = ClipFrames(info.path, index, clips)
    workers = max(1, int(getattr(asker.model, "max_concurrency", 1) or 1))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            def caption(number: int) -> str:
                clip = clips[number]
                text = prompts.caption_prompt(cue, clip.end - clip.start)
                shown = lambda: [ImagePart(f, float(t)) for f, t in zip(frames.of_clip(number), clip.times)]
                return prompts.read_text(asker.ask("caption", video, clip.indices.tolist(), text, shown), "caption")

            captions = list(pool.map(caption, range(len(clips))))
            reply = asker.ask("retrieve", TEXT_ONLY, [], prompts.retrieval_prompt(captions, question, answer))
            retrieved, explanation = prompts.read_retrieval(reply, len(clips))
            if not retrieved:
                raise ReplyError("the clip retrieval found no relevant clip (None.)")
            text = prompts.frame_prompt(question, answer)
            asked = [(number, j) for number in retrieved for j in range(len(clips[number].indices))]

            def relevant(item: tuple[int, int]) -> bool:
                number, j = item
                clip = clips[number]
                shown = lambda: [ImagePart(frames.of_clip(number)[j], float(clip.times[j]))]
                return prompts.read_yes_no(asker.ask("frame", video, [int(clip.indices[j])], text, shown))

            yes = dict(zip(asked, pool.map(relevant, asked)))
    finally:
        frames.close()
    labels = [int(yes.get((number, j), False)) for number, clip in enumerate(clips) for j in range(len(clip.indices))]
    return Labels(
        instruction_type=kind, cue=cue, retrieved=tuple(retrieved), explanation=explanation,
        timestamps=tuple(round(float(t), 4) for clip in clips for t in clip.times),
        labels=tuple(labels), spans=tuple(evidence_spans(clips, labels)),
    )


def labelled_sample(sample: Sample, labels: Labels, model_id: str) -> Sample:
    """``sample`` with VidThinker's spans and labels (the data contract, module docstring)."""
    extra = {k: v for k, v in sample.extra.items() if k != "vidthinker_error"}
    extra["frame_labels"] = {"timestamps": list(labels.timestamps), "labels": list(labels.labels)}
    extra["instruction_type"] = labels.instruction_type
    extra["vidthinker"] = {
        "model": model_id, "prompt_version": PROMPT_VERSION, "cue": labels.cue,
        "retrieved_clips": list(labels.retrieved), "explanation": labels.explanation,
    }
    return replace(sample, spans=labels.spans, extra=extra)


@dataclass
class VidThinkerResult:
    samples: list[Sample]
    labelled: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(sample id, reason) of the samples written without new labels."""
    calls: int = 0
    cache_hits: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.labelled} of {len(self.samples)} samples labelled, {len(self.failed)} without labels "
            f"(model error or unreadable reply); {self.calls} model calls, {self.cache_hits} cached replies"
        )


def annotate_samples(
    samples: Sequence[Sample],
    model: ChatModel,
    *,
    cache: Any = True,
    clip_seconds: float = CLIP_SECONDS,
    frames_per_clip: int = DEFAULT_FRAMES_PER_CLIP,
    progress: bool = False,
) -> VidThinkerResult:
    """VidThinker over ``samples`` with ``model``; ``cache`` as :func:`framepick.api.feature_cache`
    takes it (True: the default folder, a path, False: none)."""
    import logging

    from tqdm import tqdm

    from framepick.api import feature_cache
    from framepick.pipeline import open_video

    from framepick.answer import load_chat_model

    model = load_chat_model(model, flag="VidThinker's --llm")
    check_positive_int("--frames-per-clip", frames_per_clip)
    store = feature_cache(cache)
    asker = Asker(ChatReplies(model, None if store is None else AnswerCache(store)))
    logger = logging.getLogger(__name__)
    result = VidThinkerResult(samples=[])
    start = time.perf_counter()
    for sample in tqdm(samples, desc="vidthinker", unit="sample", disable=not progress):
        try:
            index = open_video(sample.video, store)
            labels = annotate_video(asker, sample, index, clip_seconds=clip_seconds, frames_per_clip=frames_per_clip)
        except (FramepickError, OSError, RuntimeError, ValueError) as exc:  # ReplyError is a FramepickError
            # A bad sample costs its labels only; a library's error (a model too small for the
            # prompt, a torch failure) is said in one line like framepick's own.
            reason = str(exc) if isinstance(exc, FramepickError) else one_line(exc, with_type=True)
            logger.warning("sample %s: %s; written without new labels", sample.id, reason)
            result.failed.append((sample.id, reason))
            result.samples.append(replace(sample, extra={**sample.extra, "vidthinker_error": reason}))
            continue
        result.labelled += 1
        result.samples.append(labelled_sample(sample, labels, model.id))
    result.calls, result.cache_hits = asker.replies.counts.asked, asker.replies.counts.cached
    result.seconds = time.perf_counter() - start
    return result


def write_result(result: VidThinkerResult, out: str | Path) -> int:
    """The annotated manifest, written atomically (the old file or the new, never half)."""
    from framepick.data.manifest import write_manifest

    return write_manifest(out, result.samples)
