"""Exact-frame decoding: framepick's VideoDecoder against OpenCV seeking and a plain PyAV pass.

Run ``python benchmarks/bench_decode.py``. The first run writes a 10-minute 640x360 H.264 video
(ultrafast x264, 250-frame GOPs, a moving texture plus a per-frame index bar code) to
``$FRAMEPICK_BENCH_CACHE`` (default: ``<tmp>/framepick-bench``) and reuses it afterwards.

For 64 and 256 frames on a uniform grid it times
  * framepick  VideoDecoder.get_frames(strategy="auto")
  * opencv     cv2.VideoCapture + CAP_PROP_POS_FRAMES before each target
  * pyav-seq   one PyAV pass from the start, converting only the targets
and checks that all three returned the same frames (bar codes and pixels), so the race is fair.
The ratio column is framepick / fastest of the other two; the target is <= 1.2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from framepick.video.candidates import GridSpec, candidate_grid  # noqa: E402
from framepick.video.decode import VideoDecoder  # noqa: E402
from framepick.video.probe import probe  # noqa: E402

WIDTH, HEIGHT, FPS, GOP, MINUTES = 640, 360, 30, 250, 10
BITS, ROWS = 20, 8  # bar code layout, as in tests/conftest.py


def write_barcode(frame: np.ndarray, index: int) -> None:
    bar = frame.shape[1] // BITS
    for bit in range(BITS):
        frame[:ROWS, bit * bar : (bit + 1) * bar] = 255 if (index >> bit) & 1 else 0


def read_barcode(frame: np.ndarray) -> int:
    bar = frame.shape[1] // BITS
    return sum(1 << bit for bit in range(BITS) if frame[2 : ROWS - 2, bit * bar + 2 : (bit + 1) * bar - 2].mean() > 127)


def make_video(path: Path) -> Path:
    import av

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    rng = np.random.default_rng(0)
    # A smooth texture that drifts and changes colour: decodes like real footage, not like a
    # solid colour that the codec compresses to nothing.
    texture = rng.integers(0, 256, size=(HEIGHT // 8 + 2, WIDTH // 8 + 2, 3), dtype=np.uint8)
    texture = np.kron(texture, np.ones((8, 8, 1), dtype=np.uint8))
    frames = FPS * 60 * MINUTES
    print(f"writing {path} ({frames} frames, once) ...", file=sys.stderr)
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.options = {
            "preset": "ultrafast", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "crf": "23",
        }
        for i in range(frames):
            dy, dx = (i // 3) % 16, i % 16
            image = texture[dy : dy + HEIGHT, dx : dx + WIDTH].copy()
            image[..., (i // (FPS * 20)) % 3] //= 2  # a colour change every 20 s
            write_barcode(image, i)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(path)
    return path


def run_framepick(path: Path, index, targets: np.ndarray) -> np.ndarray:
    with VideoDecoder(path, index) as decoder:
        result = decoder.get_frames(targets)
    if result.failed.size:
        raise RuntimeError(f"framepick failed on {result.failed.size} frames")
    return result.frames


def run_opencv(path: Path, targets: np.ndarray) -> np.ndarray:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    for target in targets:
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(target))
        ok, bgr = capture.read()
        if not ok:
            raise RuntimeError(f"OpenCV could not read frame {target}")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return np.stack(frames)


def run_pyav_sequential(path: Path, targets: np.ndarray) -> np.ndarray:
    import av

    wanted = set(int(t) for t in targets)
    last = int(targets[-1])
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]  # PyAV's default threading, as plain code has it
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                frames.append(frame.to_ndarray(format="rgb24"))
            if i >= last:
                break
    return np.stack(frames)


def check_same(name: str, frames: np.ndarray, reference: np.ndarray, targets: np.ndarray) -> None:
    codes = [read_barcode(f) for f in frames]
    if codes != targets.tolist():
        wrong = [(int(t), c) for t, c in zip(targets, codes) if t != c][:5]
        raise RuntimeError(f"{name} returned the wrong frames (wanted, got): {wrong}")
    # Same frames may differ by a level or two where libraries round YUV->RGB differently.
    diff = np.abs(frames.astype(np.int16) - reference.astype(np.int16)).mean()
    if diff > 3.0:
        raise RuntimeError(f"{name} pixels differ from framepick's by {diff:.2f} levels on average")


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs per method")
    args = parser.parse_args()

    cache = Path(os.environ.get("FRAMEPICK_BENCH_CACHE", Path(tempfile.gettempdir()) / "framepick-bench"))
    path = make_video(cache / f"bench_{WIDTH}x{HEIGHT}_{MINUTES}min_gop{GOP}.mp4")
    seconds, index = timed(probe, path)
    print(f"video: {path.name}, {index.info.frame_count} frames, {index.keyframe_indices.size} keyframes, "
          f"{path.stat().st_size / 1e6:.1f} MB; probe {seconds:.2f} s")

    rows = []
    for count in args.counts:
        targets, _ = candidate_grid(index, GridSpec(count=count))
        best = {}
        outputs = {}
        for name, fn, fn_args in (
            ("framepick", run_framepick, (path, index, targets)),
            ("opencv", run_opencv, (path, targets)),
            ("pyav-seq", run_pyav_sequential, (path, targets)),
        ):
            times = []
            for _ in range(args.repeats):
                seconds, frames = timed(fn, *fn_args)
                times.append(seconds)
            best[name], outputs[name] = min(times), frames
        for name in ("framepick", "opencv", "pyav-seq"):
            check_same(name, outputs[name], outputs["framepick"], targets)
        fastest_other = min(best["opencv"], best["pyav-seq"])
        rows.append((count, best["framepick"], best["opencv"], best["pyav-seq"], best["framepick"] / fastest_other))

    print(f"{'frames':>6} | {'framepick s':>11} | {'opencv s':>9} | {'pyav-seq s':>10} | {'ratio':>5}")
    print("-" * 55)
    for count, fp, cv, seq, ratio in rows:
        print(f"{count:>6} | {fp:>11.2f} | {cv:>9.2f} | {seq:>10.2f} | {ratio:>5.2f}")
    print("ratio = framepick / fastest of (opencv, pyav-seq); target <= 1.20. All three returned identical frames.")


if __name__ == "__main__":
    main()
