"""Videos generated with PyAV, with known content at known times (helpers for tests).

``make_video(path, segments, ...)`` writes a video whose frames are solid colours (or a moving
pattern) per segment, so a test knows which frame shows what. Each segment is ``(seconds, rgb)``
or ``(seconds, rgb, "pattern")``. Every frame also carries its own index as a bar code in its top
rows, so a test can check that a decoder returned *exactly* the frame it asked for.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np


BARCODE_BITS = 20
BARCODE_ROWS = 8


def encode_barcode(frame: np.ndarray, index: int) -> None:
    """Write ``index`` as black/white bars over the top rows of ``frame`` (in place)."""
    width = frame.shape[1]
    bar = width // BARCODE_BITS
    for bit in range(BARCODE_BITS):
        value = 255 if (index >> bit) & 1 else 0
        frame[:BARCODE_ROWS, bit * bar : (bit + 1) * bar] = value


def decode_barcode(frame: np.ndarray) -> int:
    """Read back the index written by :func:`encode_barcode` (robust to codec noise)."""
    width = frame.shape[1]
    bar = width // BARCODE_BITS
    index = 0
    for bit in range(BARCODE_BITS):
        patch = frame[2 : BARCODE_ROWS - 2, bit * bar + 2 : (bit + 1) * bar - 2]
        if patch.mean() > 127:
            index |= 1 << bit
    return index


Segment = tuple  # (seconds, (r, g, b)) or (seconds, (r, g, b), "pattern")


def segment_frames(segments: Sequence[Segment], fps: int, size: tuple[int, int]) -> list[np.ndarray]:
    """The RGB frames of ``segments``: solid colour, or with a moving inverted bar ("pattern")."""
    width, height = size
    frames: list[np.ndarray] = []
    for segment in segments:
        seconds, rgb = segment[0], segment[1]
        pattern = len(segment) > 2 and segment[2] == "pattern"
        for i in range(int(round(seconds * fps))):
            frame = np.empty((height, width, 3), dtype=np.uint8)
            frame[:] = np.asarray(rgb, dtype=np.uint8)
            if pattern:
                x = (i * 7) % width
                frame[:, x : x + 12] = 255 - frame[:, x : x + 12]
            frames.append(frame)
    return frames


def write_video(
    path: Path,
    segments: Sequence[Segment],
    *,
    fps: int = 10,
    size: tuple[int, int] = (160, 96),
    gop: int = 10,
    codec: str = "libx264",
    rotation: int | None = None,
    vfr_timestamps: Sequence[float] | None = None,
    barcode: bool = True,
    codec_options: dict[str, str] | None = None,
) -> Path:
    """Write ``segments`` as a video; returns ``path``.

    ``vfr_timestamps`` (seconds, one per frame) makes a variable-frame-rate file: frame i gets that
    presentation time instead of i / fps. ``rotation`` stores a display-matrix rotation in the
    stream metadata, as phones do. ``codec_options`` are merged over the x264 defaults (no
    B-frames, fixed GOP), e.g. ``{"bf": "3"}`` for B-frame reordering.
    """
    import av

    width, height = size
    frames = segment_frames(segments, fps, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            options = {"bf": "0", "sc_threshold": "0", "g": str(gop), "keyint_min": str(gop)}
            stream.codec_context.options = {**options, **(codec_options or {})}
        if vfr_timestamps is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
            stream.time_base = Fraction(1, 1000)
        if rotation is not None:
            # FFmpeg >= 7 drops the legacy "rotate" tag on write; the display matrix travels as
            # coded side data. ``rotation`` follows the phone tag convention (the clockwise angle a
            # player turns the picture by), set_display_rotation takes counter-clockwise degrees.
            if hasattr(stream, "set_display_rotation"):
                stream.set_display_rotation(-rotation)
            else:
                stream.metadata["rotate"] = str(rotation)
        for i, array in enumerate(frames):
            if barcode:
                encode_barcode(array, i)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            if vfr_timestamps is not None:
                frame.pts = int(round(vfr_timestamps[i] * 1000))
                frame.time_base = Fraction(1, 1000)
            else:
                frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def remux(source: Path, target: Path, **options: str) -> Path:
    """Copy the video packets of ``source`` into ``target`` with muxer ``options`` (no re-encode).

    ``remux(a, b, movflags="faststart")`` moves the MP4 index to the front, as streaming files
    have it, so a truncated copy still opens.
    """
    import av

    with av.open(str(source)) as src, av.open(str(target), "w", options=options) as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        for packet in src.demux(in_stream):
            if packet.dts is None:  # the flush packet at EOF
                continue
            packet.stream = out_stream
            dst.mux(packet)
    return target


RED, GREEN, BLUE, YELLOW, GREY = (220, 30, 30), (30, 200, 40), (30, 40, 220), (230, 220, 30), (128, 128, 128)


# -- MPEG-4 Part 2 with DivX "packed B-frames" ---------------------------------------------------

_VOP_START = b"\x00\x00\x01\xb6"
_USER_DATA_START = b"\x00\x00\x01\xb2"
# User data that tells FFmpeg's decoder the stream is packed (the trailing "p"), as DivX 5 wrote it.
_DIVX_PACKED_TAG = _USER_DATA_START + b"DivX503b1393p"


def _vop_type(packet: bytes) -> str:
    """'I', 'P', 'B' or 'S' from the first VOP header in an MPEG-4 Part 2 packet."""
    at = packet.find(_VOP_START)
    if at < 0 or at + 4 >= len(packet):
        raise ValueError("packet holds no VOP")
    return "IPBS"[packet[at + 4] >> 6]


def _not_coded_vop(ref: bytes) -> bytes:
    """A 'not coded' P-VOP placeholder (what DivX wrote after packed B-frames).

    Its header copies the P/B-VOP ``ref``'s first two bytes after the start code and flips the
    vop_coded bit off; FFmpeg only counts such a packet as 'no new picture' (it is <= 7 bytes), so
    the exact time increment inside does not matter.
    """
    at = ref.find(_VOP_START)
    return _VOP_START + bytes([0x40 | (ref[at + 4] & 0x3F), ref[at + 5], 0x9F])[:3]


def write_packed_bframes_avi(
    path: Path,
    segments: Sequence[Segment],
    *,
    fps: int = 10,
    size: tuple[int, int] = (160, 96),
    gop: int = 12,
    bframes: int = 2,
) -> Path:
    """MPEG-4 Part 2 in AVI with DivX-style *packed* B-frames, like OpenCV's ``Megamind.avi``.

    AVI has one chunk per frame time and no decode delay, so DivX stored each reference frame
    together with the first B-frame displayed before it in one chunk ("packed"), the other
    B-frames in the following chunks, and a 7-byte not-coded VOP in the chunk where the reference
    frame is shown. FFmpeg decodes this (it keeps the packed B-frame for the next call), but the
    timestamps its AVI demuxer guesses for the packets run 1, 2, 4, 3, 5, 7, 6, ... and the
    decoder stamps frames in an order that is not display order. Frames carry bar codes as in
    :func:`write_video`; the GOPs are closed so that every keyframe starts a decodable run.
    """
    import av

    width, height = size
    frames = segment_frames(segments, fps, size)
    for i, frame in enumerate(frames):
        encode_barcode(frame, i)

    # Encode normally (decode order I P B B P B B ...), then repack the packets into AVI chunks.
    codec = av.CodecContext.create("mpeg4", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, fps)
    codec.framerate = Fraction(fps, 1)
    codec.gop_size = gop
    codec.max_b_frames = bframes
    codec.options = {"flags": "+cgop", "bf": str(bframes), "g": str(gop), "sc_threshold": "1000000000"}
    coded: list[bytes] = []
    for i, array in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(array, format="rgb24")
        frame.pts = i
        coded.extend(bytes(packet) for packet in codec.encode(frame))
    coded.extend(bytes(packet) for packet in codec.encode(None))
    if len(coded) != len(frames):
        raise RuntimeError(f"encoder gave {len(coded)} packets for {len(frames)} frames")

    chunks: list[tuple[bytes, bool]] = []
    i = 0
    while i < len(coded):
        ref = coded[i]
        kind = _vop_type(ref)
        if kind == "I":  # the tag goes in front of the VOP, after the sequence headers
            at = ref.find(_VOP_START)
            ref = ref[:at] + _DIVX_PACKED_TAG + ref[at:]
        followers = []
        j = i + 1
        while j < len(coded) and _vop_type(coded[j]) == "B":
            followers.append(coded[j])
            j += 1
        if not followers:
            chunks.append((ref, kind == "I"))
        else:
            chunks.append((ref + followers[0], kind == "I"))
            chunks.extend((b, False) for b in followers[1:])
            chunks.append((_not_coded_vop(followers[0]), False))
        i = j
    if len(chunks) != len(frames):
        raise RuntimeError(f"packed {len(chunks)} chunks for {len(frames)} frames")

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = width, height
        stream.codec_context.time_base = Fraction(1, fps)
        stream.codec_tag = "DX50"
        for k, (data, key) in enumerate(chunks):
            packet = av.Packet(data)
            packet.pts = packet.dts = k
            packet.time_base = Fraction(1, fps)
            packet.is_keyframe = key
            packet.stream = stream
            container.mux(packet)
    return path
