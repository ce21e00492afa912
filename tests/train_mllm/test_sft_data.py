"""The SFT examples: the paper's prompts word for word, the frames as clip_model shows them, the replies."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.clip_model import INSTRUCTION, render_index
from framepick.errors import InvalidArgumentError
from framepick.train_mllm.sft_data import build_examples, sft1_examples, sft2_examples
from framepick.train_mllm.shown_video import ShownVideo
from framepick.train_mllm.targets import read_scenes, relevance_tag
from framepick.train_mllm.video_frames import SampleFrames
from framepick.types import Sample

pytest.importorskip("PIL")


def frames_of(extra, spans=()):
    sample = Sample(id="s", video="v.mp4", question="Who enters?", options=("the man", "the dog"), answer="A",
                    spans=spans, extra=extra)
    times = np.arange(8, dtype=np.float64)  # 8 shown frames, one a second
    return SampleFrames(sample=sample, video_hash="h", indices=np.arange(8), timestamps=times,
                        frames=np.zeros((8, 40, 40, 3), dtype=np.uint8), shown=np.arange(8))


def texts(row):
    return [part["text"] for part in row["prompt"][0]["content"] if part["type"] == "text"]


SCENES = {"peakclips": {"scenes": [
    {"scene_id": 1, "start_seconds": 0.0, "end_seconds": 2.5, "caption": "A man walks in.", "llm_score": 5, "reason": "He enters."},
    {"scene_id": 2, "start_seconds": 2.5, "end_seconds": 7.5, "caption": "A dog sleeps.", "llm_score": 2, "reason": "Unrelated."},
]}}


def test_sft2_is_the_fig14_prompt_over_the_shown_frames_and_the_key_clips_as_reply():
    frames = frames_of({"key_clips": [{"start_seconds": 1.5, "end_seconds": 3.0, "priority": "P1", "reason": "He enters."}]})
    shown = ShownVideo.of(frames)
    (row,) = sft2_examples(frames, shown, key=3)
    parts = row["prompt"][0]["content"]
    assert [p["type"] for p in parts[:4]] == ["text", "image", "text", "image"] and len(shown.images) == 8
    assert row["frames"] == 3 and sum(p["type"] == "image" for p in parts) == 8
    assert texts(row)[:2] == ["Frame 0:", "Frame 1:"]
    assert texts(row)[-1] == f"{INSTRUCTION}\nQuestion: Who enters?\nA. the man\nB. the dog"
    assert row["completion"][0]["content"][0]["text"] == "<time>frames 1-3, P1,</time><reason>He enters.</reason>"
    # The visual prompt: the frame index is drawn on each (black) frame.
    assert np.array_equal(shown.images[3], render_index(frames.frames[3], 3))
    assert shown.images[3].max() > 200 and shown.images[3][30:, 30:].max() == 0
    assert sft2_examples(frames_of({}), shown) == []


def test_sft1_builds_fig11_to_fig13_from_peakclips_scenes_spans_and_key_clips():
    frames = frames_of(SCENES)
    rows = sft1_examples(frames, ShownVideo.of(frames))
    by_task = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append((texts(row)[-1], row["completion"][0]["content"][0]["text"]))
    assert by_task["caption_to_scene"][0] == (
        "Given the following detailed account, identify the precise start and end frames in the video where these events "
        "occur. Your response must be in the format <time>frames start-end</time>. Description: 'A man walks in.'",
        "<time>frames 0-2</time>",
    )
    assert by_task["scene_to_caption"][1] == (
        "Analyze the video segment from <time>frames 2-7</time>. Provide a detailed, objective narrative of the events, "
        "describe the visual composition, and transcribe all visible on-screen text.",
        "A dog sleeps.",
    )
    prompt, reply = by_task["relevance"][1]
    assert prompt.startswith('You are a Video Analyst. For the question: "Who enters?\nA. the man\nB. the dog", please '
                             "evaluate the relevance of the video segment <time>frames 2-7</time>.")
    assert prompt.endswith("Return your analysis in the format: <time>frames 2-7, P<score_tag>,</time><reason>reason</reason>")
    assert reply == "<time>frames 2-7, P4,</time><reason>Unrelated.</reason>"
    assert [r for _, r in by_task["relevance"]][0] == "<time>frames 0-2, P1,</time><reason>He enters.</reason>"


def test_needle_spans_give_p1_and_one_p5_clip_outside_them():
    frames = frames_of({}, spans=((2.0, 3.0),))
    rows = sft1_examples(frames, ShownVideo.of(frames), tasks=("relevance",))
    replies = [row["completion"][0]["content"][0]["text"] for row in rows]
    assert replies == [
        "<time>frames 2-3, P1,</time><reason>The segment shows the evidence the question asks about.</reason>",
        "<time>frames 5-6, P5,</time><reason>The segment is irrelevant to the question.</reason>",
    ]


def test_bad_labels_skip_the_sample_and_say_why():
    good, bad, empty = frames_of(SCENES), frames_of({"peakclips": {"scenes": [{"start_seconds": 0, "end_seconds": 1,
                                                                               "llm_score": 9}]}}), frames_of({})
    built = build_examples([good, bad, empty], "sft1")
    assert built.per_task == {"caption_to_scene": 2, "scene_to_caption": 2, "relevance": 2}
    assert set(built.videos) == {0} and {row["frames"] for row in built.rows} == {0}
    assert [s for s, _ in built.skipped] == ["s", "s"] and "llm_score must be 1-5" in built.skipped[0][1]
    assert "no PeakClips scenes" in built.skipped[1][1]
    with pytest.raises(InvalidArgumentError, match="unknown SFT1 task"):
        sft1_examples(good, ShownVideo.of(good), tasks=("captions",))
    assert relevance_tag(5) == "P1" and relevance_tag(1) == "P5"
    assert read_scenes({"peakclips": {}}) == ()


def test_grpo_prompts_are_the_inference_prompt_and_open_questions_are_skipped():
    from framepick.train_mllm.grpo import grpo_rows

    mcq = frames_of({})
    open_question = SampleFrames(
        sample=Sample(id="open", video="v.mp4", question="Describe it."), video_hash="h", indices=mcq.indices,
        timestamps=mcq.timestamps, frames=mcq.frames, shown=mcq.shown,
    )
    rows, videos, skipped = grpo_rows([open_question, mcq])
    assert [row["sample"] for row in rows] == [1] and skipped == [("open", "not a multiple-choice question with its answer")]
    assert texts(rows[0])[-1] == f"{INSTRUCTION}\nQuestion: Who enters?\nA. the man\nB. the dog"
    assert set(videos) == {1} and "completion" not in rows[0]


def test_rows_get_their_images_when_read_and_hold_none_themselves():
    pytest.importorskip("datasets")
    from framepick.train_mllm.shown_video import dataset_with_images

    frames = frames_of(SCENES)
    built = build_examples([frames_of({}), frames], "sft1")
    dataset = dataset_with_images(built.rows, built.videos, "frames")
    assert "images" not in dataset.column_names
    row = dataset[0]
    assert len(row["images"]) == 8 and np.array_equal(np.asarray(row["images"][5]), render_index(frames.frames[5], 5))
    assert [len(r["images"]) for r in dataset.select([1, 2])] == [8, 8]
