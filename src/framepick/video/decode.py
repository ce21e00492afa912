"""Decode the exact frames at given indices, fast, from files that may be rotated, VFR or damaged.

Frames are identified by presentation timestamp (see :mod:`framepick.video.probe`), so the frame
returned for index ``i`` is the ``i``-th frame in display order whatever the frame rate does.
Decoding a frame needs every frame from the keyframe before it, so the cost of a request is counted
in decoded frames and the decoder plans the cheaper of two access patterns (:func:`decode_plan`):
one seek per group-of-pictures (GOP) touched, or one sequential pass.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Iterator, Literal

import numpy as np

from framepick.errors import InvalidArgumentError, VideoError
from framepick.types import Candidates, OnCandidates, VideoInfo
from framepick.video.probe import (
    VideoIndex,
    _keyframe_before,
    _one_line,
    open_container,
    probe,
    thread_type_for,
    video_stream,
)

logger = logging.getLogger(__name__)

Strategy = Literal["auto", "seek", "sequential"]
_STRATEGIES = ("auto", "seek", "sequential")

SEEK_PENALTY_FRAMES = 12
"""What one seek costs, in decoded-frame equivalents: the demuxer seek, the decoder flush and, with
frame threading, the refill of a pipeline of up to ``thread_count`` frames. Measured on 640x360
H.264 with 2 cores (single-threaded decoding): about 2-3 frames; frame-threaded decoders on many
cores pay up to ~16. 12 errs toward fewer seeks. It makes ``auto`` prefer one pass when seeking
would skip only a few frames per GOP, and lets a seek run continue through a short gap instead of
seeking across it."""

# After the last target, stop reading once this many further keyframes went by: frames of damaged
# GOPs never come out, and without this bound a missing target would make us decode to the end.
_KEYFRAMES_PAST_LAST_TARGET = 2
# Re-seeks to an earlier keyframe when a seek landed after the first wanted frame.
_MAX_SEEK_RETRIES = 2


@dataclass(frozen=True, repr=False)
class DecodedFrames(OnCandidates):
    """Frames decoded for a request; ``failed`` lists requested indices that could not be decoded."""

    frames: np.ndarray
    """[n,H,W,3] uint8 RGB, display-oriented (rotation applied)."""
    candidates: Candidates
    """The requested frames that decoded, row for row with ``frames``: a subset of the request
    when it was a :class:`Candidates` (its grid and video kept), else of the indices asked for."""
    failed: np.ndarray
    """[m] int64 requested indices that could not be decoded (damaged or truncated file)."""

    def __post_init__(self) -> None:
        if self.candidates.timestamps is None:
            raise ValueError("decoded candidates need their timestamps")
        if self.frames.shape[:1] != (len(self.candidates),):
            raise ValueError(f"{self.frames.shape[0]} frames for {len(self.candidates)} candidates")

    def __len__(self) -> int:
        return len(self.candidates)

    def __repr__(self) -> str:
        return (
            f"DecodedFrames(frames=array{list(self.frames.shape)}:uint8, "
            f"indices=array[{len(self)}], failed=array[{self.failed.shape[0]}])"
        )


@dataclass(frozen=True)
class DecodePlan:
    """How a request will be decoded and what each access pattern would cost, in decoded frames."""

    strategy: Literal["seek", "sequential"]
    seek_frames: int
    """Sum over the GOPs touched of the frames from the GOP's keyframe to its last target."""
    sequential_frames: int
    """Frames from the keyframe before the first target to the last target."""
    gops: int
    """Distinct GOPs holding a target (one seek each in seek mode)."""
    runs: tuple[tuple[int, np.ndarray], ...]
    """(keyframe index to start from, sorted targets decoded in that run), in order."""


