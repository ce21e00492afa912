"""What every benchmark loader shares: the load report, video lookup, option and time parsing.

Each loader turns one benchmark's official annotation files into :class:`framepick.types.Sample`
objects. Real annotation dumps have holes (a row without options, an answer that is not one of
the options, a video that was never downloaded), so a loader never stops at a bad row: it counts
it, with where it was and why, in a :class:`LoadReport`, and goes on.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, Sequence

from framepick.errors import InvalidArgumentError
from framepick.types import Sample, option_letter, option_position

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")
"""Searched in this order when a benchmark names a video without (or with another) extension."""


class RowError(ValueError):
    """One annotation row cannot become a sample; the message is the reason the report records."""


@dataclass
class LoadReport:
    """The samples a benchmark's annotations yielded, and every row that did not become one.

    ``where`` strings locate a row for a human ("row 12", "line 3 qa 2", "4_count.json row 7").
    Iterating a report iterates its samples, so it also serves as the ``Iterable[Sample]`` that
    DESIGN.md's ``Benchmark.load()`` promises.
    """

    benchmark: str
    path: str
    samples: list[Sample] = field(default_factory=list)
    malformed: list[tuple[str, str]] = field(default_factory=list)
    """(where, reason) of rows that are not valid questions."""
    missing_videos: list[tuple[str, str]] = field(default_factory=list)
    """(where, the video name looked for) of rows whose video is not under the videos root."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(where, reason) of valid rows deliberately not converted: open-ended questions, questions
    without a public answer (unless unanswered rows were asked for)."""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """(where, reason) of problems that did not drop the row (e.g. an unreadable time reference)."""
    kept_missing_videos: bool = False
    """True when rows with missing videos were kept (their samples point where the video should be)."""

    def summary(self) -> str:
        line = (
            f"{len(self.samples)} samples, {len(self.malformed)} malformed rows, "
            f"{len(self.missing_videos)} missing videos"
        )
        if self.kept_missing_videos and self.missing_videos:
            line += " (kept)"
        if self.skipped:
            line += f", {len(self.skipped)} skipped ({_top_reason(self.skipped)})"
        if self.warnings:
            line += f", {len(self.warnings)} warnings"
        return line

    def to_dict(self) -> dict[str, Any]:
        """Everything but the samples, for ``framepick data convert --report``."""
        return {
            "benchmark": self.benchmark,
            "annotations": self.path,
            "samples": len(self.samples),
            "malformed": [list(item) for item in self.malformed],
            "missing_videos": [list(item) for item in self.missing_videos],
            "kept_missing_videos": self.kept_missing_videos,
            "skipped": [list(item) for item in self.skipped],
            "warnings": [list(item) for item in self.warnings],
        }

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)


def _top_reason(items: Sequence[tuple[str, str]]) -> str:
    counts: dict[str, int] = {}
    for _, reason in items:
        counts[reason] = counts.get(reason, 0) + 1
    reason = max(counts, key=lambda key: counts[key])
    return reason if len(counts) == 1 else f"mostly {reason}"


class VideoResolver:
    """Finds a benchmark's video under a user-given root, the way people actually unpack them.

    Benchmarks name videos by id ("{videoID}.mp4") while users extract archives into the root
    itself or into one folder below it (Video-MME's ``data/``, LongVideoBench's ``videos/``,
    NExT-QA's ``0101/``). So a name is looked for (1) as a relative path under each preferred
    folder and the root, with the extensions in :data:`VIDEO_EXTENSIONS`, then (2) by file stem
    anywhere in the root or one level of subfolders (indexed once, so a root of thousands of
    videos costs one directory scan, not thousands of stats per row).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._index: dict[str, list[Path]] | None = None

    def _build_index(self) -> dict[str, list[Path]]:
        index: dict[str, list[Path]] = {}
        folders = [self.root]
        try:
            with os.scandir(self.root) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir():
                        folders.append(Path(entry.path))
                    elif _is_video_name(entry.name):
                        index.setdefault(Path(entry.name).stem, []).append(Path(entry.path))
        except OSError:
            return index
        for folder in sorted(folders[1:]):
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if not entry.name.startswith(".") and _is_video_name(entry.name) and entry.is_file():
                            index.setdefault(Path(entry.name).stem, []).append(Path(entry.path))
            except OSError:
                continue
        for paths in index.values():  # deterministic: shallower first, then preferred extension
            paths.sort(key=lambda p: (len(p.relative_to(self.root).parts), _extension_rank(p), str(p)))
        return index

    def find(self, name: str, prefer_dirs: Sequence[str] = ()) -> Path | None:
        """The video called ``name`` (a relative path, with or without extension), or None."""
        name = name.strip().replace("\\", "/").lstrip("/")
        relative = Path(name)
        if not name or ".." in relative.parts or name == ".":
            return None  # an annotation never needs to leave the root
        exact = relative if relative.suffix.lower() in VIDEO_EXTENSIONS else None
        stem = relative.with_suffix("") if exact is not None else relative
        for folder in [*prefer_dirs, ""]:
            base = self.root / folder if folder else self.root
            candidates = [base / exact] if exact is not None else []
            candidates += [base / stem.with_name(stem.name + ext) for ext in _extension_variants()]
            for candidate in candidates:
                if candidate.is_file():
                    return candidate.resolve()
        if self._index is None:
            self._index = self._build_index()
        matches = self._index.get(stem.name, [])
        if len(matches) > 1:
            logger.debug("video %r matches %d files; using %s", name, len(matches), matches[0])
        return matches[0].resolve() if matches else None

    def expected(self, name: str) -> Path:
        """Where a missing video should be: ``root/name``, with ``.mp4`` when it has no extension."""
        relative = Path(name.strip().replace("\\", "/").lstrip("/"))
        if relative.suffix.lower() not in VIDEO_EXTENSIONS:
            relative = relative.with_name(relative.name + ".mp4")
        return self.root / relative


def _extension_variants() -> list[str]:
    return [v for ext in VIDEO_EXTENSIONS for v in (ext, ext.upper())]


def _extension_rank(path: Path) -> int:
    suffix = path.suffix.lower()
    return VIDEO_EXTENSIONS.index(suffix) if suffix in VIDEO_EXTENSIONS else len(VIDEO_EXTENSIONS)


def _is_video_name(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_EXTENSIONS


# --- options and answers ----------------------------------------------------------------------

_PREFIX = re.compile(r"^\s*(?:\(\s*([A-Za-z])\s*\)|([A-Za-z])\s*[.):：])\s*")


def strip_option_prefix(text: str, position: int) -> str:
    """Drop a leading "A. ", "A) ", "A: " or "(A) " from an option, if its letter is the option's.

    Benchmarks differ: Video-MME writes "A. Apples.", LVBench "(A) ...", the rest give bare text.
    Options are stored bare so that every manifest reads the same and an answerer adds its own
    letters. The letter must match the option's position, so a bare option that merely starts
    with a letter and a full stop ("I. M. Pei designed it") is left alone unless it sits at "I".
    """
    match = _PREFIX.match(text)
    if match:
        letter = (match.group(1) or match.group(2)).upper()
        if letter == option_letter(position):
            return text[match.end() :].strip()
    return text.strip()


def clean_options(raw: Any, where: str = "options") -> tuple[str, ...]:
    """Validate a list of option strings (at least two, each non-empty) and strip their prefixes."""
    if not isinstance(raw, (list, tuple)):
        raise RowError(f"{where} must be a list of strings, got {type(raw).__name__}")
    options = []
    for position, option in enumerate(raw):
        if isinstance(option, (int, float)) and not isinstance(option, bool):
            option = str(option)  # MLVU count options are sometimes numbers
        if not isinstance(option, str) or not option.strip():
            raise RowError(f"option {position} is empty or not a string")
        options.append(strip_option_prefix(option, position))
    if len(options) < 2:
        raise RowError(f"need at least 2 options, got {len(options)}")
    if len(options) > 26:
        raise RowError(f"{len(options)} options is more than the 26 letters A-Z")
    return tuple(options)


def letter_from_index(value: Any, num_options: int) -> str:
    """A 0-based option index (int or digit string) as a letter; RowError when out of range."""
    if isinstance(value, bool):
        raise RowError(f"answer index must be an integer, got {value!r}")
    try:
        index = int(str(value).strip())
    except (TypeError, ValueError):
        raise RowError(f"answer index must be an integer, got {value!r}") from None
    if not 0 <= index < num_options:
        raise RowError(f"answer index {index} is outside the {num_options} options")
    return option_letter(index)


def letter_from_letter(value: Any, num_options: int) -> str:
    """A letter answer ("C", "(C)", "c.") normalised to "C"; RowError when not an option's letter."""
    position = option_position(str(value)) if isinstance(value, str) else None
    if position is None:
        raise RowError(f"answer {value!r} is not an option letter")
    if position >= num_options:
        raise RowError(f"answer {value!r} is outside the {num_options} options")
    return option_letter(position)


def letter_from_text(value: Any, options: Sequence[str]) -> str:
    """The letter of the option whose text is ``value`` (exact, then ignoring case and spacing)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"answer {value!r} is empty or not a string")
    for position, option in enumerate(options):
        if option == value.strip():
            return option_letter(position)
    wanted = _normalise(value)
    hits = [position for position, option in enumerate(options) if _normalise(option) == wanted]
    if len(hits) == 1:
        return option_letter(hits[0])
    raise RowError(f"answer {value.strip()[:60]!r} is not one of the options")


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".")


# --- times --------------------------------------------------------------------------------------

_CLOCK = re.compile(r"^\d+(?:\.\d+)?$|^\d+(?::\d{1,2}(?:\.\d+)?){1,2}$")


def clock_to_seconds(text: str) -> float:
    """"75" -> 75.0, "03:45" -> 225.0, "1:02:03.5" -> 3723.5; ValueError otherwise.

    Minutes may exceed 59 ("75:10"), as in annotations of videos over an hour written as mm:ss.
    """
    text = text.strip()
    if not _CLOCK.match(text):
        raise ValueError(f"{text!r} is not a time (s, mm:ss or h:mm:ss)")
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_time_spans(text: str) -> tuple[tuple[float, float], ...]:
    """Spans like "03:45-04:10" (several separated by "," or ";") in seconds.

    A single time ("03:45") is a zero-length span at that time. Raises ValueError naming the part
    that does not parse, or a span that ends before it starts.
    """
    spans = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        pieces = re.split(r"\s*(?:-|–|~|to)\s*", part)
        if len(pieces) == 1:
            start = end = clock_to_seconds(pieces[0])
        elif len(pieces) == 2:
            start, end = clock_to_seconds(pieces[0]), clock_to_seconds(pieces[1])
        else:
            raise ValueError(f"{part!r} is not a time span (start-end)")
        if end < start:
            raise ValueError(f"span {part!r} ends before it starts")
        spans.append((start, end))
    return tuple(spans)


# --- reading files ------------------------------------------------------------------------------


def check_annotations_path(path: str | Path, *, allow_dir: bool = False) -> Path:
    path = Path(path).expanduser()
    if path.is_dir() and allow_dir:
        return path
    if not path.is_file():
        kind = "file or folder" if allow_dir else "file"
        raise InvalidArgumentError(f"annotations {str(path)!r} does not exist or is not a {kind}")
    return path


def check_videos_root(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise InvalidArgumentError(f"videos folder {str(path)!r} does not exist or is not a folder")
    return path


def read_json(path: Path) -> Any:
    """A whole JSON file; an unreadable or invalid file is the user's error, named in one line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"annotations {str(path)!r} cannot be read as UTF-8 text ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(
            f"annotations {str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno})"
        ) from None


def read_jsonl(path: Path, report: LoadReport) -> list[tuple[str, Any]]:
    """(where, object) per non-empty line; lines that are not JSON go to ``report.malformed``."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"annotations {str(path)!r} cannot be read as UTF-8 text ({exc})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            report.malformed.append((f"line {number}", f"not JSON ({exc.msg})"))
    return rows


def read_csv(path: Path, required: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """(where, row) per data row of a CSV with a header naming at least ``required``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [name for name in required if name not in header]
            if missing:
                raise InvalidArgumentError(
                    f"annotations {str(path)!r} is not the expected CSV: header lacks {', '.join(missing)}"
                )
            # Data starts on line 2 (line numbers as an editor shows them, for simple files).
            return [(f"line {number}", row) for number, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidArgumentError(f"annotations {str(path)!r} cannot be read as CSV ({exc})") from None


def read_parquet(path: Path) -> list[dict[str, Any]]:
    """Rows of a parquet file (the form Video-MME, LongVideoBench, MLVU and EgoSchema publish on the
    Hugging Face hub), as plain Python values: list columns become lists, as JSON would give."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # a dependency: absent only in a broken install
        raise InvalidArgumentError(
            f"reading {str(path)!r} needs pyarrow, a framepick dependency that is missing here (pip install pyarrow)"
        ) from None
    try:
        return list(pq.read_table(path).to_pylist())
    except Exception as exc:  # noqa: BLE001 - any parquet failure means an unreadable file
        raise InvalidArgumentError(f"annotations {str(path)!r} cannot be read as parquet ({exc})") from None


def read_records(path: Path, report: LoadReport, list_keys: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """Rows of a JSON array, a JSON object holding one (under ``list_keys``), JSON Lines or parquet."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return [(f"row {i}", row) for i, row in enumerate(read_parquet(path))]
    if suffix == ".jsonl":
        return read_jsonl(path, report)
    data = read_json(path)
    if isinstance(data, dict):
        for key in list_keys:
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise InvalidArgumentError(
            f"annotations {str(path)!r} must hold a JSON list of rows, got a {type(data).__name__}"
        )
    return [(f"row {i}", row) for i, row in enumerate(data)]


def require_str(row: Mapping[str, Any], *keys: str) -> str:
    """The first of ``keys`` holding a non-empty string (or number, as ids sometimes are)."""
    for key in keys:
        value = row.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise RowError(f"missing or empty field {' / '.join(repr(k) for k in keys)}")


def optional_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) and number >= 0 else None


# --- the loader base class ---------------------------------------------------------------------


class BenchmarkLoader(ABC):
    """One benchmark's annotation format: ``load(annotations, videos)`` and ``score(letter, sample)``.

    Subclasses implement :meth:`_rows` (yield ``(where, row)`` from the annotation file) and
    :meth:`_parse` (one row to :class:`Draft` objects, raising :class:`RowError` when it cannot).
    This class resolves videos, de-duplicates ids and counts every problem.
    """

    name: ClassVar[str] = ""
    sources: ClassVar[tuple[str, ...]] = ()
    """Where the format was read from (dataset cards, the authors' loaders)."""
    accepts_directory: ClassVar[bool] = False

    def __init__(self, *, require_videos: bool = True, include_unanswered: bool = False) -> None:
        """``require_videos``: drop (and count) rows whose video is missing; False keeps them,
        pointing at where the video should be. ``include_unanswered``: keep questions whose answer
        is not public (answer None) instead of skipping them."""
        self.require_videos = require_videos
        self.include_unanswered = include_unanswered

    def load(self, annotations: str | Path, videos: str | Path) -> LoadReport:
        """Every question in ``annotations`` as a Sample whose video lies under ``videos``."""
        path = check_annotations_path(annotations, allow_dir=self.accepts_directory)
        resolver = VideoResolver(check_videos_root(videos))
        report = LoadReport(self.name, str(path), kept_missing_videos=not self.require_videos)
        seen: set[str] = set()
        for where, row in self._rows(path, report):
            try:
                drafts = list(self._parse(row, where, report))
            except RowError as exc:
                report.malformed.append((where, str(exc)))
                logger.debug("%s %s: malformed: %s", self.name, where, exc)
                continue
            for draft in drafts:
                self._add(draft, resolver, report, seen)
        return report

    def score(self, prediction: str | None, sample: Sample) -> float:
        """1.0 when ``prediction`` ("B", "(B)", "b.") is the sample's answer letter, else 0.0."""
        if sample.answer is None:
            raise InvalidArgumentError(f"sample {sample.id!r} has no answer to score against")
        if prediction is None:
            return 0.0
        return 1.0 if option_position(str(prediction)) == sample.answer_index else 0.0

    # -- for subclasses

    @abstractmethod
    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        """(where, row) pairs from the annotation file, in file order."""

    @abstractmethod
    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator["Draft"]:
        """The samples one row holds (a row may hold several questions)."""

    # -- shared

    def _add(self, draft: "Draft", resolver: VideoResolver, report: LoadReport, seen: set[str]) -> None:
        if draft.id in seen:
            report.malformed.append((draft.where, f"duplicate id {draft.id!r}"))
            return
        if draft.answer is None and not self.include_unanswered:
            report.skipped.append((draft.where, "no public answer"))
            return
        video = None
        for name in draft.video_names:
            video = resolver.find(name, draft.prefer_dirs)
            if video is not None:
                break
        if video is None:
            report.missing_videos.append((draft.where, draft.video_names[0]))
            if self.require_videos:
                return
            video = resolver.expected(draft.video_names[0])
        try:
            sample = Sample(
                id=draft.id,
                video=str(video),
                question=draft.question,
                options=draft.options,
                answer=draft.answer,
                spans=draft.spans,
                duration_seconds=draft.duration_seconds,
                task_type=draft.task_type,
                duration_bucket=draft.duration_bucket,
                source=self.name,
                extra=draft.extra,
            )
        except ValueError as exc:
            report.malformed.append((draft.where, str(exc)))
            return
        seen.add(draft.id)
        report.samples.append(sample)


@dataclass
class Draft:
    """A parsed question before its video is resolved."""

    where: str
    id: str
    video_names: tuple[str, ...]
    """Names to look for, best first (e.g. the annotation's file name, then the bare video id)."""
    question: str
    options: tuple[str, ...]
    answer: str | None
    spans: tuple[tuple[float, float], ...] = ()
    duration_seconds: float | None = None
    task_type: str | None = None
    duration_bucket: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    prefer_dirs: tuple[str, ...] = ()
    """Folders under the root to look in first (e.g. MLVU's per-task video folders)."""

    def __post_init__(self) -> None:
        if not self.question.strip():
            raise RowError("empty question")
        if not self.video_names or not all(name.strip() for name in self.video_names):
            raise RowError("no video name")


def json_safe(value: Any) -> Any:
    """Values for ``Sample.extra``: keep JSON scalars, lists and dicts; drop what JSON cannot hold."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


def pick_extra(row: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The listed fields of ``row`` that are present and not null, JSON-safe."""
    return {key: json_safe(row[key]) for key in keys if key in row and row[key] is not None}


def read_side_json(explicit: Path | None, default: Path, what: str, shape: str) -> dict[str, Any]:
    """An optional JSON object that sits beside the annotations (EgoSchema answers, NExT-QA video map).

    ``explicit`` (given by the user) must exist; otherwise ``default`` is used when present, and
    its absence is not an error: the loader falls back to what the rows themselves carry.
    """
    if explicit is not None:
        path = check_annotations_path(explicit)
    elif default.is_file():
        path = default
    else:
        logger.info("no %s at %s; using what the annotation rows carry", what, default)
        return {}
    data = read_json(path)
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"{what} {str(path)!r} must be a JSON object {shape}")
    return {str(k): v for k, v in data.items()}
