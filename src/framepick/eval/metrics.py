"""Metrics of an evaluation, computed from its records (``records.jsonl`` lines).

Everything is grouped by (method, k, query). Definitions, per group:

- **accuracy**: correct / answered, over records whose ``correct`` is not null (a sample with a
  gold letter that was answered). Also per ``task_type`` and per ``duration_bucket``. Each comes
  with a 95% **Wilson score interval** (Wilson 1927): unlike the normal approximation
  ``p +- 1.96 sqrt(p(1-p)/n)`` it stays inside [0, 1] and is not zero-width at 0/n or n/n, which
  matters for the small per-task groups an evaluation produces.
- Over records whose sample has evidence ``spans`` (``[start_s, end_s]``, inclusive at both ends),
  a chosen frame is *in a span* when its timestamp lies in one of them:

  - **hit@k**: the fraction of records with at least one chosen frame in a span (with its Wilson
    interval);
  - **in-span fraction** (TSPO's temporal reward R_T): per record, chosen frames in spans / chosen
    frames; averaged over records;
  - **span recall**: per record, the fraction of the sample's spans that hold at least one chosen
    frame (a needle split into 3 spans, 2 of them seen: 2/3); averaged over records. It measures
    whether *every* piece of evidence was seen, which hit@k (any piece) does not.

- **near-duplicates** (redundancy, issue 8): per record, ``near_duplicates`` is the number of
  consecutive pairs of chosen frames (in time order) whose features' cosine similarity reaches
  :data:`framepick.select.dedup.NEAR_DUPLICATE_THRESHOLD` (written by ``framepick eval``);
  **near-dup pairs** is its mean over the group's records and **near-dup share** the pooled
  fraction of neighbour pairs that are near-duplicates (so k = 8 and k = 32 compare). Records
  without the field (older runs) are left out of both.
- **efficiency** (means over the group's records): candidates the method chose from, selection
  seconds (``timings_seconds.select``), answer seconds, and frames sent to the answerer.

:func:`compute_metrics` returns :class:`GroupMetrics` objects (``to_dict()`` for JSON);
:func:`format_table` renders the summary ``framepick eval`` prints.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from framepick.spans import frames_in_spans, span_hits

Z_95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n``; (nan, nan) when ``n == 0``.

    ``centre = (p + z^2/2n) / (1 + z^2/n)``, ``half = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)``.
    """
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Proportion:
    """``successes`` of ``n``, with its value and 95% Wilson interval (nan when n is 0)."""

    successes: int
    n: int
    value: float
    low: float
    high: float

    @classmethod
    def of(cls, successes: int, n: int) -> Proportion:
        low, high = wilson_interval(successes, n)
        return cls(successes, n, successes / n if n else math.nan, low, high)


@dataclass(frozen=True)
class GroupMetrics:
    """The metrics of one (method, k, query) group; see the module docstring for definitions."""

    method: str
    k: int
    query: str
    records: int
    accuracy: Proportion
    by_task_type: dict[str, Proportion] = field(default_factory=dict)
    by_duration_bucket: dict[str, Proportion] = field(default_factory=dict)
    hit_at_k: Proportion | None = None
    """None when no record of the group has spans."""
    in_span_fraction: float | None = None
    span_recall: float | None = None
    records_with_spans: int = 0
    mean_candidates: float = math.nan
    mean_select_seconds: float = math.nan
    mean_answer_seconds: float = math.nan
    mean_frames_sent: float = math.nan
    near_duplicate_pairs: float | None = None
    """Mean near-duplicate neighbour pairs per record; None when no record measured them."""
    near_duplicate_share: float | None = None
    """Near-duplicate neighbour pairs / all neighbour pairs, pooled over the group's records."""

    def to_dict(self) -> dict[str, Any]:
        return _finite(asdict(self))


