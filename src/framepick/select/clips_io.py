"""Read key clips from JSON or from a K-frames model's text output, and write them back as JSON.

The K-frames model answers with one ``<time>s-e, P1|P2,</time><reason>...</reason>`` per clip
(paper 000, Fig 13-14 and Appendix E.3), e.g.::

    <time>84-89, P2,</time><reason>This scene ...</reason>
    <time>frames 102-115, P1,</time><reason>...</reason>

Ranges are inclusive frame indices over the T frames the model was shown (T = 256 uniformly
sampled frames in the paper), i.e. candidate positions. The paper's formulas write f_1 .. f_T,
but its prompts fill ``frames {start_idx}-{end_idx}`` from Python scene records whose first frame
is ``"start_frame": 0`` (Appendix C.2), so the model's indices are 0-based: ``index_base=0`` is the
default; pass ``index_base=1`` for 1-based clips. Tags P3-P5 (the stage-1 relevance scale of
Fig 13: context, weak or irrelevant) are not key clips and are skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from framepick.errors import InvalidArgumentError, one_line
from framepick.types import Clip

TEXT_FORMAT = "'<time>start-end, P1|P2,</time><reason>...</reason>'"

_TIME = re.compile(r"<time>(.*?)</time>", re.IGNORECASE | re.DOTALL)
_REASON = re.compile(r"\A[\s*_]*<reason>(.*?)</reason>", re.IGNORECASE | re.DOTALL)
_RANGE = re.compile(
    r"\A(?:frames?\s*)?(\d+)\s*(?:-|–|—|to)\s*(\d+)\s*(?:,\s*)?(?:P\s*(\d))?\s*,?\s*\Z", re.IGNORECASE
)
# The untagged form the Fig 14 prompt asks for: "start_idx-end_idx, P1|P2, short reason".
_LINE = re.compile(
    r"^[\s*\-•]*(?:frames?\s*)?(\d+)\s*(?:-|–|—|to)\s*(\d+)\s*,\s*P\s*(\d)\s*,?\s*(.*?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def _strip_markdown(text: str) -> str:
    return text.replace("**", "").replace("__", "").strip().strip("*").strip()


def _make_clip(
    number: int,
    start: int,
    end: int,
    priority: str,
    *,
    index_base: int,
    num_candidates: int | None,
    score: float | None = None,
    reason: str | None = None,
    start_seconds: float | None = None,
    end_seconds: float | None = None,
) -> Clip:
    start, end = start - index_base, end - index_base
    if start > end:
        raise InvalidArgumentError(f"clip {number}: start {start + index_base} is after end {end + index_base}")
    if start < 0 or (num_candidates is not None and end >= num_candidates):
        top = "" if num_candidates is None else f", {num_candidates - 1 + index_base}"
        raise InvalidArgumentError(
            f"clip {number} [{start + index_base}, {end + index_base}] is outside the candidates "
            f"[{index_base}{top}] (index_base={index_base})"
        )
    return Clip(
        start_index=start,
        end_index=end,
        priority=priority,  # type: ignore[arg-type]
        score=score,
        reason=reason or None,
        start_seconds=start_seconds,
        end_seconds=end_seconds,
    )


def _check_base(index_base: int) -> None:
    if index_base not in (0, 1) or isinstance(index_base, bool):
        raise InvalidArgumentError(f"index_base must be 0 or 1, got {index_base!r}")


def parse_clips_text(text: str, *, num_candidates: int | None = None, index_base: int = 0) -> tuple[Clip, ...]:
    """Clips from a K-frames model's answer, in the order written.

    Tolerates whitespace and newlines anywhere, markdown bold around tags and inside reasons, an
    optional ``frames`` before the range, a missing ``<reason>``, and the untagged line form
    ``84-89, P2, reason``. Raises :class:`InvalidArgumentError` naming the expected form when a
    ``<time>`` tag cannot be read or no clip is found.
    """
    _check_base(index_base)
    tags = list(_TIME.finditer(text))
    if not tags:
        if "<time>" in text.lower():
            raise InvalidArgumentError(f"unclosed <time> tag in clip text; expected {TEXT_FORMAT}")
        return _parse_lines(text, num_candidates, index_base)
    if len(tags) != text.lower().count("<time>"):
        raise InvalidArgumentError(f"unclosed <time> tag in clip text; expected {TEXT_FORMAT}")
    clips: list[Clip] = []
    for number, tag in enumerate(tags, start=1):
        body = _strip_markdown(tag.group(1))
        match = _RANGE.match(body)
        if match is None:
            raise InvalidArgumentError(
                f"clip {number}: cannot read <time>{tag.group(1).strip()}</time>; expected integer "
                f"frame indices as {TEXT_FORMAT}"
            )
        start, end, tag_level = match.groups()
        if tag_level is None:
            raise InvalidArgumentError(f"clip {number}: <time>{body}</time> has no priority; expected {TEXT_FORMAT}")
        following = text[tag.end() : tags[number].start() if number < len(tags) else len(text)]
        reason_match = _REASON.match(following)
        reason = _strip_markdown(reason_match.group(1)) if reason_match else None
        if tag_level in ("1", "2"):
            clips.append(
                _make_clip(
                    number, int(start), int(end), "P" + tag_level,
                    index_base=index_base, num_candidates=num_candidates, reason=reason,
                )
            )
    return tuple(clips)


def _parse_lines(text: str, num_candidates: int | None, index_base: int) -> tuple[Clip, ...]:
    matches = list(_LINE.finditer(text))
    if not matches:
        raise InvalidArgumentError(f"no key clip found in clip text; expected {TEXT_FORMAT}")
    clips = []
    for number, match in enumerate(matches, start=1):
        start, end, level, reason = match.groups()
        if level in ("1", "2"):
            clips.append(
                _make_clip(
                    number, int(start), int(end), "P" + level,
                    index_base=index_base, num_candidates=num_candidates, reason=_strip_markdown(reason),
                )
            )
    return tuple(clips)


def _integer(number: int, entry: dict, keys: tuple[str, ...]) -> int:
    for key in keys:
        if key in entry:
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
                raise InvalidArgumentError(f"clip {number}: {key} must be an integer frame index, got {value!r}")
            return int(value)
    raise InvalidArgumentError(f"clip {number}: missing {' or '.join(repr(k) for k in keys)}")


def _optional_float(number: int, entry: dict, key: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"clip {number}: {key} must be a number or null, got {value!r}")
    return float(value)


def parse_clips_json(
    source: str | bytes | list | dict, *, num_candidates: int | None = None, index_base: int = 0
) -> tuple[Clip, ...]:
    """Clips from JSON: a list of objects, or an object with a ``"clips"`` list.

    Each object has ``start_index``/``end_index`` (or ``start``/``end``), ``priority`` ("P1" or
    "P2", any case) and optionally ``score``, ``reason``, ``start_seconds``, ``end_seconds``.
    ``source`` is JSON text or the already-parsed value.
    """
    _check_base(index_base)
    data: Any = source
    if isinstance(source, (str, bytes)):
        try:
            data = json.loads(source)
        except json.JSONDecodeError as error:
            raise InvalidArgumentError(f"clips are not valid JSON: {error}") from None
    if isinstance(data, dict) and "clips" in data:
        data = data["clips"]
    if not isinstance(data, list):
        raise InvalidArgumentError(f"clips JSON must be a list of clip objects, got {type(data).__name__}")
    clips = []
    for number, entry in enumerate(data, start=1):
        if not isinstance(entry, dict):
            raise InvalidArgumentError(f"clip {number} must be an object, got {type(entry).__name__}")
        priority = str(entry.get("priority", "")).strip().upper()
        if priority not in ("P1", "P2"):
            raise InvalidArgumentError(f"clip {number}: priority must be 'P1' or 'P2', got {entry.get('priority')!r}")
        reason = entry.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise InvalidArgumentError(f"clip {number}: reason must be a string or null, got {reason!r}")
        clips.append(
            _make_clip(
                number,
                _integer(number, entry, ("start_index", "start")),
                _integer(number, entry, ("end_index", "end")),
                priority,
                index_base=index_base,
                num_candidates=num_candidates,
                score=_optional_float(number, entry, "score"),
                reason=reason,
                start_seconds=_optional_float(number, entry, "start_seconds"),
                end_seconds=_optional_float(number, entry, "end_seconds"),
            )
        )
    return tuple(clips)


def parse_clips(source: str, *, num_candidates: int | None = None, index_base: int = 0) -> tuple[Clip, ...]:
    """JSON when ``source`` starts with ``[`` or ``{``, else a K-frames model's text answer."""
    if source.lstrip().startswith(("[", "{")):
        return parse_clips_json(source, num_candidates=num_candidates, index_base=index_base)
    return parse_clips_text(source, num_candidates=num_candidates, index_base=index_base)


def read_clips(path: str | Path, *, num_candidates: int | None = None, index_base: int = 0) -> tuple[Clip, ...]:
    """:func:`parse_clips` on a file's contents (JSON or a K-frames model's text answer)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidArgumentError(
            f"cannot read clips file {str(path)!r}: {one_line(error, with_type=False, os_reason=True)}"
        ) from None
    return parse_clips(text, num_candidates=num_candidates, index_base=index_base)


load_clips = read_clips  # the name DESIGN-style "load" callers may look for


def clips_to_json(clips: Iterable[Clip], *, index_base: int = 0, indent: int | None = 2) -> str:
    """The JSON that :func:`parse_clips_json` reads back (round trip for the same index_base)."""
    _check_base(index_base)
    records = []
    for clip in clips:
        record = clip.to_dict()
        record["start_index"] = clip.start_index + index_base
        record["end_index"] = clip.end_index + index_base
        records.append(record)
    return json.dumps(records, indent=indent)
