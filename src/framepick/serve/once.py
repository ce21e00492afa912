"""Compute each key's value once, however many threads ask for it at the same time.

The proxy's expensive steps (preparing a video: probe, decode, embed; downloading a remote one)
must not run twice when sixteen requests on the same video arrive together. The first asker
computes; the others wait on its :class:`~concurrent.futures.Future` and share the result, or
its error. Values are kept, most recently used last, up to ``capacity`` finished entries.

Failures that will fail the same way next time (a file that is not a video: it is the same file
until its identity changes) are kept like values, so a client retrying a bad video costs nothing;
others (an out-of-memory, a bug) are forgotten once their waiters have seen them, so the next
request tries again. ``remember`` decides which is which.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Callable, Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OnceCache(Generic[K, V]):
    def __init__(self, capacity: int, remember: Callable[[BaseException], bool]) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._remember = remember
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, Future[V]] = OrderedDict()

    def get(self, key: K, compute: Callable[[], V]) -> tuple[V, bool]:
        """The value of ``key`` and whether this call computed it (False: shared or kept)."""
        with self._lock:
            future = self._entries.get(key)
            mine = future is None
            if future is None:
                future = Future()
                self._entries[key] = future
                self._evict()
            else:
                self._entries.move_to_end(key)
        if not mine:
            return future.result(), False
        try:
            value = compute()
        except BaseException as exc:
            if not self._remember(exc):
                with self._lock:
                    if self._entries.get(key) is future:
                        del self._entries[key]
            future.set_exception(exc)
            raise
        future.set_result(value)
        return value, True

    def forget(self, key: K) -> None:
        """Drop ``key`` if it is finished (its value went stale); one in flight is left alone."""
        with self._lock:
            future = self._entries.get(key)
            if future is not None and future.done():
                del self._entries[key]

    def _evict(self) -> None:
        """Drop the least recently used finished entries beyond ``capacity`` (never one in flight:
        its waiters hold it, and a second computation of it would start)."""
        excess = len(self._entries) - self.capacity
        for key in [k for k, f in self._entries.items() if f.done()][: max(0, excess)]:
            del self._entries[key]
