"""The key-clip data contract: a manifest row's ``extra["key_clips"]``, read once for everyone.

``framepick data peakclips`` writes them (:func:`framepick.data.peakclips.key_clips`); K-frames'
clip-predictor training (``framepick train kframes-mllm``) learns from them and ``eval
--oracle-clips`` samples from them. Each entry is ``{"start_seconds", "end_seconds", "priority":
"P1"|"P2", "score", "reason"}``, in seconds so that any frame grid can be put on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Candidates, Clip

PRIORITIES = ("P1", "P2")


@dataclass(frozen=True)
class KeyClip:
    """One ``extra.key_clips`` entry, in seconds."""

    start_seconds: float
    end_seconds: float
    priority: str
    reason: str = ""
    score: float | None = None


def finite_number(value: Any, what: str) -> float:
    """``value`` as a float when it is a finite number (not a bool), else an error naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgumentError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def read_key_clips(extra: Mapping[str, Any]) -> tuple[KeyClip, ...]:
    """``extra["key_clips"]`` as :class:`KeyClip` s in time order; an error naming the bad entry.

    Absent gives ``()``. Each entry: ``0 <= start_seconds <= end_seconds``, ``priority`` P1 or P2
    (any case), optional ``reason`` (text, whitespace collapsed) and ``score``.
    """
    raw = extra.get("key_clips")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidArgumentError(f"extra.key_clips must be a list, got {type(raw).__name__}")
    clips = []
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"key clip {number} must be an object, got {type(entry).__name__}")
        start = finite_number(entry.get("start_seconds"), f"key clip {number} start_seconds")
        end = finite_number(entry.get("end_seconds"), f"key clip {number} end_seconds")
        if end < start or start < 0:
            raise InvalidArgumentError(f"key clip {number} [{start}, {end}] is not a span of seconds")
        priority = str(entry.get("priority", "")).strip().upper()
        if priority not in PRIORITIES:
            raise InvalidArgumentError(f"key clip {number}: priority must be P1 or P2, got {entry.get('priority')!r}")
        reason = entry.get("reason") or ""
        if not isinstance(reason, str):
            raise InvalidArgumentError(f"key clip {number}: reason must be text, got {reason!r}")
        score = entry.get("score")
        clips.append(KeyClip(start, end, priority, " ".join(reason.split()),
                             None if score is None else finite_number(score, f"key clip {number} score")))
    return tuple(sorted(clips, key=lambda c: (c.start_seconds, c.end_seconds)))


def key_clips_on(candidates: Candidates, clips: Sequence[KeyClip]) -> tuple[Clip, ...]:
    """Key clips as :class:`~framepick.types.Clip` s over ``candidates`` (with timestamps): what
    K-frames' sampling takes (``select_prepared(..., clips=...)``), on any grid.

    A clip ``[start, end)`` covers the candidates whose time is in it; one that holds no candidate
    (shorter than the grid's spacing) gets the candidate nearest its middle.
    """
    times = np.asarray(candidates.timestamps, dtype=np.float64)
    if times.size == 0:
        raise InvalidArgumentError("there are no candidates to put key clips on")
    placed = []
    for clip in clips:
        start, end = clip.start_seconds, clip.end_seconds
        inside = np.flatnonzero((times >= start) & (times < end))
        if inside.size == 0:
            inside = np.array([int(np.argmin(np.abs(times - (start + end) / 2.0)))])
        placed.append(Clip(int(inside[0]), int(inside[-1]), clip.priority, clip.score, clip.reason or None, start, end))
    return tuple(placed)
