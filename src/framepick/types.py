"""The objects that cross module boundaries (DESIGN.md section 3).

Each dataclass validates shapes and dtypes in ``__post_init__`` and shows shapes, never data, in its
``repr``. Times are float seconds; ``indices`` are always source-video frame indices, while
``positions`` are positions in the candidate list (0 .. num_candidates - 1).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Mapping, Sequence

import numpy as np

Priority = Literal["P1", "P2"]


def _shape_repr(obj: object) -> str:
    parts = []
    for f in fields(obj):  # type: ignore[arg-type]
        if not f.repr:
            continue
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            parts.append(f"{f.name}=array{list(value.shape)}:{value.dtype}")
        elif isinstance(value, (tuple, list)) and len(value) > 4:
            parts.append(f"{f.name}=<{len(value)} items>")
        else:
            parts.append(f"{f.name}={value!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _as_1d(name: str, values: Any, dtype: Any) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    return array


@dataclass(frozen=True, repr=False)
class VideoInfo:
    """What the container says about a video, plus a content hash that keys the caches."""

    path: str
    duration_seconds: float
    fps: float
    """Average frame rate (frames / duration); variable-frame-rate files use timestamps, not this."""
    frame_count: int
    width: int
    """Display width, after rotation."""
    height: int
    """Display height, after rotation."""
    rotation: int = 0
    """Clockwise rotation in degrees that the decoder applies to reach display orientation."""
    codec: str = ""
    content_hash: str = ""

    def __post_init__(self) -> None:
        if self.frame_count < 0 or self.duration_seconds < 0:
            raise ValueError(f"negative frame_count or duration in {self!r}")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    __repr__ = _shape_repr


@dataclass(frozen=True, repr=False)
class Candidates:
    """The frames a selector may choose from: a grid over the source video.

    The one candidate type from decoding to selection: the grid (``pipeline.make_candidates``),
    the frames that decoded (``video.decode.DecodedFrames``), the rows of a feature matrix, the
    prepared video and the selector's input all hold a ``Candidates``, so a candidate's index and
    time live in one place, validated once. A subset is taken with :meth:`take` or
    :meth:`restrict_to`, which keep the timestamps aligned with the indices.
    """

    indices: np.ndarray
    """[T] int64 source frame indices, strictly increasing (candidate positions when there is no video)."""
    timestamps: np.ndarray | None
    """[T] float64 presentation times in seconds, or None when there is no video."""
    video: VideoInfo | None = None
    grid: str = ""
    """A stable description of how the grid was built; part of the feature-cache key."""

    def __post_init__(self) -> None:
        indices = _as_1d("indices", self.indices, np.int64)
        if indices.size and np.any(np.diff(indices) <= 0):
            raise ValueError("candidate indices must be strictly increasing")
        object.__setattr__(self, "indices", indices)
        if self.timestamps is not None:
            ts = _as_1d("timestamps", self.timestamps, np.float64)
            if ts.shape != indices.shape:
                raise ValueError(f"timestamps {ts.shape} do not match indices {indices.shape}")
            object.__setattr__(self, "timestamps", ts)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def take(self, which: np.ndarray | Sequence[int] | Sequence[bool]) -> Candidates:
        """The candidates at ``which``: a boolean mask over them, or increasing positions.

        Video and grid are kept: a subset of a grid still names the grid it came from.
        """
        which = np.asarray(which)
        if which.dtype != np.bool_:
            which = which.astype(np.int64)  # an empty list arrives as float64
        elif which.shape != self.indices.shape:
            raise ValueError(f"mask {which.shape} does not match the {len(self)} candidates")
        timestamps = None if self.timestamps is None else self.timestamps[which]
        # Re-validated: positions out of order would make the indices unsorted, and say so.
        return Candidates(self.indices[which], timestamps, self.video, self.grid)

    def restrict_to(self, indices: np.ndarray | Sequence[int]) -> Candidates:
        """The candidates whose source frame index is in ``indices`` (e.g. the frames that decoded)."""
        return self.take(np.isin(self.indices, np.asarray(indices, dtype=np.int64)))

    def scene_seconds(self, scenes: Sequence[Scene]) -> list[tuple[float, float]]:
        """(start, end) seconds of each scene (inclusive candidate positions) over these candidates.

        A scene ends where the next begins: its end time is the time of the candidate after its
        last one, or the video's end for the last candidate, so the scenes tile the video without
        gaps (what ``framepick scenes`` lists and what eval timelines draw).
        """
        if self.timestamps is None or self.video is None:
            raise ValueError("scene times need candidates with timestamps and a video")
        last = len(self) - 1
        spans = []
        for scene in scenes:
            if scene.end > last:
                raise ValueError(f"scene [{scene.start}, {scene.end}] lies outside the {len(self)} candidates")
            end = float(self.timestamps[scene.end + 1]) if scene.end < last else float(self.video.duration_seconds)
            spans.append((float(self.timestamps[scene.start]), end))
        return spans

    __repr__ = _shape_repr


GIVEN_ENCODER_ID = "given"
"""The ``encoder_id`` of features a user brings (``framepick select --features``): no encoder of
framepick's made them, so a learned checkpoint cannot check them against its own encoder; the
user vouches for them (their width is still checked)."""


@dataclass(frozen=True, repr=False)
class Features:
    """Per-candidate embeddings from one encoder, L2-normalised."""

    embeddings: np.ndarray
    """[T,D] float32, each row of unit norm."""
    timestamps: np.ndarray | None
    """[T] seconds of the rows, optional: for features that travel without their candidates.

    The pipeline leaves it None: its features sit beside the :class:`Candidates` their rows
    belong to (``PreparedVideo.candidates``), which hold the times once.
    """
    encoder_id: str
    """The encoder that made the rows (:data:`GIVEN_ENCODER_ID` for a user's own features)."""
    norms: np.ndarray | None = None
    """[T] each row's L2 norm before it was normalised, when known (CLIP/SigLIP encoders and
    user-given features keep it): ``embeddings * norms[:, None]`` are the encoder's raw outputs,
    which a model trained on raw features needs (the TSPO authors' released agent)."""

    def __post_init__(self) -> None:
        emb = np.asarray(self.embeddings, dtype=np.float32)
        if emb.ndim != 2:
            raise ValueError(f"embeddings must be [T,D], got shape {emb.shape}")
        if not np.all(np.isfinite(emb)):
            raise ValueError("embeddings contain NaN or inf")
        object.__setattr__(self, "embeddings", emb)
        if self.timestamps is not None:
            ts = _as_1d("timestamps", self.timestamps, np.float64)
            if ts.shape[0] != emb.shape[0]:
                raise ValueError(f"{ts.shape[0]} timestamps for {emb.shape[0]} embeddings")
            object.__setattr__(self, "timestamps", ts)
        if self.norms is not None:
            norms = _as_1d("norms", self.norms, np.float32)
            if norms.shape[0] != emb.shape[0] or not np.all(np.isfinite(norms)) or np.any(norms < 0):
                raise ValueError(f"norms must be {emb.shape[0]} finite values >= 0, got shape {norms.shape}")
            object.__setattr__(self, "norms", norms)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def rows(self, keep: np.ndarray) -> Features:
        """The rows at ``keep`` (a mask or positions), with their norms."""
        return Features(
            self.embeddings[keep], None if self.timestamps is None else self.timestamps[keep],
            self.encoder_id, None if self.norms is None else self.norms[keep],
        )

    def raw(self) -> np.ndarray:
        """[T,D] the rows at their original norms (the unit rows when the norms are unknown)."""
        return self.embeddings if self.norms is None else self.embeddings * self.norms[:, None]

    __repr__ = _shape_repr


@dataclass(frozen=True, repr=False)
class Query:
    """What the user asks: a question (with its options, if any) and/or a picture to find."""

    text: str | None = None
    options: tuple[str, ...] = ()
    image: np.ndarray | None = None
    """[H,W,3] uint8 RGB query picture."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(self.options))
        if self.image is not None:
            if self.image.ndim != 3 or self.image.shape[-1] != 3 or self.image.dtype != np.uint8:
                raise ValueError(f"query image must be [H,W,3] uint8, got {self.image.shape} {self.image.dtype}")

    @property
    def is_empty(self) -> bool:
        return self.image is None and not (self.text and self.text.strip())

    __repr__ = _shape_repr


@dataclass(frozen=True)
class Scene:
    """A run of consecutive candidates with similar content (inclusive positions)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid scene [{self.start}, {self.end}]")

    def __len__(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Clip:
    """A query-relevant key clip.

    Inside selectors ``start_index``/``end_index`` are inclusive candidate positions; in a
    :class:`Selection` they are source frame indices (the pipeline maps them).
    """

    start_index: int
    end_index: int
    priority: Priority
    score: float | None = None
    reason: str | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.priority not in ("P1", "P2"):
            raise ValueError(f"clip priority must be 'P1' or 'P2', got {self.priority!r}")
        if not 0 <= self.start_index <= self.end_index:
            raise ValueError(f"invalid clip range [{self.start_index}, {self.end_index}]")

    def __len__(self) -> int:
        return self.end_index - self.start_index + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_seconds": self.start_seconds,
            "end_seconds": self.end_seconds,
            "start_index": self.start_index,
            "end_index": self.end_index,
            "priority": self.priority,
            "score": _json_float(self.score),
            "reason": self.reason,
        }


def _json_float(value: float | None) -> float | None:
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


@dataclass(frozen=True, repr=False)
class Selection:
    """The frames a method chose, with everything needed to reproduce and inspect the choice.

    The output, derived from the :class:`Candidates` the method chose from: ``indices`` and
    ``timestamps`` are ``candidates.take(positions)``'s, copied here so a selection stands alone
    (it is serialised, compared and returned to users without its candidates).
    """

    indices: np.ndarray
    """[n] int64 source frame indices, sorted and unique (candidate positions when there is no video)."""
    positions: np.ndarray
    """[n] int64 positions of the chosen frames in the candidate list."""
    timestamps: np.ndarray | None
    scores: np.ndarray | None
    """[n] float64 relevance of each chosen frame, when the method has scores."""
    method: str
    k: int
    num_candidates: int
    clips: tuple[Clip, ...] = ()
    encoder: str | None = None
    question: str | None = None
    video: VideoInfo | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        indices = _as_1d("indices", self.indices, np.int64)
        positions = _as_1d("positions", self.positions, np.int64)
        if indices.size and np.any(np.diff(indices) <= 0):
            raise ValueError("selected indices must be sorted and unique")
        if positions.shape != indices.shape:
            raise ValueError(f"positions {positions.shape} do not match indices {indices.shape}")
        if indices.shape[0] != min(self.k, self.num_candidates):
            raise ValueError(
                f"a selection of k={self.k} from {self.num_candidates} candidates must hold "
                f"{min(self.k, self.num_candidates)} frames, got {indices.shape[0]}"
            )
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "positions", positions)
        for name in ("timestamps", "scores"):
            value = getattr(self, name)
            if value is not None:
                array = _as_1d(name, value, np.float64)
                if array.shape != indices.shape:
                    raise ValueError(f"{name} {array.shape} do not match indices {indices.shape}")
                object.__setattr__(self, name, array)
        object.__setattr__(self, "clips", tuple(self.clips))

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``framepick select`` (extra keys: params, positions)."""
        video = None
        if self.video is not None:
            video = {
                "path": self.video.path,
                "duration_seconds": self.video.duration_seconds,
                "fps": self.video.fps,
                "frame_count": self.video.frame_count,
            }
        frames = []
        for i in range(len(self)):
            frames.append(
                {
                    "index": int(self.indices[i]),
                    "timestamp": None if self.timestamps is None else round(float(self.timestamps[i]), 6),
                    "score": None if self.scores is None else _json_float(self.scores[i]),
                    "position": int(self.positions[i]),
                }
            )
        return {
            "video": video,
            "question": self.question,
            "method": self.method,
            "encoder": self.encoder,
            "k": self.k,
            "candidates": self.num_candidates,
            "frames": frames,
            "clips": [clip.to_dict() for clip in self.clips],
            "timings_seconds": {key: round(float(v), 6) for key, v in self.timings.items()},
            "params": dict(self.params),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    __repr__ = _shape_repr


class OnCandidates:
    """``indices``, ``timestamps``, ``grid`` and ``num_candidates`` read through to ``self.candidates``.

    For the types that carry one :class:`Candidates` with something per candidate (frames,
    features, scenes): the data lives once, in the candidates; these are views. A class using it
    checks in its ``__post_init__`` that its candidates have timestamps.
    """

    candidates: Candidates

    @property
    def indices(self) -> np.ndarray:
        """[T] int64 source frame indices, increasing."""
        return self.candidates.indices

    @property
    def timestamps(self) -> np.ndarray:
        """[T] float64 presentation times in seconds."""
        return self.candidates.timestamps  # type: ignore[return-value] - checked in __post_init__

    @property
    def grid(self) -> str:
        """The candidate grid's key (:meth:`GridSpec.key`)."""
        return self.candidates.grid

    @property
    def num_candidates(self) -> int:
        return len(self.candidates)


