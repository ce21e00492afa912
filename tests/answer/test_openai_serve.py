"""The OpenAI-compatible answerer against a real server process: ``transformers serve`` on localhost.

The test starts the server on a tiny random LLaVA (built from config, tiny_mllm.py) and stops it.
LLaVA, not Qwen2-VL: transformers 5.24's Qwen2-VL processor builds a video processor that needs
torchvision, which a CPU-only machine cannot install, and ``serve`` loads the full processor.
The server ignores ``logprobs`` (it answers 200 without them), so the answer is read from the
reply's text: the path every such server takes. Its random weights reply garbage, so the letter
may be None; what is checked is the protocol, the frames sent and the source recorded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from framepick.answer import AnswererOptions, load_answerer
from framepick.cli.main import main
from framepick.errors import AnswererError

pytestmark = pytest.mark.skipif(
    shutil.which("transformers") is None or importlib.util.find_spec("fastapi") is None
    or importlib.util.find_spec("uvicorn") is None,
    reason="transformers serve needs transformers[serving] (pip install -e '.[test]')",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tiny_mllm import build_tiny_llava

    folder = build_tiny_llava(tmp_path_factory.mktemp("tiny") / "tiny-llava")
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    process = subprocess.Popen(
        ["transformers", "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}: {Path(log.name).read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("transformers serve did not answer /health within 120 s")
            time.sleep(0.5)
        yield str(folder), url + "/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_a_real_server_answers_with_the_frames_and_the_path_is_recorded(served) -> None:
    model, url = served
    answerer = load_answerer(f"openai:{model}@{url}", AnswererOptions(max_side=56))
    frames = np.random.default_rng(1).integers(0, 255, size=(3, 72, 128, 3), dtype=np.uint8)
    answer = answerer.answer(frames, [0.5, 2.0, 7.25], "What is shown?", ["a cat", "a dog", "a car"])
    assert answer.source == "parsed" and answer.option_probs is None  # serve drops logprobs
    assert isinstance(answer.text, str) and answer.letter in (None, "A", "B", "C")
    open_answer = answerer.answer(frames[:1], [0.5], "Describe the picture.", [])
    assert open_answer.source is None and isinstance(open_answer.text, str)


def test_unknown_model_on_a_real_server(served) -> None:
    _, url = served
    answerer = load_answerer(f"openai:no-such-model@{url}")
    with pytest.raises(AnswererError, match=r"does not serve model 'no-such-model'.*it serves: "):
        answerer.answer(np.zeros((1, 8, 8, 3), np.uint8), None, "Q?", ["x", "y"])


def test_framepick_answer_end_to_end_against_the_server(served, segment_video, tmp_path, capsys) -> None:
    model, url = served
    code = main([
        "answer", str(segment_video), "-q", "What colour is the screen?", "--options", "grey;red;blue", "-k", "3",
        "--method", "uniform", "--answerer", f"openai:{model}@{url}", "--max-side", "56",
        "--cache-dir", str(tmp_path / "cache"), "--quiet",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["answer_source"] == "parsed" and result["cached"] is False
    assert len(result["selection"]["frames"]) == 3
