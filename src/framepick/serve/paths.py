"""Which video a request may name: regular files under ``--videos-root``; http(s) only when allowed.

The server faces a network, and a ``video_url`` is a string a client chose. The rules, in order:

- a plain path (``talks/a.mp4``, or absolute under the root) is taken literally, never
  percent-decoded; ``file://`` URLs are percent-decoded once and then follow the same rules, and
  must name this machine (``file:///...`` or ``file://localhost/...``), with no query or fragment;
- no ``..`` component at all, even one that would land inside the root: a rule a reader can check
  at a glance beats a normalisation they have to trust;
- the path with every symlink resolved must still lie under the root (itself resolved), so a link
  inside the root to ``/etc`` is refused, while links that stay inside are fine;
- what it names must be a regular file: a directory, FIFO, device or socket is refused before
  anything opens it (opening a FIFO would block a worker forever);
- ``http(s)://`` only with ``--allow-remote``; ``data:`` and every other scheme are refused.

Each refusal is a :class:`RefusedVideo` whose one-line message names the problem in the client's
own spelling of the path (never the server's absolute root). The path handed on is the resolved
one, so a link swapped in after the check needs write access to the root: the root's writers are
trusted, as are its hard links.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from framepick.filekind import DESCRIPTIONS, file_kind
from framepick.errors import InvalidArgumentError


class RefusedVideo(InvalidArgumentError):
    """A ``video_url`` the server will not read; the message says why."""


@dataclass(frozen=True)
class LocalVideo:
    """A regular file under the root: its resolved path and what identifies this version of it."""

    path: Path
    shown: str
    """The client's spelling, for messages and logs."""
    identity: tuple[int, int, int, int]
    """(device, inode, size, mtime in ns): a file rewritten in place is another video."""


@dataclass(frozen=True)
class RemoteVideo:
    url: str


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words, or None for a regular file."""
    kind = file_kind(mode)
    return None if kind == "file" else DESCRIPTIONS[kind]


class VideoRoot:
    """The folder local videos must lie in (None: local paths are off) and whether http(s) is on."""

    def __init__(self, root: str | Path | None, *, allow_remote: bool = False) -> None:
        self.allow_remote = allow_remote
        self.root: Path | None = None
        self._spelled: Path | None = None
        if root is not None:
            spelled = Path(os.path.abspath(Path(root).expanduser()))
            if not spelled.is_dir():
                raise InvalidArgumentError(f"--videos-root {str(root)!r} is not a folder")
            self._spelled = spelled
            self.root = Path(os.path.realpath(spelled))

    def locate(self, url: object) -> LocalVideo | RemoteVideo:
        """Where the video ``url`` names may be read from, or :class:`RefusedVideo` saying why not."""
        if not isinstance(url, str) or not url.strip():
            raise RefusedVideo("video_url must be a non-empty string")
        if any(ord(c) < 32 or ord(c) == 127 for c in url):
            raise RefusedVideo("video_url holds a control character (a NUL byte, a newline ...)")
        scheme, _, rest = url.partition(":")
        scheme = scheme.lower() if rest and "/" not in scheme else ""
        if scheme in ("http", "https"):
            return self._remote(url)
        if scheme == "file":
            return self._local(self._file_url_path(url), url)
        if scheme == "data":
            raise RefusedVideo("data: video URLs are not accepted; put the video under the server's --videos-root")
        if scheme:
            raise RefusedVideo(
                f"video_url scheme {scheme!r} is not supported: give a path under the videos root, a file:// URL, "
                "or http(s) when the server allows remote videos (write ./NAME for a file whose name has a colon)"
            )
        return self._local(url, url)

    def _remote(self, url: str) -> RemoteVideo:
        if not self.allow_remote:
            raise RefusedVideo(
                "remote video URLs are off on this server (its operator can turn them on with --allow-remote); "
                "give a path under the videos root"
            )
        parts = urllib.parse.urlsplit(url)
        if not parts.hostname:
            raise RefusedVideo(f"video_url {url!r} names no host")
        return RemoteVideo(url)

    @staticmethod
    def _file_url_path(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RefusedVideo(f"file:// URL {url!r} names host {parts.netloc!r}; only files on this server are read")
        if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
            raise RefusedVideo(f"file:// URL {url!r} has a query or fragment; name the file alone")
        path = urllib.parse.unquote(parts.path)
        if "\x00" in path:
            raise RefusedVideo(f"file:// URL {url!r} decodes to a path with a NUL byte")
        if not path.startswith("/"):
            raise RefusedVideo(f"file:// URL {url!r} must hold an absolute path (file:///...)")
        return path

    def _local(self, path: str, shown: str) -> LocalVideo:
        if self.root is None or self._spelled is None:
            raise RefusedVideo("local video paths are off on this server (its operator can give --videos-root DIR)")
        if ".." in Path(path).parts:
            raise RefusedVideo(f"video path {shown!r} contains '..'; name a file under the videos root")
        candidate = Path(path)
        if candidate.is_absolute():
            # An absolute path is accepted in the root's own spelling or its resolved one.
            relative = _relative_to(candidate, self._spelled) or _relative_to(candidate, self.root)
            if relative is None:
                raise RefusedVideo(f"video path {shown!r} is outside the videos root")
            candidate = self.root / relative
        else:
            candidate = self.root / candidate
        resolved = Path(os.path.realpath(candidate))
        if _relative_to(resolved, self.root) is None:
            raise RefusedVideo(f"video path {shown!r} is a symlink that leads out of the videos root")
        return local_file(resolved, shown)


def local_file(resolved: Path, shown: str) -> LocalVideo:
    """``resolved`` (a path already checked, or one the server wrote) if it is a regular file."""
    try:
        info = os.stat(resolved)
    except FileNotFoundError:
        raise RefusedVideo(f"no video {shown!r} under the videos root") from None
    except OSError as exc:
        raise RefusedVideo(f"video {shown!r} cannot be read ({exc.strerror or type(exc).__name__})") from None
    kind = _kind(info.st_mode)
    if kind is not None:
        raise RefusedVideo(f"video path {shown!r} is {kind}; only regular files are read")
    return LocalVideo(resolved, shown, (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns))


def _relative_to(path: Path, root: Path) -> Path | None:
    try:
        return path.relative_to(root)
    except ValueError:
        return None