@dataclass(frozen=True, repr=False)
class VideoScenes(OnCandidates):
    """The scene segmentation of a video over its candidate grid (what ``video_scenes`` returns)."""

    candidates: Candidates
    """The candidates the scenes are made of (those that decoded), with their video and grid."""
    scenes: tuple[Scene, ...]

    def __post_init__(self) -> None:
        if self.candidates.video is None or self.candidates.timestamps is None:
            raise ValueError("video scenes need candidates with a video and timestamps")
        object.__setattr__(self, "scenes", tuple(self.scenes))

    @property
    def video(self) -> VideoInfo:
        return self.candidates.video  # type: ignore[return-value] - checked in __post_init__

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for scene, (start, end) in zip(self.scenes, self.candidates.scene_seconds(self.scenes)):
            rows.append(
                {
                    "start_seconds": round(start, 6),
                    "end_seconds": round(end, 6),
                    "start_index": int(self.indices[scene.start]),
                    "end_index": int(self.indices[scene.end]),
                    "start_position": scene.start,
                    "end_position": scene.end,
                    "candidates": len(scene),
                }
            )
        return {
            "video": {
                "path": self.video.path,
                "duration_seconds": self.video.duration_seconds,
                "fps": self.video.fps,
                "frame_count": self.video.frame_count,
            },
            "grid": self.grid,
            "candidates": len(self.candidates),
            "scenes": rows,
        }

    __repr__ = _shape_repr


