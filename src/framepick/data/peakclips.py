"""PeakClips-style key-clip labels (paper 000, K-frames, Sec. 3.1 and Appendix C).

For each sample of a manifest: the video's scenes (the histogram-difference scenes framepick
already cuts, :func:`framepick.pipeline.prepare_video` with ``scenes=True``), a caption per scene
from an MLLM (Fig. 7, :mod:`~framepick.data.peakclips_prompts`), a 1-5 relevance score with
a reason per scene from the same model (Fig. 8, strict JSON, :mod:`~framepick.data.peakclips_replies`),
the score refined with the encoder's query-scene similarity, and the key clips: P1 when the
refined score is >= 4.9, P2 when it is in [4.3, 4.9). They go into the row's
``extra["key_clips"]`` (seconds; the data contract read by ``framepick train kframes-mllm``).

**The refinement.** The paper: "a weighted average of the LLM score and the mean SIGLIP
similarity between the query and the clip's frames". Read literally (both on 1-5, weights summing
to 1) a final score could never exceed 5, yet the paper's own Fig. 10 sample has final scores 5.5,
1.26 and 1.96 for LLM scores 5, 1 and 1. What fits those numbers and keeps the thresholds
meaningful is the LLM score plus a weighted similarity term in [0, 1]::

    final = llm_score + w * s~,   s~ = (m - min m) / (max m - min m)

with ``m`` each scene's mean query similarity over its candidate frames (cosine, the encoder's
space) and the min-max over the video's scenes, so the term does not depend on an encoder's
similarity scale; ``w = 1`` by default (``sim_weight``). When every scene has the same mean (or
the video is one scene) nothing singles a scene out and ``s~ = 0.5``. With ``w = 1``: an LLM 5 is
always P1; a 4 is P1 when its scene is within the top 10 % of the similarity range, P2 from 30 %,
else not a key clip; a 3 or less never is: the similarity refines, the model decides. Final
scores are rounded to 6 decimals before the thresholds, so 4.9 is P1 and 4.3 is P2 exactly.

**Frames.** A scene's caption is made from at most ``caption_frames`` of its candidate frames,
evenly spaced (segment centres, :func:`framepick.spacing.evenly_spaced`), each after a ``Frame n
at t s:`` line. Captions do not depend on the question, so other questions on the same video reuse
them from the cache; the score prompt carries the question, the gold answer and every caption.

**Caching.** Every reply is kept in the answer cache (:mod:`framepick.answer.cache`) under the
model's id, :data:`PROMPT_VERSION` and the reply-length limit, the video's content hash, the
frames shown (source frame indices) and the prompt's text: a rerun asks the model nothing. Unusable replies are cached too
(the model said them; asking again gives the same greedy reply); failed requests are not.

**What is written.** Every sample, with ``extra["key_clips"]`` (the P1/P2 scenes, what SFT2 of
``framepick train kframes-mllm`` reads) and ``extra["peakclips"]`` (the model, the encoder, and
every scene's times, caption, scores and reason: what its SFT1 grounding tasks read).

**Failures.** A sample whose video cannot be read, whose request fails, or whose reply cannot be
read is written unchanged but with ``extra["peakclips_error"]`` (and no ``key_clips``), counted in
the report; the run goes on. When only the scores failed, ``extra["peakclips"]["scenes"]`` still
carries every scene's times and caption (no scores).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from framepick.answer.cache import AnswerCache, ChatReplies, ReplyCounts
from framepick.data.peakclips_prompts import caption_prompt, score_prompt
from framepick.data.peakclips_replies import SceneScore, parse_caption, parse_scores
from framepick.errors import FramepickError, InvalidArgumentError, one_line
from framepick.types import Sample
from framepick.validation import check_positive_int

if TYPE_CHECKING:
    from framepick.answer.base import AnswererOptions, ChatModel
    from framepick.encode.base import Encoder
    from framepick.pipeline import PreparedVideo
    from framepick.video.candidates import GridSpec

PROMPT_VERSION = "peakclips-fig7-fig8-v1"
"""Names both prompts in the reply cache: change their words, change this."""
P1_THRESHOLD = 4.9
P2_THRESHOLD = 4.3
DEFAULT_SIM_WEIGHT = 1.0
DEFAULT_CAPTION_FRAMES = 8
DEFAULT_CAPTION_TOKENS = 512
DEFAULT_SCORE_TOKENS = 2048
TIED_SIMILARITY = 0.5
"""``s~`` of every scene when the scenes' mean similarities are all the same."""
ERROR_KEY = "peakclips_error"
CLIPS_KEY = "key_clips"
DETAILS_KEY = "peakclips"



