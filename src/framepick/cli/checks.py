"""Checks every subcommand runs on its arguments before any work: inputs, outputs, text, numbers.

A command that fails should fail in its first second, with one line naming the flag, and leave
nothing behind; so paths and values are checked here, up front, not where they are first used
(which may be minutes into a run, after a run folder or a frames folder exists).
"""

from __future__ import annotations

import argparse
import errno
import math
import os
from pathlib import Path
from typing import Iterable, Mapping

from framepick.filekind import file_kind
from framepick.errors import InvalidArgumentError, one_line

MAX_CANDIDATES = 1_000_000
"""A candidate grid beyond a million frames is a typo, not a request: every candidate is decoded
and embedded, so the run would take days before it used the memory it needs."""


# -- numbers (argparse types: a bad value is a usage error before the command starts) -----------


def seed_arg(text: str) -> int:
    """--seed: numpy's generators take 0 .. 2**63-1; a negative seed would fail only after the work."""
    value = _int(text)
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**63-1, got {text!r}")
    return value


def positive_int_arg(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def candidates_arg(text: str) -> int:
    value = positive_int_arg(text)
    if value > MAX_CANDIDATES:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CANDIDATES}, got {text!r}")
    return value


def fps_arg(text: str) -> float:
    """--fps: a positive finite rate. How dense a grid may be (any rate under --max-candidates, at
    most :data:`framepick.video.candidates.MAX_UNCAPPED_FPS` without it) is the grid's own rule,
    checked with the other grid flags by :func:`framepick.cli.common.finish_grid_args`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of frames per second, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


# -- text ---------------------------------------------------------------------------------------


def check_text(value: str | None, flag: str) -> None:
    """Refuse text that is not valid UTF-8 (Python keeps such argv bytes as lone surrogates).

    Those strings cannot be encoded for a tokenizer or written to JSON, so they would fail deep
    in an encoder with an unrelated TypeError.
    """
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            f"{flag} is not valid UTF-8 text (byte {_bad_byte(value, exc.start)} at character {exc.start})"
        ) from None


def _bad_byte(value: str, position: int) -> str:
    code = ord(value[position])
    return f"0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"


# -- input paths --------------------------------------------------------------------------------


def check_input_file(path: str | os.PathLike | None, flag: str) -> None:
    """A readable regular file, or a one-line error that says what ``path`` is instead."""
    if path is None:
        return
    kind = _path_kind(Path(path))
    if kind != "file":
        raise InvalidArgumentError(f"{flag} {str(path)!r} {_describe(kind)}; expected a file")
    _check_readable(Path(path), flag)


def check_input_dir(path: str | os.PathLike | None, flag: str) -> None:
    if path is None:
        return
    kind = _path_kind(Path(path))
    if kind != "dir":
        raise InvalidArgumentError(f"{flag} {str(path)!r} {_describe(kind)}; expected a folder")


def check_input_path(path: str | os.PathLike | None, flag: str) -> None:
    """A file or a folder (some flags take either), but something that exists and can be read."""
    if path is None:
        return
    kind = _path_kind(Path(path))
    if kind not in ("file", "dir"):
        raise InvalidArgumentError(f"{flag} {str(path)!r} {_describe(kind)}")
    if kind == "file":
        _check_readable(Path(path), flag)


def _path_kind(path: Path) -> str:
    """'file', 'dir', 'missing', 'loop', 'dangling', 'fifo', 'device', 'socket', 'other' or 'error: ...'."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "dangling" if os.path.islink(path) else "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "loop"
        if exc.errno == errno.ENOTDIR:
            return "missing"
        return f"error: {one_line(exc, with_type=False, os_reason=True)}"
    return file_kind(info.st_mode)


def _describe(kind: str) -> str:
    return {
        "missing": "does not exist",
        "dangling": "is a symbolic link to a path that does not exist",
        "loop": "is a symbolic link loop (too many levels of links)",
        "dir": "is a folder",
        "file": "is a file",
        "fifo": "is a named pipe (FIFO), not a regular file",
        "device": "is a device, not a regular file",
        "socket": "is a socket, not a regular file",
        "other": "is not a regular file",
    }.get(kind, f"cannot be read ({kind.removeprefix('error: ')})")


