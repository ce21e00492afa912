"""The manifest: one JSON object per line, the one format `eval`, `train` and the data tools read.

```
{"id": str, "video": str (absolute, or relative to the manifest), "question": str,
 "query_image": str | null, "options": [str, ...], "answer": "A" | "B" | ...,
 "spans": [[start_seconds, end_seconds], ...], "duration_seconds": float | null,
 "task_type": str | null, "source": str | null}
```

Optional keys: ``duration_bucket`` (a benchmark's own length class) and ``extra`` (an object).
Reading never stops at a bad row: malformed rows and rows whose video is missing are counted,
with the line number and reason, in :class:`ManifestReport`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from framepick.errors import InvalidArgumentError
from framepick.export import atomic_path
from framepick.jsonio import BadLine, iter_jsonl
from framepick.types import Sample


@dataclass
class ManifestReport:
    """The samples a manifest yielded, and what was skipped and why."""

    path: str
    samples: list[Sample] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)
    """(line number, reason) of rows that are not valid samples."""
    missing_videos: list[tuple[int, str]] = field(default_factory=list)
    """(line number, path) of rows whose video file does not exist."""

    def summary(self) -> str:
        return (
            f"{self.path}: {len(self.samples)} samples, {len(self.malformed)} malformed rows, "
            f"{len(self.missing_videos)} missing videos"
        )


def read_manifest(path: str | Path, *, require_videos: bool = True) -> ManifestReport:
    """Read a manifest; bad rows are reported, not raised. A missing or unreadable file raises."""
    path = Path(path)
    if not path.is_file():
        raise InvalidArgumentError(f"manifest {str(path)!r} does not exist or is not a file")
    report = ManifestReport(str(path))
    seen: set[str] = set()

    def malformed(bad: BadLine) -> None:  # not JSON (a torn last line too): a malformed row
        report.malformed.append((bad.number, bad.reason))

    rows = iter_jsonl(path, on_bad=malformed, objects_only=False, what="manifest")
    for number, row in rows:  # a row that is not an object is sample_from_row's to name
        try:
            sample = sample_from_row(row, base=path.parent)
        except (ValueError, TypeError, KeyError) as exc:
            report.malformed.append((number, str(exc).strip("'\"")))
            continue
        if sample.id in seen:
            report.malformed.append((number, f"duplicate id {sample.id!r}"))
            continue
        if require_videos and not Path(sample.video).is_file():
            report.missing_videos.append((number, sample.video))
            continue
        seen.add(sample.id)
        report.samples.append(sample)
    return report


def sample_from_row(row: object, base: Path) -> Sample:
    """Validate one manifest object and resolve its paths against ``base``."""
    if not isinstance(row, dict):
        raise ValueError(f"a row must be a JSON object, got {type(row).__name__}")
    for key in ("id", "video", "question"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise ValueError(f"missing or empty string field {key!r}")
    options = row.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise ValueError("'options' must be a list of strings")
    spans = row.get("spans") or []
    if not isinstance(spans, list) or not all(isinstance(s, (list, tuple)) and len(s) == 2 for s in spans):
        raise ValueError("'spans' must be a list of [start_seconds, end_seconds] pairs")
    query_image = row.get("query_image")
    duration = row.get("duration_seconds")
    extra = row.get("extra") or {}
    if not isinstance(extra, dict):
        raise ValueError("'extra' must be an object")
    return Sample(
        id=row["id"],
        video=str(_resolve(row["video"], base)),
        question=row["question"],
        options=tuple(options),
        answer=row.get("answer"),
        spans=tuple((float(a), float(b)) for a, b in spans),
        query_image=None if not query_image else str(_resolve(str(query_image), base)),
        duration_seconds=None if duration is None else float(duration),
        task_type=row.get("task_type"),
        duration_bucket=row.get("duration_bucket"),
        source=row.get("source"),
        extra=extra,
    )


def write_manifest(path: str | Path, samples: Iterable[Sample], *, relative_to_manifest: bool = True) -> int:
    """Write samples as a manifest, atomically; paths inside the manifest's folder become relative."""
    path = Path(path)
    base = path.parent.resolve()
    lines = []
    for sample in samples:
        row = sample.to_dict()
        if relative_to_manifest:
            row["video"] = _relative(row["video"], base)
            if row["query_image"]:
                row["query_image"] = _relative(row["query_image"], base)
        lines.append(json.dumps(row, ensure_ascii=False))
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


def _resolve(value: str, base: Path) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate).resolve()


def _relative(value: str, base: Path) -> str:
    try:
        return str(Path(value).resolve().relative_to(base))
    except ValueError:
        return str(Path(value).resolve())
