"""http(s) videos (``--allow-remote``), fetched into a local folder, bounded in size and time.

A remote video is downloaded once per URL (:class:`~framepick.serve.once.OnceCache`: concurrent
requests share one download) into the server's download folder and then treated as a local file,
so the feature cache keys it by content like any other. Bounds, each a one-line refusal:

- ``max_bytes``: a ``Content-Length`` above it is refused before reading; a body that grows past
  it (no length, or a lying one) is cut off there;
- ``timeout``: for the whole download, not per read, so a server dripping a byte a second cannot
  hold a worker for longer (a read already waiting at the deadline may add up to one more
  ``timeout``: it is also the socket's);
- redirects only to http(s) (urllib would also follow one to ``ftp://``);
- at most ``keep`` of the files it wrote are kept; the least recently used one is deleted first.

Remote fetching is off by default because it lets any client make the server open connections to
whatever its network reaches (hosts behind the firewall included). Turn it on for trusted clients,
or behind an egress proxy (``https_proxy`` is honoured).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from framepick.errors import FramepickError, InvalidArgumentError
from framepick.serve.once import OnceCache

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


class RemoteVideoError(InvalidArgumentError):
    """A remote video that cannot be fetched within the bounds; the message says which."""


@dataclass(frozen=True)
class RemoteLimits:
    max_bytes: int = 1 << 30
    timeout: float = 120.0
    keep: int = 32

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or not self.timeout > 0 or self.keep < 1:
            raise InvalidArgumentError("remote limits: max_bytes and keep must be >= 1, timeout > 0")


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise RemoteVideoError(f"{req.full_url!r} redirects to a non-http(s) URL; refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class RemoteVideos:
    """Downloads into ``folder`` (a temporary one when None, removed by :meth:`close`)."""

    def __init__(self, limits: RemoteLimits = RemoteLimits(), folder: str | Path | None = None) -> None:
        self.limits = limits
        self._temporary = tempfile.TemporaryDirectory(prefix="framepick-remote-") if folder is None else None
        self.folder = Path(self._temporary.name if self._temporary else folder)  # type: ignore[arg-type]
        self.folder.mkdir(parents=True, exist_ok=True)
        # A size or time refusal is the same next time; a network blip is not.
        self._files: OnceCache[str, Path] = OnceCache(limits.keep, lambda exc: isinstance(exc, RemoteVideoError))
        self._lock = threading.Lock()
        self._used: OrderedDict[Path, None] = OrderedDict()
        self._opener = urllib.request.build_opener(_HttpOnlyRedirects)

    def fetch(self, url: str) -> Path:
        """The local copy of ``url``, downloaded now or by an earlier request."""
        path, _ = self._files.get(url, lambda: self._download(url))
        if not path.is_file():  # pruned from disk while still known: fetch it again
            self._files.forget(url)
            path, _ = self._files.get(url, lambda: self._download(url))
        self._keep(path)
        return path

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()

    def _download(self, url: str) -> Path:
        limits = self.limits
        target = self.folder / (hashlib.sha256(url.encode()).hexdigest()[:32] + _suffix(url))
        deadline = time.monotonic() + limits.timeout
        request = urllib.request.Request(url, headers={"User-Agent": "framepick-serve"})
        part = target.with_name(target.name + f".{threading.get_ident()}.part")
        try:
            with self._opener.open(request, timeout=limits.timeout) as response:
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > limits.max_bytes:
                    raise RemoteVideoError(f"{url!r} is {int(length)} bytes; this server fetches at most {limits.max_bytes}")
                size = 0
                with part.open("wb") as out:
                    while True:
                        if time.monotonic() > deadline:
                            raise RemoteVideoError(f"{url!r} did not download within {limits.timeout:g} s")
                        # read1: what has arrived, up to a chunk (read() would wait for a whole
                        # chunk, and a dripping server would never reach the deadline check).
                        chunk = response.read1(_CHUNK)
                        if not chunk:
                            break
                        size += len(chunk)
                        if size > limits.max_bytes:
                            raise RemoteVideoError(f"{url!r} is more than {limits.max_bytes} bytes; this server fetches at most that")
                        out.write(chunk)
            os.replace(part, target)
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:  # urllib refuses redirects to file:// (and others) this way
                raise RemoteVideoError(f"{url!r} redirects (HTTP {exc.code}) to a URL this server does not follow") from None
            raise RemoteVideoError(f"{url!r} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            if isinstance(exc, FramepickError):
                raise
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):  # socket.timeout included (3.10+)
                raise RemoteVideoError(f"{url!r} did not download within {limits.timeout:g} s") from None
            # Not remembered: the next request may find the host up.
            raise InvalidArgumentError(f"{url!r} cannot be fetched ({reason})") from None
        finally:
            part.unlink(missing_ok=True)
        logger.info("fetched %s (%d bytes)", url, size)
        return target

    def _keep(self, path: Path) -> None:
        """Mark ``path`` the most recently used; delete the downloads beyond ``keep`` (in memory,
        not by modification times: those tie within the file system's clock tick)."""
        with self._lock:
            self._used.pop(path, None)
            self._used[path] = None
            while len(self._used) > self.limits.keep:
                old, _ = self._used.popitem(last=False)
                old.unlink(missing_ok=True)


def _suffix(url: str) -> str:
    """The URL's file extension when it is a short plain one (``.mp4``): decoders do not need it,
    but a person listing the folder does."""
    suffix = Path(urllib.parse.urlsplit(url).path).suffix.lower()
    return suffix if 2 <= len(suffix) <= 6 and suffix[1:].isalnum() else ".video"