def decode_plan(
    targets: np.ndarray,
    keyframe_indices: np.ndarray,
    strategy: Strategy = "auto",
    *,
    seek_penalty: float = SEEK_PENALTY_FRAMES,
) -> DecodePlan:
    """Plan decoding of sorted, unique ``targets`` (pure; no I/O).

    ``auto`` compares ``seek_frames + seek_penalty * (gops - 1)`` with ``sequential_frames`` (the
    first GOP costs one seek either way) and prefers one pass on a tie. Seek runs are merged when
    the gap between one GOP's last target and the next GOP's keyframe is at most ``seek_penalty``
    frames: decoding through a short gap is cheaper than a seek.
    """
    targets = np.asarray(targets, dtype=np.int64)
    keyframe_indices = np.asarray(keyframe_indices, dtype=np.int64)
    if targets.size == 0:
        return DecodePlan("sequential", 0, 0, 0, ())
    starts = _keyframe_before(keyframe_indices, targets)
    gop_starts, first_in_gop = np.unique(starts, return_index=True)
    last_in_gop = np.append(first_in_gop[1:], targets.size) - 1
    seek_frames = int(np.sum(targets[last_in_gop] - gop_starts + 1))
    sequential_frames = int(targets[-1] - gop_starts[0] + 1)
    gops = int(gop_starts.size)
    if strategy == "auto":
        seek_cost = seek_frames + seek_penalty * (gops - 1)
        strategy = "seek" if seek_cost < sequential_frames else "sequential"
    if strategy == "sequential":
        return DecodePlan("sequential", seek_frames, sequential_frames, gops, ((int(gop_starts[0]), targets),))
    runs: list[tuple[int, np.ndarray]] = []
    run_start, run_first = int(gop_starts[0]), 0
    for g in range(1, gops):
        gap = gop_starts[g] - targets[last_in_gop[g - 1]] - 1
        if gap > seek_penalty:
            runs.append((run_start, targets[run_first : first_in_gop[g]]))
            run_start, run_first = int(gop_starts[g]), int(first_in_gop[g])
    runs.append((run_start, targets[run_first:]))
    return DecodePlan("seek", seek_frames, sequential_frames, gops, tuple(runs))


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """Display (width, height) after downscaling so the short side is ``short_side`` (never up)."""
    if short_side is None or short_side >= min(width, height):
        return width, height
    scale = short_side / min(width, height)
    if width <= height:
        return short_side, max(1, int(round(height * scale)))
    return max(1, int(round(width * scale))), short_side


