"""The near-duplicate metric of an evaluation: mean pairs per record and the pooled share."""

from __future__ import annotations

from framepick.eval.metrics import compute_metrics, format_table, summarize


def record(method: str, frames: int, near_duplicates: int | None, **extra) -> dict:
    row = {"method": method, "k": 8, "query": "text", "frames": [{"timestamp": float(i)} for i in range(frames)]}
    if near_duplicates is not None or "keep_none" in extra:
        row["near_duplicates"] = near_duplicates
    return row


def test_mean_pairs_and_pooled_share() -> None:
    records = [record("topk", 8, 7), record("topk", 8, 0), record("uniform", 8, 0), record("uniform", 8, 1)]
    topk, uniform = compute_metrics(records)
    assert topk.near_duplicate_pairs == 3.5 and topk.near_duplicate_share == 7 / 14
    assert uniform.near_duplicate_pairs == 0.5 and uniform.near_duplicate_share == 1 / 14
    row = summarize(records)[0]
    assert row["near_dup_pairs"] == 3.5 and row["near_dup_share"] == 0.5
    table = format_table(compute_metrics(records)).splitlines()
    assert "dup pairs" in table[0] and "3.50" in table[2]


def test_records_without_the_field_are_left_out() -> None:
    old = [record("topk", 8, None), record("topk", 8, None, keep_none=True)]
    (group,) = compute_metrics(old)
    assert group.near_duplicate_pairs is None and group.near_duplicate_share is None
    mixed = compute_metrics([*old, record("topk", 4, 3)])[0]
    assert mixed.near_duplicate_pairs == 3.0 and mixed.near_duplicate_share == 1.0
