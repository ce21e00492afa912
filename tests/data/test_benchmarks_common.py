"""The helpers every loader relies on: option prefixes, answer letters, times, video lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from framepick.data.benchmarks import VideoResolver, parse_time_spans, strip_option_prefix
from framepick.data.benchmarks._options import clean_options, letter_from_index, letter_from_letter, letter_from_text
from framepick.data.benchmarks._report import RowError
from framepick.data.benchmarks._times import clock_to_seconds
from framepick.data.benchmarks.lvbench import split_question


@pytest.mark.parametrize(
    "text, position, expected",
    [
        ("A. Apples.", 0, "Apples."),
        ("(B) blue", 1, "blue"),
        ("C) green", 2, "green"),
        ("D: black", 3, "black"),
        ("b. lower-case letter", 1, "lower-case letter"),
        ("A cat", 0, "A cat"),  # no punctuation after the letter: a word, not a prefix
        ("I. M. Pei designed it", 0, "I. M. Pei designed it"),  # letter is not this option's
        ("  plain  ", 2, "plain"),
    ],
)
def test_strip_option_prefix(text, position, expected):
    assert strip_option_prefix(text, position) == expected


def test_clean_options_rejects_bad_lists():
    assert clean_options(["A. x", "B. y"]) == ("x", "y")
    assert clean_options([3, 0]) == ("3", "0")
    for bad in (None, "A. x", ["only"], ["x", ""], ["x", None], [f"o{i}" for i in range(27)]):
        with pytest.raises(RowError):
            clean_options(bad)


def test_answer_conversions():
    assert letter_from_index(2, 4) == "C" and letter_from_index("0", 5) == "A"
    assert letter_from_letter("(d)", 4) == "D" and letter_from_letter("B.", 4) == "B"
    assert letter_from_text("Blue", ("Red", "blue ")) == "B"
    for call in (
        lambda: letter_from_index(4, 4),
        lambda: letter_from_index(-1, 4),
        lambda: letter_from_index("x", 4),
        lambda: letter_from_index(True, 4),
        lambda: letter_from_letter("E", 4),
        lambda: letter_from_letter("AB", 4),
        lambda: letter_from_letter(1, 4),
        lambda: letter_from_text("Green", ("Red", "Blue")),
        lambda: letter_from_text("", ("Red", "Blue")),
    ):
        with pytest.raises(RowError):
            call()


@pytest.mark.parametrize(
    "text, seconds",
    [("75", 75.0), ("03:45", 225.0), ("75:10", 4510.0), ("1:02:03.5", 3723.5), (" 00:00 ", 0.0)],
)
def test_clock_to_seconds(text, seconds):
    assert clock_to_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "1:2:3:4", "-5", "03:4x", "12:345"])
def test_clock_to_seconds_rejects(bad):
    with pytest.raises(ValueError):
        clock_to_seconds(bad)


def test_parse_time_spans():
    assert parse_time_spans("03:45-04:10") == ((225.0, 250.0),)
    assert parse_time_spans("03:45 - 04:10, 1:00:00-1:00:05") == ((225.0, 250.0), (3600.0, 3605.0))
    assert parse_time_spans("12:00") == ((720.0, 720.0),)
    assert parse_time_spans("") == ()
    with pytest.raises(ValueError, match="ends before"):
        parse_time_spans("04:10-03:45")
    with pytest.raises(ValueError):
        parse_time_spans("1-2-3")


def test_split_lvbench_question():
    question, options = split_question("Who?\n(A) me\n(B) you\nand them\n(C) nobody")
    assert question == "Who?" and options == ("me", "you and them", "nobody")
    with pytest.raises(RowError):
        split_question("(A) no question\n(B) here")
    with pytest.raises(RowError):
        split_question("Options out of order?\n(B) x\n(A) y")


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_video_resolver(tmp_path):
    root = tmp_path / "root"
    top = _touch(root / "abc.mp4")
    sub = _touch(root / "data" / "def.MKV")
    webm = _touch(root / "videos" / "ghi.webm")
    nested = _touch(root / "0101" / "123.mp4")
    _touch(root / "a" / "b" / "deep.mp4")  # two levels down: not searched
    _touch(root / "notes" / "def.txt")
    resolver = VideoResolver(root)
    assert resolver.find("abc") == top.resolve()
    assert resolver.find("abc.mp4") == top.resolve()
    assert resolver.find("def.mp4") == sub.resolve()  # other extension, one folder down
    assert resolver.find("ghi", prefer_dirs=("videos",)) == webm.resolve()
    assert resolver.find("0101/123") == nested.resolve()
    assert resolver.find("123") == nested.resolve()
    assert resolver.find("deep") is None
    assert resolver.find("") is None and resolver.find("nothing") is None
    _touch(tmp_path / "outside.mp4")
    assert resolver.find("../outside.mp4") is None  # names never lead out of the root
    assert resolver.expected("xyz") == root.resolve() / "xyz.mp4"
    assert resolver.expected("0000/123") == root.resolve() / "0000/123.mp4"
    assert resolver.expected("a.webm") == root.resolve() / "a.webm"


def test_video_resolver_prefers_the_named_folder(tmp_path):
    root = tmp_path / "root"
    _touch(root / "needle" / "217.mp4")
    summary = _touch(root / "summary" / "217.mp4")
    assert VideoResolver(root).find("217.mp4", prefer_dirs=("summary",)) == summary.resolve()
