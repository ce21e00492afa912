"""Media for needle-in-a-haystack videos: normalised segments, generated filler, packet assembly.

Speed comes from encoding each piece of footage once. Every library clip (and each generated
filler) is normalised ONCE into one canonical format (:class:`Canonical`: fixed size, frame rate,
H.264 yuv420p, no B-frames, a fixed GOP whose every keyframe is an IDR with in-band SPS/PPS) and
cached under a name that hashes the source content and the settings. A long video is then a list of
whole-GOP pieces of those segments, written by copying their packets with shifted timestamps
(:func:`assemble`): 30 minutes take seconds instead of the minutes x264 would need.

Because pieces start at IDR frames and no frame references another GOP, a frame of the assembled
video decodes to exactly the pixels of the same frame of its normalised segment.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from framepick.export import atomic_path

logger = logging.getLogger(__name__)

FORMAT_VERSION = 4
"""Bumped when normalisation or filler generation changes, so cached segments are rebuilt."""


@dataclass(frozen=True)
class Canonical:
    """The one format every segment is normalised to, so segments can be concatenated by copying."""

    width: int = 640
    """Frame width; clips keep their aspect ratio and are padded with black to it."""
    height: int = 360
    fps: int = 25
    """Constant frame rate; sources are resampled by holding the latest source frame."""
    gop_frames: int = 10
    """Frames per GOP of every segment, clips and filler alike (0.4 s at 25 fps): needles and
    decoys are cut at this grain. One length for both on purpose: if filler had longer GOPs,
    keyframe density alone would mark where the real clips are (a keyframe-only candidate grid
    would crowd onto the needle and decoys), a shortcut around the query."""
    crf: int = 23
    preset: str = "veryfast"
    threads: int = 2
    """x264 threads, fixed: x264's output depends on its thread count, so a fixed count gives the
    same bytes on any machine."""

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 16 or value % 2:
                raise ValueError(f"{name} must be an even integer >= 16; got {value!r}")
        for name in ("fps", "gop_frames", "threads"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)!r}")

    def x264_options(self, gop: int) -> dict[str, str]:
        return {
            "bf": "0",  # decode order = display order: a packet is a frame, pts = dts
            "g": str(gop),
            "keyint_min": str(gop),
            "sc_threshold": "0",  # keyframes only on the grid, so cut points are known in advance
            "crf": str(self.crf),
            "preset": self.preset,
            "threads": str(self.threads),
            "x264-params": "repeat-headers=1",  # SPS/PPS in front of every IDR
        }


def segment_key(kind: str, canonical: Canonical, **source: object) -> str:
    """Hex digest naming a normalised segment: what it is made from and how."""
    payload = json.dumps({"v": FORMAT_VERSION, "kind": kind, "canonical": asdict(canonical), **source}, sort_keys=True)
    return hashlib.blake2b(payload.encode(), digest_size=10).hexdigest()


# -- normalising real clips ----------------------------------------------------------------------


def normalise_clip(
    source: Path, start: float, num_frames: int, target: Path, canonical: Canonical
) -> Path:
    """Write ``num_frames`` canonical frames of ``source`` from ``start`` seconds to ``target``.

    Output frame k shows the latest source frame at or before ``start + k / fps`` (variable-rate
    and slower sources are held, faster ones dropped; a source that ends early holds its last frame).
    Returns ``target`` unchanged when it already exists.
    """
    if target.exists():
        return target
    frames = _resampled_frames(source, start, num_frames, canonical)
    _encode(frames, target, canonical, canonical.gop_frames)
    return target


def _resampled_frames(source: Path, start: float, num_frames: int, canonical: Canonical) -> Iterator[np.ndarray]:
    import av

    step = 1.0 / canonical.fps
    emitted = 0
    # The latest source frame at or before the next target time, already converted: a decoded
    # frame's buffer may be reused by the (threaded) decoder, so it is copied out at once.
    current: np.ndarray | None = None
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        origin = stream.start_time or 0
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float((frame.pts - origin) * stream.time_base)
            picture = _fit(frame, canonical)
            while emitted < num_frames and t > start + emitted * step + 1e-6:
                yield picture if current is None else current
                emitted += 1
            if emitted >= num_frames:
                return
            current = picture
        if current is None:
            raise ValueError(f"{source} has no decodable frames")
        while emitted < num_frames:
            yield current
            emitted += 1


def _fit(frame, canonical: Canonical) -> np.ndarray:
    """The frame scaled to fit the canonical size (aspect kept), centred on black."""
    scale = min(canonical.width / frame.width, canonical.height / frame.height)
    width = max(2, int(round(frame.width * scale / 2)) * 2)
    height = max(2, int(round(frame.height * scale / 2)) * 2)
    picture = frame.reformat(width=width, height=height, format="rgb24").to_ndarray()
    if (width, height) == (canonical.width, canonical.height):
        return picture
    canvas = np.zeros((canonical.height, canonical.width, 3), dtype=np.uint8)
    top, left = (canonical.height - height) // 2, (canonical.width - width) // 2
    canvas[top : top + height, left : left + width] = picture
    return canvas


def _encode(frames: Iterator[np.ndarray], target: Path, canonical: Canonical, gop: int) -> None:
    import av

    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=canonical.fps)
            stream.width, stream.height, stream.pix_fmt = canonical.width, canonical.height, "yuv420p"
            stream.codec_context.options = canonical.x264_options(gop)
            stream.codec_context.thread_count = canonical.threads  # the option alone is overridden
            for i, array in enumerate(frames):
                frame = _yuv_frame(rgb_to_i420(array), canonical)
                frame.pts = i
                frame.time_base = Fraction(1, canonical.fps)
                container.mux(stream.encode(frame))
            container.mux(stream.encode())


def _yuv_frame(i420: np.ndarray, canonical: Canonical):
    """A yuv420p VideoFrame in FFmpeg-allocated planes, padding bytes zeroed.

    ``from_ndarray`` leaves the row padding of its planes uninitialised, and the encoder's output
    depended on it: identical pictures gave different bytes from run to run.
    """
    import av

    width, height = canonical.width, canonical.height
    frame = av.VideoFrame(width, height, "yuv420p")
    flat, luma, quarter = i420.reshape(-1), height * width, height * width // 4
    rows = (flat[:luma].reshape(height, width), flat[luma : luma + quarter].reshape(height // 2, width // 2),
            flat[luma + quarter :].reshape(height // 2, width // 2))
    for plane, data in zip(frame.planes, rows):
        view = np.frombuffer(plane, dtype=np.uint8)
        view[:] = 0
        view.reshape(-1, plane.line_size)[: data.shape[0], : data.shape[1]] = data
    return frame


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """RGB [H,W,3] to planar YUV 4:2:0 [H*3/2,W] (BT.601, limited range), in integer arithmetic.

    Done here rather than by swscale or in floating point: both gave run-to-run differences of one
    level in a few pixels (code paths chosen by memory alignment), which changed the encoded bytes.
    """
    height, width = rgb.shape[:2]
    x = rgb.astype(np.uint16)  # 66*255 + 129*255 + 25*255 + 128 < 2**16: no overflow
    out = np.empty((height * 3 // 2, width), dtype=np.uint8)
    out[:height] = ((66 * x[..., 0] + 129 * x[..., 1] + 25 * x[..., 2] + 128) >> 8) + 16
    # chroma of each 2x2 block from the block's summed RGB (4x the mean): exact integers
    sums = (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]).astype(np.int32)
    r4, g4, b4 = sums[..., 0], sums[..., 1], sums[..., 2]
    u = ((-38 * r4 - 74 * g4 + 112 * b4 + 512) >> 10) + 128
    v = ((112 * r4 - 94 * g4 - 18 * b4 + 512) >> 10) + 128
    quarter = height * width // 4
    flat = out[height:].reshape(-1)
    flat[:quarter] = np.clip(u, 0, 255).reshape(-1)
    flat[quarter:] = np.clip(v, 0, 255).reshape(-1)
    return out


# -- generated filler --------------------------------------------------------------------------

FILLER_KINDS = ("gradient", "clouds", "shapes", "waves")
"""Filler k is of kind ``FILLER_KINDS[k % 4]`` with its own colours and motion (seeded by k)."""


def make_filler(index: int, num_frames: int, target: Path, canonical: Canonical) -> Path:
    """Write generated filler ``index`` (deterministic for the index) to ``target`` once."""
    if target.exists():
        return target
    _encode(_filler_frames(index, num_frames, canonical), target, canonical, canonical.gop_frames)
    return target


def _filler_frames(index: int, num_frames: int, canonical: Canonical) -> Iterator[np.ndarray]:
    """Slow, smooth synthetic footage, drawn at quarter size and scaled up (cheap, and smooth)."""
    from PIL import Image

    rng = np.random.default_rng(10_007 + index)
    kind = FILLER_KINDS[index % len(FILLER_KINDS)]
    h, w = max(4, canonical.height // 4), max(4, canonical.width // 4)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= h
    xx /= w
    colours = rng.uniform(20, 235, size=(4, 3)).astype(np.float32)
    noise = rng.standard_normal((6, 8, 3)).astype(np.float32)
    shapes = rng.uniform(0, 1, size=(5, 6)).astype(np.float32)  # x, y, vx, vy, radius, colour mix
    speed = rng.uniform(0.3, 1.0)
    for i in range(num_frames):
        t = i / canonical.fps * speed
        if kind == "gradient":
            angle = 0.05 * t + index
            ramp = (np.cos(angle) * xx + np.sin(angle) * yy + 0.1 * t) % 2.0
            ramp = np.abs(ramp - 1.0)[..., None]
            image = colours[0] * ramp + colours[1] * (1 - ramp)
        elif kind == "clouds":
            shift = 0.15 * t
            image = _smooth_noise(noise, h, w, shift) * 40 + colours[0] * 0.6 + colours[1] * 0.4
        elif kind == "shapes":
            image = np.empty((h, w, 3), np.float32)
            image[:] = colours[2] * (0.7 + 0.3 * yy[..., None])
            for x, y, vx, vy, radius, mix in shapes:
                cx = _bounce(x + (vx - 0.5) * 0.1 * t)
                cy = _bounce(y + (vy - 0.5) * 0.1 * t)
                inside = ((xx - cx) * w / h) ** 2 + (yy - cy) ** 2 < (0.05 + 0.1 * radius) ** 2
                image[inside] = colours[0] * mix + colours[3] * (1 - mix)
        else:  # waves
            phase = np.sin(6 * xx + 0.4 * t) + np.sin(5 * yy - 0.3 * t) + np.sin(4 * (xx + yy) + 0.2 * t)
            mix = ((phase + 3) / 6)[..., None]
            image = colours[1] * mix + colours[3] * (1 - mix)
        small = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))  # PIL: same bytes every run
        yield np.asarray(small.resize((canonical.width, canonical.height), Image.BILINEAR))


def _bounce(value: float) -> float:
    value = value % 2.0
    return float(2.0 - value if value > 1.0 else value)


def _smooth_noise(grid: np.ndarray, h: int, w: int, shift: float) -> np.ndarray:
    """Bilinear interpolation of a coarse random grid, scrolled by ``shift`` grid cells (wrapping)."""
    gy, gx = grid.shape[:2]
    ys = np.linspace(0, gy - 1, h, dtype=np.float32)[:, None]
    xs = (np.linspace(0, gx - 1, w, dtype=np.float32)[None, :] + shift * gx) % gx
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    y1, x1 = np.minimum(y0 + 1, gy - 1), (x0 + 1) % gx
    top = grid[y0, x0] * (1 - fx) + grid[y0, x1] * fx
    bottom = grid[y1, x0] * (1 - fx) + grid[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


# -- assembly by packet copy ---------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Frames ``[first_frame, first_frame + num_frames)`` of a normalised segment file."""

    segment: Path
    first_frame: int
    num_frames: int


