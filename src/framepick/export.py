"""Writing results to disk without ever leaving half a file behind.

Every writer builds its output under a temporary name in the destination folder and moves it into
place with one ``os.replace`` at the end, so an interrupted or failed run leaves either the old
file or none, never a truncated one. A command with several outputs stages them all in one
:class:`StagedOutputs` and moves them into place together once the last is written, so a failure
in any of them leaves none.

Every file framepick writes whole goes through these: :func:`atomic_path` (a temporary path for
any writer, e.g. ``torch.save``), :func:`write_text`, :func:`write_json` and
:class:`StagedOutputs`. None of them fsyncs: they guard against a killed or failing process, not a
power cut (the feature cache, which other processes read while it is written, fsyncs on its own;
so do the evaluation's appended JSONL records).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from framepick.errors import FramepickError, one_line


class OutputError(FramepickError):
    """An output path cannot be written."""


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the mode a plain open() would have.
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class StagedOutputs:
    """Several outputs of one command, written under temporary names and moved into place together.

    ``with StagedOutputs() as out: out.write_text(...); out.write_frames_dir(...)`` publishes every
    output when the block ends without an error and removes every staged one otherwise. Staging
    happens in each destination's own folder, so publishing is a rename per output (no copy that
    could run out of space half way).
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path, list[str] | None]] = []
        """(temporary path, destination, file names for a staged folder; None for a file)."""

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.publish()
        else:
            self.discard()

    def stage_file(self, path: Path) -> Path:
        """A temporary file next to ``path`` that becomes ``path`` on :meth:`publish`."""
        path = Path(path)
        parent = _existing_parent(path)
        fd, tmp = _os_call(path, lambda: tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent))
        os.close(fd)
        self._staged.append((Path(tmp), path, None))
        return Path(tmp)

    def write_text(self, path: Path, text: str) -> None:
        tmp = self.stage_file(path)
        _os_call(path, lambda: tmp.write_text(text, encoding="utf-8"))

    def write_frames_dir(
        self,
        folder: Path,
        frames: np.ndarray,
        indices: Sequence[int],
        timestamps: Sequence[float] | None,
        quality: int = 92,
    ) -> list[Path]:
        """Each frame as a JPEG named by its timestamp (:func:`frame_filename`) in ``folder``.

        A new folder appears whole; an existing one keeps its other files and gains ours.
        """
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"cannot write frames to {str(folder)!r}: it is a file")
        parent = _existing_parent(folder)
        staging = Path(_os_call(folder, lambda: tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent)))
        self._staged.append((staging, folder, []))
        names = _os_call(folder, lambda: _save_jpegs(staging, frames, indices, timestamps, quality))
        self._staged[-1] = (staging, folder, names)
        return [folder / name for name in names]

    def write_folder(self, folder: Path, files: dict[str, str]) -> None:
        """Text files (name -> text) in ``folder``: a new folder appears whole, an existing one
        keeps its other files and gains these, each replaced atomically."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"cannot write {str(folder)!r}: it is a file")
        parent = _existing_parent(folder)
        staging = Path(_os_call(folder, lambda: tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=parent)))
        self._staged.append((staging, folder, list(files)))
        for name, text in files.items():
            _os_call(folder, lambda: (staging / name).write_text(text, encoding="utf-8"))

    def write_contact_sheet(
        self, path: Path, frames: np.ndarray, indices: Sequence[int], timestamps: Sequence[float] | None
    ) -> None:
        fmt = sheet_format(path)
        sheet = contact_sheet(frames, indices, timestamps)
        tmp = self.stage_file(path)
        _os_call(path, lambda: sheet.save(tmp, format=fmt, quality=90))

    def publish(self) -> None:
        """Move every staged output into place: one rename each, in its own folder."""
        try:
            for tmp, final, names in self._staged:
                _os_call(final, lambda: _move_into_place(tmp, final, names))
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove whatever is still staged (everything after a failure, nothing after a publish)."""
        for tmp, _, names in self._staged:
            if names is None:
                tmp.unlink(missing_ok=True)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        self._staged.clear()


