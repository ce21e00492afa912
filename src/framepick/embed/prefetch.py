"""Run an iterator in a background thread, a bounded number of items ahead of its consumer.

Decoding (PyAV releases the GIL) and encoding (torch and ONNX Runtime release it too) then run
at the same time. The queue's bound is what keeps memory fixed: the producer blocks once
``depth`` items wait, so at most ``depth + 2`` items (queued, being made, being used) exist.
"""

from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterator[T], depth: int = 2, name: str = "framepick-prefetch") -> Iterator[T]:
    """Yield ``items`` as made by a background thread; the producer's exception re-raises here.

    Closing the returned generator early (the consumer failed or stopped) stops the producer at
    its next item instead of leaving it blocked on a full queue.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(_Raised(error))
            return
        finally:
            close = getattr(items, "close", None)
            if stop.is_set() and close is not None:
                close()  # release what the producer holds (an open video) when the consumer quit
        put(_DONE)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
