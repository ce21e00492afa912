"""The answer cache: the same question on the same frames is answered once, across processes."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.answer.base import Answer, Answerer, ChatModel
from framepick.answer.cache import AnswerCache, ChatReplies, answer_key, answer_with_cache
from framepick.answer.prompt import TextPart
from framepick.errors import AnswererError
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


class Chatty(ChatModel):
    """Writes 'reply N' for its N-th call; fails while ``failing``."""

    def __init__(self) -> None:
        self.id = "chatty"
        self.calls = 0
        self.failing = False

    def answer(self, frames, timestamps, question, options) -> Answer:
        raise AssertionError("not asked for options here")

    def generate(self, parts, max_tokens: int) -> str:
        if self.failing:
            raise AnswererError("the server is down")
        self.calls += 1
        return f"reply {self.calls} to {len(parts)} parts"


def test_chat_replies_are_asked_once_per_prompt_and_label_and_counted(tmp_path) -> None:
    model = Chatty()
    built: list[int] = []

    def parts():
        built.append(1)
        return [TextPart("hello")]

    replies = ChatReplies(model, AnswerCache(FeatureCache(tmp_path)))
    ask = dict(video_hash="v", indices=[1, 2], text="hello")
    assert replies.ask("prompt-v1", parts, 8, **ask) == ("reply 1 to 1 parts", False)
    assert replies.ask("prompt-v1", parts, 8, **ask) == ("reply 1 to 1 parts", True)
    assert len(built) == 1  # the prompt (its frames) is built only on a miss
    # Another label, frames or text is another prompt.
    assert replies.ask("prompt-v2", parts, 8, **ask)[0] == "reply 2 to 1 parts"
    assert replies.ask("prompt-v1", parts, 8, video_hash="v", indices=[1, 3], text="hello")[0] == "reply 3 to 1 parts"
    assert (replies.counts.asked, replies.counts.cached) == (3, 1)
    # A model error reaches the caller and caches nothing: the next run asks again.
    model.failing = True
    with pytest.raises(AnswererError):
        replies.ask("prompt-v1", parts, 8, video_hash="v", indices=[9], text="hello")
    model.failing = False
    again = ChatReplies(model, AnswerCache(FeatureCache(tmp_path)))  # a new process, the same folder
    assert again.ask("prompt-v1", parts, 8, video_hash="v", indices=[9], text="hello") == ("reply 4 to 1 parts", False)
    assert again.ask("prompt-v1", parts, 8, **ask) == ("reply 1 to 1 parts", True)
    # Without a cache every ask is a model call.
    bare = ChatReplies(model)
    assert bare.ask("p", parts, 8)[1] is False and bare.ask("p", parts, 8)[1] is False and bare.counts.asked == 2
