"""Time to synthesise a 30-minute needle-in-a-haystack video, against its real-time length.

Two figures, both for one 30-minute video from the shipped clip library (640x360, 25 fps):

- cold: an empty segment cache, so the clips the video uses are normalised and the filler is
  generated and encoded first (once per cache, shared by every later video);
- warm: the segments exist, the video itself is assembled by copying packets (what every further
  video of a suite costs).

Baseline measured in the same run: encoding the same number of frames would take
``frames / x264 fps``; x264's speed on this machine is measured on 250 canonical frames.

    python benchmarks/bench_niah.py [--minutes 30]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from framepick.data.niah import NiahConfig, synthesize_niah
from framepick.data.niah_assemble import Canonical, rgb_to_i420


def x264_fps(canonical: Canonical, frames: int = 250) -> float:
    """x264 alone (same options, frames already in yuv420p), on moving blocky noise."""
    import av

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(canonical.height // 8, canonical.width // 8, 3), dtype=np.uint8)
    pictures = [
        av.VideoFrame.from_ndarray(rgb_to_i420(np.kron(np.roll(base, i, axis=1), np.ones((8, 8, 1), np.uint8))), format="yuv420p")
        for i in range(frames)
    ]
    with tempfile.TemporaryDirectory() as tmp, av.open(str(Path(tmp) / "x.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=canonical.fps)
        stream.width, stream.height, stream.pix_fmt = canonical.width, canonical.height, "yuv420p"
        stream.codec_context.options = canonical.x264_options(canonical.gop_frames)
        started = time.perf_counter()
        for i, picture in enumerate(pictures):
            picture.pts = i
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
        return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    config = NiahConfig(min_minutes=args.minutes, max_minutes=args.minutes)
    real_seconds = args.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cold = synthesize_niah(out, 1, 0, config=config)
        duration = cold.samples[0].duration_seconds
        video = cold.videos[0]
        size_mb = video.stat().st_size / 1e6
        video.unlink()
        shutil.rmtree(out / "queries")
        warm = synthesize_niah(out, 1, 0, config=config)
        assert warm.written == 1
    fps = x264_fps(config.canonical)
    frames = duration * config.canonical.fps
    reencode = frames / fps
    print(f"30-minute NIAH video: {duration:.1f} s of video, {size_mb:.1f} MB, {cold.library.summary()}")
    print(f"cold (normalise clips + generate filler + assemble): {cold.seconds:6.2f} s = {real_seconds / cold.seconds:7.0f}x faster than real time")
    print(f"warm (segments cached, assemble by packet copy):     {warm.seconds:6.2f} s = {real_seconds / warm.seconds:7.0f}x faster than real time")
    print(f"baseline: x264 re-encode of {frames:.0f} frames at {fps:.0f} fps = {reencode:.0f} s "
          f"({reencode / warm.seconds:.0f}x the warm time, {reencode / cold.seconds:.1f}x the cold time)")


if __name__ == "__main__":
    main()
