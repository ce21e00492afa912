"""The answer cache: the same question on the same frames is answered once, across processes."""

from __future__ import annotations

import numpy as np

from framepick.answer.base import Answer, Answerer
from framepick.answer.cache import AnswerCache, answer_key, answer_with_cache
from framepick.encode.cache import FeatureCache


class Counting(Answerer):
    def __init__(self, answer_id: str = "counting") -> None:
        self.id = answer_id
        self.calls = 0

    def answer(self, frames, timestamps, question, options) -> Answer:
        self.calls += 1
        return Answer.from_probs([0.25, 0.75], text=f"B after {len(frames)} frames", source="logits")


def _frames(counter: list[int]):
    def decode():
        counter.append(1)
        return np.zeros((2, 4, 4, 3), np.uint8), [0.0, 1.0]

    return decode


def test_second_ask_is_a_hit_without_decoding_or_calling_the_model(tmp_path) -> None:
    decoded: list[int] = []
    answerer = Counting()
    ask = dict(video_hash="v1", indices=[3, 9], frames=_frames(decoded), question="Q?", options=["x", "y"])
    first, hit1 = answer_with_cache(answerer, AnswerCache(FeatureCache(tmp_path)), **ask)
    cache = AnswerCache(FeatureCache(tmp_path))  # a new process reads the same folder
    second, hit2 = answer_with_cache(answerer, cache, **ask)
    assert (hit1, hit2) == (False, True) and answerer.calls == 1 and len(decoded) == 1
    assert second == first and second.source == "logits" and cache.hit_rate == 1.0


def test_every_part_of_the_key_matters() -> None:
    base = ("a", "v", [1, 2], "Q?", ["x", "y"])
    keys = {
        answer_key(*base),
        answer_key("b", *base[1:]),
        answer_key("a", "w", *base[2:]),
        answer_key("a", "v", [1, 3], "Q?", ["x", "y"]),
        answer_key("a", "v", [1, 2], "Q!", ["x", "y"]),
        answer_key("a", "v", [1, 2], "Q?", ["y", "x"]),
    }
    assert len(keys) == 6


def test_no_cache_or_no_video_hash_always_asks(tmp_path) -> None:
    answerer = Counting()
    for cache, video_hash in ((None, "v"), (AnswerCache(FeatureCache(tmp_path)), "")):
        for _ in range(2):
            answer_with_cache(answerer, cache, video_hash=video_hash, indices=[1], frames=_frames([]), question="Q?", options=["x", "y"])
    assert answerer.calls == 4


def test_a_torn_entry_is_a_miss(tmp_path) -> None:
    store = FeatureCache(tmp_path)
    answerer = Counting()
    ask = dict(video_hash="v1", indices=[3], frames=_frames([]), question="Q?", options=["x", "y"])
    answer_with_cache(answerer, AnswerCache(store), **ask)
    path = store.path_for(answer_key("counting", "v1", [3], "Q?", ["x", "y"]))
    path.write_bytes(path.read_bytes()[:-5])
    _, hit = answer_with_cache(answerer, AnswerCache(store), **ask)
    assert not hit and answerer.calls == 2
