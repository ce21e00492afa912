"""The loader base class: annotation rows -> drafts -> samples with resolved videos, counted in a report."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator

from framepick.data.benchmarks._readers import check_annotations_path, check_videos_root
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.data.benchmarks._videos import VideoResolver
from framepick.errors import InvalidArgumentError
from framepick.types import Sample, option_position

logger = logging.getLogger(__name__)


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
