"""Read what ``framepick eval`` left in a run directory, for the report and the exporters.

A run directory holds ``config.json``, ``records.jsonl`` (one line per sample x method x k x query
mode) and ``timelines.jsonl`` (one line per sample x query mode: the candidate grid, its relevance
to the query, the scenes). Only ``records.jsonl`` is required. Unlike :func:`framepick.eval.records.read_records` (strict, for
resuming), this reader is for looking at a run that may still be going or was killed: a line that
is not a JSON record (say, a half-written last line) is counted and skipped, never fatal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framepick.errors import InvalidArgumentError
from framepick.jsonio import BadLine, iter_jsonl, read_json
from framepick.types import Sample

logger = logging.getLogger(__name__)

from framepick.eval.records import CONFIG_FILE as CONFIG
from framepick.eval.records import RECORDS_FILE as RECORDS
from framepick.eval.records import TIMELINES_FILE as TIMELINES

_REQUIRED = ("sample_id", "method", "k", "query", "frames")


@dataclass
class RunData:
    """The parsed contents of one run directory (rows stay plain JSON objects, as written)."""

    path: Path
    config: dict[str, Any]
    records: list[dict[str, Any]]
    timelines: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(sample_id, query mode) -> timeline row."""
    skipped_lines: int = 0
    """Lines of records.jsonl / timelines.jsonl that were not JSON objects."""

    @property
    def sample_ids(self) -> list[str]:
        """Sample ids in the order they first appear in the records (the manifest's order)."""
        seen: dict[str, None] = {}
        for record in self.records:
            seen.setdefault(str(record.get("sample_id")), None)
        return list(seen)

    @property
    def methods(self) -> list[str]:
        """Methods in config order, then any others in record order."""
        found: dict[str, None] = {}
        for record in self.records:
            found.setdefault(str(record.get("method")), None)
        ordered = [m for m in self.config.get("methods") or [] if m in found]
        return ordered + [m for m in found if m not in ordered]

    @property
    def ks(self) -> list[int]:
        return sorted({int(r["k"]) for r in self.records if isinstance(r.get("k"), (int, float))})

    @property
    def query_modes(self) -> list[str]:
        modes = {str(r.get("query") or "text") for r in self.records}
        return [m for m in ("text", "image") if m in modes] + sorted(modes - {"text", "image"})


def read_run(run_dir: str | Path) -> RunData:
    """Load a run directory; raises InvalidArgumentError when it holds no records."""
    path = Path(run_dir)
    if not path.is_dir():
        raise InvalidArgumentError(f"run directory {str(path)!r} does not exist or is not a folder")
    records_path = path / RECORDS
    if not records_path.is_file():
        raise InvalidArgumentError(f"run directory {str(path)!r} has no {RECORDS} (run 'framepick eval' first)")
    rows, bad = _read_jsonl(records_path)
    records = [r for r in rows if all(key in r for key in _REQUIRED)]
    bad += len(rows) - len(records)
    if not records:
        raise InvalidArgumentError(f"{str(records_path)!r} holds no records (is the evaluation still starting?)")
    config: dict[str, Any] = {}
    config_path = path / CONFIG
    if config_path.is_file():
        try:
            loaded = read_json(config_path)
            config = loaded if isinstance(loaded, dict) else {}
        except InvalidArgumentError as exc:
            logger.warning("%s; going on without it", exc)
    timelines: dict[tuple[str, str], dict[str, Any]] = {}
    timelines_path = path / TIMELINES
    if timelines_path.is_file():
        rows, bad_timelines = _read_jsonl(timelines_path)
        bad += bad_timelines
        for row in rows:
            if "sample_id" in row:
                timelines[(str(row["sample_id"]), str(row.get("query") or "text"))] = row
    if bad:
        logger.warning("%s: skipped %d line(s) that are not JSON objects", path, bad)
    return RunData(path=path, config=config, records=records, timelines=timelines, skipped_lines=bad)


def _read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """(objects, how many lines were not): a torn last line of a run still being written, or a
    damaged one, is counted for the caller's warning and skipped."""
    bad: list[BadLine] = []
    rows = [row for _, row in iter_jsonl(path, on_bad=bad.append)]
    return rows, len(bad)


def read_manifest_samples(run: RunData, manifest: str | Path | None = None) -> dict[str, Sample]:
    """Sample id -> :class:`framepick.types.Sample` from the run's manifest ({} when unreadable).

    ``manifest`` overrides the path recorded in config.json (a relative recorded path is tried
    against the current folder, then against the run directory).
    """
    from framepick.data.manifest import read_manifest

    candidates: list[Path] = []
    if manifest is not None:
        candidates.append(Path(manifest))
    elif run.config.get("manifest"):
        recorded = Path(str(run.config["manifest"]))
        candidates.append(recorded)
        if not recorded.is_absolute():
            candidates.append(run.path / recorded)
    for candidate in candidates:
        if candidate.is_file():
            report = read_manifest(candidate, require_videos=False)
            return {sample.id: sample for sample in report.samples}
    return {}
