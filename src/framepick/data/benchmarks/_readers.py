"""Reading annotation files (JSON, JSONL, CSV, Parquet, side files) and the fields of their rows."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from framepick.data.benchmarks._report import LoadReport, RowError
from framepick import jsonio
from framepick.errors import InvalidArgumentError

logger = logging.getLogger(__name__)


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
    return jsonio.read_json(path, what="annotations")


def read_jsonl(path: Path, report: LoadReport) -> list[tuple[str, Any]]:
    """(where, value) per non-blank line. A line that is not JSON (a torn last one too) is a
    malformed row in ``report``, like a row that lacks a field; a value that is not an object is
    left to the loader's row checks."""

    def malformed(bad: jsonio.BadLine) -> None:
        report.malformed.append((bad.where, bad.reason))

    rows = jsonio.iter_jsonl(path, on_bad=malformed, objects_only=False, what="annotations")
    return [(f"line {number}", value) for number, value in rows]


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
