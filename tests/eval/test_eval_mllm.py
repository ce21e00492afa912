"""An evaluation whose answerer is an MLLM behind a server: answers in flight, the answer cache,
counted per-record failures, a dead server, and resuming with nothing lost or written twice."""

from __future__ import annotations

import pytest
from needle_video import NEEDLE_SPAN, eval_cache, needle_row, needle_videos, write_manifest_rows  # noqa: F401

from framepick.answer.openai_compat import OpenAIAnswerer, OpenAIConfig
from framepick.errors import AnswererError
from framepick.eval import read_records, run_eval
from framepick.eval.records import record_key
from framepick.video.candidates import GridSpec
from openai_fake import Behaviour, FakeServer

GRID = GridSpec(count=32)
METHODS = "uniform,topk"
KS = (2, 4)


@pytest.fixture(scope="module")
def samples(needle_videos, tmp_path_factory):
    from framepick.data.manifest import read_manifest

    rows = [
        needle_row("needle-1", needle_videos["needle"], NEEDLE_SPAN),
        needle_row("hay-1", needle_videos["hay"], NEEDLE_SPAN, task_type="no-needle"),
        needle_row("needle-2", needle_videos["needle"], NEEDLE_SPAN, question="Who sits in the car?"),
    ]
    manifest = write_manifest_rows(tmp_path_factory.mktemp("mllm") / "m.jsonl", rows)
    return read_manifest(manifest).samples


def _answerer(server: FakeServer, concurrency: int = 4) -> OpenAIAnswerer:
    return OpenAIAnswerer(OpenAIConfig(model="tiny", base_url=server.url, concurrency=concurrency, backoff=0.0, retries=1, max_side=64))


def _eval(samples, out, cache, answerer):
    return run_eval(samples, out, methods=METHODS, ks=KS, answerer=answerer, grid=GRID, cache=cache, queries=("text",))


def test_answers_in_flight_keep_the_record_order_and_a_rerun_asks_nothing(samples, tmp_path, eval_cache) -> None:
    with FakeServer(Behaviour(letter_probs={"A": 0.6, "B": 0.3, "C": 0.1})) as server:
        first = _eval(samples, tmp_path / "run1", eval_cache, _answerer(server))
        asked = len(server.behaviour.requests)
        second = _eval(samples, tmp_path / "run2", eval_cache, _answerer(server))
    total = len(samples) * 2 * len(KS)
    assert first.written == second.written == total and asked == total
    assert len(server.behaviour.requests) == asked  # the second run was answered from the cache
    assert (first.answers_cached, second.answers_cached) == (0, total)
    records = read_records(tmp_path / "run1")
    # Submission order: samples in manifest order, then methods, then budgets, as sequentially.
    assert [(r["sample_id"], r["method"], r["k"]) for r in records] == [
        (s.id, m, k) for s in samples for m in METHODS.split(",") for k in KS
    ]
    assert {r["answer_source"] for r in records} == {"logprobs"}
    assert all(r["answer"] == "A" and r["correct"] is True and r["reply"] == "B" for r in records)
    # Each request carried exactly the record's frames, labelled with their times.
    for request in server.behaviour.requests[:3]:
        images = [p for p in request["messages"][0]["content"] if p["type"] == "image_url"]
        assert len(images) in KS
    rerun = read_records(tmp_path / "run2")
    assert all(r["answer_cached"] for r in rerun) and [r["answer"] for r in rerun] == [r["answer"] for r in records]


def test_a_failing_request_costs_its_record_only_and_a_rerun_fills_it(samples, tmp_path) -> None:
    cache = tmp_path / "cache"
    with FakeServer(Behaviour(reject_question="Who sits in the car?")) as server:
        summary = _eval(samples, tmp_path / "run", cache, _answerer(server))
    per_sample = 2 * len(KS)
    assert summary.written == 2 * per_sample and summary.answers_failed == per_sample
    assert [sample_id for sample_id, _ in summary.failed] == ["needle-2"]
    assert "too long for the model" in summary.failed[0][1]
    with FakeServer(Behaviour()) as server:
        again = _eval(samples, tmp_path / "run", cache, _answerer(server))
    assert (again.written, again.already_done, again.answers_failed) == (per_sample, 2 * per_sample, 0)
    keys = [record_key(r) for r in read_records(tmp_path / "run")]
    assert len(keys) == len(set(keys)) == 3 * per_sample


def test_a_server_that_dies_stops_the_run_in_one_line_and_nothing_is_lost(samples, tmp_path) -> None:
    cache = tmp_path / "cache"
    with FakeServer(Behaviour(down_after=3)) as server:
        with pytest.raises(AnswererError, match=r"answers in a row failed.*rerun the same command to resume") as info:
            _eval(samples, tmp_path / "run", cache, _answerer(server, concurrency=2))
    assert "\n" not in str(info.value)
    kept = read_records(tmp_path / "run")
    assert len(kept) == 3  # the answers that came back before the server went down, in order
    with FakeServer(Behaviour()) as server:
        again = _eval(samples, tmp_path / "run", cache, _answerer(server, concurrency=2))
    records = read_records(tmp_path / "run")
    keys = [record_key(r) for r in records]
    assert again.already_done == 3 and len(keys) == len(set(keys)) == len(samples) * 2 * len(KS)
    assert records[:3] == kept
