"""``framepick serve`` as a real process, in front of a real upstream: ``transformers serve`` on the
tiny random LLaVA (the run's one server, conftest.py's ``tiny_llava_server``).

The proxy is started with the command a user types (offline encoder, ``aks``), polled on
``/health`` until it listens, and stopped with SIGTERM, which must end it cleanly. The model's
random weights reply garbage: what is checked is that the frames reached the model (its prompt
grows by the images), the reply and the extension field, streaming, pass-through and the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from serve_support import QUESTION, call, chat_body
from transformers_serve import free_port

K = 3


@pytest.fixture(scope="module")
def proxy(tiny_llava_server, videos_root, tmp_path_factory):
    """(proxy URL, model, a function returning the proxy's stderr so far)."""
    model, upstream = tiny_llava_server
    folder = tmp_path_factory.mktemp("proxy")
    port = free_port()
    stderr_path = folder / "stderr.log"
    command = [
        sys.executable, "-m", "framepick.cli.main", "serve", "--upstream", upstream, "--method", "aks", "-k", str(K),
        "--encoder", "offline", "--videos-root", str(videos_root), "--port", str(port), "--max-side", "56",
        "--candidates", "32", "--cache-dir", str(folder / "cache"),
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"framepick serve exited with {process.returncode}: {stderr_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"framepick serve did not listen within 120 s: {stderr_path.read_text()[-2000:]}")
                time.sleep(0.3)
        yield url + "/v1", model, stderr_path.read_text
    finally:
        process.terminate()  # SIGTERM: the server shuts down and the command returns
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("framepick serve did not stop on SIGTERM within 20 s")
    assert code == 0, stderr_path.read_text()[-2000:]


def test_a_video_question_reaches_the_real_model_as_labelled_frames(proxy) -> None:
    url, model, stderr = proxy
    status, reply = call(url + "/chat/completions", chat_body("talks/both.mp4", model=model, max_tokens=5, temperature=0))
    assert status == 200, reply
    assert reply["object"] == "chat.completion" and isinstance(reply["choices"][0]["message"]["content"], str)
    extension = reply["framepick"]
    assert extension["method"] == "aks" and extension["k"] == K and len(extension["frames"]) == K
    assert extension["encoder"].startswith("offline:") and extension["candidates"] == 32
    assert [f["index"] for f in extension["frames"]] == sorted(f["index"] for f in extension["frames"])
    assert extension["timings"]["upstream"] > 0

    # The same text without the frames: the model's prompt grows by K images and their labels.
    plain = {"model": model, "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}], "max_tokens": 5}
    status, bare = call(url + "/chat/completions", plain)
    assert status == 200 and "framepick" not in bare  # passed through
    assert reply["usage"]["prompt_tokens"] > bare["usage"]["prompt_tokens"] + K * 4

    log = [line for line in stderr().splitlines() if "POST /v1/chat/completions 200 video=talks/both.mp4" in line]
    assert log and all(f"{stage}=" in log[0] for stage in ("prepare", "select", "decode", "images", "upstream", "total"))


def test_streaming_carries_the_extension_in_its_first_event(proxy) -> None:
    url, model, _ = proxy
    body = json.dumps(chat_body("red.mp4", model=model, max_tokens=4, stream=True, framepick={"k": 2})).encode()
    request = urllib.request.Request(url + "/chat/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        events = [line[len(b"data: "):] for line in response.read().splitlines() if line.startswith(b"data: ")]
    if events and events[-1] == b"[DONE]":  # vLLM and OpenAI end so; transformers serve 5.24 does not
        events.pop()
    chunks = [json.loads(event) for event in events]
    assert len(chunks) >= 2 and all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len(chunks[0]["framepick"]["frames"]) == 2
    assert all("framepick" not in chunk for chunk in chunks[1:])

    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=120)
    stream = client.chat.completions.create(model=model, messages=chat_body("blue.mp4")["messages"], max_tokens=4,
                                            stream=True, extra_body={"framepick": {"k": 2}})
    events = list(stream)
    assert len(events[0].model_extra["framepick"]["frames"]) == 2
    assert "".join(e.choices[0].delta.content or "" for e in events if e.choices)  # the model's words came through


def test_models_health_and_a_bad_video_on_the_real_pair(proxy, videos_root) -> None:
    url, model, _ = proxy
    status, models = call(url + "/models")
    assert status == 200 and model in [m["id"] for m in models["data"]]
    status, reply = call(url + "/chat/completions", chat_body("notavideo.mp4", model=model))
    assert status == 400 and "notavideo.mp4" in reply["error"]["message"]
    assert str(Path(videos_root)) not in reply["error"]["message"]
    status, reply = call(url + "/chat/completions", chat_body("../../etc/passwd", model=model))
    assert status == 400 and "'..'" in reply["error"]["message"]
    assert call(url.removesuffix("/v1") + "/health")[0] == 200
