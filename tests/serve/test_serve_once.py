"""OnceCache: one computation per key however many threads ask together; which failures are kept."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from framepick.errors import VideoError
from framepick.serve.once import OnceCache


def test_sixteen_threads_asking_together_compute_once_and_share_the_value() -> None:
    cache: OnceCache[str, object] = OnceCache(8, lambda exc: False)
    calls: list[str] = []
    gate = threading.Barrier(16)

    def compute() -> object:
        calls.append("x")
        time.sleep(0.2)  # long enough that every other thread arrives while it runs
        return object()

    def ask(_: int) -> tuple[object, bool]:
        gate.wait()
        return cache.get("video", compute)

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(ask, range(16)))
    assert len(calls) == 1
    assert len({id(value) for value, _ in results}) == 1
    assert sorted(fresh for _, fresh in results) == [False] * 15 + [True]


def test_a_remembered_failure_is_raised_again_without_computing() -> None:
    cache: OnceCache[str, int] = OnceCache(8, lambda exc: isinstance(exc, VideoError))
    calls = []

    def bad() -> int:
        calls.append(1)
        raise VideoError("not a video")

    for _ in range(3):
        with pytest.raises(VideoError, match="not a video"):
            cache.get("bad", bad)
    assert len(calls) == 1


def test_a_forgotten_failure_is_tried_again() -> None:
    cache: OnceCache[str, int] = OnceCache(8, lambda exc: isinstance(exc, VideoError))
    outcomes = iter([MemoryError("transient"), 5])

    def flaky() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    with pytest.raises(MemoryError):
        cache.get("v", flaky)
    assert cache.get("v", flaky) == (5, True)


def test_least_recently_used_entries_go_first_and_never_one_in_flight() -> None:
    cache: OnceCache[str, str] = OnceCache(2, lambda exc: False)
    cache.get("a", lambda: "a")
    cache.get("b", lambda: "b")
    cache.get("a", lambda: "A")  # a is now the most recent
    cache.get("c", lambda: "c")  # evicts b
    assert cache.get("a", lambda: "new") == ("a", False)
    assert cache.get("b", lambda: "b2") == ("b2", True)

    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "slow"

    small: OnceCache[str, str] = OnceCache(1, lambda exc: False)
    worker = threading.Thread(target=small.get, args=("slow", slow))
    worker.start()
    started.wait(5)
    small.get("other", lambda: "other")  # over capacity, but "slow" is in flight: kept
    release.set()
    worker.join(5)
    assert small.get("slow", lambda: "again") == ("slow", False)


def test_forget_drops_a_finished_value() -> None:
    cache: OnceCache[str, int] = OnceCache(4, lambda exc: False)
    cache.get("k", lambda: 1)
    cache.forget("k")
    assert cache.get("k", lambda: 2) == (2, True)
