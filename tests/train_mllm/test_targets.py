"""PeakClips labels in seconds become the paper's reply over shown frames, and read back to cover them."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.clip_model import clips_on_candidates
from framepick.errors import InvalidArgumentError
from framepick.select.clips_io import parse_clips_text
from framepick.data.key_clips import KeyClip, read_key_clips
from framepick.train_mllm.targets import (
    clips_on_shown,
    render_reply,
    shown_span,
)

SHOWN_TIMES = [0.0, 2.0, 4.0, 6.0, 8.0]


def test_a_span_becomes_the_smallest_covering_clip_of_shown_frames():
    assert shown_span(2.5, 5.0, SHOWN_TIMES) == (1, 2)  # frame 1 stands for [2, 4), frame 2 for [4, 6)
    assert shown_span(4.0, 4.0, SHOWN_TIMES) == (2, 2)
    assert shown_span(-1.0, 0.5, SHOWN_TIMES) == (0, 0)
    assert shown_span(7.0, 99.0, SHOWN_TIMES) == (3, 4)


def test_the_reply_reads_back_as_clips_that_cover_the_labelled_seconds():
    clips = (KeyClip(2.5, 5.0, "P1", "the man enters"), KeyClip(8.0, 9.0, "P2", "he sits"))
    reply = render_reply(clips_on_shown(clips, SHOWN_TIMES))
    assert reply == (
        "<time>frames 1-2, P1,</time><reason>the man enters</reason>\n"
        "<time>frames 4-4, P2,</time><reason>he sits</reason>"
    )
    # Candidates: 10 frames at 0, 1, ... 9 s, shown every second one.
    parsed = parse_clips_text(reply, num_candidates=5)
    on_grid = clips_on_candidates(parsed, np.array([0, 2, 4, 6, 8]), 10)
    for clip, label in zip(on_grid, clips):
        assert clip.start_index <= label.start_seconds and clip.end_index + 1 > label.end_seconds - 1e-9
        assert clip.priority == label.priority and clip.reason == label.reason


def test_clips_landing_on_the_same_shown_frames_merge_and_p1_wins():
    clips = (KeyClip(2.1, 2.5, "P2", "a"), KeyClip(3.0, 3.5, "P1", "b"), KeyClip(6.0, 7.0, "P2", "c"))
    merged = clips_on_shown(clips, SHOWN_TIMES)
    assert [(c.start, c.end, c.priority, c.reason) for c in merged] == [(1, 1, "P1", "a b"), (3, 3, "P2", "c")]


def test_key_clips_are_read_from_the_data_contract_and_bad_entries_are_named():
    extra = {"key_clips": [
        {"start_seconds": 5.0, "end_seconds": 6.0, "priority": "p2", "score": 4.5, "reason": "later"},
        {"start_seconds": 1.0, "end_seconds": 2.0, "priority": "P1", "score": 5.0, "reason": " first\n one "},
    ]}
    clips = read_key_clips(extra)
    assert [(c.start_seconds, c.priority, c.reason) for c in clips] == [(1.0, "P1", "first one"), (5.0, "P2", "later")]
    assert read_key_clips({}) == ()
    with pytest.raises(InvalidArgumentError, match="key clip 1: priority"):
        read_key_clips({"key_clips": [{"start_seconds": 1, "end_seconds": 2, "priority": "P3"}]})
    with pytest.raises(InvalidArgumentError, match="not a span"):
        read_key_clips({"key_clips": [{"start_seconds": 3, "end_seconds": 2, "priority": "P1"}]})


def test_the_irrelevant_clip_sits_in_the_longest_free_run_of_shown_frames():
    from framepick.train_mllm.sft_data import negative_clip

    assert negative_clip(10, [(2, 3)], 2) == (6, 7)  # free runs 0-1 and 4-9: the longer one, centred
    assert negative_clip(6, [(0, 1), (3, 5)], 2) == (2, 2)  # only one frame is free
    assert negative_clip(4, [(0, 3)], 1) is None
