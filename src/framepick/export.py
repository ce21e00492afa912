"""Writing results to disk without ever leaving half a file behind.

Every writer builds its output under a temporary name in the destination folder and moves it into
place with one ``os.replace`` at the end, so an interrupted or failed run leaves either the old
file or none, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from framepick.errors import FramepickError


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


def write_text(path: Path, text: str) -> None:
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def frame_filename(index: int, timestamp: float | None) -> str:
    """Sortable names that say when the frame is: ``t0000123.456s_f0003703.jpg``."""
    if timestamp is None:
        return f"f{index:07d}.jpg"
    return f"t{timestamp:011.3f}s_f{index:07d}.jpg"


def write_frames_dir(
    folder: Path, frames: np.ndarray, indices: Sequence[int], timestamps: Sequence[float] | None, quality: int = 92
) -> list[Path]:
    """Write each frame as a JPEG named by its timestamp; the folder appears complete or not at all."""
    from PIL import Image

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write frames to {str(folder)!r}: it is a file")
    parent = folder.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write frames to {str(folder)!r}: folder {str(parent)!r} does not exist")
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    try:
        names = []
        for i, frame in enumerate(frames):
            ts = None if timestamps is None else float(timestamps[i])
            name = frame_filename(int(indices[i]), ts)
            Image.fromarray(frame).save(staging / name, quality=quality)
            names.append(name)
        if not folder.exists():
            os.replace(staging, folder)
        else:  # an existing folder keeps its other files; ours move in one by one, each atomically
            for name in names:
                os.replace(staging / name, folder / name)
        return [folder / name for name in names]
    except OSError as exc:
        raise OutputError(f"cannot write frames to {str(folder)!r}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
    sheet = contact_sheet(frames, indices, timestamps)
    suffix = Path(path).suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(suffix)
    if fmt is None:
        raise OutputError(f"contact sheet {str(path)!r} must end in .jpg, .jpeg or .png")
    try:
        with atomic_path(Path(path)) as tmp:
            sheet.save(tmp, format=fmt, quality=90)
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:06.3f}" if hours else f"{minutes}:{secs:06.3f}"