class _Packets:
    """A normalised segment's packets in memory (one per frame, decode order = display order)."""

    def __init__(self, path: Path) -> None:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            self.time_base = stream.time_base
            packets = [p for p in container.demux(stream) if p.dts is not None]
            packets.sort(key=lambda p: p.pts)
            self.data = [bytes(p) for p in packets]
            self.keyframe = [bool(p.is_keyframe) for p in packets]


def assemble(pieces: Sequence[Piece], target: Path, canonical: Canonical, progress=None) -> float:
    """Concatenate ``pieces`` into ``target`` by copying packets (atomic); returns the duration in seconds.

    Every piece must start on a keyframe of its segment (the caller cuts on the GOP grid).
    """
    import av

    if not pieces:
        raise ValueError("nothing to assemble")
    loaded: dict[Path, _Packets] = {}
    total = 0
    with atomic_path(target) as tmp, av.open(str(pieces[0].segment)) as template_file:
        template = template_file.streams.video[0]
        with av.open(str(tmp), "w", format="mp4") as out:
            stream = out.add_stream_from_template(template)
            time_base = template.time_base
            tick = Fraction(1, canonical.fps) / time_base
            if tick.denominator != 1:
                raise ValueError(f"time base {time_base} cannot express {canonical.fps} fps exactly")
            tick = int(tick)
            for piece in pieces:
                packets = loaded.get(piece.segment)
                if packets is None:
                    packets = loaded[piece.segment] = _Packets(piece.segment)
                    if packets.time_base != time_base:
                        raise ValueError(f"{piece.segment} has time base {packets.time_base}, expected {time_base}")
                end = piece.first_frame + piece.num_frames
                if end > len(packets.data) or not packets.keyframe[piece.first_frame]:
                    raise ValueError(f"piece {piece} does not start on a keyframe inside its segment")
                for i in range(piece.first_frame, end):
                    packet = av.Packet(packets.data[i])
                    packet.pts = packet.dts = total * tick
                    packet.duration = tick
                    packet.is_keyframe = packets.keyframe[i]
                    packet.time_base = time_base
                    packet.stream = stream
                    out.mux(packet)
                    total += 1
                if progress is not None:
                    progress(piece.num_frames)
    return total / canonical.fps
