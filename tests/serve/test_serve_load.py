"""Load (bounded, localhost only): 200 requests, 16 at a time, over a few videos with bad ones mixed in.

The server must stay up, answer every request (200 for the good videos, a 400 naming the problem
for the others), and prepare each video once, however many requests on it arrive together. The
upstream is the fake server (tests/openai_fake.py) with a small delay, so requests overlap there too.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openai_fake import Behaviour, FakeServer
from serve_support import call, chat_body, make_proxy, serving

from framepick import pipeline

GOOD = ["red.mp4", "blue.mp4", "talks/both.mp4"]
BAD_FILES = ["notavideo.mp4", "truncated.mp4"]  # exist, are read, fail to prepare
REFUSED = ["../secret.mp4", "missing.mp4", "file:///etc/passwd"]  # never reach preparation
REQUESTS = 200
IN_FLIGHT = 16


@pytest.fixture()
def prepared_paths(monkeypatch) -> Counter:
    """How many times each video was prepared (decoded and embedded), by file name."""
    counts: Counter = Counter()
    lock = threading.Lock()
    real = pipeline.prepare_video

    def counting(video, *args, **kwargs):
        with lock:
            counts[Path(video).name] += 1
        return real(video, *args, **kwargs)

    monkeypatch.setattr(pipeline, "prepare_video", counting)
    return counts


def test_200_requests_16_at_a_time_with_bad_videos_mixed_in(picker, videos_root, prepared_paths) -> None:
    rng = random.Random(0)
    urls = [GOOD[i % 3] for i in range(150)] + [BAD_FILES[i % 2] for i in range(30)] + [REFUSED[i % 3] for i in range(20)]
    rng.shuffle(urls)
    assert len(urls) == REQUESTS
    with FakeServer(Behaviour(reply="ok", delay=0.02)) as upstream:
        with serving(make_proxy(picker, videos_root, upstream.url), workers=IN_FLIGHT) as server:
            endpoint = server.url + "/chat/completions"

            def ask(i: int) -> tuple[str, int, dict]:
                k = 2 + i % 3
                status, reply = call(endpoint, chat_body(urls[i], framepick={"k": k}), timeout=120)
                return urls[i], status, reply

            with ThreadPoolExecutor(IN_FLIGHT) as pool:
                results = list(pool.map(ask, range(REQUESTS)))
            assert call(server.url.removesuffix("/v1") + "/health")[0] == 200  # still up
            assert call(endpoint, chat_body("red.mp4"))[0] == 200  # and still answering

    assert len(results) == REQUESTS
    for i, (url, status, reply) in enumerate(results):
        if url in GOOD:
            assert status == 200, (url, reply)
            assert len(reply["framepick"]["frames"]) == 2 + i % 3 and reply["choices"][0]["message"]["content"] == "ok"
        else:
            assert status == 400, (url, reply)
            assert reply["error"]["type"] == "invalid_request_error" and reply["error"]["message"]
    # Each video that exists was prepared exactly once: the good ones, and the bad ones whose
    # failure is remembered until the file changes. Refused paths never got that far.
    assert prepared_paths == Counter({name.split("/")[-1]: 1 for name in GOOD + BAD_FILES})
    statuses = Counter(status for _, status, _ in results)
    assert statuses == Counter({200: 150, 400: 50})
    assert len(upstream.behaviour.requests) == 150 + 1  # only the good ones went upstream
    reused = Counter(reply["framepick"]["prepared"] for url, status, reply in results if status == 200)
    assert reused["now"] == len(GOOD) and reused["reused"] == 150 - len(GOOD)
