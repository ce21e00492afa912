"""What the stages of an embed hand on: one video's start, its frame batches, their features, its end.

The stages may run in other processes (Ray tasks and actors), so these are plain picklable
records. The writer (:mod:`framepick.embed.assemble`) keys everything by the video's number in
the run and a batch by its part number: arrival order does not matter, and an event delivered
twice (a retried task) replaces its first copy instead of counting twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from framepick.types import Candidates, Features
from framepick.video.probe import VideoIndex


@dataclass(frozen=True)
class EmbedJob:
    """One video to embed, as planned against the cache: what is missing, and the index if cached."""

    number: int
    """Position of the video in the run's list: the key of all its events."""
    video: str
    content_hash: str
    missing: tuple[str, ...]
    """Ids of the extractors whose entries the cache lacks (the others are not recomputed)."""
    short_side: int
    """Decode size: the largest ``input_size`` among the missing extractors."""
    index: VideoIndex | None = None
    """The cached index; None when the decoding stage must probe the video (and the writer store it)."""


@dataclass(frozen=True)
class Cached:
    """A video whose index and every entry are already in the cache: nothing to do."""

    number: int


@dataclass(frozen=True)
class VideoStart:
    """A video probed (or its index read): the candidates every batch belongs to."""

    job: EmbedJob
    index: VideoIndex
    candidates: Candidates


@dataclass(frozen=True, repr=False)
class FrameBatch:
    """Decoded frames of one batch of a video's candidates."""

    number: int
    part: int
    frames: np.ndarray
    """[n,H,W,3] uint8 RGB."""
    candidates: Candidates
    extractors: tuple[str, ...]
    """Which extractors embed this batch (the job's missing ones)."""

    def __repr__(self) -> str:
        return f"FrameBatch(number={self.number}, part={self.part}, frames={list(self.frames.shape)})"


@dataclass(frozen=True, repr=False)
class EncodedBatch:
    """A batch's features, per extractor id, row for row with its candidates."""

    number: int
    part: int
    candidates: Candidates
    features: dict[str, Features]
    encode_seconds: float = 0.0

    def __repr__(self) -> str:
        return f"EncodedBatch(number={self.number}, part={self.part}, rows={len(self.candidates)})"


@dataclass(frozen=True)
class VideoEnd:
    """A video's decoding finished after ``parts`` batches, or failed with a one-line ``error``."""

    number: int
    parts: int
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    """Time the decoding stage spent on it: ``probe`` and ``decode``."""


Event = Cached | VideoStart | FrameBatch | EncodedBatch | VideoEnd
