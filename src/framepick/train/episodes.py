"""Training episodes: one question about one video, with everything a trainer needs, computed once.

An :class:`Episode` holds the frozen candidate features, the query embedding (as ``framepick eval``
would compute it for that sample), the evidence mask, and what the rewards' answers come from:

- for the offline matcher, an answer table: the answerer's cosine of each option to each candidate
  frame. Its answer on *any* subset of frames is a function of those columns
  (:meth:`OfflineAnswerer.probs_from_similarity`), so the table is the answerer's calls cached for
  every subset a policy may draw, and a training step never decodes or encodes anything;
- for a real MLLM (any other answerer), the candidates (source frame indices, times, the video) and
  the video's index: a subset's frames are decoded from there when the answer cache does not hold
  the model's answer on them (:mod:`framepick.train.subset_answers`).

Query modes follow the evaluation tables: a sample with a query picture is an ``image`` episode
(the policy sees the picture, the answerer still reads the question and options), any other is a
``text`` episode (the policy sees the question and, for methods that use them, its options).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.errors import FramepickError, InvalidArgumentError
from framepick.spans import frames_in_spans
from framepick.types import Sample, option_position

if TYPE_CHECKING:
    from framepick.answer.base import Answerer
    from framepick.encode.base import Encoder
    from framepick.encode.cache import FeatureCache
    from framepick.pipeline import PreparedVideo
    from framepick.policies.base import Observation
    from framepick.reasoned_queries import QueryReasoner
    from framepick.types import Candidates
    from framepick.video.candidates import GridSpec
    from framepick.video.probe import VideoIndex

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Episode:
    """One (sample, query mode) ready for training or validation (arrays, no file access)."""

    id: str
    sample: Sample
    mode: str
    """``text`` or ``image``: what the policy is asked with."""
    frames: np.ndarray
    """[T,D] float32 candidate features from the selection encoder."""
    query: np.ndarray
    """[Q,D] query embedding(s), as :func:`framepick.pipeline.embed_query` returns them."""
    option_queries: np.ndarray
    """[m,D] the sampler's query rows for text episodes ([0,D] for image episodes): the "question
    option" embeddings, or with a query model its reasoned queries (:mod:`framepick.reasoned_queries`)."""
    timestamps: np.ndarray
    """[T] candidate times in seconds."""
    in_span: np.ndarray
    """[T] bool: candidate lies inside an evidence span."""
    answer_similarity: np.ndarray | None
    """[options, T] the answerer's option-to-frame cosines; None when the sample has no answer."""
    correct: int | None
    """Position of the correct option, or None."""
    candidates: Candidates | None = None
    """For an MLLM's rewards: the candidates the rows of ``frames`` belong to (source indices,
    times, the video), from which a subset's frames are decoded; None with the offline table."""
    video_index: VideoIndex | None = None
    """The video's index (spares a probe when a subset's frames are decoded); None with the table."""
    frame_labels: np.ndarray | None = None
    """[T] float32 per-frame relevance labels from the sample's ``extra.frame_labels`` (VidThinker,
    ``framepick data vidthinker``) mapped onto the candidates by :func:`labels_on_candidates`;
    None when the sample has none."""
    _observation: list = field(default_factory=list, repr=False, compare=False)

    @property
    def bce_targets(self) -> np.ndarray:
        """[T] what the ``bce`` objective fits: the per-frame labels when the sample has them, else
        whether each candidate lies inside an evidence span."""
        return self.in_span if self.frame_labels is None else self.frame_labels

    @property
    def num_candidates(self) -> int:
        return int(self.frames.shape[0])

    def observation(self) -> Observation:
        """The policy's :class:`~framepick.policies.base.Observation` (built once, then reused)."""
        if not self._observation:
            from framepick.policies.base import make_observation

            question = self.sample.question if self.mode == "text" else None
            self._observation.append(make_observation(self.frames, self.query, self.option_queries, question))
        return self._observation[0]


