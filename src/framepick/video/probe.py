"""Index a video without decoding it: metadata, every frame's timestamp, and where the keyframes are.

The index is what makes exact frame access possible. Frame ``i`` is the ``i``-th frame in
*display* order, identified by its presentation timestamp (pts), never by ``i / fps``: variable
frame rate files, B-frame reordering and odd start offsets all break the arithmetic, while the pts
a demuxer reports for each packet is exactly the pts the decoder attaches to the frame it becomes.

One kind of file breaks that last rule: MPEG-4 Part 2 in AVI with DivX "packed B-frames" (OpenCV's
``Megamind.avi``). Its demuxer guesses packet pts that the decoder then hands out in an order that is
not display order (frames come out stamped 1, 2, 3, 5, 4, 6, 8, 7, ...). The probe notices this on
the first frames and then indexes such a stream by decoding it once: frame ``i`` is the ``i``-th
frame the decoder returns, known by the pts it is stamped with (:func:`_decoder_display_order`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from array import array
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from framepick.errors import VideoError, one_line
from framepick.types import VideoInfo

logger = logging.getLogger(__name__)

_HASH_CHUNKS = 16
_HASH_CHUNK_BYTES = 64 * 1024
# Hard bound on the demux loop, so a pathological file (a demuxer that keeps "finding" tiny
# packets in garbage) cannot run for ever. 50M packets is ~16 days of 30 fps video plus audio.
_MAX_PACKETS = 50_000_000
# Packets fed to the decoder while looking for the first frame (to read the display rotation).
_MAX_PACKETS_FOR_FIRST_FRAME = 256
# How much of every stream is decoded to check that the decoder stamps frames in pts order: the
# misstamping shows within the first groups of B-frames (frame 5 of Megamind.avi, frame 2 of H.264
# with B-frames in AVI). 12 frames of 640x360 H.264 cost ~10-20 ms on one core.
_ORDER_CHECK_FRAMES = 12
_ORDER_CHECK_PACKETS = 48
# Below this many coded pixels per frame, on a machine with at most two cores, frame threading
# costs more in hand-offs than it gains (640x360 H.264 on 2 cores: 10-20% slower than one thread;
# 1920x1080: 35% faster). Measured with benchmarks/bench_decode.py; see thread_type_for.
_FRAME_THREADING_MIN_PIXELS = 960 * 540


def content_hash(path: str | os.PathLike[str]) -> str:
    """A fast, stable fingerprint of a file's content, keying the decode and feature caches.

    The digest covers the file size plus ``blake2b`` over 16 evenly spread 64 KiB chunks (the whole
    file when it is smaller than that), so hashing a multi-GB video reads ~1 MiB instead of all of
    it. Trade-off: two files of identical size that differ only outside the sampled chunks collide.
    For videos that is practically never the case (any re-encode or trim changes the size and most
    chunks), and the cost of a full hash on every cache lookup would dominate short queries. The
    hash ignores the path and the modification time, so a copied or moved file still hits the cache.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"size={size};".encode())
        with path.open("rb") as handle:
            if size <= _HASH_CHUNKS * _HASH_CHUNK_BYTES:
                digest.update(handle.read())
            else:
                # Offsets spread from the first to the last chunk, both ends included: headers
                # (moov/ftyp) and trailers are where edits and truncations show up first.
                last_start = size - _HASH_CHUNK_BYTES
                for i in range(_HASH_CHUNKS):
                    handle.seek(last_start * i // (_HASH_CHUNKS - 1))
                    digest.update(handle.read(_HASH_CHUNK_BYTES))
    except OSError as exc:
        raise VideoError(f"cannot read video file {str(path)!r}: {_one_line(exc)}") from exc
    return digest.hexdigest()


@dataclass(frozen=True, repr=False)
class VideoIndex:
    """Metadata plus the timestamp of every frame (display order) and the keyframe positions."""

    info: VideoInfo
    frame_timestamps: np.ndarray
    """[N] float64 presentation times in seconds from the start of the stream, strictly increasing.
    Frame index ``i`` is the ``i``-th frame in display order."""
    keyframe_indices: np.ndarray
    """[K] int64 frame indices of keyframes (decoding one needs no other frame), increasing."""
    frame_pts: np.ndarray | None = None
    """[N] int64 pts in ``time_base`` units: what the decoder stamps on frame ``i``, which is how
    the decoder recognises it. Increasing, and equal to ``frame_timestamps`` in ticks, except for
    a stream whose decoder stamps frames out of display order (packed B-frames): there it is the
    stamps in the order the frames come out, and ``frame_timestamps`` are the sorted stamps. None
    for an index built by hand; the decoder then matches frames by timestamp instead."""
    time_base: Fraction | None = None
    """Time base of ``frame_pts`` (seconds per pts tick)."""
    start_pts: int = 0
    """pts that ``frame_timestamps`` count from (the stream start)."""
    stream_index: int = 0
    """Which stream of the container is the video stream indexed here."""
    damage: str | None = None
    """One line saying how the file is damaged (a read error while indexing, or fewer frames
    than its header declares), or None for a file that indexed cleanly."""

    def __post_init__(self) -> None:
        ts = np.asarray(self.frame_timestamps, dtype=np.float64)
        if ts.ndim != 1:
            raise ValueError(f"frame_timestamps must be 1-D, got shape {ts.shape}")
        if ts.size > 1 and np.any(np.diff(ts) <= 0):
            raise ValueError("frame_timestamps must be strictly increasing")
        kf = np.asarray(self.keyframe_indices, dtype=np.int64)
        if kf.ndim != 1 or (kf.size and (kf[0] < 0 or kf[-1] >= ts.size or np.any(np.diff(kf) <= 0))):
            raise ValueError(f"keyframe_indices must be increasing indices into {ts.size} frames")
        object.__setattr__(self, "frame_timestamps", ts)
        object.__setattr__(self, "keyframe_indices", kf)
        if self.frame_pts is not None:
            pts = np.asarray(self.frame_pts, dtype=np.int64)
            if pts.shape != ts.shape:
                raise ValueError(f"frame_pts {pts.shape} do not match frame_timestamps {ts.shape}")
            object.__setattr__(self, "frame_pts", pts)

    @property
    def num_frames(self) -> int:
        return int(self.frame_timestamps.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    def __repr__(self) -> str:
        return (
            f"VideoIndex(path={self.info.path!r}, frames={self.num_frames}, "
            f"keyframes={self.keyframe_indices.shape[0]}, duration={self.info.duration_seconds:.3f}s)"
        )

    def keyframe_before(self, frame_indices: np.ndarray) -> np.ndarray:
        """The keyframe each frame's decoding starts from (the last keyframe at or before it)."""
        return _keyframe_before(self.keyframe_indices, frame_indices)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no pickles) for ``np.savez``; :meth:`from_arrays` reverses it."""
        arrays: dict[str, np.ndarray] = {
            "frame_timestamps": self.frame_timestamps,
            "keyframe_indices": self.keyframe_indices,
            "start_pts": np.asarray(self.start_pts, dtype=np.int64),
            "stream_index": np.asarray(self.stream_index, dtype=np.int64),
            "damage": np.asarray(self.damage or ""),
        }
        if self.frame_pts is not None:
            arrays["frame_pts"] = self.frame_pts
        if self.time_base is not None:
            arrays["time_base"] = np.asarray([self.time_base.numerator, self.time_base.denominator], dtype=np.int64)
        for key, value in self.info.to_dict().items():
            arrays[f"info_{key}"] = np.asarray(value)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> VideoIndex:
        """Rebuild an index from :meth:`to_arrays` output (or an ``np.load`` of it)."""
        try:
            info = VideoInfo(
                path=str(arrays["info_path"]),
                duration_seconds=float(arrays["info_duration_seconds"]),
                fps=float(arrays["info_fps"]),
                frame_count=int(arrays["info_frame_count"]),
                width=int(arrays["info_width"]),
                height=int(arrays["info_height"]),
                rotation=int(arrays["info_rotation"]),
                codec=str(arrays["info_codec"]),
                content_hash=str(arrays["info_content_hash"]),
            )
            time_base = None
            if "time_base" in arrays:
                num, den = (int(v) for v in np.asarray(arrays["time_base"]))
                time_base = Fraction(num, den)
            return cls(
                info=info,
                frame_timestamps=np.asarray(arrays["frame_timestamps"]),
                keyframe_indices=np.asarray(arrays["keyframe_indices"]),
                frame_pts=np.asarray(arrays["frame_pts"]) if "frame_pts" in arrays else None,
                time_base=time_base,
                start_pts=int(arrays["start_pts"]),
                stream_index=int(arrays["stream_index"]),
                damage=str(arrays["damage"]) or None,
            )
        except KeyError as exc:
            raise ValueError(f"cached video index lacks the array {exc.args[0]!r}") from None


def _keyframe_before(keyframe_indices: np.ndarray, frame_indices: np.ndarray) -> np.ndarray:
    frame_indices = np.asarray(frame_indices, dtype=np.int64)
    if keyframe_indices.size == 0:
        return np.zeros_like(frame_indices)
    pos = np.searchsorted(keyframe_indices, frame_indices, side="right") - 1
    # Frames before the first keyframe (a file starting mid-GOP) decode from the stream start.
    return np.where(pos >= 0, keyframe_indices[np.maximum(pos, 0)], 0).astype(np.int64)


def _one_line(exc: BaseException) -> str:
    # FFmpeg errors repeat the errno and the path in str(); callers name the file themselves.
    # (decode.py shares this spelling of framepick.errors.one_line.)
    return one_line(exc, with_type=False, os_reason=True)


def open_container(path: str | os.PathLike[str]) -> Any:
    """``av.open`` with framepick's checks; raises VideoError (one line) instead of FFmpeg errors."""
    import av

    path = Path(path)
    if not path.exists():
        raise VideoError(f"video file not found: {str(path)!r}")
    if path.is_dir():
        raise VideoError(f"expected a video file, got a directory: {str(path)!r}")
    if not path.is_file():  # a FIFO or device (/dev/zero) would never reach end-of-file
        raise VideoError(f"expected a regular video file, got a special file: {str(path)!r}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise VideoError(f"cannot read video file {str(path)!r}: {_one_line(exc)}") from exc
    if size == 0:
        raise VideoError(f"video file is empty (0 bytes): {str(path)!r}")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError, UnicodeError, EOFError) as exc:
        raise VideoError(f"cannot open {str(path)!r} as a video: {_one_line(exc)}") from exc


def video_stream(container: Any, path: str | os.PathLike[str]) -> Any:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise VideoError(f"no video stream in {str(path)!r} (streams found: {', '.join(kinds)})")
    return container.streams.video[0]


def probe(path: str | os.PathLike[str]) -> VideoIndex:
    """Index ``path`` by demuxing its packets (no decoding beyond one frame for the rotation).

    Reads every packet of the file once, which costs I/O but no decoding (18,000 packets of a
    350 MB file index in ~0.2 s from the page cache; a cold multi-GB file is bounded by disk
    reads). Raises :class:`VideoError` with a one-line message naming the file for
    missing, empty, unreadable or non-video files and for video streams without frames.
    """
    path = Path(path)
    container = open_container(path)
    try:
        return _probe_open(container, path)
    finally:
        container.close()


def _probe_open(container: Any, path: Path) -> VideoIndex:
    import av

    stream = video_stream(container, path)
    time_base = stream.time_base
    if time_base is None or time_base <= 0:
        raise VideoError(f"video stream of {str(path)!r} has no time base")

    # Typed arrays, not lists: a list holds a 36-byte int object per packet, and a ten-hour
    # video has 900,000 of them (~100 MB for the three, against 22 MB).
    pts_list = array("q")
    damage: str | None = None
    key_pts = array("q")
    durations = array("q")
    first_frames = _FirstFrames()
    damaged = False
    # The threading VideoDecoder uses: the order check below must see the stamps it will see.
    stream.thread_type = thread_type_for(stream)
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet PyAV appends at EOF
                continue
            if len(pts_list) >= _MAX_PACKETS:
                logger.warning("%s: stopped indexing after %d packets", path, _MAX_PACKETS)
                break
            # Packets the demuxer marks discardable (edit-list pre-roll) never become shown frames.
            if packet.is_discard:
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is None:
                continue
            pts_list.append(int(pts))
            durations.append(int(packet.duration or 0))
            if packet.is_keyframe:
                key_pts.append(int(pts))
            if not first_frames.done:
                first_frames.feed(stream, packet)
    except (av.FFmpegError, OSError, EOFError) as exc:
        # A damaged tail: keep what was indexed; the decoder reports frames it cannot decode.
        damaged = True
        damage = f"reading stopped at a read error ({_one_line(exc)})"
        # Reported through ``VideoIndex.damage``; the caller decides whether it is an error.
        logger.info("%s: stopped indexing at a read error: %s", path, _one_line(exc))

    if not pts_list:
        reason = "a read error before any frame" if damaged else "no frames"
        raise VideoError(f"video stream of {str(path)!r} has {reason}")

    all_pts = np.asarray(pts_list, dtype=np.int64)
    frame_pts, first = np.unique(all_pts, return_index=True)  # display order = pts order
    if frame_pts.size < all_pts.size:
        logger.warning("%s: %d packets share a timestamp; kept one each", path, all_pts.size - frame_pts.size)
    keyframe_indices = np.unique(np.searchsorted(frame_pts, np.asarray(key_pts, dtype=np.int64)))
    last_packet = int(first[-1])
    shown_pts = frame_pts  # what the frames are shown at, increasing
    if first_frames.out_of_order:
        decoded = _decoder_display_order(container, stream, path)
        if decoded is not None:
            frame_pts, keyframe_indices = decoded
            # The stamps are a permutation of the true times; sorted, they are the times shown.
            shown_pts = np.sort(frame_pts)
            matches = np.flatnonzero(all_pts == shown_pts[-1])
            last_packet = int(matches[0]) if matches.size else -1
    if keyframe_indices.size == 0:
        keyframe_indices = np.zeros(1, dtype=np.int64)

    start_pts = int(stream.start_time) if stream.start_time is not None else int(shown_pts[0])
    start_pts = min(start_pts, int(shown_pts[0]))
    seconds_per_tick = float(time_base)
    timestamps = (shown_pts - start_pts).astype(np.float64) * seconds_per_tick

    n = frame_pts.size
    last_duration = durations[last_packet] * seconds_per_tick if last_packet >= 0 else 0.0
    if last_duration <= 0:
        last_duration = float(np.median(np.diff(timestamps))) if n > 1 else 0.0
    duration = float(timestamps[-1] + last_duration)
    fps = n / duration if duration > 0 else float(stream.average_rate or 0.0)
    declared = _declared_duration(container, stream)
    # A file cut short keeps its header: the frames found end well before the declared end.
    if damage is None and declared is not None and declared - duration > max(1.0, 0.02 * declared):
        damage = f"its frames end at {duration:.2f} s but its header declares {declared:.2f} s (truncated?)"
        logger.info("%s: %s", path, damage)

    # Display matrices can hold any angle (and flips); frames can only be turned in quarter
    # turns, so round to the nearest one. Mirroring is ignored: phones never write it.
    rotation_cw = (-90 * int(round((first_frames.rotation_ccw or 0) / 90))) % 360
    width, height = _display_size(stream)
    if rotation_cw in (90, 270):
        width, height = height, width
    info = VideoInfo(
        path=str(path),
        duration_seconds=duration,
        fps=float(fps) if math.isfinite(fps) else 0.0,
        frame_count=int(n),
        width=int(width),
        height=int(height),
        rotation=int(rotation_cw),
        codec=str(stream.codec_context.name or ""),
        content_hash=content_hash(path),
    )
    return VideoIndex(
        info=info,
        frame_timestamps=timestamps,
        keyframe_indices=keyframe_indices.astype(np.int64),
        frame_pts=frame_pts,
        time_base=Fraction(time_base),
        start_pts=start_pts,
        stream_index=int(stream.index),
        damage=damage,
    )


class _FirstFrames:
    """What the first frames the decoder returns tell, fed packets while the probe demuxes.

    * The display rotation: it lives in stream side data that PyAV only exposes on frames.
    * Whether the decoder stamps frames in increasing pts order. It returns them in display order,
      so for a sound stream it does; packed B-frames (MPEG-4 Part 2 in AVI) and H.264 with
      B-frames in AVI are stamped out of order, and the probe then indexes them by decoding.
    """

    def __init__(self) -> None:
        self.rotation_ccw: int | None = None
        self.out_of_order = False
        self._frames = 0
        self._packets = 0
        self._last_stamp: int | None = None

    @property
    def done(self) -> bool:
        if self._packets >= _MAX_PACKETS_FOR_FIRST_FRAME:
            return True
        checked = self.out_of_order or self._frames >= _ORDER_CHECK_FRAMES or self._packets >= _ORDER_CHECK_PACKETS
        return checked and self.rotation_ccw is not None

    def feed(self, stream: Any, packet: Any) -> None:
        import av

        self._packets += 1
        try:
            decoded = stream.decode(packet)
        except av.FFmpegError:
            return  # a damaged packet is the decoder's business at decode time
        for frame in decoded:
            if self.rotation_ccw is None:
                self.rotation_ccw = int(frame.rotation or 0)
            if frame.pts is not None:
                if self._last_stamp is not None and frame.pts <= self._last_stamp:
                    self.out_of_order = True
                self._last_stamp = int(frame.pts)
            self._frames += 1


def _decoder_display_order(container: Any, stream: Any, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Decode the whole stream once: the pts stamped on each frame in the order frames come out
    (display order), and the positions of the keyframes; None when the stamps cannot name frames.

    Costs one full decode (no colour conversion): a 10-minute 640x360 MPEG-4 Part 2 file in a
    few seconds on one core. The index is cached with the features, so a file pays it once.
    """
    import av

    stamps: list[int | None] = []
    keys: list[int] = []
    container.seek(0, backward=True)  # PyAV flushes the decoder on a seek
    try:
        for packet in container.demux(stream):
            try:
                decoded = stream.decode(packet)
            except av.FFmpegError:
                continue  # what does not decode is not a frame the decoder returns
            for frame in decoded:
                if frame.key_frame:
                    keys.append(len(stamps))
                stamps.append(frame.pts)
    except (av.FFmpegError, OSError, EOFError) as exc:
        logger.info("%s: indexing by decoding stopped at a read error: %s", path, _one_line(exc))
    if not stamps or any(p is None for p in stamps) or len(set(stamps)) < len(stamps):
        logger.warning("%s: its decoder stamps frames out of order and ambiguously; indexing by packets", path)
        return None
    logger.info("%s: decoder stamps frames out of display order (packed B-frames?); indexed by decoding", path)
    return np.asarray(stamps, dtype=np.int64), np.asarray(keys, dtype=np.int64)


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (containers, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def thread_type_for(stream: Any) -> str:
    """Frame+slice threading ("AUTO") except for small frames on a machine with <= 2 cores.

    Frame threading keeps several frames in flight; each costs a thread hand-off, which only pays
    when a frame takes long to decode or there are cores to spare. "SLICE" still uses threads for
    streams coded in several slices and decodes single-slice streams on the calling thread.
    """
    pixels = int(stream.codec_context.width or 0) * int(stream.codec_context.height or 0)
    if pixels < _FRAME_THREADING_MIN_PIXELS and _available_cpus() <= 2:
        return "SLICE"
    return "AUTO"


def _declared_duration(container: Any, stream: Any) -> float | None:
    """The duration the header claims, in seconds, or None when it claims none."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def _display_size(stream: Any) -> tuple[int, int]:
    """Coded size stretched by the sample aspect ratio (anamorphic files), before rotation."""
    width, height = int(stream.codec_context.width), int(stream.codec_context.height)
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if sar and sar > 0 and sar != 1:
        width = max(2, int(round(width * float(sar) / 2)) * 2)
    return width, height
