"""Frames for a question: each video prepared once, then a selection and a decode per request.

A :class:`FramePicker` holds what a long-running server should load once: the encoder (loaded at
start, so the first request does not pay for it), the built selectors, and the prepared videos
(probe, candidate decode, features: :func:`framepick.pipeline.prepare_video`, on disk in the
feature cache as everywhere, and in memory here for the last ``capacity`` videos). Concurrent
requests on one video prepare it once (:class:`~framepick.serve.once.OnceCache`); at most
``prepare_slots`` videos are prepared at a time, since each one already keeps the cores busy.

Per request: the question is embedded (under a lock: a fast tokenizer refuses to be used by two
threads at once) and the selector runs on the prepared features; the chosen frames become pictures
in :mod:`framepick.serve.frames`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from framepick import pipeline
from framepick.api import DEFAULT_METHOD, check_has_checkpoint, select_prepared
from framepick.errors import FramepickError, InvalidArgumentError
from framepick.serve.once import OnceCache
from framepick.serve.paths import LocalVideo
from framepick.types import Query, Selection
from framepick.video.candidates import GridSpec

if TYPE_CHECKING:
    from framepick.encode.base import Encoder
    from framepick.encode.cache import FeatureCache
    from framepick.select.base import Selector
    from framepick.video.probe import VideoIndex


@dataclass(frozen=True)
class PickSettings:
    method: str = DEFAULT_METHOD
    """The server's method: ``NAME``, ``NAME+dedup`` or ``NAME=CHECKPOINT_DIR`` (the operator's,
    trusted; a request may only name a method)."""
    k: int = 32
    max_k: int = 128
    """The most frames a request may ask for: each costs a decode, a JPEG and visual tokens."""
    encoder: str | Encoder = "auto"
    """A spec (``auto``, ``offline``, ``siglip:ID`` ...) or an encoder already built."""
    grid: GridSpec = field(default_factory=lambda: GridSpec(count=256))
    cache: FeatureCache | None = None
    allow_damaged: bool = False
    seed: int = 0
    capacity: int = 256
    """Prepared videos kept in memory (a 256-candidate video at 384-D is about 0.4 MB)."""
    prepare_slots: int = 2


@dataclass(frozen=True)
class Picked:
    selection: Selection
    index: VideoIndex
    """The video's index, so its chosen frames are decoded without probing it again."""
    prepared_now: bool
    """Whether this request prepared the video (False: another request did, or it was kept)."""
    timings: dict[str, float]
    """Seconds: ``prepare`` (waiting for the video's preparation, ~0 when kept) and ``select``
    (embedding the question and selecting)."""


class FramePicker:
    def __init__(self, settings: PickSettings) -> None:
        from framepick.encode import load_encoder
        from framepick.select import learned_part
        from framepick.select.base import check_k

        self.settings = settings
        self._lock = threading.Lock()
        self._selectors: dict[str, Selector] = {}
        self.default_method = self._build(settings.method, trusted=True)
        check_k(settings.k)
        self._check_k(settings.k, "-k")
        encoder = settings.encoder
        learned = learned_part(self._selectors[self.default_method])
        if encoder == "auto" and learned is not None and learned.checkpoint:
            from framepick.policies.checkpoint import read_meta

            # A learned policy only understands the features it was trained on.
            encoder = read_meta(learned.checkpoint).get("encoder") or encoder
        self.encoder = load_encoder(encoder, need_text=True) if isinstance(encoder, str) else encoder
        if not self.encoder.has_text:
            raise InvalidArgumentError(f"encoder {self.encoder.id!r} cannot embed a question; serve needs one that can")
        # A file that is not a video fails the same way until it changes (its identity is the key).
        self._prepared: OnceCache[tuple, pipeline.PreparedVideo] = OnceCache(
            settings.capacity, lambda exc: isinstance(exc, FramepickError)
        )
        self._prepare_slots = threading.BoundedSemaphore(settings.prepare_slots)
        self._text_lock = threading.Lock()

    def pick(self, video: LocalVideo, question: str, method: str | None = None, k: int | None = None) -> Picked:
        """``k`` frames (the server's default when None) of ``video`` for ``question`` with ``method``."""
        from framepick.select.base import check_k

        name = self.default_method if method is None else self._build(method, trusted=False)
        selector = self._selectors[name]
        k = self.settings.k if k is None else self._check_k(check_k(k), "framepick.k")
        if not isinstance(question, str) or not question.strip():
            raise InvalidArgumentError("the question must be a non-empty string")
        timings: dict[str, float] = {}

        start = time.perf_counter()
        scenes = "scenes" in selector.needs
        prepared, prepared_now = self._prepared.get((video.identity, scenes), lambda: self._prepare(video, scenes))
        timings["prepare"] = time.perf_counter() - start

        start = time.perf_counter()
        query = Query(text=question.strip())
        embedding = None
        if selector.needs & {"scores", "features"}:
            with self._text_lock:
                embedding = pipeline.embed_query(self.encoder, query)
        selection = select_prepared(
            prepared, k, method=selector, encoder=self.encoder, query=query, query_embedding=embedding,
            seed=self.settings.seed,
        )
        timings["select"] = time.perf_counter() - start
        return Picked(selection, prepared.index, prepared_now, timings)

    def _prepare(self, video: LocalVideo, scenes: bool) -> pipeline.PreparedVideo:
        settings = self.settings
        with self._prepare_slots:
            return pipeline.prepare_video(
                video.path, settings.grid, [self.encoder], scenes=scenes, cache=settings.cache,
                allow_damaged=settings.allow_damaged,
            )

    def _build(self, text: str, *, trusted: bool) -> str:
        """The method's label, its selector built once; a request's names no checkpoint."""
        from framepick.select.spec import parse_method_spec

        if not isinstance(text, str):
            raise InvalidArgumentError(f"framepick.method must be a string such as 'aks', got {type(text).__name__}")
        spec = parse_method_spec(text, flag="--method" if trusted else "framepick.method")
        if spec.checkpoint is not None and not trusted:
            raise InvalidArgumentError(
                f"framepick.method {text!r} names a checkpoint folder; a request may name a method only "
                "(the server's operator chooses checkpoints with --method NAME=DIR)"
            )
        with self._lock:  # keyed by the parsed label: only registered names get in, so it stays small
            if spec.label in self._selectors:
                return spec.label
        selector = spec.build()
        check_has_checkpoint(selector)
        with self._lock:
            self._selectors.setdefault(spec.label, selector)
        return spec.label

    def _check_k(self, k: int, flag: str) -> int:
        if k > self.settings.max_k:
            raise InvalidArgumentError(f"{flag}={k} is above this server's limit of {self.settings.max_k} frames (--max-k)")
        return k