class VideoDecoder:
    """Exact-frame access to one video file; a context manager that closes the container.

    >>> with VideoDecoder("talk.mp4") as decoder:                      # doctest: +SKIP
    ...     batch = decoder.get_frames([0, 500, 1000], short_side=224)
    """

    def __init__(self, path: str | os.PathLike[str], index: VideoIndex | None = None) -> None:
        self._path = str(path)
        self._index = index if index is not None else probe(path)
        self._container = open_container(path)
        try:
            self._stream = self._find_stream()
        except BaseException:
            self._container.close()
            raise
        self._stream.thread_type = _thread_type(self._stream)
        self._rotation_k = (-self._index.info.rotation // 90) % 4  # np.rot90 turns counter-clockwise
        self._pts_to_index = self._build_pts_lookup()
        self._keyframe_set = frozenset(self._index.keyframe_indices.tolist())
        self._reformatter: Any = None
        self._slots: dict[int, int] = {}

    def _find_stream(self) -> Any:
        stream = video_stream(self._container, self._path)
        wanted = self._index.stream_index
        for candidate in self._container.streams.video:
            if candidate.index == wanted:
                return candidate
        return stream

    def _build_pts_lookup(self) -> _PtsLookup | None:
        pts = self._index.frame_pts
        if pts is None or self._index.time_base is None:
            return None
        if self._stream.time_base != self._index.time_base:
            logger.warning("%s: stream time base differs from the index; matching frames by time", self._path)
            return None
        return _PtsLookup(pts)

    @property
    def index(self) -> VideoIndex:
        return self._index

    @property
    def info(self) -> VideoInfo:
        return self._index.info

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> VideoDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ---------------------------------------------------------------------------------

    def get_frames(
        self,
        indices: Candidates | Any,
        *,
        short_side: int | None = None,
        strategy: Strategy = "auto",
        progress: bool = False,
    ) -> DecodedFrames:
        """Decode the frames at ``indices`` (display order), display-oriented RGB.

        ``indices`` is a :class:`Candidates` (the result's ``candidates`` are then the subset of
        it that decoded) or any frame indices. Duplicates are decoded once and results come back sorted by index. ``short_side`` scales
        inside the colour conversion (no full-size copy). Frames that fail to decode (corrupt
        packets, truncated file) are listed in ``failed`` with a logged warning; VideoError is
        raised only when none of the requested frames decodes.
        """
        if self._container is None:
            raise VideoError(f"decoder for {self._path!r} is closed")
        if strategy not in _STRATEGIES:
            raise InvalidArgumentError(f"strategy must be one of {', '.join(_STRATEGIES)}; got {strategy!r}")
        if short_side is not None and (isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) or short_side < 1):
            raise InvalidArgumentError(f"short_side must be a positive integer or None; got {short_side!r}")
        requested = self._requested(indices)
        targets = requested.indices
        width, height = output_size(self.info.width, self.info.height, short_side)
        frames = np.empty((targets.size, height, width, 3), dtype=np.uint8)
        done = np.zeros(targets.size, dtype=bool)
        if targets.size == 0:
            return self._result(frames, requested, done)

        self._slots = {int(t): i for i, t in enumerate(targets.tolist())}
        plan = decode_plan(targets, self._index.keyframe_indices, strategy)
        logger.debug(
            "%s: %d frames by %s (seek %d / sequential %d decoded frames, %d runs)",
            self._path, targets.size, plan.strategy, plan.seek_frames, plan.sequential_frames, len(plan.runs),
        )
        # The decoder works in coded orientation; rotation is applied to the small converted frame.
        coded_size = (height, width) if self._rotation_k % 2 else (width, height)
        bar = _progress_bar(progress, targets.size, os.path.basename(self._path))
        try:
            for start_keyframe, run_targets in plan.runs:
                self._decode_run(start_keyframe, run_targets, targets, frames, done, coded_size, bar)
        finally:
            bar.close()
        return self._result(frames, requested, done)

    # -- internals ------------------------------------------------------------------------------

    def _requested(self, indices: Candidates | Any) -> Candidates:
        """The request as candidates: checked against the video, with times from the index."""
        if isinstance(indices, Candidates):
            targets = self._validate_indices(indices.indices)  # the range check; already unique and sorted
            if indices.timestamps is not None:
                return indices
            return Candidates(targets, self._index.frame_timestamps[targets], self.info, indices.grid)
        targets = self._validate_indices(indices)
        return Candidates(targets, self._index.frame_timestamps[targets], self.info)

    def _validate_indices(self, indices: Any) -> np.ndarray:
        try:
            array = np.asarray(indices)
        except (TypeError, ValueError):
            raise InvalidArgumentError("indices must be a sequence of integer frame indices") from None
        if array.ndim == 0:
            array = array.reshape(1)
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise InvalidArgumentError(f"indices must be integers; got dtype {array.dtype}")
        array = np.unique(array.astype(np.int64).ravel())
        n = self._index.num_frames
        if array.size and (array[0] < 0 or array[-1] >= n):
            bad = array[0] if array[0] < 0 else array[-1]
            raise InvalidArgumentError(f"frame index {int(bad)} out of range for {self._path!r} (0..{n - 1})")
        return array

    def _result(self, frames: np.ndarray, requested: Candidates, done: np.ndarray) -> DecodedFrames:
        targets = requested.indices
        failed = targets[~done]
        if failed.size:
            if not done.any():
                raise VideoError(f"none of the {targets.size} requested frames of {self._path!r} could be decoded")
            # Reported in ``failed``; callers (the pipeline) decide whether that is an error.
            logger.info(
                "%s: %d of %d requested frames could not be decoded (first: %d)",
                self._path, failed.size, targets.size, int(failed[0]),
            )
            frames = frames[done]
        return DecodedFrames(frames=frames, candidates=requested.take(done), failed=failed)

    def _frame_index(self, frame: Any) -> int:
        return self._index_of(frame.pts if frame.pts is not None else frame.dts, frame.time_base)

    def _index_of(self, pts: int | None, time_base: Any) -> int:
        """Frame index of a pts (exact lookup), or -1 when it is not a frame of the index."""
        if pts is None:
            return -1
        if self._pts_to_index is not None:
            return self._pts_to_index.get(int(pts))
        if time_base is None:
            return -1
        # Hand-built index: nearest timestamp within half a frame.
        seconds = float(pts * time_base) - float(self._index.start_pts * (self._index.time_base or 0))
        ts = self._index.frame_timestamps
        pos = int(np.searchsorted(ts, seconds))
        best = min((p for p in (pos - 1, pos) if 0 <= p < ts.size), key=lambda p: abs(ts[p] - seconds))
        tolerance = 0.5 / self.info.fps if self.info.fps > 0 else 1e-3
        return best if abs(ts[best] - seconds) <= tolerance else -1

    def _seek_to(self, keyframe: int) -> None:
        if self._index.frame_pts is not None:
            target = int(self._index.frame_pts[keyframe])
            if keyframe == 0:
                # The stream start, not the first frame's stamp: AVI seeks by decode time, and
                # with B-frames the first frame is stamped after the packet that holds it.
                target = min(target, self._index.start_pts)
        else:
            target = int(round(self._index.frame_timestamps[keyframe] / float(self._stream.time_base)))
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except Exception as exc:  # noqa: BLE001 - FFmpeg and OS errors alike: fall back to the start
            logger.debug("%s: seek to frame %d failed (%s); seeking to the start", self._path, keyframe, exc)
            self._container.seek(0, backward=True)

    def _decode_run(
        self,
        start_keyframe: int,
        run_targets: np.ndarray,
        all_targets: np.ndarray,
        out: np.ndarray,
        done: np.ndarray,
        coded_size: tuple[int, int],
        bar: Any,
    ) -> None:
        keyframes = self._index.keyframe_indices
        retries = 0
        while True:
            landed_late = self._decode_from(start_keyframe, run_targets, all_targets, out, done, coded_size, bar)
            # A demuxer may seek past the keyframe asked for (odd indexes, edit lists); step back.
            if not landed_late or retries >= _MAX_SEEK_RETRIES or start_keyframe == 0:
                return
            retries += 1
            pos = int(np.searchsorted(keyframes, start_keyframe)) - 1
            start_keyframe = int(keyframes[pos]) if pos >= 0 else 0
            logger.debug("%s: seek landed late; retrying from keyframe %d", self._path, start_keyframe)

    def _decode_from(
        self,
        start_keyframe: int,
        run_targets: np.ndarray,
        all_targets: np.ndarray,
        out: np.ndarray,
        done: np.ndarray,
        coded_size: tuple[int, int],
        bar: Any,
    ) -> bool:
        """Seek to ``start_keyframe`` and decode until every target of the run came out or passed.

        Returns True when the first frame out was already past the first pending target and no
        decode error explains it, i.e. the seek overshot.
        """
        import av

        last_target = int(run_targets[-1])
        slots = self._slots
        pending_first = next((int(t) for t in run_targets.tolist() if not done[slots[t]]), None)
        if pending_first is None:
            return False
        self._seek_to(start_keyframe)
        first_out: int | None = None
        last_out: int | None = None
        tainted = True
        errors = 0
        keyframes_past = 0
        finished = False
        packets: Iterator[Any] = self._container.demux(self._stream)
        while not finished:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.FFmpegError, OSError, EOFError) as exc:  # a truncated or unreadable tail
                errors += 1
                logger.debug("%s: read error: %s", self._path, _one_line(exc))
                packet = None
            if packet is not None and packet.size and packet.is_keyframe:
                if self._index_of(packet.pts, packet.time_base) > last_target:
                    keyframes_past += 1
                    if keyframes_past > _KEYFRAMES_PAST_LAST_TARGET:
                        packet = None
            try:
                # packet None (or PyAV's empty EOF packet) drains the frames still in flight.
                decoded = self._stream.decode(packet)
            except (av.FFmpegError, ValueError) as exc:
                errors += 1
                logger.debug("%s: decode error: %s", self._path, _one_line(exc))
                decoded = []
            for frame in decoded:
                index = self._frame_index(frame)
                if index < 0:
                    continue
                if first_out is None:
                    first_out = index
                # A frame is trusted only if every frame since a clean keyframe came out, in order
                # and unflagged: decoders conceal errors by reusing old pixels (a damaged frame
                # comes out looking like its predecessor), and frames after a lost one predict
                # from the wrong picture without any flag. Refuse them rather than return wrong
                # pixels under the right index.
                if (frame.key_frame or index in self._keyframe_set) and not frame.is_corrupt:
                    tainted = False
                elif frame.is_corrupt or last_out is None or index != last_out + 1:
                    tainted = True
                last_out = index
                if tainted:
                    continue
                if index <= last_target:
                    slot = slots.get(index, -1)
                    if slot >= 0 and not done[slot]:
                        self._store(frame, out, slot, coded_size)
                        done[slot] = True
                        bar.update(1)
            # Output comes in display order: once past the last target, nothing later can help.
            if last_out is not None and last_out >= last_target:
                finished = True
            if packet is None or not packet.size:
                break  # drained: the decoder is at EOF until the next seek flushes it
        return first_out is not None and first_out > pending_first and errors == 0

    def _store(self, frame: Any, out: np.ndarray, slot: int, coded_size: tuple[int, int]) -> None:
        if self._reformatter is None:
            from av.video.reformatter import VideoReformatter

            # One reformatter for all frames: it caches the swscale context between calls.
            self._reformatter = VideoReformatter()
        width, height = coded_size
        rgb = self._reformatter.reformat(frame, width=width, height=height, format="rgb24", interpolation="AREA")
        array = rgb.to_ndarray()
        if self._rotation_k:
            array = np.rot90(array, self._rotation_k)
        out[slot] = array


class _PtsLookup:
    """Frame index by exact pts, for every frame of the index: two int64 arrays and a binary search.

    A dict of Python ints held ~110 bytes a frame: 100 MB for the 900,000 frames of a ten-hour
    25 fps video, for each open decoder. The sorted arrays hold 16, and a lookup per decoded
    frame costs a microsecond next to the frame's millisecond of decoding.
    """

    def __init__(self, frame_pts: np.ndarray) -> None:
        # Sorted, because packed-B-frame streams stamp frames out of display order.
        self._order = np.argsort(frame_pts, kind="stable")
        self._sorted = frame_pts[self._order]

    def get(self, pts: int) -> int:
        """The index of the frame stamped ``pts``, or -1 when no frame is."""
        position = int(np.searchsorted(self._sorted, pts))
        if position < self._sorted.shape[0] and self._sorted[position] == pts:
            return int(self._order[position])
        return -1


# The decoder's threading rule lives with the probe, which must decode with the same rule; this
# name is the seam tests patch to force a threading mode.
_thread_type = thread_type_for


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(enabled: bool, total: int, name: str) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"decode {name}", unit="frame", leave=False)