def as_float_scores(values: Sequence[float] | np.ndarray, name: str = "scores") -> np.ndarray:
    """Validate a user-supplied 1-D score array: finite floats, at least one entry."""
    from framepick.errors import InvalidArgumentError

    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name} must be a list of numbers") from None
    if array.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D (one score per candidate), got shape {array.shape}")
    if array.size == 0:
        raise InvalidArgumentError(f"{name} is empty; need one score per candidate")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise InvalidArgumentError(
            f"{name} has {bad.size} non-finite value(s) (NaN or inf), first at position {int(bad[0])}"
        )
    return array


@dataclass(frozen=True, repr=False)
class Sample:
    """One evaluation item: a video, a question with options and an answer, and its evidence.

    This is one line of a manifest (see :mod:`framepick.data.manifest`), with ``video`` and
    ``query_image`` resolved to absolute paths.
    """

    id: str
    video: str
    question: str
    options: tuple[str, ...] = ()
    answer: str | None = None
    """The correct option's letter ("A", "B", ...), or None when unknown."""
    spans: tuple[tuple[float, float], ...] = ()
    """Evidence time spans in seconds (the needle, or a benchmark's time reference); may be empty."""
    query_image: str | None = None
    """When set, selection uses this picture instead of the question."""
    duration_seconds: float | None = None
    task_type: str | None = None
    duration_bucket: str | None = None
    """A benchmark's own length class (e.g. Video-MME short/medium/long), when it has one."""
    source: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Anything else a loader wants to keep (original ids, subtitles path, ...)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", tuple(str(o) for o in self.options))
        object.__setattr__(self, "spans", tuple((float(a), float(b)) for a, b in self.spans))
        for start, end in self.spans:
            if not (math.isfinite(start) and math.isfinite(end)) or end < start:
                raise ValueError(f"invalid span [{start}, {end}] in sample {self.id!r}")
        if self.answer is not None:
            if not self.options:
                raise ValueError(f"sample {self.id!r} has an answer but no options")
            position = option_position(self.answer)
            if position is None or position >= len(self.options):
                raise ValueError(
                    f"answer {self.answer!r} of sample {self.id!r} is not one of the letters "
                    f"A-{option_letter(len(self.options) - 1)}"
                )

    @property
    def answer_index(self) -> int | None:
        return None if self.answer is None else option_position(self.answer)

    def to_dict(self) -> dict[str, Any]:
        row = {
            "id": self.id,
            "video": self.video,
            "question": self.question,
            "query_image": self.query_image,
            "options": list(self.options),
            "answer": self.answer,
            "spans": [list(span) for span in self.spans],
            "duration_seconds": self.duration_seconds,
            "task_type": self.task_type,
            "source": self.source,
        }
        if self.duration_bucket is not None:
            row["duration_bucket"] = self.duration_bucket
        if self.extra:
            row["extra"] = dict(self.extra)
        return row

    __repr__ = _shape_repr


def option_letter(position: int) -> str:
    """0 -> "A", 1 -> "B", ..."""
    if not 0 <= position < 26:
        raise ValueError(f"option position {position} has no letter (0-25)")
    return chr(ord("A") + position)


def question_with_options(question: str, options: Sequence[str] = ()) -> str:
    """The question and its lettered options, one per line (``A. ...``): how K-frames' PeakClips
    conversations write a question (paper 000, Fig. 10), so its clip model reads the same text in
    training (``train kframes-mllm``), labelling (``data peakclips``) and inference (``--clip-model``)."""
    lines = [question.strip()]
    lines += [f"{option_letter(i)}. {str(option).strip()}" for i, option in enumerate(options)]
    return "\n".join(lines)


def option_position(letter: str) -> int | None:
    """"A" -> 0, "b" -> 1, "(C)" -> 2; None when it is not a single letter."""
    cleaned = str(letter).strip().strip("().:").strip().upper()
    if len(cleaned) == 1 and "A" <= cleaned <= "Z":
        return ord(cleaned) - ord("A")
    return None