def build_episodes(
    samples: Sequence[Sample],
    *,
    encoder: Encoder,
    answerer: Answerer,
    grid: GridSpec,
    cache: FeatureCache | None = None,
    allow_damaged: bool = False,
    progress: bool = False,
    query_reasoner: QueryReasoner | None = None,
) -> tuple[list[Episode], list[tuple[str, str]]]:
    """Episodes for ``samples``; returns (episodes, [(sample id, why skipped)]).

    ``encoder`` is a loaded selection encoder, ``answerer`` a loaded answerer: an
    :class:`~framepick.answer.base.OptionSimilarityAnswerer` (the offline one) gets answer tables,
    any other (an MLLM) the candidates and the video's index instead; videos are prepared
    through the same cached pipeline as ``framepick eval``, so features computed by an evaluation
    are reused and vice versa.
    ``query_reasoner`` makes a text episode's ``option_queries`` the MLLM's reasoned queries
    (falling back, with a warning, to the option texts when its reply cannot be used).
    """
    from tqdm import tqdm

    from framepick import pipeline
    from framepick.answer.base import Answerer, OptionSimilarityAnswerer
    from framepick.eval.queries import query_for_sample

    if not isinstance(answerer, Answerer):
        raise InvalidArgumentError(
            f"training needs an answerer (offline, hf:..., openai:...), got {type(answerer).__name__!r}"
        )
    from_table = isinstance(answerer, OptionSimilarityAnswerer)
    answer_encoder = answerer.encoder if from_table else encoder
    extractors = [encoder] + ([answer_encoder] if answer_encoder.id != encoder.id else [])
    episodes: list[Episode] = []
    skipped: list[tuple[str, str]] = []
    prepared_by_video: dict[str, PreparedVideo] = {}
    for sample in tqdm(samples, desc="episodes", unit="sample", disable=not progress):
        mode = "image" if sample.query_image else "text"
        try:
            if sample.video not in prepared_by_video:
                prepared_by_video.clear()  # samples of one video come together in a manifest
                prepared_by_video[sample.video] = pipeline.prepare_video(
                    sample.video, grid, extractors, cache=cache, allow_damaged=allow_damaged
                )
            prepared = prepared_by_video[sample.video]
            query = query_for_sample(sample, mode)
        except FramepickError as exc:
            skipped.append((sample.id, str(exc)))
            logger.warning("sample %s: %s; skipped", sample.id, exc)
            continue
        features = prepared.features[encoder.id].embeddings
        query_embedding = pipeline.embed_query(encoder, query)
        if mode == "text" and query_reasoner is not None and query.text:
            rows = query_reasoner.rows(query.text, query.options, prepared)
            if rows.fallback:
                logger.warning("sample %s: %s; option-derived queries used", sample.id, rows.fallback)
            option_queries = query_reasoner.embed(encoder, rows, query.text, query.options)
        elif mode == "text" and query.options:
            option_queries = pipeline.embed_options(encoder, query.text, query.options)
        else:
            option_queries = np.zeros((0, features.shape[1]), dtype=np.float32)
        timestamps = np.asarray(prepared.timestamps, dtype=np.float64)
        in_span = np.asarray(frames_in_spans(timestamps.tolist(), sample.spans), dtype=bool)
        try:
            frame_labels = labels_on_candidates(sample.extra.get("frame_labels"), timestamps)
        except InvalidArgumentError as exc:
            skipped.append((sample.id, str(exc)))
            logger.warning("sample %s: %s; skipped", sample.id, exc)
            continue
        similarity = correct = None
        if sample.answer is not None and len(sample.options) >= 2:
            if from_table:
                answer_features = prepared.features[answer_encoder.id].embeddings
                similarity = answerer.option_similarity(answer_features, sample.question, sample.options)
            correct = option_position(sample.answer)
        episodes.append(
            Episode(
                id=f"{sample.id}:{mode}",
                sample=sample,
                mode=mode,
                frames=np.asarray(features, dtype=np.float32),
                query=query_embedding,
                option_queries=option_queries,
                timestamps=timestamps,
                in_span=in_span,
                answer_similarity=similarity,
                correct=correct,
                candidates=None if from_table else prepared.candidates,
                video_index=None if from_table else prepared.index,
                frame_labels=frame_labels,
            )
        )
    return episodes, skipped


def labels_on_candidates(frame_labels: object, timestamps: np.ndarray) -> np.ndarray | None:
    """Per-frame labels ``{"timestamps": [s, ...], "labels": [0|1, ...]}`` (a manifest row's
    ``extra.frame_labels``) on the candidate times: each candidate takes the label of the labelled
    frame nearest in time (the earlier one on a tie; candidates before the first or after the last
    labelled frame take that frame's label). None when there are no labels; a malformed entry is a
    one-line error (the sample is skipped, not trained on wrong targets)."""
    if frame_labels is None:
        return None
    if not isinstance(frame_labels, dict):
        raise InvalidArgumentError("extra.frame_labels must be an object with 'timestamps' and 'labels'")
    times, labels = frame_labels.get("timestamps"), frame_labels.get("labels")
    if not isinstance(times, list) or not isinstance(labels, list) or not times or len(times) != len(labels):
        raise InvalidArgumentError("extra.frame_labels needs non-empty 'timestamps' and 'labels' lists of one length")
    try:
        times_array = np.asarray(times, dtype=np.float64)
        labels_array = np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError("extra.frame_labels' timestamps and labels must be numbers") from None
    if times_array.ndim != 1 or not np.isfinite(times_array).all() or np.any(np.diff(times_array) < 0):
        raise InvalidArgumentError("extra.frame_labels' timestamps must be finite seconds in time order")
    if labels_array.ndim != 1 or not np.isin(labels_array, (0.0, 1.0)).all():
        raise InvalidArgumentError("extra.frame_labels' labels must be 0 or 1")
    timestamps = np.asarray(timestamps, dtype=np.float64)
    right = np.clip(np.searchsorted(times_array, timestamps), 0, times_array.size - 1)
    left = np.clip(right - 1, 0, times_array.size - 1)
    nearest = np.where(np.abs(times_array[right] - timestamps) < np.abs(timestamps - times_array[left]), right, left)
    return labels_array[nearest].astype(np.float32)
