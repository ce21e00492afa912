"""Reading the per-question frame selections that papers' authors publish, in their own layouts.

Each layout becomes a list of :class:`PublishedEntry`: what names the question (ids, the video,
the question or prompt text) and the chosen frames in the unit the file uses. Matching an entry
to a manifest sample and turning its frames into source frames of the local video is
:mod:`framepick.eval.import_selections`' job. The layouts, with the files and commits they were
read from, are described in ``docs/published_selections.md``:

``tspo``
    TSPO (github.com/Hui-design/TSPO, ``evaluation/jsons_idx/TSPO_<Benchmark>_frameIdx.json``): a
    JSON array, one object per question: the benchmark's own annotation row (Video-MME
    ``question_id`` / ``videoID``, LongVideoBench ``id`` / ``video_path``, TSPO's MLVU conversion
    ``question_id`` ``Q<n>`` / ``video_name``) plus ``frame_idx``: the chosen frames as 0-based
    indices of the source video's frames at its native rate (decord ``VideoReader`` indices,
    written as floats such as ``30.0``), sorted, one budget per file (64).
``videoitg``
    VideoITG (github.com/NVlabs/VideoITG, the grounding ``results.jsonl`` its ``videoitg``
    lmms-eval model writes, e.g. ``results/videomme_result_512.jsonl``): JSON Lines with
    ``doc_id`` (the position in lmms-eval's split), ``video_path``, ``contexts`` (the prompt, which
    holds the question), ``index`` (0-based source frame indices of every scored frame, ordered
    by score, highest first) and ``logits`` (the sigmoid scores in the same order). Top-k is the
    first k of ``index``.
``bolt``
    BOLT (github.com/sming256/BOLT, ``select_frames.py`` writes
    ``output/keyframes/<benchmark>_clip_l_fps1_power<p>_frame<k>.json``): a JSON object from
    video name (file name up to its first dot) to a list of ``{"question_id", "question",
    "frames"}``; ``frames`` are SECONDS (rows of a 1 fps feature grid divided by that fps, rounded
    to 2 decimals), k of them, possibly repeated; BOLT's lmms-eval reader maps a second ``t`` to
    frame ``round(t * video_fps)``, sorted and clipped to the video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from framepick import jsonio
from framepick.errors import InvalidArgumentError

FORMATS = ("tspo", "videoitg", "bolt")
DEFAULT_NAMES = {"tspo": "tspo-published", "videoitg": "videoitg-published", "bolt": "bolt-published"}
"""The method name an import gets unless ``--name`` says otherwise: never one of framepick's own."""


@dataclass(frozen=True)
class PublishedEntry:
    """One question's published selection, as the file states it."""

    where: str
    """Where in the file ("entry 12", "line 5", "video 'abc' entry 0"), for messages."""
    ids: tuple[str, ...]
    """The question's ids as the file spells them (a benchmark's question id), most specific first."""
    video: str | None
    """The video's name up to its first dot (lmms-eval's key), when the file names it."""
    text: str | None
    """Text that holds the question (the question itself, or the whole prompt), when the file has it."""
    values: tuple[float, ...]
    """The chosen frames in file order, in ``unit``."""
    unit: str
    """``frame`` (0-based source frame index) or ``second``."""
    ranked: bool = False
    """True when ``values`` are ordered best first and top-k is their first k (VideoITG)."""
    scores: tuple[float, ...] | None = None
    """A score per value (VideoITG's sigmoid outputs), same order; None when the file has none."""


def video_stem(name: str) -> str:
    """A video's key: its file name up to the first dot, as lmms-eval's keyframe readers take it."""
    return str(name).replace("\\", "/").split("/")[-1].split(".")[0]


def read_published(path: str | Path, layout: str) -> list[PublishedEntry]:
    """Every entry of a published selections file; a file not in ``layout`` raises one line.

    The whole file is checked before anything is returned, so a malformed file never yields a
    partial import: the error names the first bad entry and what is wrong with it.
    """
    if layout not in FORMATS:
        raise InvalidArgumentError(f"--format must be one of {', '.join(FORMATS)}, got {layout!r}")
    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError(f"published selections {str(path)!r} do not exist or are not a file")
    name = f"{layout} selections {str(path)!r}"
    if layout == "videoitg":
        entries = list(_videoitg(path, name))
    else:
        data = jsonio.read_json(path, what=f"{layout} selections")
        entries = list(_tspo(data, name) if layout == "tspo" else _bolt(data, name))
    if not entries:
        raise InvalidArgumentError(f"{name} hold no entries")
    return entries