class LabelError(FramepickError):
    """Why one sample got no labels (a failed request, an unreadable reply, an unusable video)."""

    def __init__(self, message: str, captions: Sequence[tuple[float, float, str]] = ()) -> None:
        super().__init__(message)
        self.captions = tuple(captions)
        """(start, end seconds, caption) of every scene when only the scores failed: still written."""


@dataclass(frozen=True)
class SceneLabel:
    """One scene of a labelled sample: its times, caption, the model's score and the refined one."""

    scene_id: int
    start_seconds: float
    end_seconds: float
    caption: str
    llm_score: int
    reason: str
    similarity: float
    """The mean query similarity of the scene's candidate frames."""
    similarity_normalized: float
    """``s~``: min-max over the video's scenes (module docstring)."""
    final_score: float

    @property
    def priority(self) -> str | None:
        return priority_of(self.final_score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scene_id": self.scene_id, "start_seconds": round(self.start_seconds, 6),
            "end_seconds": round(self.end_seconds, 6), "caption": self.caption, "llm_score": self.llm_score,
            "reason": self.reason, "similarity": round(self.similarity, 6),
            "similarity_normalized": round(self.similarity_normalized, 6), "final_score": self.final_score,
        }


def priority_of(final_score: float, p1: float = P1_THRESHOLD, p2: float = P2_THRESHOLD) -> str | None:
    """``P1`` at or above ``p1``, ``P2`` in ``[p2, p1)``, else None (not a key clip)."""
    if final_score >= p1:
        return "P1"
    return "P2" if final_score >= p2 else None


def normalized_similarity(scene_means: np.ndarray) -> np.ndarray:
    """``s~`` per scene: min-max of the scenes' mean similarities onto [0, 1]; all
    :data:`TIED_SIMILARITY` when they tie (to 1e-9 relative, sums' rounding) or there is one scene."""
    means = np.asarray(scene_means, dtype=np.float64)
    low, span = float(np.min(means)), float(np.ptp(means))
    if span <= 1e-9 * max(1.0, float(np.max(np.abs(means)))):
        return np.full(means.shape[0], TIED_SIMILARITY)
    return (means - low) / span


def refine_scores(llm_scores: Sequence[float], scene_means: np.ndarray, weight: float = DEFAULT_SIM_WEIGHT) -> np.ndarray:
    """``llm + weight * s~`` per scene, rounded to 6 decimals (module docstring)."""
    llm = np.asarray(llm_scores, dtype=np.float64)
    return np.round(llm + weight * normalized_similarity(scene_means), 6)


def key_clips(labels: Sequence[SceneLabel]) -> list[dict[str, Any]]:
    """The P1 and P2 scenes in time order, as the data contract's ``key_clips`` entries."""
    clips = []
    for label in sorted(labels, key=lambda item: item.start_seconds):
        if label.priority is not None:
            clips.append({"start_seconds": round(label.start_seconds, 6), "end_seconds": round(label.end_seconds, 6),
                          "priority": label.priority, "score": label.final_score, "reason": label.reason})
    return clips


