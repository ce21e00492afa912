"""Evaluation: run methods x budgets over samples (:func:`run_eval`), metrics from the records.

- :mod:`framepick.eval.runner`: the resumable runner behind ``framepick eval``;
- :mod:`framepick.eval.queries`: what selection looks for in a sample (``--query``);
- :mod:`framepick.eval.answering`: answers from embeddings, the answer cache or the model, many in flight;
- :mod:`framepick.eval.records`: the run folder's files and their formats;
- :mod:`framepick.eval.metrics`: accuracy with Wilson intervals, span hits, efficiency.

Importing this package is cheap; the runner loads encoders when it runs.
"""

from __future__ import annotations

from framepick.eval.metrics import GroupMetrics, Proportion, compute_metrics, format_table, wilson_interval
from framepick.eval.records import RECORD_KEYS, TIMELINE_KEYS, read_records, read_timelines
from framepick.eval.runner import (
    DEFAULT_KS,
    DEFAULT_METHODS,
    EvalSummary,
    MethodSpec,
    parse_ks,
    parse_method_specs,
    run_eval,
)

__all__ = [
    "DEFAULT_KS",
    "DEFAULT_METHODS",
    "EvalSummary",
    "GroupMetrics",
    "MethodSpec",
    "Proportion",
    "RECORD_KEYS",
    "TIMELINE_KEYS",
    "compute_metrics",
    "format_table",
    "parse_ks",
    "parse_method_specs",
    "read_records",
    "read_timelines",
    "run_eval",
    "wilson_interval",
]