def _existing_parent(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: folder {str(parent)!r} does not exist")
    return parent


def _os_call(path: Path, call):
    """``call()``, with an OSError turned into an :class:`OutputError` that names ``path``."""
    try:
        return call()
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {one_line(exc, with_type=False, os_reason=True)}") from None


def _move_into_place(tmp: Path, final: Path, names: list[str] | None) -> None:
    if names is None:
        # mkstemp creates 0600 files; give the result the mode a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, final)
    elif not final.exists():
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
        os.replace(tmp, final)
    else:  # an existing folder keeps its other files; ours move in one by one, each atomically
        for name in names:
            os.replace(tmp / name, final / name)


def write_text(path: Path, text: str) -> None:
    """``text`` as UTF-8 at ``path``, atomically: the old file or the new one, never half of one."""
    with StagedOutputs() as out:
        out.write_text(path, text)


def write_json(path: Path, value: Any, *, sort_keys: bool = False) -> None:
    """``value`` as indented JSON ending in a newline, atomically (:func:`write_text`).

    The text is made before anything touches the disk, so a value JSON cannot hold raises with the
    old file untouched and nothing staged.
    """
    write_text(Path(path), json.dumps(value, indent=2, sort_keys=sort_keys) + "\n")


def frame_filename(index: int, timestamp: float | None) -> str:
    """Sortable names that say when the frame is: ``t0000123.456s_f0003703.jpg``."""
    if timestamp is None:
        return f"f{index:07d}.jpg"
    return f"t{timestamp:011.3f}s_f{index:07d}.jpg"


def write_frames_dir(
    folder: Path, frames: np.ndarray, indices: Sequence[int], timestamps: Sequence[float] | None, quality: int = 92
) -> list[Path]:
    """Write each frame as a JPEG named by its timestamp; the folder appears complete or not at all."""
    with StagedOutputs() as out:
        return out.write_frames_dir(folder, frames, indices, timestamps, quality)


def _save_jpegs(
    staging: Path, frames: np.ndarray, indices: Sequence[int], timestamps: Sequence[float] | None, quality: int
) -> list[str]:
    from PIL import Image

    names = []
    for i, frame in enumerate(frames):
        ts = None if timestamps is None else float(timestamps[i])
        name = frame_filename(int(indices[i]), ts)
        Image.fromarray(frame).save(staging / name, quality=quality)
        names.append(name)
    return names


def contact_sheet(
    frames: np.ndarray,
    indices: Sequence[int],
    timestamps: Sequence[float] | None,
    *,
    columns: int | None = None,
    thumb_width: int = 320,
) -> "Image.Image":  # noqa: F821
    """One picture of all chosen frames in time order, each labelled with its time and index."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(frames)
    columns = columns or min(n, 4)
    rows = -(-n // columns)
    h, w = frames.shape[1:3]
    thumb_height = max(1, round(thumb_width * h / w))
    label = 22
    sheet = Image.new("RGB", (columns * thumb_width, rows * (thumb_height + label)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, frame in enumerate(frames):
        x, y = (i % columns) * thumb_width, (i // columns) * (thumb_height + label)
        thumb = Image.fromarray(frame).resize((thumb_width, thumb_height), Image.BILINEAR)
        sheet.paste(thumb, (x, y + label))
        when = "" if timestamps is None else f"{_clock(float(timestamps[i]))}  "
        draw.text((x + 4, y + 4), f"{when}frame {int(indices[i])}", fill="black", font=font)
    return sheet


def write_contact_sheet(path: Path, frames: np.ndarray, indices: Sequence[int], timestamps: Sequence[float] | None) -> None:
    with StagedOutputs() as out:
        out.write_contact_sheet(path, frames, indices, timestamps)


def sheet_format(path: Path) -> str:
    """The image format a contact sheet path asks for (by its suffix), or an error naming the choices."""
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(Path(path).suffix.lower())
    if fmt is None:
        raise OutputError(f"contact sheet {str(path)!r} must end in .jpg, .jpeg or .png")
    return fmt


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes}:{secs:06.3f}"