_TSPO_VIDEO_KEYS = ("videoID", "video_path", "video_name", "video", "video_id")


def _tspo(data: Any, name: str) -> Iterator[PublishedEntry]:
    if not isinstance(data, list):
        raise InvalidArgumentError(f"{name}: expected a JSON array of questions (TSPO's *_frameIdx.json), got {_kind(data)}")
    for number, row in enumerate(data):
        where = f"entry {number}"
        if not isinstance(row, dict):
            raise InvalidArgumentError(f"{name} {where}: expected an object, got {_kind(row)}")
        if "frame_idx" not in row:
            raise InvalidArgumentError(f"{name} {where}: no 'frame_idx' (is this a TSPO *_frameIdx.json file?)")
        values = _numbers(row["frame_idx"], f"{name} {where} 'frame_idx'", whole=True)
        ids = tuple(_text(row.get(key)) for key in ("question_id", "id", "uid") if _text(row.get(key)))
        # Video-MME names files by videoID (its video_id is "001"); LongVideoBench by video_path.
        video = next((_text(row.get(key)) for key in _TSPO_VIDEO_KEYS if _text(row.get(key))), None)
        yield PublishedEntry(
            where=where, ids=ids, video=None if video is None else video_stem(video), text=_text(row.get("question")),
            values=values, unit="frame",
        )


def _videoitg(path: Path, name: str) -> Iterator[PublishedEntry]:
    for number, row in jsonio.iter_jsonl(path, what="videoitg selections"):
        where = f"line {number}"
        if "index" not in row:
            raise InvalidArgumentError(f"{name} {where}: no 'index' (is this VideoITG's grounding results.jsonl?)")
        values = _numbers(row["index"], f"{name} {where} 'index'", whole=True)
        scores = None
        if row.get("logits") is not None:
            scores = _numbers(row["logits"], f"{name} {where} 'logits'", whole=False)
            if len(scores) != len(values):
                raise InvalidArgumentError(
                    f"{name} {where}: {len(scores)} 'logits' for {len(values)} 'index' values; they must pair up"
                )
        video = _text(row.get("video_path"))
        yield PublishedEntry(
            where=where, ids=(), video=None if video is None else video_stem(video), text=_text(row.get("contexts")),
            values=values, unit="frame", ranked=True, scores=scores,
        )


def _bolt(data: Any, name: str) -> Iterator[PublishedEntry]:
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"{name}: expected a JSON object from video name to questions (BOLT's keyframes json), got {_kind(data)}")
    for video, questions in data.items():
        if not isinstance(questions, list):
            raise InvalidArgumentError(f"{name} video {video!r}: expected a list of questions, got {_kind(questions)}")
        for number, row in enumerate(questions):
            where = f"video {video!r} entry {number}"
            if not isinstance(row, dict):
                raise InvalidArgumentError(f"{name} {where}: expected an object, got {_kind(row)}")
            if "frames" not in row:
                raise InvalidArgumentError(f"{name} {where}: no 'frames' (seconds)")
            values = _numbers(row["frames"], f"{name} {where} 'frames'", whole=False)
            qid = _text(row.get("question_id"))
            yield PublishedEntry(
                where=where, ids=() if qid is None else (qid,), video=video_stem(video), text=_text(row.get("question")),
                values=values, unit="second",
            )


def _numbers(value: Any, what: str, *, whole: bool) -> tuple[float, ...]:
    """A non-empty list of finite, non-negative numbers (whole ones where ``whole``)."""
    if not isinstance(value, list):
        raise InvalidArgumentError(f"{what}: expected a list of numbers, got {_kind(value)}")
    if not value:
        raise InvalidArgumentError(f"{what} is empty")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise InvalidArgumentError(f"{what}: {item!r} is not a finite number")
        if item < 0:
            raise InvalidArgumentError(f"{what}: {item!r} is negative")
        if whole and float(item) != int(item):
            raise InvalidArgumentError(f"{what}: {item!r} is not a whole frame index")
        out.append(float(item))
    return tuple(out)


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)) and str(value).strip():
        return str(value).strip()
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
