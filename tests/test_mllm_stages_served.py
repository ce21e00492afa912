"""The papers' MLLM stages against a real server process: ``transformers serve`` on localhost.

The server (conftest ``tiny_llava_server``) runs a tiny random LLaVA, so its replies are garbage:
what is checked is that every stage talks to a real OpenAI-compatible server end to end, and that
an unusable reply falls back (or fails the sample) and says so, never silently and never fatally.
The stages' handling of well-formed replies is tested against servers whose replies the tests
control (test_clip_model.py, test_reasoned_queries.py, tests/data/test_peakclips.py,
tests/data/test_vidthinker.py).
"""

from __future__ import annotations

import json

import pytest

from framepick.cli.main import main


@pytest.fixture(scope="module")
def served(tiny_llava_server):
    model, url = tiny_llava_server
    return f"openai:{model}@{url}"


def test_kframes_clip_model_on_a_real_server(served, segment_video, tmp_path, capsys) -> None:
    code = main(["select", str(segment_video), "-q", "When is the screen red?", "-k", "4", "--method", "kframes",
                 "--clip-model", served, "--clip-frames", "4", "--max-side", "56", "--candidates", "16",
                 "--encoder", "offline", "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    params = json.loads(captured.out)["params"]
    assert params["clip_source"] in ("mllm", "similarity") and params["clip_frames_shown"] == 4
    assert (params["clip_fallback"] is None) == (params["clip_source"] == "mllm")


def test_msjoe_query_reasoner_on_a_real_server(served) -> None:
    from framepick.answer import AnswererOptions
    from framepick.reasoned_queries import QueryReasoner

    reasoner = QueryReasoner.load(served, AnswererOptions(max_side=56), preview=0, cache=False)
    rows = reasoner.rows("What colour is the screen?", ["grey", "red", "blue"])
    assert rows.source in ("reasoned", "options") and rows.texts
    assert (rows.fallback is None) == (rows.source == "reasoned") and isinstance(rows.reply, str)


@pytest.mark.parametrize("tool", ["vidthinker", "peakclips"])
def test_annotation_pipelines_on_a_real_server(served, tool, segment_video, tmp_path, capsys) -> None:
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "s", "video": str(segment_video), "question": "What colour is the screen?",
                                    "options": ["grey", "red"], "answer": "B"}) + "\n", encoding="utf-8")
    extra = (["--candidates", "16", "--caption-frames", "2", "--caption-tokens", "16", "--score-tokens", "32",
              "--encoder", "offline"] if tool == "peakclips" else ["--frames-per-clip", "1"])
    code = main(["data", tool, "--manifest", str(manifest), "--llm", served, "--out", str(tmp_path / "out.jsonl"),
                 "--max-side", "56", "--cache-dir", str(tmp_path / "cache"), "--quiet", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 1  # labelled, or written with the reason it could not be: never dropped
    extra_out = rows[0].get("extra", {})
    error = extra_out.get(f"{tool}_error")
    labelled = "key_clips" in extra_out if tool == "peakclips" else "frame_labels" in extra_out
    assert labelled != bool(error), extra_out