@dataclass
class Labeller:
    """Labels samples one at a time with one model and one encoder (:func:`label_manifest` runs it)."""

    model: ChatModel
    encoder: Encoder
    grid: GridSpec
    store: Any = None
    """The feature cache (a :class:`~framepick.encode.cache.FeatureCache`) or None: no caching."""
    caption_frames: int = DEFAULT_CAPTION_FRAMES
    caption_tokens: int = DEFAULT_CAPTION_TOKENS
    score_tokens: int = DEFAULT_SCORE_TOKENS
    sim_weight: float = DEFAULT_SIM_WEIGHT
    allow_damaged: bool = False
    calls: ReplyCounts = field(default_factory=ReplyCounts)
    _prepared: tuple[str, PreparedVideo] | None = field(default=None, init=False, repr=False)
    _replies: ChatReplies | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        check_positive_int("caption_frames", self.caption_frames)
        check_positive_int("caption_tokens", self.caption_tokens)
        check_positive_int("score_tokens", self.score_tokens)
        if not (isinstance(self.sim_weight, (int, float)) and np.isfinite(self.sim_weight) and self.sim_weight >= 0):
            raise InvalidArgumentError(f"the similarity weight must be a finite number >= 0, got {self.sim_weight!r}")
        self._replies = ChatReplies(self.model, None if self.store is None else AnswerCache(self.store), self.calls)

    def prepared(self, video: str) -> PreparedVideo:
        """The video decoded, embedded and cut into scenes once for all its samples in a row."""
        from framepick import pipeline

        key = str(Path(video).resolve())
        if self._prepared is None or self._prepared[0] != key:
            self._prepared = None
            prepared = pipeline.prepare_video(video, self.grid, [self.encoder], scenes=True, cache=self.store,
                                              allow_damaged=self.allow_damaged)
            self._prepared = (key, prepared)
        return self._prepared[1]

    def ask(self, video_hash: str, indices: Sequence[int], parts: Callable[[], list], text: str, max_tokens: int) -> str:
        """The model's reply to ``text`` on the frames at ``indices`` (cached; ``parts()`` builds
        the prompt, decoding frames, only on a miss)."""
        # The reply-length limit is part of the key: a longer limit must not reuse a cut-off reply.
        return self._replies.ask(f"{PROMPT_VERSION}:max_tokens={max_tokens}", parts, max_tokens,
                                 video_hash=video_hash, indices=indices, text=text)[0]

    def label(self, sample: Sample) -> list[SceneLabel]:
        """Every scene of ``sample``'s video, captioned, scored and refined; a :class:`LabelError`
        (or another :class:`FramepickError`) when that cannot be done."""
        from framepick import pipeline
        from framepick.answer.prompt import TextPart
        from framepick.select.kframes import scene_mean_scores
        from framepick.types import Query

        prepared = self.prepared(sample.video)
        scenes = prepared.scenes or ()
        if not scenes:
            raise LabelError("the video has no scenes")
        seconds = prepared.candidates.scene_seconds(scenes)
        captions = self.captions(prepared, scenes, seconds)
        ids = list(range(1, len(scenes) + 1))
        rows = [(i, start, end, caption) for i, (start, end), caption in zip(ids, seconds, captions)]
        text = score_prompt(sample, rows)
        starts = [int(prepared.indices[scene.start]) for scene in scenes]
        try:
            reply = self.ask(prepared.index.info.content_hash, starts, lambda: [TextPart(text)], text, self.score_tokens)
        except FramepickError as exc:  # the request failed: the captions are still worth keeping
            raise LabelError(f"the scores: {exc}", [(start, end, caption) for _, start, end, caption in rows]) from None
        try:
            scores: dict[int, SceneScore] = parse_scores(reply, ids)
        except FramepickError as exc:
            raise LabelError(f"the scores: {exc}", [(start, end, caption) for _, start, end, caption in rows]) from None
        query = pipeline.embed_query(self.encoder, Query(text=sample.question.strip()))
        means = scene_mean_scores(pipeline.relevance(prepared.features[self.encoder.id], query), scenes)
        refined = refine_scores([scores[i].score for i in ids], means, self.sim_weight)
        tilde = normalized_similarity(means)
        return [
            SceneLabel(i, start, end, caption, scores[i].score, scores[i].reason, float(mean), float(t), float(final))
            for (i, start, end, caption), mean, t, final in zip(rows, means, tilde, refined)
        ]

    def captions(self, prepared: PreparedVideo, scenes: Sequence, seconds: Sequence[tuple[float, float]]) -> list[str]:
        """One caption per scene (Fig. 7), from at most ``caption_frames`` of its candidates; as
        many requests in flight as the model takes (a server's ``--concurrency``)."""
        from concurrent.futures import ThreadPoolExecutor

        from framepick.answer.prompt import ImagePart, TextPart
        from framepick.spacing import evenly_spaced
        from framepick.video.decode import VideoDecoder

        def caption(number: int, scene: Any, start: float, end: float) -> str:
            positions = scene.start + evenly_spaced(scene.end - scene.start + 1, self.caption_frames)
            shown = prepared.candidates.take(positions)
            text = caption_prompt(number, start, end)

            def parts() -> list:
                with VideoDecoder(prepared.index.info.path, index=prepared.index) as decoder:
                    decoded = decoder.get_frames(shown)
                out: list = []
                for i, (frame, t) in enumerate(zip(decoded.frames, decoded.timestamps), 1):
                    out += [TextPart(f"Frame {i} at {t:.1f}s:"), ImagePart(frame, float(t))]
                return out + [TextPart(text)]

            reply = self.ask(prepared.index.info.content_hash, shown.indices, parts, text, self.caption_tokens)
            try:
                return parse_caption(reply, number)
            except FramepickError as exc:
                raise LabelError(f"scene {number}'s caption: {exc}") from None

        jobs = [(number, scene, start, end) for number, (scene, (start, end)) in enumerate(zip(scenes, seconds), 1)]
        workers = max(1, min(int(getattr(self.model, "max_concurrency", 1) or 1), len(jobs)))
        if workers == 1:
            return [caption(*job) for job in jobs]
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(caption, *job) for job in jobs]
            return [future.result() for future in futures]  # the first scene's error, in scene order


