"""The one writer of an embed run: collects each video's events and writes its cache entries.

Workers only decode and encode; every entry is written here, on the driver, when all of a
video's batches are in. So an entry is never assembled from two workers' halves, a worker that
dies mid-video leaves nothing behind (its retry sends the batches again), and an event that
arrives twice replaces its first copy: each video is counted, and written, once. The entries are
those :func:`framepick.pipeline.prepare_video` writes (same keys, same arrays), so a later
``select``/``eval`` finds them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from framepick.embed.events import Cached, EncodedBatch, Event, FrameBatch, VideoEnd, VideoStart
from framepick.embed.spec import EmbedSpec
from framepick.embed.summary import EmbedSummary
from framepick.encode.cache import FeatureCache, feature_key
from framepick.errors import VideoError
from framepick.pipeline import FrameRows, check_damage, index_key, join_features, store_rows

logger = logging.getLogger(__name__)

Finished = Callable[[int, "str | None"], None]
"""Called once per video as it completes: its number and its error (None when it succeeded or was cached)."""


@dataclass
class _Video:
    start: VideoStart | None = None
    parts: dict[int, EncodedBatch] = field(default_factory=dict)
    end: VideoEnd | None = None


class Assembler:
    """Feed it every event of a run (any order); it writes each video's entries once they are all in."""

    def __init__(
        self,
        videos: Sequence[str],
        spec: EmbedSpec,
        cache: FeatureCache,
        summary: EmbedSummary,
        on_finished: Finished | None = None,
    ) -> None:
        self.videos = list(videos)
        self.spec = spec
        self.cache = cache
        self.summary = summary
        self.on_finished = on_finished
        self._grid_key = spec.grid.key()
        self._open: dict[int, _Video] = {}
        self._done: set[int] = set()

    def feed(self, event: Event) -> None:
        if isinstance(event, FrameBatch):
            raise TypeError("frame batches go to the encoder stage, not to the writer")
        number = event.job.number if isinstance(event, VideoStart) else event.number
        if number in self._done:
            return  # a duplicate from a retried task: the video is already written and counted
        if isinstance(event, Cached):
            self.summary.cached += 1
            self._finish(number, None)
            return
        video = self._open.setdefault(number, _Video())
        if isinstance(event, VideoStart):
            if video.start is None and event.job.index is None:
                # A fresh index is written as soon as it exists, as prepare_video does, so that
                # even a video that then fails (damage) is not probed again by the next command.
                self.cache.put(index_key(event.job.content_hash), event.index.to_arrays())
            video.start = event
        elif isinstance(event, EncodedBatch):
            video.parts[event.part] = event
        else:
            video.end = event
        if video.end is not None and (video.end.error is not None or len(video.parts) >= video.end.parts):
            if video.end.error is None and video.start is None:
                return  # the start is still on its way
            self._complete(number, video)

    def fail(self, number: int, reason: str) -> None:
        """Count video ``number`` as failed before any event of it (it could not be planned)."""
        if number not in self._done:
            self.summary.failed.append((self.videos[number], reason))
            self._finish(number, reason)

    def close(self) -> None:
        """End of the run: a video still open lost events (it never ended); count it as failed."""
        for number in sorted(self._open):
            self.fail(number, "its decoding or encoding never finished; rerun to embed it")
        self._open.clear()

    @property
    def open_videos(self) -> int:
        return len(self._open)

    def _complete(self, number: int, video: _Video) -> None:
        end = video.end
        assert end is not None
        self.summary.probe_seconds += end.seconds.get("probe", 0.0)
        self.summary.decode_seconds += end.seconds.get("decode", 0.0)
        self.summary.encode_seconds += sum(part.encode_seconds for part in video.parts.values())
        del self._open[number]
        error = end.error
        if error is None:
            try:
                self.summary.frames += self._write(video)
            except VideoError as exc:
                error = str(exc)
        if error is None:
            self.summary.embedded += 1
        else:
            self.summary.failed.append((self.videos[number], error))
        self._finish(number, error)

    def _write(self, video: _Video) -> int:
        """Write the video's feature entries; the frames embedded. Raises VideoError for damage."""
        start, end = video.start, video.end
        assert start is not None and end is not None
        job = start.job
        if not job.missing:
            return 0
        parts = [video.parts[part] for part in range(end.parts)]
        kept = start.candidates.restrict_to(np.concatenate([part.candidates.indices for part in parts]))
        for name in job.missing:
            key = feature_key(job.content_hash, name, self._grid_key)
            store_rows(self.cache, key, FrameRows(kept, join_features([part.features[name] for part in parts])))
            if key not in self.cache:  # put() only warns (a full disk): here that loses the video's work
                raise VideoError(f"its features could not be written to the feature cache under {str(self.cache.root)!r}")
        # As prepare_video: what decoded is cached either way; a damaged video fails unless allowed.
        check_damage(start.index, start.candidates.indices, kept.indices, self.spec.allow_damaged)
        return len(kept)

    def _finish(self, number: int, error: str | None) -> None:
        self._done.add(number)
        if self.on_finished is not None:
            self.on_finished(number, error)
