"""`framepick answer` end to end: selection, frames to a server, answer, cache, bad input."""

from __future__ import annotations

import json

from framepick.cli.main import main
from openai_fake import Behaviour, FakeServer


def _answer(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(["answer", *argv])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_answer_sends_the_chosen_frames_with_their_times_and_caches_the_reply(capsys, segment_video, tmp_path) -> None:
    with FakeServer(Behaviour(reply="B", letter_probs={"B": 0.8, "A": 0.15, "C": 0.05})) as server:
        argv = [
            str(segment_video), "-q", "What colour is the screen?", "--options", "grey;red;blue", "-k", "4",
            "--method", "uniform", "--answerer", f"openai:tiny@{server.url}", "--max-side", "32",
            "--cache-dir", str(tmp_path / "cache"), "--quiet",
        ]
        code, first, err = _answer(capsys, *argv)
        assert code == 0, err
        code, second, err = _answer(capsys, *argv)
        assert code == 0, err
    assert len(server.behaviour.requests) == 1  # the rerun was answered from the cache
    assert (first["letter"], first["answer_source"], first["cached"], second["cached"]) == ("B", "logprobs", False, True)
    assert abs(sum(first["option_probs"]) - 1) < 1e-6 and first["option_probs"][1] > 0.75
    assert {"decode_chosen", "answer", "select"} <= set(first["timings"])
    content = server.behaviour.requests[0]["messages"][0]["content"]
    labels = [p["text"] for p in content if p["type"] == "text"][:-1]
    times = [f["timestamp"] for f in first["selection"]["frames"]]
    assert labels == [f"Frame {i + 1} at {t:.1f}s:" for i, t in enumerate(times)]
    assert sum(p["type"] == "image_url" for p in content) == 4
    assert "A. grey\nB. red\nC. blue" in content[-1]["text"]


def test_open_question_prints_the_text(capsys, segment_video, tmp_path) -> None:
    with FakeServer(Behaviour(reply="A red screen, then a blue one.")) as server:
        code, result, err = _answer(
            capsys, str(segment_video), "-q", "What happens?", "-k", "2", "--method", "uniform",
            "--answerer", f"openai:tiny@{server.url}", "--no-cache", "--quiet",
        )
    assert code == 0, err
    assert result["answer"] == "A red screen, then a blue one." and result["letter"] is None


def test_bad_input_is_one_line_and_writes_nothing(capsys, segment_video, tmp_path) -> None:
    out = tmp_path / "answer.json"
    cases = [
        (["--options", "only one"], "at least 2 options"),
        (["--options", "a;;b"], "option is empty"),
        (["--device", "cuda:0"], "sees no GPU"),
        (["--dtype", "fp4"], "--dtype must be one of"),
        (["--answerer", "openai:tiny@http://127.0.0.1:9/v1", "--concurrency", "1"], "cannot reach"),
        (["--answerer", "gpt"], "unknown answerer 'gpt'"),
    ]
    for extra, message in cases:
        code, _, err = _answer(
            capsys, str(segment_video), "-q", "Q?", "-k", "2", "--method", "uniform", "--no-cache", "--quiet",
            "-o", str(out), *extra,
        )
        assert code != 0 and message in err and err.count("\n") == 1, (extra, err)
        assert not out.exists()
