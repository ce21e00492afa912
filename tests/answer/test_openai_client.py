"""The OpenAI-compatible client against a local HTTP server that plays each kind of server."""

from __future__ import annotations

import base64
import io
import logging

import numpy as np
import pytest
from PIL import Image

from framepick.answer import AnswererOptions, load_answerer
from framepick.answer.openai_compat import OpenAIAnswerer, OpenAIConfig, parse_openai_argument
from framepick.errors import AnswererError, InvalidArgumentError
from openai_fake import Behaviour, FakeServer

OPTIONS = ["a red car", "a dog", "a cat"]
FRAMES = np.random.default_rng(0).integers(0, 255, size=(3, 90, 160, 3), dtype=np.uint8)


def _answerer(server: FakeServer, **config: object) -> OpenAIAnswerer:
    return OpenAIAnswerer(OpenAIConfig(model="tiny", base_url=server.url, backoff=0.0, **config))


def test_logprobs_give_option_probabilities_and_frames_go_as_labelled_jpegs() -> None:
    with FakeServer(Behaviour()) as server:
        answer = _answerer(server, max_side=64).answer(FRAMES, [1.0, 2.0, 30.5], "What is there?", OPTIONS)
    assert answer.source == "logprobs" and answer.letter == "B" and answer.text == "B"
    np.testing.assert_allclose(answer.option_probs, [0.2, 0.7, 0.1], atol=1e-9)
    request = server.behaviour.requests[0]
    assert request["logprobs"] is True and request["temperature"] == 0
    content = request["messages"][0]["content"]
    assert [p["type"] for p in content] == ["text", "image_url"] * 3 + ["text"]
    assert content[4]["text"] == "Frame 3 at 30.5s:"
    jpeg = base64.b64decode(content[1]["image_url"]["url"].split(",", 1)[1])
    assert Image.open(io.BytesIO(jpeg)).size == (64, 36)  # longer side fitted to max_side, aspect kept
    assert content[-1]["text"].startswith("What is there?\nA. a red car")


def test_server_that_ignores_logprobs_gives_a_parsed_letter() -> None:
    with FakeServer(Behaviour(logprobs="ignore", reply="The answer is C.")) as server:
        answer = _answerer(server).answer(FRAMES, None, "Q?", OPTIONS)
    assert (answer.letter, answer.option_probs, answer.source) == ("C", None, "parsed")


def test_server_that_rejects_logprobs_is_asked_again_without_them_once(caplog) -> None:
    with FakeServer(Behaviour(logprobs="reject", reply="A")) as server:
        answerer = _answerer(server)
        with caplog.at_level(logging.WARNING):
            first = answerer.answer(FRAMES, None, "Q?", OPTIONS)
            second = answerer.answer(FRAMES, None, "Q?", OPTIONS)
    assert first.letter == second.letter == "A" and first.source == "parsed"
    assert [("logprobs" in r) for r in server.behaviour.requests] == [True, False, False]
    assert sum("rejects logprobs" in r.message for r in caplog.records) == 1


def test_rate_limits_and_server_errors_are_retried() -> None:
    with FakeServer(Behaviour(fail_first=[429, 503])) as server:
        answer = _answerer(server).answer(FRAMES, None, "Q?", OPTIONS)
    assert answer.letter == "B" and len(server.behaviour.requests) == 3


def test_retries_run_out_with_one_line() -> None:
    with FakeServer(Behaviour(fail_first=[500, 500, 500])) as server:
        with pytest.raises(AnswererError, match=r"HTTP 500 after 3 tries") as info:
            _answerer(server, retries=2).answer(FRAMES, None, "Q?", OPTIONS)
    assert "\n" not in str(info.value)


def test_wrong_key_names_the_variable_not_the_key(monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-wrong-secret")
    with FakeServer(Behaviour(key="sk-right")) as server:
        with pytest.raises(AnswererError, match=r"refused the API key \(HTTP 401\); set it in \$MY_KEY") as info:
            _answerer(server, api_key_env="MY_KEY").answer(FRAMES, None, "Q?", OPTIONS)
        assert "sk-wrong-secret" not in str(info.value)
        monkeypatch.setenv("MY_KEY", "sk-right")
        answerer = _answerer(server, api_key_env="MY_KEY")
        assert answerer.answer(FRAMES, None, "Q?", OPTIONS).letter == "B"
        assert "sk-right" not in answerer.id and "sk-right" not in repr(vars(answerer.config))


def test_unknown_model_lists_the_served_ones() -> None:
    with FakeServer(Behaviour(models=("qwen2.5-vl-7b", "other"))) as server:
        with pytest.raises(AnswererError, match=r"does not serve model 'tiny'.*it serves: qwen2.5-vl-7b, other"):
            _answerer(server).answer(FRAMES, None, "Q?", OPTIONS)


def test_garbage_and_unreachable_servers_fail_in_one_line() -> None:
    with FakeServer(Behaviour(garbage=True)) as server:
        with pytest.raises(AnswererError, match="not JSON"):
            _answerer(server).answer(FRAMES, None, "Q?", OPTIONS)
        url = server.url
    with pytest.raises(AnswererError, match="cannot reach .* after 2 tries .*is the server running"):
        OpenAIAnswerer(OpenAIConfig(model="tiny", base_url=url, retries=1, backoff=0.0, timeout=2)).answer(
            FRAMES, None, "Q?", OPTIONS
        )


def test_open_question_returns_the_text() -> None:
    with FakeServer(Behaviour(reply="A dog runs on a beach.")) as server:
        answer = _answerer(server).answer(FRAMES, [0.0, 1.0, 2.0], "What happens?", [])
    assert (answer.letter, answer.text, answer.option_probs) == (None, "A dog runs on a beach.", None)
    assert "logprobs" not in server.behaviour.requests[0]


def test_spec_parsing_and_options(monkeypatch) -> None:
    assert parse_openai_argument("Qwen/Qwen2.5-VL-7B@http://h:8000/v1/") == ("Qwen/Qwen2.5-VL-7B", "http://h:8000/v1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env:1/v1")
    assert parse_openai_argument("gpt-4o") == ("gpt-4o", "http://env:1/v1")
    answerer = load_answerer("openai:m@http://127.0.0.1:9/v1", AnswererOptions(concurrency=3, max_side=256, prompt="videomme"))
    assert answerer.max_concurrency == 3 and answerer.config.max_side == 256
    assert answerer.id.startswith("openai:m:max256:videomme@")
    with pytest.raises(InvalidArgumentError, match="needs a model"):
        load_answerer("openai")


def test_the_frame_size_is_part_of_the_id_so_cached_answers_never_cross_sizes() -> None:
    """Frames fitted to another side are other pixels: the answer cache (keyed by the id) must not
    hand an answer made at 384 px to a run at 768 px. The default size stays out of the id, so ids
    (and caches, run folders) made before it was part of it still match."""
    url = "http://127.0.0.1:9/v1"
    default = load_answerer(f"openai:m@{url}")
    assert default.id == f"openai:m:{default.template.id}"
    assert load_answerer(f"openai:m@{url}", AnswererOptions(max_side=768)).id == default.id
    small = load_answerer(f"openai:m@{url}", AnswererOptions(max_side=384))
    assert small.id == f"openai:m:max384:{default.template.id}" and small.id != default.id
    # ... and still not the URL: the same model behind another port answers the same.
    assert load_answerer("openai:m@http://127.0.0.1:10/v1", AnswererOptions(max_side=384)).id == small.id
