"""Clock times (``75``, ``1:15``, ``01:15.5``) and time spans (``03:45-04:10``) in seconds."""

from __future__ import annotations

import re

_CLOCK = re.compile(r"^\d+(?:\.\d+)?$|^\d+(?::\d{1,2}(?:\.\d+)?){1,2}$")


def clock_to_seconds(text: str) -> float:
    """"75" -> 75.0, "03:45" -> 225.0, "1:02:03.5" -> 3723.5; ValueError otherwise.

    Minutes may exceed 59 ("75:10"), as in annotations of videos over an hour written as mm:ss.
    """
    text = text.strip()
    if not _CLOCK.match(text):
        raise ValueError(f"{text!r} is not a time (s, mm:ss or h:mm:ss)")
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_time_spans(text: str) -> tuple[tuple[float, float], ...]:
    """Spans like "03:45-04:10" (several separated by "," or ";") in seconds.

    A single time ("03:45") is a zero-length span at that time. Raises ValueError naming the part
    that does not parse, or a span that ends before it starts.
    """
    spans = []
    for part in re.split(r"[,;]", text):
        part = part.strip()
        if not part:
            continue
        pieces = re.split(r"\s*(?:-|–|~|to)\s*", part)
        if len(pieces) == 1:
            start = end = clock_to_seconds(pieces[0])
        elif len(pieces) == 2:
            start, end = clock_to_seconds(pieces[0]), clock_to_seconds(pieces[1])
        else:
            raise ValueError(f"{part!r} is not a time span (start-end)")
        if end < start:
            raise ValueError(f"span {part!r} ends before it starts")
        spans.append((start, end))
    return tuple(spans)
