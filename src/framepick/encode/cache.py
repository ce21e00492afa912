"""An on-disk cache of named numpy arrays: per-video frame indexes and features.

One video is decoded and embedded once per (encoder, candidate grid); every later question reads
the result from here. Each entry is a single file::

    magic "FPKC1\\n" | sha256 of payload (32 bytes) | payload length (8 bytes, little endian) | payload

where the payload is an uncompressed ``.npz`` (arrays only, never pickles). A reader checks the
magic, length and checksum before trusting the data, so a file truncated by a crash or a full disk
reads as a miss (and is deleted) instead of as wrong features. Writers write a temporary file in
the same folder, fsync it and ``os.replace`` it into place: a reader sees either the old entry, the
new one or none, never half a file, and concurrent writers of one key simply last-write-win.

The location is ``$FRAMEPICK_CACHE_DIR`` if set, else the platform's user cache folder
(``platformdirs.user_cache_dir("framepick")``, which honours ``$XDG_CACHE_HOME`` on Linux).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from framepick.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

CACHE_ENV = "FRAMEPICK_CACHE_DIR"
_MAGIC = b"FPKC1\n"
_HEADER = struct.Struct("<32sQ")
_KEY_ARRAY = "__framepick_key__"
"""Each entry stores its own key, so a (vanishingly unlikely) file-name collision reads as a miss."""


def default_cache_dir() -> Path:
    """``$FRAMEPICK_CACHE_DIR``, else the platform user cache folder for framepick."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("framepick", appauthor=False))


def feature_key(content_hash: str, encoder_id: str, grid_key: str) -> str:
    """The cache key of one video's features: its content, the encoder's id and the candidate grid.

    Any of the three changing must give a new key; the parts are joined with a separator that none
    of them can contain, so ``("a|b", "c")`` and ``("a", "b|c")`` never collide.
    """
    for name, value in (("content_hash", content_hash), ("encoder_id", encoder_id), ("grid_key", grid_key)):
        if not isinstance(value, str) or not value:
            raise InvalidArgumentError(f"{name} must be a non-empty string, got {value!r}")
    return "features\x1f" + "\x1f".join((content_hash, encoder_id, grid_key))


class FeatureCache:
    """Named arrays stored under string keys; a corrupt entry reads as a miss.

    A cache is a speed-up, never a requirement: when its folder cannot be read or written (it is a
    file, on a read-only file system, the disk is full) it logs one warning and the work goes on
    uncached.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self._unusable = False
        """Set after the first failed write: later writes are skipped (and not warned about again)."""
        self._warned_read = False

    def __repr__(self) -> str:
        return f"FeatureCache(root={str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """Where ``key`` lives. Keys may hold any characters, so file names are their hash."""
        _check_key(key)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self.root / digest[:2] / f"{digest[2:34]}.fpk"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None when absent, unreadable or corrupt."""
        path = self.path_for(key)
        try:
            blob = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):  # absent; a root that is a file warns on write
            return None
        except OSError as error:
            if not self._warned_read:  # one line per run, not one per video and encoder
                logger.warning("feature cache: cannot read %s (%s); treating as a miss", path, _reason(error))
                self._warned_read = True
            return None
        arrays = _decode(blob, key)
        if arrays is None:
            logger.warning("feature cache: corrupt entry %s for key %r; deleting it", path, _short(key))
            self._remove(path)
        return arrays

    def put(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key``, atomically replacing any previous entry.

        When the entry cannot be written this warns (once per cache) and returns: the caller has
        its arrays and carries on uncached.
        """
        payload = _encode(key, arrays)
        if self._unusable:
            return
        path = self.path_for(key)
        try:
            self._write(path, payload)
        except OSError as error:
            self._unusable = True
            logger.warning(
                "feature cache: cannot write under %s (%s); carrying on without caching "
                "(choose another --cache-dir, or --no-cache)", self.root, _reason(error)
            )

    def _write(self, path: Path, payload: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = _MAGIC + _HEADER.pack(hashlib.sha256(payload).digest(), len(payload)) + payload
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", suffix=".fpk", delete=False)
        try:
            with handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            self._remove(Path(handle.name))
            raise
        _fsync_dir(path.parent)

    def delete(self, key: str) -> bool:
        """Remove the entry for ``key``; True if there was one."""
        return self._remove(self.path_for(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.path_for(key).is_file()

    @staticmethod
    def _remove(path: Path) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as error:
            logger.warning("feature cache: cannot delete %s (%s)", path, error)
            return False


def _reason(error: OSError) -> str:
    return f"{error.strerror}: {error.filename}" if error.strerror and error.filename else str(error)


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError(f"cache key must be a non-empty string, got {key!r}")


def _short(key: str) -> str:
    return key if len(key) <= 120 else key[:117] + "..."


def _encode(key: str, arrays: Mapping[str, np.ndarray]) -> bytes:
    if not isinstance(arrays, Mapping) or not arrays:
        raise InvalidArgumentError("arrays must be a non-empty mapping of name -> numpy array")
    checked: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == _KEY_ARRAY:
            raise InvalidArgumentError(
                f"array names must be non-empty strings (not {_KEY_ARRAY!r}), got {name!r}"
            )
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise InvalidArgumentError(
                f"array {name!r} has dtype object; only numeric/str arrays can be cached"
            )
        checked[name] = array
    checked[_KEY_ARRAY] = np.asarray(key)
    buffer = io.BytesIO()
    np.savez(buffer, **checked)
    return buffer.getvalue()


def _decode(blob: bytes, key: str) -> dict[str, np.ndarray] | None:
    start = len(_MAGIC) + _HEADER.size
    if len(blob) < start or not blob.startswith(_MAGIC):
        return None
    digest, length = _HEADER.unpack_from(blob, len(_MAGIC))
    payload = blob[start:]
    if len(payload) != length or hashlib.sha256(payload).digest() != digest:
        return None
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception:  # any failure to parse is corruption; the checksum makes this rare
        return None
    stored_key = arrays.pop(_KEY_ARRAY, None)
    if stored_key is None or str(stored_key) != key:
        return None
    return arrays


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
