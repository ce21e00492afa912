"""A real OpenAI-compatible MLLM server for tests: ``transformers serve`` on the tiny random LLaVA.

Shared by the answerer's tests (tests/answer/test_openai_serve.py) and the proxy's
(tests/serve/), through the session fixture ``tiny_llava_server`` in conftest.py: one server
process per test run, started on a free localhost port, stopped at the end.

LLaVA, not Qwen2-VL: transformers 5.24's Qwen2-VL processor builds a video processor that needs
torchvision, which a CPU-only machine cannot install, and ``serve`` loads the full processor. The
server ignores ``logprobs`` (it answers 200 without them) and its random weights reply garbage:
tests check the protocol and what was sent, never the words.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator


# The ``transformers`` command of the environment running the tests (5.x; 4.x has only
# ``transformers-cli``), not whichever one PATH finds first: another Python's install may be there.
TRANSFORMERS_CLI = shutil.which("transformers", path=str(Path(sys.executable).parent))


def missing_serving() -> str | None:
    """Why ``transformers serve`` cannot run here, or None when it can."""
    if TRANSFORMERS_CLI is None or any(
        importlib.util.find_spec(module) is None for module in ("fastapi", "uvicorn")
    ):
        return "transformers serve needs transformers[serving] (pip install -e '.[test]')"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_llava(folder: Path) -> Path:
    from answer.tiny_mllm import build_tiny_llava  # tests/ is on the path (pyproject's pythonpath)

    return build_tiny_llava(folder)


@contextlib.contextmanager
def transformers_serve(model: Path, log_path: Path, start_timeout: float = 120.0) -> Iterator[str]:
    """Run ``transformers serve MODEL`` on localhost until the block ends; yields its ``.../v1`` URL."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [TRANSFORMERS_CLI or "transformers", "serve", str(model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"transformers serve exited with {process.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(url + "/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"transformers serve did not answer /health within {start_timeout:g} s")
                time.sleep(0.5)
            yield url + "/v1"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
