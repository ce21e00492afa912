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


MAX_UNCAPPED_FPS = 1000.0
"""The densest ``fps`` grid accepted without ``max_candidates``. Above any real frame rate a grid
already holds every frame, so a larger value is a typo (``1e9`` for ``1e-9``?), not a request;
with ``max_candidates`` any finite rate is fine, since the grid's cost no longer depends on it."""

_FLAGS = {"count": "--candidates", "fps": "--fps", "max_candidates": "--max-candidates", "keyframes_only": "--keyframes"}
"""The command-line flag behind each field: errors name what the user typed (GridSpec is built
from those flags, or from select_frames' ``candidates``/``fps``/... of the same names)."""


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _invalid(field: str, requirement: str, value: object) -> InvalidArgumentError:
    return InvalidArgumentError(f"{_FLAGS[field]} {requirement}; got {value!r} (GridSpec {field})")


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
                f"give either --candidates or --fps, not both; got --candidates {self.count!r} and "
                f"--fps {self.fps!r} (GridSpec count and fps: pass count=None to use fps)"
            )
        if self.count is not None and (not _is_int(self.count) or self.count < 1):
            raise _invalid("count", "must be a positive integer", self.count)
        if self.fps is not None:
            if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float, np.integer, np.floating)) or not (
                math.isfinite(self.fps) and self.fps > 0
            ):
                raise _invalid("fps", "must be a positive finite number of candidates per second", self.fps)
            if self.max_candidates is None and self.fps > MAX_UNCAPPED_FPS:
                raise InvalidArgumentError(
                    f"--fps {self.fps:g} asks for more than {MAX_UNCAPPED_FPS:g} candidates per second, denser "
                    "than any video's frames; give at most the frame rate for every frame, or add "
                    "--max-candidates N to cap the grid (GridSpec fps)"
                )
        if self.max_candidates is not None and (not _is_int(self.max_candidates) or self.max_candidates < 1):
            raise _invalid("max_candidates", "must be a positive integer", self.max_candidates)
        if not isinstance(self.keyframes_only, (bool, np.bool_)):
            raise _invalid("keyframes_only", "must be True or False", self.keyframes_only)
        if self.keyframes_only and self.fps is not None:
            # The keyframe grid has no time step: an --fps given with it would be silently ignored.
            raise InvalidArgumentError(
                f"--keyframes takes --candidates or --max-candidates to thin the keyframes, not --fps; "
                f"got --fps {self.fps!r} (GridSpec keyframes_only and fps)"
            )
        if self.count is None and self.fps is None and not self.keyframes_only:
            raise InvalidArgumentError(
                "the grid needs --candidates N, --fps F or --keyframes; got none of them "
                "(GridSpec count, fps or keyframes_only=True)"
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
        indices = _frames_on_screen(timestamps, float(index.info.duration_seconds), float(spec.fps))
        if spec.max_candidates is not None:
            indices = indices[uniform_positions(indices.size, spec.max_candidates)]
    else:
        # GridSpec validation guarantees count is set when neither fps nor keyframes_only is.
        indices = uniform_positions(n, int(spec.count or 0))
        if spec.max_candidates is not None:
            indices = indices[uniform_positions(indices.size, spec.max_candidates)]
    indices = indices.astype(np.int64)
    return indices, timestamps[indices].astype(np.float64)


# A sample time that equals a frame's timestamp (10 fps video, fps=5 grid) must pick that frame
# whatever the float rounding of either side, or the grid comes out uneven: samples are nudged
# this much later.
_SAMPLE_NUDGE_SECONDS = 1e-6
# Sample numbers stay exact integers in float64 below 2**52.
_MAX_SAMPLES = float(2**52)


def _frames_on_screen(timestamps: np.ndarray, duration_seconds: float, fps: float) -> np.ndarray:
    """The distinct frames shown at the times ``start + (j + 0.5) / fps``, ``j = 0 .. steps - 1``.

    The same frames as listing every sample time and looking each up, but computed per frame
    (frame ``i`` is picked when the first sample at or after its timestamp comes before the next
    frame's), so time and memory grow with the number of frames, never with ``fps``: ``fps=1e7``
    on a 10-second clip would otherwise list 10^8 sample times (3.4 GB). A rate that would put
    more than 2**52 samples on the video (over a million per nanosecond on an hour) counts as
    2**52 samples, where sample numbers are still exact.
    """
    start = float(timestamps[0])
    duration = max(duration_seconds - start, float(timestamps[-1] - start))
    if duration > 0:
        fps = min(fps, _MAX_SAMPLES / duration)
    steps = float(max(1, math.floor(duration * fps + 1e-9)))

    def sample(j: np.ndarray) -> np.ndarray:  # sample j's time, nudged, as a listing computes it
        return start + (j + 0.5) / fps + _SAMPLE_NUDGE_SECONDS

    # The first sample at or after each frame's timestamp: an estimate, then corrected until the
    # exact float comparison agrees (rounding puts the estimate a step or two off at most).
    first = np.maximum(np.ceil((timestamps - _SAMPLE_NUDGE_SECONDS - start) * fps - 0.5), 0.0)
    for _ in range(64):
        too_late = (first > 0) & (sample(first - 1) >= timestamps)
        too_early = sample(first) < timestamps
        if not (too_late.any() or too_early.any()):
            break
        first = first - too_late + too_early
    else:
        raise RuntimeError("fps grid: sample search did not converge")  # float64 makes this unreachable
    first[0] = 0.0  # samples before the first frame show the first frame
    next_frame = np.append(timestamps[1:], np.inf)
    shown = (first < steps) & (sample(first) < next_frame)
    return np.flatnonzero(shown).astype(np.int64)
