"""Finding a benchmark's videos under a user-given root, the way people actually unpack them."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

logger = logging.getLogger(__name__)


VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")
"""Searched in this order when a benchmark names a video without (or with another) extension."""


class VideoResolver:
    """Finds a benchmark's video under a user-given root, the way people actually unpack them.

    Benchmarks name videos by id ("{videoID}.mp4") while users extract archives into the root
    itself or into one folder below it (Video-MME's ``data/``, LongVideoBench's ``videos/``,
    NExT-QA's ``0101/``). So a name is looked for (1) as a relative path under each preferred
    folder and the root, with the extensions in :data:`VIDEO_EXTENSIONS`, then (2) by file stem
    anywhere in the root or one level of subfolders (indexed once, so a root of thousands of
    videos costs one directory scan, not thousands of stats per row).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self._index: dict[str, list[Path]] | None = None

    def _build_index(self) -> dict[str, list[Path]]:
        index: dict[str, list[Path]] = {}
        folders = [self.root]
        try:
            with os.scandir(self.root) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir():
                        folders.append(Path(entry.path))
                    elif _is_video_name(entry.name):
                        index.setdefault(Path(entry.name).stem, []).append(Path(entry.path))
        except OSError:
            return index
        for folder in sorted(folders[1:]):
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if not entry.name.startswith(".") and _is_video_name(entry.name) and entry.is_file():
                            index.setdefault(Path(entry.name).stem, []).append(Path(entry.path))
            except OSError:
                continue
        for paths in index.values():  # deterministic: shallower first, then preferred extension
            paths.sort(key=lambda p: (len(p.relative_to(self.root).parts), _extension_rank(p), str(p)))
        return index

    def find(self, name: str, prefer_dirs: Sequence[str] = ()) -> Path | None:
        """The video called ``name`` (a relative path, with or without extension), or None."""
        name = name.strip().replace("\\", "/").lstrip("/")
        relative = Path(name)
        if not name or ".." in relative.parts or name == ".":
            return None  # an annotation never needs to leave the root
        exact = relative if relative.suffix.lower() in VIDEO_EXTENSIONS else None
        stem = relative.with_suffix("") if exact is not None else relative
        for folder in [*prefer_dirs, ""]:
            base = self.root / folder if folder else self.root
            candidates = [base / exact] if exact is not None else []
            candidates += [base / stem.with_name(stem.name + ext) for ext in _extension_variants()]
            for candidate in candidates:
                if candidate.is_file():
                    return candidate.resolve()
        if self._index is None:
            self._index = self._build_index()
        matches = self._index.get(stem.name, [])
        if len(matches) > 1:
            logger.debug("video %r matches %d files; using %s", name, len(matches), matches[0])
        return matches[0].resolve() if matches else None

    def expected(self, name: str) -> Path:
        """Where a missing video should be: ``root/name``, with ``.mp4`` when it has no extension."""
        relative = Path(name.strip().replace("\\", "/").lstrip("/"))
        if relative.suffix.lower() not in VIDEO_EXTENSIONS:
            relative = relative.with_name(relative.name + ".mp4")
        return self.root / relative


def _extension_variants() -> list[str]:
    return [v for ext in VIDEO_EXTENSIONS for v in (ext, ext.upper())]


def _extension_rank(path: Path) -> int:
    suffix = path.suffix.lower()
    return VIDEO_EXTENSIONS.index(suffix) if suffix in VIDEO_EXTENSIONS else len(VIDEO_EXTENSIONS)


def _is_video_name(name: str) -> bool:
    return Path(name).suffix.lower() in VIDEO_EXTENSIONS
