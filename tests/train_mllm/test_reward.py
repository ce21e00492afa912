"""GRPO's reward: the reply's clips, k frames by any-k sampling, Eq. 2 on the answerer's probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from framepick.answer.base import Answer, Answerer
from framepick.errors import AnswererError
from framepick.select.kframes_sampling import focused_sampling
from framepick.train_mllm.reward import UNPARSED_REWARD, ClipReward
from framepick.train_mllm.video_frames import SampleFrames
from framepick.types import Clip, Sample


class RecordingAnswerer(Answerer):
    """Probabilities the test sets; remembers the frames it was shown (their first pixel = candidate position)."""

    id = "fake-probs"

    def __init__(self, probs, source="logits"):
        self.probs, self.source, self.seen = probs, source, []

    def answer(self, frames, timestamps, question, options):
        self.seen.append([int(f[0, 0, 0]) for f in frames])
        if self.source == "parsed":
            return Answer(letter="A", source="parsed")
        return Answer.from_probs(self.probs(self.seen[-1]), source=self.source)


def sample_frames(num=20, shown_every=4, answer="B"):
    frames = np.zeros((num, 4, 4, 3), dtype=np.uint8)
    frames[:, 0, 0, 0] = np.arange(num)  # each frame names its candidate position
    sample = Sample(id="s", video="v.mp4", question="Which?", options=("x", "y", "z"), answer=answer)
    return SampleFrames(sample=sample, video_hash="", indices=np.arange(num) * 10, timestamps=np.arange(num) * 0.5,
                        frames=frames, shown=np.arange(0, num, shown_every))


def test_the_reward_is_eq2_on_the_frames_sampled_from_the_replys_clips():
    frames = sample_frames()
    answerer = RecordingAnswerer(lambda seen: [0.2, 0.7, 0.1])
    reward = ClipReward(answerer, {0: frames}, k=4, tau=0.5)
    value = reward.reward([{"role": "assistant", "content": "<time>frames 1-2, P1,</time><reason>r</reason>"}], 0)
    # Eq. 2 by hand: tanh(log(0.7 / mean(0.2, 0.1)) / 0.5).
    assert value == pytest.approx(math.tanh(math.log(0.7 / 0.15) / 0.5), abs=1e-12)
    # Shown frames 1-2 are candidates 4..11; Focused sampling takes k = 4 of them.
    expected = focused_sampling([Clip(start_index=4, end_index=11, priority="P1")], 20, 4)
    assert answerer.seen == [list(expected)] and all(4 <= p <= 11 for p in expected)


def test_better_clips_earn_more_and_an_unreadable_reply_earns_minus_one():
    frames = sample_frames()
    # The correct option is likelier the later the frames: clips late in the video should win.
    answerer = RecordingAnswerer(lambda seen: np.array([1.0, 1.0 + np.mean(seen), 1.0]) / (3.0 + np.mean(seen)))
    reward = ClipReward(answerer, {7: frames}, k=2)
    early = reward("p", ["<time>frames 0-0, P1,</time><reason></reason>"], sample=[7])[0]
    late = reward("p", ["4-4, P1, the end"], sample=[7])[0]
    assert late > early > 0
    assert reward(None, ["no clips here", "<time>frames 9-12, P1,</time>"], sample=[7, 7]) == [UNPARSED_REWARD] * 2
    assert reward.stats.unparsed == 2 and reward.stats.completions == 4


def test_logged_metrics_compare_with_uniform_frames():
    frames = sample_frames()
    answerer = RecordingAnswerer(lambda seen: [0.25, 0.5, 0.25])
    logged = {}
    reward = ClipReward(answerer, {0: frames}, k=4)
    values = reward(None, ["<time>frames 0-1, P2,</time>", "garbage"], sample=[0, 0], log_metric=logged.__setitem__)
    uniform = math.tanh(math.log(0.5 / 0.25))
    assert logged["reward_uniform"] == pytest.approx(uniform)
    assert logged["unparsed"] == 0.5
    assert logged["gain_over_uniform"] == pytest.approx(np.mean(values) - uniform)
    assert answerer.seen[-1] == [2, 7, 12, 17]  # the centres of 4 equal segments of 20 candidates


def test_an_answerer_without_probabilities_is_an_error():
    reward = ClipReward(RecordingAnswerer(None, source="parsed"), {0: sample_frames()}, k=2)
    with pytest.raises(AnswererError, match="no option probabilities"):
        reward.reward("<time>frames 0-1, P1,</time>", 0)


def test_with_the_tiny_hf_model_as_answerer_the_reward_is_eq2_of_its_probabilities(tmp_path):
    """The reward read from a real answerer on real decoded frames, checked against asking it directly."""
    pytest.importorskip("torch")
    from answer.tiny_mllm import build_tiny_mllm
    from videogen import write_video

    from framepick.answer import AnswererOptions, load_answerer
    from framepick.answer.cache import AnswerCache
    from framepick.encode.cache import FeatureCache
    from framepick.rewards import log_ratio_reward
    from framepick.train_mllm.video_frames import decode_sample

    model = build_tiny_mllm(tmp_path / "tiny", "qwen2_vl")
    video = write_video(tmp_path / "v.mp4", [(2, (255, 0, 0)), (2, (0, 255, 0)), (2, (0, 0, 255))])
    sample = Sample(id="v", video=str(video), question="Which colour is second?", options=("red", "green", "blue"), answer="B")
    store = FeatureCache(tmp_path / "cache")
    frames = decode_sample(sample, candidates=12, shown=6, max_side=56, all_candidates=True, cache=store)
    answerer = load_answerer(f"hf:{model}", AnswererOptions(device="cpu"))
    cache = AnswerCache(store)
    reward = ClipReward(answerer, {0: frames}, k=3, tau=0.7, cache=cache)
    value = reward.reward("<time>frames 2-3, P1,</time><reason>green</reason>", 0)
    positions = reward.positions("<time>frames 2-3, P1,</time>", frames)
    direct = answerer.answer(frames.frames[positions], frames.timestamps[positions], sample.question, sample.options)
    assert value == pytest.approx(log_ratio_reward(direct.option_probs, 1, 0.7), abs=1e-9)
    assert -1 < value < 1 and cache.misses == 1
    assert reward.reward("<time>frames 2-3, P1,</time><reason>again</reason>", 0) == value and cache.hits == 1


def test_an_openai_compatible_server_as_reward_answerer():
    """``--reward-answerer openai:MODEL@URL``: Eq. 2 from the server's logprobs; without them, an error."""
    from openai_fake import Behaviour, FakeServer

    from framepick.answer import AnswererOptions, load_answerer

    with FakeServer(Behaviour(letter_probs={"B": 0.6, "A": 0.3, "C": 0.1})) as server:
        answerer = load_answerer(f"openai:tiny@{server.url}", AnswererOptions(concurrency=1))
        reward = ClipReward(answerer, {0: sample_frames()}, k=2, tau=2.0)
        value = reward.reward("<time>frames 0-1, P1,</time>", 0)
        assert value == pytest.approx(math.tanh(math.log(0.6 / 0.2) / 2.0), abs=1e-9)
        assert len(server.behaviour.requests) == 1 and server.behaviour.requests[0]["logprobs"]
    with FakeServer(Behaviour(logprobs="ignore", reply="The answer is C.")) as server:
        answerer = load_answerer(f"openai:tiny@{server.url}", AnswererOptions(concurrency=1))
        with pytest.raises(AnswererError, match="no option probabilities"):
            ClipReward(answerer, {0: sample_frames()}, k=2).reward("<time>frames 0-1, P1,</time>", 0)
