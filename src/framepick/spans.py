"""Evidence spans: which chosen frames fall inside ``[start_s, end_s]`` spans (ends included).

Pure functions on timestamps in seconds, shared by the evaluation metrics (hit@k, in-span
fraction, span recall), the training rewards (TSPO's R_T) and the training episodes.
"""

from __future__ import annotations

from typing import Sequence


def frames_in_spans(timestamps: Sequence[float], spans: Sequence[Sequence[float]]) -> list[bool]:
    """For each timestamp, whether it lies in some ``[start, end]`` span (ends included)."""
    return [any(start <= t <= end for start, end in spans) for t in timestamps]


def span_hits(timestamps: Sequence[float], spans: Sequence[Sequence[float]]) -> list[bool]:
    """For each span, whether some timestamp lies in it."""
    return [any(start <= t <= end for t in timestamps) for start, end in spans]
