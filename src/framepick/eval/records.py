"""The files of an evaluation run, and appending to them so that no kill loses or doubles a record.

A run folder holds:

- ``config.json``: what was evaluated (:func:`write_config`);
- ``records.jsonl``: one line per (sample, method, k, query), with the keys of :data:`RECORD_KEYS`;
- ``timelines.jsonl``: one line per (sample, query), with the keys of :data:`TIMELINE_KEYS`.

Each line is appended with one ``write`` and made durable with ``flush`` + ``fsync`` before the next
is computed. A kill (even ``kill -9``) can therefore only leave the *last* line incomplete; the
next run detects a last line without its newline (or one that is not JSON) and truncates it away
(:func:`repair_jsonl`), then skips every key already present. So an interrupted run resumes with
no record lost or duplicated.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from framepick import jsonio
from framepick.errors import InvalidArgumentError
from framepick.export import write_json

logger = logging.getLogger(__name__)

RECORDS_FILE = "records.jsonl"
TIMELINES_FILE = "timelines.jsonl"
CONFIG_FILE = "config.json"

RECORD_KEYS = (
    "sample_id",
    "method",
    "k",
    "query",
    "encoder",
    "answerer",
    "candidates",
    "frames",
    "clips",
    "answer",
    "correct",
    "option_probs",
    "gold",
    "spans",
    "duration_seconds",
    "task_type",
    "duration_bucket",
    "timings_seconds",
    "frames_sent",
    "near_duplicates",
    "answer_source",
    "reply",
    "answer_cached",
)
"""The keys of one record, in the order they are written.

``frames`` is ``[{"index", "timestamp", "score"}]`` (source frame index, seconds, relevance or
null); ``clips`` as :meth:`framepick.types.Selection.to_dict` writes them; ``answer``/``gold`` are
option letters or null; ``correct`` is null when there is no answer (a sample without options) or
no gold letter, and false when the answer names no option; ``spans`` are ``[start_s, end_s]``
evidence spans; ``timings_seconds`` has ``probe``, ``decode``, ``encode``, ``select``, ``answer``;
``near_duplicates`` counts consecutive chosen frames whose features are near-duplicates
(:func:`framepick.select.dedup.near_duplicate_neighbour_pairs`; null when not measurable);
``answer_source`` says how the answer was read (``embeddings``, ``logits``, ``logprobs``,
``parsed``: see :class:`framepick.answer.base.Answer`), ``reply`` is an MLLM's raw text (null for
the offline matcher) and ``answer_cached`` whether it came from the answer cache. Runs written
before these three keys existed lack them: readers use ``record.get``.
"""

TIMELINE_KEYS = (
    "sample_id",
    "query",
    "video",
    "timestamps",
    "indices",
    "relevance",
    "scenes",
    "duration_seconds",
    "spans",
)
"""The keys of one timeline line: per-candidate seconds, source indices and query similarity,
scenes as ``[start_s, end_s]`` (a scene ends where the next begins, the last at the video's end)."""

TIMING_KEYS = ("probe", "decode", "encode", "select", "answer")


def record_key(record: Mapping[str, Any]) -> tuple[str, str, int, str]:
    """What makes a record unique in a run: (sample_id, method, k, query)."""
    return (str(record["sample_id"]), str(record["method"]), int(record["k"]), str(record["query"]))


def timeline_key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row["sample_id"]), str(row["query"]))


def repair_jsonl(path: Path) -> int:
    """Truncate an incomplete last line (a write cut short by a kill); returns bytes removed.

    Only the end of the file can be torn (lines are appended one at a time, each fsynced), so a
    bad line anywhere else is not a torn write but damage, and raises.
    """
    path = Path(path)
    if not path.is_file():
        return 0
    data = path.read_bytes()
    keep = len(data)
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1  # 0 when the only line is torn
    else:
        # A complete-looking last line that is not JSON (e.g. zero bytes from a crash of the
        # file system, not of the process) is dropped too, since it is recomputed on resume.
        body = data[:-1]
        last_start = body.rfind(b"\n") + 1
        if data and not _is_json_object(data[last_start:]):
            keep = last_start
    removed = len(data) - keep
    if removed:
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        logger.warning("%s: removed an incomplete last line (%d bytes) left by an interrupted run", path, removed)
    return removed


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a run's JSONL file (none when it does not exist yet).

    Any bad line raises with its number, a torn last one too: the runner truncates that first
    (:func:`repair_jsonl`), so what is left is damage that resuming must not paper over.
    """
    path = Path(path)
    if not path.is_file():
        return
    for _, row in jsonio.iter_jsonl(path):
        yield row


def read_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """All records of a run folder (or of a ``records.jsonl`` path), in file order."""
    path = Path(run_dir)
    if path.is_dir():
        path = path / RECORDS_FILE
    if not path.is_file():
        raise InvalidArgumentError(f"no evaluation records at {str(path)!r}")
    return list(read_jsonl(path))


def read_timelines(run_dir: str | Path) -> list[dict[str, Any]]:
    """All timeline lines of a run folder."""
    return list(read_jsonl(Path(run_dir) / TIMELINES_FILE))


class JsonlAppender:
    """Appends JSON lines durably: one ``os.write`` per line, then ``fsync``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, row: Mapping[str, Any]) -> None:
        data = (json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_record(record: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``record`` has exactly the keys of :data:`RECORD_KEYS`."""
    keys = tuple(record)
    if set(keys) != set(RECORD_KEYS):
        missing = sorted(set(RECORD_KEYS) - set(keys))
        extra = sorted(set(keys) - set(RECORD_KEYS))
        raise ValueError(f"record keys differ from the format: missing {missing}, extra {extra}")


def write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    """``config.json`` and the like: :func:`framepick.export.write_json`, keys in the order given."""
    write_json(Path(path), payload)


def read_json(path: Path) -> dict[str, Any] | None:
    """The object a run's JSON file (``config.json``) holds; None when there is no such file."""
    path = Path(path)
    if not path.is_file():
        return None
    value = jsonio.read_json(path)
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{str(path)!r} does not hold a JSON object")
    return value


def keys_done(rows: Iterable[Mapping[str, Any]], key=record_key) -> set:
    return {key(row) for row in rows}
