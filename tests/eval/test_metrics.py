"""Metrics from hand-made records, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from framepick.eval.metrics import compute_metrics, format_table, summarize, wilson_interval


def record(sample, method="topk", k=2, query="text", *, times=(), spans=(), correct=None, task=None, bucket=None,
           select=0.001, answer=0.002, candidates=64, sent=None):
    return {
        "sample_id": sample, "method": method, "k": k, "query": query, "encoder": "e", "answerer": "a",
        "candidates": candidates, "frames": [{"index": int(10 * t), "timestamp": t, "score": None} for t in times],
        "clips": [], "answer": None if correct is None else ("A" if correct else "B"), "correct": correct,
        "option_probs": None, "gold": "A", "spans": [list(s) for s in spans], "duration_seconds": 30.0,
        "task_type": task, "duration_bucket": bucket,
        "timings_seconds": {"probe": 0, "decode": 0, "encode": 0, "select": select, "answer": answer},
        "frames_sent": len(times) if sent is None else sent,
    }


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert (low, high) == pytest.approx((0.490162, 0.943318), abs=1e-6)
    # 0 of n: the lower end is 0 and the upper end is z^2 / (n + z^2).
    z2 = 1.959963984540054**2
    assert wilson_interval(0, 5) == pytest.approx((0.0, z2 / (5 + z2)))
    assert wilson_interval(5, 5) == pytest.approx((1 - z2 / (5 + z2), 1.0))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@pytest.fixture
def records():
    spans = [(10.0, 15.0), (25.0, 30.0)]
    return [
        # topk k=2: three answered samples (2 correct), one unanswered.
        record("s1", times=(11.0, 26.0), spans=spans, correct=True, task="needle", bucket="0-2m", select=0.002),
        record("s2", times=(11.0, 12.0), spans=spans, correct=True, task="needle", bucket="2-10m", select=0.004),
        record("s3", times=(1.0, 2.0), spans=spans, correct=False, task="count", bucket="0-2m", select=0.006),
        record("s4", times=(15.0, 20.0), spans=[(15.0, 15.0)], correct=None, task="count", sent=0),
        # uniform k=2 (listed later, but appearing first below): no spans, one wrong answer.
        record("s1", method="uniform", times=(5.0, 20.0), correct=False, task="needle", bucket="0-2m"),
        # topk k=2 with the image query is its own group.
        record("s1", query="image", times=(12.0, 27.0), spans=spans, correct=True, task="needle"),
    ]


def test_groups_accuracy_and_breakdowns(records):
    metrics = {(m.method, m.k, m.query): m for m in compute_metrics(records)}
    assert list(metrics) == [("topk", 2, "image"), ("topk", 2, "text"), ("uniform", 2, "text")]
    topk = metrics[("topk", 2, "text")]
    assert topk.records == 4
    assert (topk.accuracy.successes, topk.accuracy.n) == (2, 3)  # s4 has no answer
    assert topk.accuracy.value == pytest.approx(2 / 3)
    assert (topk.accuracy.low, topk.accuracy.high) == pytest.approx(wilson_interval(2, 3))
    assert {k: (p.successes, p.n) for k, p in topk.by_task_type.items()} == {"count": (0, 1), "needle": (2, 2)}
    assert {k: (p.successes, p.n) for k, p in topk.by_duration_bucket.items()} == {"0-2m": (1, 2), "2-10m": (1, 1)}


def test_span_metrics_by_hand(records):
    topk = {(m.method, m.k, m.query): m for m in compute_metrics(records)}[("topk", 2, "text")]
    # s1: both frames in spans, both spans hit.  s2: both in the first span, 1 of 2 spans.
    # s3: nothing.  s4: 15.0 lies on the closed span [15, 15], 20.0 does not; its one span is hit.
    assert topk.records_with_spans == 4
    assert (topk.hit_at_k.successes, topk.hit_at_k.n) == (3, 4)
    assert topk.in_span_fraction == pytest.approx((1.0 + 1.0 + 0.0 + 0.5) / 4)
    assert topk.span_recall == pytest.approx((1.0 + 0.5 + 0.0 + 1.0) / 4)


def test_efficiency_means(records):
    topk = {(m.method, m.k, m.query): m for m in compute_metrics(records)}[("topk", 2, "text")]
    assert topk.mean_select_seconds == pytest.approx((0.002 + 0.004 + 0.006 + 0.001) / 4)
    assert topk.mean_frames_sent == pytest.approx((2 + 2 + 2 + 0) / 4)
    assert topk.mean_candidates == 64


def test_groups_without_spans_or_answers_have_no_such_metric(records):
    uniform = {(m.method, m.k, m.query): m for m in compute_metrics(records)}[("uniform", 2, "text")]
    assert uniform.hit_at_k is None and uniform.in_span_fraction is None and uniform.span_recall is None
    only_unanswered = compute_metrics([record("x", correct=None)])[0]
    assert only_unanswered.accuracy.n == 0 and math.isnan(only_unanswered.accuracy.value)
    assert only_unanswered.to_dict()["accuracy"]["value"] is None  # strict JSON, no NaN


def test_method_order_follows_first_appearance():
    rows = [record("a", method="zeta", k=8), record("a", method="alpha", k=32), record("a", method="zeta", k=2)]
    assert [(m.method, m.k) for m in compute_metrics(rows)] == [("zeta", 2), ("zeta", 8), ("alpha", 32)]


def test_summary_table_and_flat_rows(records):
    table = format_table(compute_metrics(records))
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["method", "k", "query", "n"]
    topk_line = next(line for line in lines if line.startswith("topk") and " text " in line)
    assert "66.7 [20.8, 93.9]" in topk_line  # Wilson 2/3
    assert "75.0" in topk_line  # hit@k
    rows = {(r["method"], r["k"], r["query"]): r for r in summarize(records)}
    row = rows[("topk", 2, "text")]
    assert (row["n"], row["answered"], row["with_spans"]) == (4, 3, 4)
    assert row["accuracy"] == pytest.approx(2 / 3) and row["hit_at_k"] == pytest.approx(0.75)
    assert row["select_ms"] == pytest.approx(3.25)
    assert rows[("uniform", 2, "text")]["hit_at_k"] is None
