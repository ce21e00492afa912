"""Reading JSON and JSON Lines files: one reader each, and an explicit rule for a damaged line.

Writing is :mod:`framepick.export`'s (whole files, atomically); the evaluation's durable appends are
:class:`framepick.eval.records.JsonlAppender`.

Every file is read as UTF-8 with a leading byte-order mark ignored (Windows editors add one), and
an unreadable file is an :class:`~framepick.errors.InvalidArgumentError` that names it in one line.

A JSON Lines file is streamed line by line, split on ``\\n`` (``\\r\\n`` too) only: never on the
Unicode line separators ``str.splitlines`` also splits on, which a JSON string may hold raw
(``json.dumps(..., ensure_ascii=False)`` writes U+2028 as is). Line numbers count from 1, as an
editor shows them. Then:

- a blank line (whitespace only) is skipped, by every reader: writers never emit one, editors do;
- a line that is not JSON, or with ``objects_only`` not a JSON object, is a :class:`BadLine`.
  Without ``on_bad`` it raises; a caller that can go on passes ``on_bad`` and says what such a
  line means to it. A bad *last* line without its newline is marked ``torn``: that is what a
  process killed in the middle of an append leaves, not damage.

What the callers choose: the evaluation's records raise (the runner truncates a torn last line
first, :func:`framepick.eval.records.repair_jsonl`); the run reader behind ``report`` counts them
and warns (a run still being written may end in a torn line); benchmark annotations and
manifests report them as malformed rows; the training loop's metrics log drops them (it rewrites
the file from the rows it keeps).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from framepick.errors import InvalidArgumentError, one_line


@dataclass(frozen=True)
class BadLine:
    """A line of a JSON Lines file that is not what the reader asked for."""

    number: int
    """1-based line number."""
    reason: str
    """``not JSON (<what the parser said>)`` or ``not a JSON object``."""
    torn: bool
    """The last line, without its newline: a write cut short, not damage."""

    @property
    def where(self) -> str:
        return f"line {self.number}"


def iter_jsonl(
    path: str | Path,
    *,
    on_bad: Callable[[BadLine], None] | None = None,
    objects_only: bool = True,
    what: str = "",
) -> Iterator[tuple[int, Any]]:
    """(line number, value) for every non-blank line of a JSON Lines file, read as it is consumed.

    A bad line (see the module's rules) goes to ``on_bad`` and is skipped; without ``on_bad`` it
    raises ``InvalidArgumentError("'PATH' line N is not JSON (...)")``. ``objects_only`` makes a
    value that is not a JSON object a bad line; without it every JSON value is yielded, for a
    caller that validates rows itself. ``what`` names the file in errors (``manifest 'x.jsonl'
    cannot be read as UTF-8 text ...``).
    """
    name = _name(path, what)
    try:
        handle = open(path, encoding="utf-8-sig")
    except OSError as exc:
        raise _unreadable(name, exc) from None
    with handle:
        number = 0
        while True:
            try:
                line = handle.readline()
            except (OSError, UnicodeDecodeError) as exc:
                raise _unreadable(name, exc) from None
            if not line:
                return
            number += 1
            if not line.strip():
                continue
            torn = not line.endswith("\n")  # only the last line can lack it
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                bad = BadLine(number, f"not JSON ({exc.msg})", torn)
            else:
                if not objects_only or isinstance(value, dict):
                    yield number, value
                    continue
                bad = BadLine(number, "not a JSON object", torn)
            if on_bad is None:
                raise InvalidArgumentError(f"{name} {bad.where} is {bad.reason}")
            on_bad(bad)


def read_json(path: str | Path, *, what: str = "") -> Any:
    """The value a whole JSON file holds; an unreadable or invalid file raises one line naming it."""
    name = _name(path, what)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(name, exc) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _name(path: str | Path, what: str) -> str:
    quoted = repr(str(path))
    return f"{what} {quoted}" if what else quoted


def _unreadable(name: str, exc: BaseException) -> InvalidArgumentError:
    return InvalidArgumentError(f"{name} cannot be read as UTF-8 text ({one_line(exc, with_type=False, os_reason=True)})")
