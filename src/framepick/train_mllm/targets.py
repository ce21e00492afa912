"""Supervision in seconds (PeakClips key clips, evidence spans, scene captions) as replies over shown frames.

The model sees ``n`` frames numbered ``0..n-1`` (:mod:`framepick.clip_model`); a label is a span of
seconds. At inference a clip over shown frames ``a..b`` stands for the time from shown frame ``a``
up to shown frame ``b + 1`` (:func:`framepick.clip_model.clips_on_candidates`), so a span
``[s, e]`` is written as the smallest such clip that covers it: ``a`` the last shown frame at or
before ``s`` (the first when ``s`` is earlier), ``b`` the last shown frame at or before ``e``.

Replies follow the paper's format (Fig. 13, Appendix E.3), one clip a line, chronological::

    <time>frames 3-5, P1,</time><reason>The man enters from the left.</reason>

Key clips that land on overlapping shown frames (two short clips between the same two shown
frames) become one clip: the earlier start, the later end, P1 if either is P1, the reasons joined
with a space. The paper's clips are disjoint scenes; over a coarser frame grid they may not be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from framepick.data.key_clips import KeyClip, finite_number
from framepick.errors import InvalidArgumentError

@dataclass(frozen=True)
class ShownClip:
    """A clip over shown frames ``start..end`` (inclusive) with its tag and reason."""

    start: int
    end: int
    priority: str
    reason: str = ""


@dataclass(frozen=True)
class LabelledScene:
    """One scene of ``framepick data peakclips`` (``extra.peakclips.scenes``): its caption and relevance."""

    start_seconds: float
    end_seconds: float
    caption: str | None
    llm_score: int | None
    """The MLLM's 1-5 relevance of the scene to the question (Fig. 8), before the similarity refinement."""
    reason: str = ""


def read_scenes(extra: Mapping[str, Any]) -> tuple[LabelledScene, ...]:
    """``extra["peakclips"]["scenes"]`` in time order (absent: ``()``); an error naming a bad scene."""
    peakclips = extra.get("peakclips")
    raw = peakclips.get("scenes") if isinstance(peakclips, Mapping) else None
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidArgumentError(f"extra.peakclips.scenes must be a list, got {type(raw).__name__}")
    scenes = []
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"peakclips scene {number} must be an object")
        start = finite_number(entry.get("start_seconds"), f"peakclips scene {number} start_seconds")
        end = finite_number(entry.get("end_seconds"), f"peakclips scene {number} end_seconds")
        if end < start:
            raise InvalidArgumentError(f"peakclips scene {number} [{start}, {end}] is not a span of seconds")
        caption = entry.get("caption")
        caption = " ".join(caption.split()) if isinstance(caption, str) and caption.strip() else None
        score = entry.get("llm_score")
        if score is not None and (isinstance(score, bool) or score not in (1, 2, 3, 4, 5)):
            raise InvalidArgumentError(f"peakclips scene {number}: llm_score must be 1-5, got {score!r}")
        reason = entry.get("reason") if isinstance(entry.get("reason"), str) else ""
        scenes.append(LabelledScene(start, end, caption, None if score is None else int(score), " ".join(reason.split())))
    return tuple(sorted(scenes, key=lambda scene: (scene.start_seconds, scene.end_seconds)))


def relevance_tag(llm_score: int) -> str:
    """Fig. 13's tag for a 1-5 relevance score: 5 -> P1 (directly answers) ... 1 -> P5 (irrelevant)."""
    return f"P{6 - int(llm_score)}"


def shown_span(start_seconds: float, end_seconds: float, shown_times: Sequence[float]) -> tuple[int, int]:
    """The smallest clip over shown frames that covers ``[start, end]`` seconds (module docstring)."""
    times = np.asarray(shown_times, dtype=np.float64)
    if times.size == 0:
        raise InvalidArgumentError("no shown frames to place a span on")
    first = max(0, int(np.searchsorted(times, start_seconds, side="right")) - 1)
    last = max(first, int(np.searchsorted(times, end_seconds, side="right")) - 1)
    return first, last


def clips_on_shown(clips: Sequence[KeyClip], shown_times: Sequence[float]) -> tuple[ShownClip, ...]:
    """Key clips over shown frames, chronological and disjoint (overlaps merged, module docstring)."""
    placed = sorted(
        (ShownClip(*shown_span(c.start_seconds, c.end_seconds, shown_times), c.priority, c.reason) for c in clips),
        key=lambda c: (c.start, c.end),
    )
    merged: list[ShownClip] = []
    for clip in placed:
        if merged and clip.start <= merged[-1].end:
            last = merged[-1]
            priority = "P1" if "P1" in (last.priority, clip.priority) else "P2"
            reason = " ".join(r for r in (last.reason, clip.reason) if r)
            merged[-1] = ShownClip(last.start, max(last.end, clip.end), priority, reason)
        else:
            merged.append(clip)
    return tuple(merged)


def clip_line(start: int, end: int, priority: str | None = None, reason: str | None = None) -> str:
    """``<time>frames s-e, P1,</time><reason>..</reason>`` (no tag/reason: ``<time>frames s-e</time>``)."""
    if priority is None:
        return f"<time>frames {start}-{end}</time>"
    return f"<time>frames {start}-{end}, {priority},</time><reason>{reason or ''}</reason>"


def render_reply(clips: Sequence[ShownClip]) -> str:
    """The key-clip reply the Fig. 14 prompt asks for, one clip a line."""
    if not clips:
        raise InvalidArgumentError("a key-clip reply needs at least one clip")
    return "\n".join(clip_line(c.start, c.end, c.priority, c.reason) for c in clips)