def _finite(value: Any) -> Any:
    """nan -> None, recursively, so the result is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def compute_metrics(records: Iterable[Mapping[str, Any]]) -> list[GroupMetrics]:
    """Metrics per (method, k, query), in the order methods first appear, then k, then query."""
    groups: dict[tuple[str, int, str], list[Mapping[str, Any]]] = {}
    method_order: dict[str, int] = {}
    for record in records:
        key = (str(record["method"]), int(record["k"]), str(record["query"]))
        method_order.setdefault(key[0], len(method_order))
        groups.setdefault(key, []).append(record)
    ordered = sorted(groups, key=lambda key: (method_order[key[0]], key[1], key[2]))
    return [_group_metrics(key, groups[key]) for key in ordered]


def _group_metrics(key: tuple[str, int, str], records: list[Mapping[str, Any]]) -> GroupMetrics:
    answered = [r for r in records if r.get("correct") is not None]
    accuracy = Proportion.of(sum(bool(r["correct"]) for r in answered), len(answered))
    by_task = _proportions_by(answered, lambda r: r.get("task_type"))
    by_bucket = _proportions_by(answered, lambda r: r.get("duration_bucket"))

    with_spans = [r for r in records if r.get("spans")]
    hit = in_span = recall = None
    if with_spans:
        hits, fractions, recalls = 0, [], []
        for record in with_spans:
            times = [f["timestamp"] for f in record["frames"] if f.get("timestamp") is not None]
            inside = frames_in_spans(times, record["spans"])
            hits += any(inside)
            fractions.append(sum(inside) / len(inside) if inside else 0.0)
            covered = span_hits(times, record["spans"])
            recalls.append(sum(covered) / len(covered))
        hit = Proportion.of(hits, len(with_spans))
        in_span = sum(fractions) / len(fractions)
        recall = sum(recalls) / len(recalls)

    dup_pairs, dup_share = _near_duplicates(records)
    return GroupMetrics(
        method=key[0],
        k=key[1],
        query=key[2],
        records=len(records),
        accuracy=accuracy,
        by_task_type=by_task,
        by_duration_bucket=by_bucket,
        hit_at_k=hit,
        in_span_fraction=in_span,
        span_recall=recall,
        records_with_spans=len(with_spans),
        mean_candidates=_mean(r.get("candidates") for r in records),
        mean_select_seconds=_mean((r.get("timings_seconds") or {}).get("select") for r in records),
        mean_answer_seconds=_mean((r.get("timings_seconds") or {}).get("answer") for r in records),
        mean_frames_sent=_mean(r.get("frames_sent") for r in records),
        near_duplicate_pairs=dup_pairs,
        near_duplicate_share=dup_share,
    )


def _near_duplicates(records: list[Mapping[str, Any]]) -> tuple[float | None, float | None]:
    measured = [r for r in records if r.get("near_duplicates") is not None]
    if not measured:
        return None, None
    pairs = sum(int(r["near_duplicates"]) for r in measured)
    neighbours = sum(max(len(r.get("frames") or ()) - 1, 0) for r in measured)
    return pairs / len(measured), (pairs / neighbours if neighbours else None)


def _proportions_by(records: list[Mapping[str, Any]], label) -> dict[str, Proportion]:
    counts: dict[str, list[int]] = {}
    for record in records:
        name = label(record)
        if name is None:
            continue
        tally = counts.setdefault(str(name), [0, 0])
        tally[0] += bool(record["correct"])
        tally[1] += 1
    return {name: Proportion.of(*counts[name]) for name in sorted(counts)}


def _mean(values: Iterable[Any]) -> float:
    numbers = [float(v) for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else math.nan


def _pct(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.1f}"


def format_table(metrics: Sequence[GroupMetrics]) -> str:
    """A plain-text summary: one row per (method, k, query); percentages, CI in brackets."""
    header = ("method", "k", "query", "n", "acc% [95% CI]", "hit@k%", "in-span%", "span-rec%", "dup pairs", "cands", "select ms", "answer ms", "sent")
    rows = [header]
    for m in metrics:
        acc = m.accuracy
        acc_text = "-" if acc.n == 0 else f"{_pct(acc.value)} [{_pct(acc.low)}, {_pct(acc.high)}]"
        rows.append(
            (
                m.method,
                str(m.k),
                m.query,
                str(m.records),
                acc_text,
                _pct(None if m.hit_at_k is None else m.hit_at_k.value),
                _pct(m.in_span_fraction),
                _pct(m.span_recall),
                "-" if m.near_duplicate_pairs is None else f"{m.near_duplicate_pairs:.2f}",
                "-" if not math.isfinite(m.mean_candidates) else f"{m.mean_candidates:.0f}",
                "-" if not math.isfinite(m.mean_select_seconds) else f"{1000 * m.mean_select_seconds:.2f}",
                "-" if not math.isfinite(m.mean_answer_seconds) else f"{1000 * m.mean_answer_seconds:.2f}",
                "-" if not math.isfinite(m.mean_frames_sent) else f"{m.mean_frames_sent:.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summarize(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per (method, k, query), for the report's summary table.

    Keys: method, k, query, n (records), answered, accuracy, accuracy_low, accuracy_high,
    with_spans, hit_at_k, hit_low, hit_high, in_span, span_recall, near_dup_pairs,
    near_dup_share, candidates, select_ms, answer_ms, frames_sent; a metric no record could measure is None. Per-task and per-bucket
    accuracies are in :func:`compute_metrics`' :class:`GroupMetrics`.
    """
    rows = []
    for m in compute_metrics(records):
        hit = m.hit_at_k
        rows.append(
            _finite(
                {
                    "method": m.method,
                    "k": m.k,
                    "query": m.query,
                    "n": m.records,
                    "answered": m.accuracy.n,
                    "accuracy": m.accuracy.value,
                    "accuracy_low": m.accuracy.low,
                    "accuracy_high": m.accuracy.high,
                    "with_spans": m.records_with_spans,
                    "hit_at_k": None if hit is None else hit.value,
                    "hit_low": None if hit is None else hit.low,
                    "hit_high": None if hit is None else hit.high,
                    "in_span": m.in_span_fraction,
                    "span_recall": m.span_recall,
                    "near_dup_pairs": m.near_duplicate_pairs,
                    "near_dup_share": m.near_duplicate_share,
                    "candidates": m.mean_candidates,
                    "select_ms": 1000 * m.mean_select_seconds,
                    "answer_ms": 1000 * m.mean_answer_seconds,
                    "frames_sent": m.mean_frames_sent,
                }
            )
        )
    return rows