def labelled_row(
    sample: Sample, labels: list[SceneLabel] | None, error: str | None, details: dict[str, Any],
    captions: Sequence[tuple[float, float, str]] = (),
) -> Sample:
    """``sample`` with its labels (or its error, and the captions made before it) in ``extra``;
    labels of an earlier run are replaced."""
    from dataclasses import replace

    extra = {k: v for k, v in sample.extra.items() if k not in (CLIPS_KEY, DETAILS_KEY, ERROR_KEY)}
    if labels is None:
        extra[ERROR_KEY] = error
        if captions:  # only the scores failed: the scenes' captions, without scores
            extra[DETAILS_KEY] = {**details, "scenes": [
                {"scene_id": i, "start_seconds": round(start, 6), "end_seconds": round(end, 6), "caption": caption}
                for i, (start, end, caption) in enumerate(captions, 1)]}
    else:
        extra[CLIPS_KEY] = key_clips(labels)
        extra[DETAILS_KEY] = {**details, "scenes": [label.to_dict() for label in labels]}
    return replace(sample, extra=extra)


@dataclass
class PeakClipsReport:
    """Counts of one labelling run."""

    total: int = 0
    labelled: int = 0
    failed: int = 0
    p1: int = 0
    p2: int = 0
    scenes: int = 0
    calls: ReplyCounts = field(default_factory=ReplyCounts)
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(sample id, reason) of each failed sample."""
    seconds: float = 0.0

    def summary(self) -> str:
        asked = self.calls.asked + self.calls.cached
        return (
            f"labelled {self.labelled} of {self.total} samples ({self.scenes} scenes; {self.p1} P1 and {self.p2} P2 "
            f"key clips); {self.failed} failed (no key_clips, '{ERROR_KEY}' says why); model replies: "
            f"{self.calls.asked} asked, {self.calls.cached} from the cache"
            + (f" ({100.0 * self.calls.cached / asked:.0f} % hits)" if asked else "")
        )


def label_manifest(
    samples: Sequence[Sample],
    out_manifest: str | Path,
    llm: str | ChatModel,
    *,
    encoder: str = "auto",
    grid: GridSpec | None = None,
    cache: bool | str | Path = True,
    caption_frames: int = DEFAULT_CAPTION_FRAMES,
    caption_tokens: int = DEFAULT_CAPTION_TOKENS,
    score_tokens: int = DEFAULT_SCORE_TOKENS,
    sim_weight: float = DEFAULT_SIM_WEIGHT,
    options: AnswererOptions | None = None,
    allow_damaged: bool = False,
    progress: bool = False,
    on_error: Callable[[str, str], None] | None = None,
) -> PeakClipsReport:
    """Label every sample (module docstring) and write them all, atomically, to ``out_manifest``.

    ``llm`` is an answerer spec naming an MLLM (``hf:...``, ``openai:...``) or a built
    :class:`~framepick.answer.base.ChatModel`; ``encoder`` an encoder spec with a text tower (the
    query-scene similarity). ``on_error(sample_id, reason)`` hears of each failed sample as it fails.
    """
    from tqdm import tqdm

    from framepick.answer import load_chat_model
    from framepick.api import feature_cache
    from framepick.data.manifest import write_manifest
    from framepick.encode import load_encoder, resolve_auto
    from framepick.video.candidates import GridSpec

    start = time.perf_counter()
    model = load_chat_model(llm, options, flag="--llm")
    encoder_obj = load_encoder(resolve_auto(need_text=True) if encoder == "auto" else encoder)
    if not encoder_obj.has_text:
        raise InvalidArgumentError(f"encoder {encoder_obj.id!r} has no text tower; the query-scene similarity needs one")
    labeller = Labeller(model, encoder_obj, grid if grid is not None else GridSpec(count=256), feature_cache(cache),
                        caption_frames, caption_tokens, score_tokens, sim_weight, allow_damaged)
    details = {"model": model.id, "encoder": encoder_obj.id, "prompt_version": PROMPT_VERSION, "sim_weight": sim_weight}
    report = PeakClipsReport(total=len(samples), calls=labeller.calls)
    rows = []
    for sample in tqdm(samples, desc="peakclips", unit="sample", disable=not progress):
        try:
            labels = labeller.label(sample)
        except (FramepickError, OSError, RuntimeError, ValueError) as exc:
            # A bad sample costs its labels only: a library's error (a local model's CUDA or
            # processor failure) is said in one line like framepick's own, and the rows labelled
            # so far are still written.
            reason = str(exc) if isinstance(exc, FramepickError) else one_line(exc, with_type=True)
            report.failed += 1
            report.errors.append((sample.id, reason))
            if on_error is not None:
                on_error(sample.id, reason)
            rows.append(labelled_row(sample, None, reason, details, getattr(exc, "captions", ())))
            continue
        report.labelled += 1
        report.scenes += len(labels)
        report.p1 += sum(label.priority == "P1" for label in labels)
        report.p2 += sum(label.priority == "P2" for label in labels)
        rows.append(labelled_row(sample, labels, None, details))
    write_manifest(out_manifest, rows)
    report.seconds = time.perf_counter() - start
    return report
