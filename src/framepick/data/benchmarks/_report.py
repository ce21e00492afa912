"""The load report: the samples a benchmark yielded and every row that did not become one.

Real annotation dumps have holes (a row without options, an answer that is not one of the
options, a video that was never downloaded), so a loader never stops at a bad row: it counts it,
with where it was and why, in a :class:`LoadReport`, and goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from framepick.types import Sample


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
