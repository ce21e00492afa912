"""Reading key clips from a K-frames model's text (paper 000, Appendix E.3) and from JSON."""

from __future__ import annotations

import json

import pytest

from framepick.errors import InvalidArgumentError
from framepick.select.clips_io import clips_to_json, parse_clips, parse_clips_json, parse_clips_text, read_clips
from framepick.types import Clip

# Paper 000, Fig 19 (as extracted, markdown bold and all).
PAPER_EXAMPLE = """<time>84-89, P2,</time><reason>This scene provides the most critical visual evidence, showing the man in black (the thief) actively digging the goods out of a large vat filled with ice. This directly answers the question.**</reason>**
<time>102-115, P1,</time><reason>This scene shows the immediate aftermath of the digging, with the man in black struggling with the ice-covered items he just pulled out of the vat, reinforcing the answer.**</reason>**"""


def test_paper_example() -> None:
    clips = parse_clips_text(PAPER_EXAMPLE, num_candidates=256)
    assert [(c.start_index, c.end_index, c.priority) for c in clips] == [(84, 89, "P2"), (102, 115, "P1")]
    assert clips[0].reason.startswith("This scene provides") and clips[0].reason.endswith("answers the question.")
    assert "*" not in clips[1].reason


def test_frames_prefix_whitespace_newlines_bold_and_missing_reason() -> None:
    text = """Here are the clips:
    **<time> frames 102 - 115 , P1, </time>**
    <time>
      frames 140-141,
      p2,
    </time>

    <reason>
      context
    </reason>
    <time>200-210, P1,</time>"""
    clips = parse_clips(text)
    assert [(c.start_index, c.end_index, c.priority, c.reason) for c in clips] == [
        (102, 115, "P1", None),
        (140, 141, "P2", "context"),
        (200, 210, "P1", None),
    ]


def test_index_base_one() -> None:
    clips = parse_clips_text("<time>1-4, P1,</time>", index_base=1, num_candidates=4)
    assert (clips[0].start_index, clips[0].end_index) == (0, 3)
    with pytest.raises(InvalidArgumentError, match=r"clip 1 \[0, 3\] is outside the candidates \[1, 256\]"):
        parse_clips_text("<time>0-3, P1,</time>", index_base=1, num_candidates=256)


def test_clip_outside_the_candidates_is_a_one_line_error() -> None:
    with pytest.raises(InvalidArgumentError) as error:
        parse_clips_text(PAPER_EXAMPLE, num_candidates=100)
    assert str(error.value) == "clip 2 [102, 115] is outside the candidates [0, 99] (index_base=0)"


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("<time>abc</time>", r"clip 1: cannot read <time>abc</time>; expected integer frame indices"),
        ("<time>12.5-20.0, P1,</time>", r"cannot read .*expected integer frame indices"),
        ("<time>12-20</time>", r"clip 1: <time>12-20</time> has no priority"),
        ("<time>30-20, P1,</time>", r"clip 1: start 30 is after end 20"),
        ("<time>12-20, P1,", r"unclosed <time> tag"),
        ("The video does not show it.", r"no key clip found in clip text; expected '<time>start-end, P1\|P2,</time>"),
    ],
)
def test_malformed_text_names_what_was_expected(text: str, pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        parse_clips_text(text)


def test_lower_priorities_are_not_key_clips() -> None:
    assert [c.priority for c in parse_clips_text("<time>1-2, P3,</time><time>3-4, P2,</time>")] == ["P2"]


def test_untagged_lines_from_the_fig14_prompt() -> None:
    clips = parse_clips_text("84-89, P2, the vat\n- 102-115, P1, digging\n")
    assert [(c.start_index, c.end_index, c.priority, c.reason) for c in clips] == [
        (84, 89, "P2", "the vat"),
        (102, 115, "P1", "digging"),
    ]


def test_json_forms_and_round_trip(tmp_path) -> None:
    data = [
        {"start_index": 84, "end_index": 89, "priority": "P2", "score": 4.5, "reason": "vat"},
        {"start": 102, "end": 115, "priority": "p1"},
    ]
    clips = parse_clips_json(json.dumps(data), num_candidates=256)
    assert clips == (Clip(84, 89, "P2", score=4.5, reason="vat"), Clip(102, 115, "P1"))
    assert parse_clips(json.dumps({"clips": data})) == clips
    assert parse_clips_json(clips_to_json(clips)) == clips
    assert parse_clips_json(clips_to_json(clips, index_base=1), index_base=1) == clips
    path = tmp_path / "clips.txt"
    path.write_text(PAPER_EXAMPLE)
    assert len(read_clips(path)) == 2
    with pytest.raises(InvalidArgumentError, match="cannot read clips file"):
        read_clips(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "data,pattern",
    [
        ('[{"start": 1, "end": 2, "priority": "P4"}]', r"clip 1: priority must be 'P1' or 'P2', got 'P4'"),
        ('[{"start": 1.5, "end": 2, "priority": "P1"}]', r"clip 1: start must be an integer frame index, got 1.5"),
        ('[{"end": 2, "priority": "P1"}]', r"clip 1: missing 'start_index' or 'start'"),
        ('{"start": 1}', r"clips JSON must be a list of clip objects, got dict"),
        ("[1, 2", r"clips are not valid JSON"),
        ('[{"start": 250, "end": 260, "priority": "P1"}]', r"clip 1 \[250, 260\] is outside the candidates \[0, 255\]"),
    ],
)
def test_bad_json_is_rejected(data: str, pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        parse_clips_json(data, num_candidates=256)
