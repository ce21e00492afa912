"""The chosen frames as the JPEG data URLs sent upstream, kept across requests.

Per request, after the selection, the proxy's costly work is turning k chosen frames into
pictures: seeking and decoding them at the video's resolution, fitting them to ``max_side`` and
JPEG-encoding them. Measured on 2 cores, 32 frames of a 1280x720 clip: about 0.45 s to decode and
0.65 s to encode, against milliseconds for the selection itself. Questions on one video choose
among the same candidate frames, so the pictures repeat: they are kept here, by (the video's
identity, the frame's index, ``max_side``), least recently used first out, up to ``max_bytes``.
Only the frames not kept are decoded (in one pass) and encoded.

The pictures are :func:`framepick.answer.images.jpeg_data_urls`'s, the answerers' own: the same
resize and quality, so a model behind the proxy sees what it would see from ``framepick answer``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.answer.images import jpeg_data_urls
from framepick.errors import VideoError
from framepick.serve.paths import LocalVideo

if TYPE_CHECKING:
    from framepick.video.probe import VideoIndex

DEFAULT_MAX_BYTES = 512 << 20
"""About 5,000 frames at 768 px (a JPEG data URL of a real frame is 60-150 kB): the candidates of
some twenty videos."""


@dataclass
class Pictures:
    urls: list[str]
    """``data:image/jpeg;base64,...``, one per frame asked for."""
    kept: int = 0
    """How many were kept from earlier requests."""
    decode: float = 0.0
    """Seconds decoding the others."""
    images: float = 0.0
    """Seconds fitting and encoding them."""


class FrameImages:
    def __init__(self, max_side: int, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_side = max_side
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, str] = OrderedDict()
        self._bytes = 0
        # A lock per video while some request holds it; gone with the last one (weak values).
        self._locks: weakref.WeakValueDictionary[tuple, threading.Lock] = weakref.WeakValueDictionary()

    def data_urls(self, video: LocalVideo, index: VideoIndex, frames: Sequence[int]) -> Pictures:
        """The pictures of ``frames`` (source indices), in that order."""
        keys = [(video.identity, int(frame), self.max_side) for frame in frames]
        found = self._look_up(keys)
        pictures = Pictures([], kept=len(found))
        if len(found) < len(keys) and self.max_bytes == 0:  # nothing is kept: nothing to wait for
            found.update(self._make(video, index, sorted({key[1] for key in keys}), pictures))
        elif len(found) < len(keys):
            # One request per video decodes at a time: requests arriving together on a video
            # mostly want the same frames, and the later ones find them made by the first.
            with self._video_lock(video.identity):
                found.update(self._look_up([key for key in keys if key not in found]))
                pictures.kept = len(found)
                missing = sorted({key[1] for key in keys if key not in found})
                if missing:
                    found.update(self._make(video, index, missing, pictures))
        pictures.urls = [found[key] for key in keys]
        return pictures

    def _look_up(self, keys: list[tuple]) -> dict[tuple, str]:
        with self._lock:
            found = {key: self._kept[key] for key in keys if key in self._kept}
            for key in found:
                self._kept.move_to_end(key)
        return found

    def _video_lock(self, identity: tuple) -> threading.Lock:
        with self._lock:
            lock = self._locks.get(identity)
            if lock is None:
                lock = self._locks[identity] = threading.Lock()
            return lock

    def _make(self, video: LocalVideo, index: VideoIndex, missing: list[int], pictures: Pictures) -> dict[tuple, str]:
        """Decode and encode ``missing`` (sorted indices), keep them, and say how long it took."""
        from framepick.video.decode import VideoDecoder

        start = time.perf_counter()
        with VideoDecoder(video.path, index=index) as decoder:
            decoded = decoder.get_frames(missing)
        lost = sorted(set(missing) - set(np.asarray(decoded.indices).tolist()))
        if lost:
            raise VideoError(f"{video.shown!r}: chosen frame(s) {lost[:5]} do not decode")
        pictures.decode = time.perf_counter() - start
        start = time.perf_counter()
        urls = jpeg_data_urls(decoded.frames, self.max_side)
        pictures.images = time.perf_counter() - start
        made = {
            (video.identity, int(frame), self.max_side): url
            for frame, url in zip(np.asarray(decoded.indices).tolist(), urls, strict=True)
        }
        self._keep(made)
        return made

    def _keep(self, made: dict[tuple, str]) -> None:
        with self._lock:
            for key, url in made.items():
                if key not in self._kept:
                    self._kept[key] = url
                    self._bytes += len(url)
            while self._bytes > self.max_bytes and self._kept:
                _, old = self._kept.popitem(last=False)
                self._bytes -= len(old)
