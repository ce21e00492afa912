"""Prompt layout and reply reading: the words every MLLM backend sends, and how its reply is read."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from framepick.answer.prompt import TEMPLATES, ImagePart, PromptTemplate, TextPart, build_parts, load_template
from framepick.answer.reply import letter_of_token, parse_letter, probs_from_letter_logits, probs_from_logprobs
from framepick.errors import InvalidArgumentError

OPTIONS = ["a red car", "a dog", "a cat", "a bird"]


def test_parts_label_every_frame_with_its_time_and_never_add_frames() -> None:
    frames = np.zeros((3, 8, 8, 3), np.uint8)  # an odd count: nothing may pad it to 4
    parts = build_parts(TEMPLATES["default"], frames, [0.5, 12.25, 300.0], "What is shown?", OPTIONS)
    images = [p for p in parts if isinstance(p, ImagePart)]
    assert [p.seconds for p in images] == [0.5, 12.25, 300.0]
    assert [p.text for p in parts[:-1] if isinstance(p, TextPart)] == [
        "Frame 1 at 0.5s:", "Frame 2 at 12.2s:", "Frame 3 at 300.0s:",
    ]
    assert parts[-1].text == (
        "What is shown?\nA. a red car\nB. a dog\nC. a cat\nD. a bird\n"
        "Answer with the option's letter from the given choices directly."
    )


def test_open_question_and_unknown_times() -> None:
    parts = build_parts(TEMPLATES["default"], np.zeros((1, 4, 4, 3), np.uint8), None, "Describe it.", [])
    assert parts[0].text == "Frame 1:"
    assert parts[-1].text == "Describe it.\nAnswer the question briefly."


def test_template_id_changes_with_any_word() -> None:
    base = PromptTemplate()
    assert base.id == PromptTemplate().id
    assert PromptTemplate(choice_instruction="Letter only.").id != base.id
    assert TEMPLATES["videomme"].id != base.id


def test_user_template_file(tmp_path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"option_line": "({letter}) {option}"}))
    template = load_template(path)
    assert template.name == "mine"
    assert "(B) a dog" in build_parts(template, np.zeros((1, 2, 2, 3), np.uint8), [0.0], "Q?", OPTIONS)[-1].text
    path.write_text(json.dumps({"optoin_line": "x"}))
    with pytest.raises(InvalidArgumentError, match="unknown fields"):
        load_template(path)
    path.write_text(json.dumps({"frame_label": "Frame {nmber}"}))
    with pytest.raises(InvalidArgumentError, match="bad placeholder"):
        load_template(path)
    with pytest.raises(InvalidArgumentError, match="neither a template name"):
        load_template(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"), ("(B)", "B"), ("B. a dog", "B"), ("**C**", "C"), ("The answer is D.", "D"),
        ("Answer: A", "A"), ("The best answer is: (C)", "C"), ("c", "C"), ("a dog", "B"),
        ("I think so", None), ("E", None), ("", None), ("Both a dog and a cat", None),
    ],
)
def test_parse_letter(reply: str, letter: str | None) -> None:
    assert parse_letter(reply, OPTIONS) == letter


def test_letter_of_token() -> None:
    assert [letter_of_token(t) for t in ["B", " B", "(B", "B.", "b", "The", " "]] == ["B", "B", "B", "B", None, None, None]


def test_probs_from_logprobs_at_the_answer_position() -> None:
    # The vLLM / OpenAI shape: the reply opens with a space token, then the letter.
    content = [
        {"token": " ", "logprob": -0.01, "top_logprobs": [{"token": " ", "logprob": -0.01}]},
        {"token": "B", "logprob": math.log(0.6), "top_logprobs": [
            {"token": "B", "logprob": math.log(0.6)}, {"token": " B", "logprob": math.log(0.1)},
            {"token": "A", "logprob": math.log(0.2)}, {"token": "The", "logprob": math.log(0.05)},
        ]},
    ]
    probs = probs_from_logprobs(content, 4)
    # B = 0.6 + 0.1, A = 0.2; C and D share the 0.05 the top-4 left over.
    expected = np.array([0.2, 0.7, 0.025, 0.025])
    np.testing.assert_allclose(probs, expected / expected.sum())
    assert probs_from_logprobs([{"token": "Hello", "logprob": -0.1, "top_logprobs": []}], 4) is None
    assert probs_from_logprobs([], 4) is None


def test_probs_from_letter_logits_is_a_softmax() -> None:
    probs = probs_from_letter_logits(np.array([1000.0, 1000.0, 0.0]))
    np.testing.assert_allclose(probs, [0.5, 0.5, 0.0], atol=1e-12)
