"""The OpenAI-compatible answerer against a real server process: ``transformers serve`` on localhost.

The server runs a tiny random LLaVA (built from config, tiny_mllm.py), started once per test run
by the ``tiny_llava_server`` fixture (transformers_serve.py says why LLaVA, and which
``transformers`` command). The server ignores ``logprobs`` (it answers 200 without them), so the
answer is read from the reply's text: the path every such server takes. Its random weights reply garbage, so the letter
may be None; what is checked is the protocol, the frames sent and the source recorded.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from framepick.answer import AnswererOptions, load_answerer
from framepick.cli.main import main
from framepick.errors import AnswererError


@pytest.fixture(scope="module")
def served(tiny_llava_server):
    """The run's one ``transformers serve`` (conftest.py, transformers_serve.py)."""
    return tiny_llava_server


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