def _check_readable(path: Path, flag: str) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InvalidArgumentError(f"{flag} {str(path)!r} cannot be read ({one_line(exc, with_type=False, os_reason=True)})") from None


def run_dir_inputs(run_dir: str | os.PathLike) -> dict[str, Path]:
    """The files an evaluation run folder is read from, by the name a message should give them.

    Its records, timelines and config, and the manifest its config names (which ``report`` and
    ``export`` read when no --manifest is given): an output landing on any of them is refused.
    """
    from framepick.eval import records as rec

    folder = Path(run_dir)
    inputs = {f"RUN_DIR file {name}": folder / name for name in (rec.RECORDS_FILE, rec.TIMELINES_FILE, rec.CONFIG_FILE)}
    try:
        manifest = (rec.read_json(folder / rec.CONFIG_FILE) or {}).get("manifest")
    except InvalidArgumentError:  # an unreadable config is the reader's error to report
        manifest = None
    if isinstance(manifest, str) and manifest:
        inputs["manifest named in RUN_DIR/config.json"] = Path(manifest)
    return inputs


# -- output paths -------------------------------------------------------------------------------


def check_outputs(
    outputs: Mapping[str, str | os.PathLike | None],
    inputs: Mapping[str, str | os.PathLike | None] = {},  # noqa: B006 - read only
    *,
    folders: Iterable[str] = (),
) -> None:
    """No output overwrites an input or another output, and each can be created where it points.

    ``outputs`` and ``inputs`` map a flag (as the user typed it) to a path; ``folders`` names the
    outputs that are folders (their parent must exist; they may exist already). Paths are compared
    resolved (so ``./a`` and a symlink to ``a`` are one file) and, where both exist, with
    ``samefile`` (so a hard link is too). Nothing is created here.
    """
    folder_flags = set(folders)
    given_outputs = [(flag, Path(path)) for flag, path in outputs.items() if path is not None]
    given_inputs = [(flag, Path(path)) for flag, path in inputs.items() if path is not None]
    for number, (flag, path) in enumerate(given_outputs):
        for in_flag, in_path in given_inputs:
            if _same_path(path, in_path):
                raise InvalidArgumentError(
                    f"{flag} {str(path)!r} is the input {in_flag}; an output may not overwrite an input"
                )
        for other_flag, other in given_outputs[:number]:
            if _same_path(path, other):
                raise InvalidArgumentError(f"{flag} and {other_flag} name the same path {str(path)!r}")
        check_output_location(path, flag, folder=flag in folder_flags)


def check_output_location(path: Path, flag: str, *, folder: bool = False) -> None:
    """The output's folder exists and is writable, and the path is not something else already."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    kind = _path_kind(path)
    if folder and kind not in ("dir", "missing"):
        raise InvalidArgumentError(f"{flag} {str(path)!r} {_describe(kind)}; expected a folder")
    if not folder and kind not in ("file", "missing"):
        raise InvalidArgumentError(f"{flag} {str(path)!r} {_describe(kind)}; expected a file to write")
    if kind == "dir":
        parent = path  # an existing folder receives the files: it is the one that must be writable
    elif folder:
        parent = _nearest_existing(parent)  # output folders are made with their parents
        if _path_kind(parent) != "dir":
            raise InvalidArgumentError(f"{flag} {str(path)!r}: {str(parent)!r} {_describe(_path_kind(parent))}, not a folder")
    elif _path_kind(parent) != "dir":
        raise InvalidArgumentError(f"{flag} {str(path)!r}: folder {str(parent)!r} does not exist")
    # access() reports a read-only file system (EROFS) even to root, for whom chmod means nothing.
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidArgumentError(f"{flag} {str(path)!r}: folder {str(parent)!r} is not writable{_why(parent)}")


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _why(folder: Path) -> str:
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return " (read-only file system)"
    except OSError:
        pass
    return ""


def _same_path(a: Path, b: Path) -> bool:
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop resolves to nothing: it cannot be the same file
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False
