"""The whole `framepick select` command against an OpenCV script doing the same job.

Run ``python benchmarks/bench_cli_decode.py``. It uses bench_decode.py's 10-minute 640x360 H.264
video (written once to ``$FRAMEPICK_BENCH_CACHE``, default ``<tmp>/framepick-bench``) and times,
each as a fresh process (interpreter start and imports included):

  * framepick  ``framepick select VIDEO --method uniform -k 64 --candidates 64 --frames-dir DIR
               --no-cache``: probe, hashing, the check that the chosen frames decode, decoding the
               frames at full size and writing 64 JPEGs, plus the JSON on stdout;
  * opencv-seek  a small Python script: cv2.VideoCapture, CAP_PROP_POS_FRAMES before each of the
               same 64 frame indices, cv2.imwrite of each at the same JPEG quality (92);
  * opencv-grab  the same script reading forward with grab() and retrieve()-ing only the targets.

The baseline is the faster OpenCV variant. Runs alternate, after one warm-up of each (the file in
the page cache for all), and each figure is the median of ``--repeats`` runs. Before timing, the
bench checks that both sides wrote the same 64 frames (bar codes read from the JPEGs), so the race
is fair. Target: ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from bench_decode import GOP, HEIGHT, MINUTES, WIDTH, make_video, read_barcode  # noqa: E402

from framepick.video.candidates import uniform_positions  # noqa: E402

K = 64
JPEG_QUALITY = 92  # what framepick's --frames-dir writes

OPENCV_SCRIPT = r"""
import sys, os
import cv2
path, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
targets = [int(t) for t in sys.argv[4].split(",")]
os.makedirs(out, exist_ok=True)
capture = cv2.VideoCapture(path)
params = [cv2.IMWRITE_JPEG_QUALITY, int(sys.argv[5])]
def write(index, bgr):
    cv2.imwrite(os.path.join(out, "f%07d.jpg" % index), bgr, params)
if mode == "seek":
    for t in targets:
        capture.set(cv2.CAP_PROP_POS_FRAMES, t)
        ok, bgr = capture.read()
        if not ok:
            sys.exit("cannot read frame %d" % t)
        write(t, bgr)
else:
    wanted, last, i = set(targets), targets[-1], 0
    while i <= last:
        if not capture.grab():
            sys.exit("cannot grab frame %d" % i)
        if i in wanted:
            ok, bgr = capture.retrieve()
            write(i, bgr)
        i += 1
capture.release()
"""


def framepick_command(video: Path, out: Path) -> list[str]:
    script = Path(sys.executable).with_name("framepick")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "framepick.cli.main"]
    return head + [
        "select", str(video), "--method", "uniform", "-k", str(K), "--candidates", str(K),
        "--frames-dir", str(out), "--no-cache", "--quiet",
    ]


def opencv_command(video: Path, out: Path, mode: str, targets: np.ndarray) -> list[str]:
    joined = ",".join(str(int(t)) for t in targets)
    return [sys.executable, "-c", OPENCV_SCRIPT, str(video), str(out), mode, joined, str(JPEG_QUALITY)]


def run(command: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def written_barcodes(out: Path) -> list[int]:
    from PIL import Image

    return [read_barcode(np.asarray(Image.open(p).convert("RGB"))) for p in sorted(out.glob("*.jpg"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per side (median reported)")
    args = parser.parse_args()

    cache = Path(os.environ.get("FRAMEPICK_BENCH_CACHE", Path(tempfile.gettempdir()) / "framepick-bench"))
    video = make_video(cache / f"bench_{WIDTH}x{HEIGHT}_{MINUTES}min_gop{GOP}.mp4")
    frames = 30 * 60 * MINUTES
    # framepick's grid of 64 candidates (segment centres); uniform with k=64 chooses all of them.
    targets = uniform_positions(frames, K)

    work = Path(tempfile.mkdtemp(prefix="bench_cli_decode."))
    try:
        sides = {
            "framepick": (framepick_command(video, work / "framepick"), work / "framepick"),
            "opencv-seek": (opencv_command(video, work / "seek", "seek", targets), work / "seek"),
            "opencv-grab": (opencv_command(video, work / "grab", "grab", targets), work / "grab"),
        }
        for name, (command, out) in sides.items():  # warm-up, and the fairness check
            run(command, out)
            codes = written_barcodes(out)
            if codes != targets.tolist():
                raise SystemExit(f"{name} wrote other frames than the 64 targets: {codes[:8]} ...")
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, (command, out) in sides.items():
                times[name].append(run(command, out))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in times.items()}
    baseline = min(("opencv-seek", "opencv-grab"), key=median.__getitem__)
    print(f"video: {video.name} ({frames} frames, {GOP}-frame GOPs); {K} frames to JPEG; "
          f"median of {args.repeats} fresh processes each")
    for name, seconds in median.items():
        spread = f"{min(times[name]):.2f}-{max(times[name]):.2f}"
        print(f"{name:<12} {seconds:6.2f} s   (range {spread} s)")
    ratio = median["framepick"] / median[baseline]
    print(f"ratio framepick / {baseline}: {ratio:.2f} (target <= 1.20). Both wrote the same 64 frames.")


if __name__ == "__main__":
    main()
