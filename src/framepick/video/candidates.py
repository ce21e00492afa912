"""Candidate grids: which frames of a long video are decoded and embedded at all.

Selectors choose from candidates, never from the raw video: a 1-hour video has ~100k frames but a
grid of a few hundred carries what any selector can use, and the grid (not the selector) decides
the decoding bill. Three grids cover the common cases: ``count`` frames spread uniformly (the
default), one frame every ``1/fps`` seconds (capped), and keyframes only (cheapest to decode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.video.probe import VideoIndex


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


@dataclass(frozen=True)
class GridSpec:
    """How to place candidates over a video. ``count`` and ``fps`` are mutually exclusive."""

    count: int | None = 256
    """Uniform grid of this many frames over the whole video (all frames when it has fewer)."""
    fps: float | None = None
    """Instead of ``count``: one candidate every ``1/fps`` seconds, by timestamps (VFR-safe)."""
    max_candidates: int | None = None
    """Cap for ``fps`` and ``keyframes_only`` grids: more candidates are thinned uniformly to this."""
    keyframes_only: bool = False
    """Candidates are keyframes (decoding one needs no other frame): the cheap mode for very long
    videos. Thinned uniformly to ``count`` or ``max_candidates`` when set."""

    def __post_init__(self) -> None:
        if self.count is not None and self.fps is not None:
            raise InvalidArgumentError(
                f"GridSpec takes either count or fps, not both; got count={self.count!r}, fps={self.fps!r} "
                "(pass count=None to use fps)"
            )
        if self.count is not None and (not _is_int(self.count) or self.count < 1):
            raise InvalidArgumentError(f"GridSpec count must be a positive integer or None; got {self.count!r}")
        if self.fps is not None:
            if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float, np.integer, np.floating)) or not (
                math.isfinite(self.fps) and self.fps > 0
            ):
                raise InvalidArgumentError(f"GridSpec fps must be a positive finite number or None; got {self.fps!r}")
        if self.max_candidates is not None and (not _is_int(self.max_candidates) or self.max_candidates < 1):
            raise InvalidArgumentError(
                f"GridSpec max_candidates must be a positive integer or None; got {self.max_candidates!r}"
            )
        if not isinstance(self.keyframes_only, (bool, np.bool_)):
            raise InvalidArgumentError(f"GridSpec keyframes_only must be True or False; got {self.keyframes_only!r}")
        if self.count is None and self.fps is None and not self.keyframes_only:
            raise InvalidArgumentError(
                "GridSpec needs count (uniform grid), fps (time grid) or keyframes_only=True; got none of them"
            )

    def key(self) -> str:
        """A stable text naming the grid (part of the feature-cache key); equal specs, equal keys."""
        parts = []
        if self.keyframes_only:
            parts.append("keyframes")
        if self.count is not None:
            parts.append(f"count={int(self.count)}")
        if self.fps is not None:
            parts.append(f"fps={float(self.fps):.6g}")
        if self.max_candidates is not None:
            parts.append(f"max={int(self.max_candidates)}")
        return "grid:" + ",".join(parts) + ":v1"


def uniform_positions(n: int, count: int) -> np.ndarray:
    """``count`` positions in ``range(n)`` at the centres of ``count`` equal segments.

    Segment centres (``floor((i + 0.5) * n / count)``), as most long-video papers sample, keep the
    grid symmetric: neither the first nor the last frame (often a fade or a title) is favoured.
    With ``count >= n`` it returns every position.
    """
    if count >= n:
        return np.arange(n, dtype=np.int64)
    positions = np.floor((np.arange(count) + 0.5) * (n / count)).astype(np.int64)
    # Distinct by construction when count < n (segments are longer than one frame).
    return positions


def candidate_grid(index: VideoIndex, spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices ``[T]`` (int64, strictly increasing) and their timestamps ``[T]`` (seconds).

    * ``count``: the centre frame of each of ``count`` equal-length segments of the frame list
      (:func:`uniform_positions`); all frames when the video has fewer.
    * ``fps``: for each time ``t = (j + 0.5) / fps`` inside the video, the frame shown at ``t`` (the
      last frame with timestamp ``<= t``), i.e. the centre of each ``1/fps`` interval; frames that
      more than one interval maps to (a VFR stall) appear once. Then thinned to ``max_candidates``.
    * ``keyframes_only``: the keyframes, thinned uniformly to ``count`` or ``max_candidates``.
    """
    n = index.num_frames
    timestamps = index.frame_timestamps
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=np.float64)

    if spec.keyframes_only:
        indices = np.asarray(index.keyframe_indices, dtype=np.int64)
        if indices.size == 0:
            indices = np.zeros(1, dtype=np.int64)
        limit = spec.count if spec.count is not None else spec.max_candidates
        if spec.count is not None and spec.max_candidates is not None:
            limit = min(spec.count, spec.max_candidates)
        if limit is not None:
            indices = indices[uniform_positions(indices.size, limit)]
    elif spec.fps is not None:
        start = float(timestamps[0])
        duration = max(float(index.info.duration_seconds) - start, float(timestamps[-1] - start))
        steps = max(1, int(math.floor(duration * spec.fps + 1e-9)))
        times = start + (np.arange(steps) + 0.5) / spec.fps
        # +1 us: a sample time that equals a frame's timestamp (10 fps video, fps=5 grid) must pick
        # that frame whatever the float rounding of either side, or the grid comes out uneven.
        indices = np.searchsorted(timestamps, times + 1e-6, side="right") - 1
        indices = np.unique(np.clip(indices, 0, n - 1))
        if spec.max_candidates is not None:
            indices = indices[uniform_positions(indices.size, spec.max_candidates)]
    else:
        # GridSpec validation guarantees count is set when neither fps nor keyframes_only is.
        indices = uniform_positions(n, int(spec.count or 0))
        if spec.max_candidates is not None:
            indices = indices[uniform_positions(indices.size, spec.max_candidates)]
    indices = indices.astype(np.int64)
    return indices, timestamps[indices].astype(np.float64)
