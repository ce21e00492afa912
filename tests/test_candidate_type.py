"""Candidates, the one candidate type: subsets keep indices and times aligned; scene times tile."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from framepick.errors import InvalidArgumentError
from framepick.select.base import SelectorInput
from framepick.types import Candidates, Scene, VideoInfo, VideoScenes

VIDEO = VideoInfo(path="v.mp4", duration_seconds=10.0, fps=10.0, frame_count=100, width=64, height=48)


def grid() -> Candidates:
    indices = np.array([3, 10, 17, 40, 55, 90])
    # Times that no formula derives from the indices: a subset can only match them by carrying them.
    return Candidates(indices, np.array([0.3, 1.1, 1.9, 4.2, 5.6, 9.05]), VIDEO, "grid:test")


def assert_aligned(subset: Candidates, whole: Candidates) -> None:
    time_of = dict(zip(whole.indices.tolist(), whole.timestamps.tolist()))
    assert subset.timestamps.tolist() == [time_of[i] for i in subset.indices.tolist()]


def test_candidates_hold_indices_times_video_and_grid_only():
    assert [f.name for f in dataclasses.fields(Candidates)] == ["indices", "timestamps", "video", "grid"]


def test_take_positions_keeps_times_with_their_indices():
    whole = grid()
    subset = whole.take([1, 3, 5])
    assert subset.indices.tolist() == [10, 40, 90]
    assert subset.timestamps.tolist() == [1.1, 4.2, 9.05]
    assert_aligned(subset, whole)
    assert subset.video is VIDEO and subset.grid == "grid:test"


def test_take_mask_and_empty():
    whole = grid()
    mask = np.array([True, False, True, False, False, True])
    assert whole.take(mask).indices.tolist() == [3, 17, 90]
    assert_aligned(whole.take(mask), whole)
    empty = whole.take([])
    assert len(empty) == 0 and empty.timestamps.shape == (0,)


def test_take_refuses_unsorted_positions_and_a_mask_of_another_length():
    with pytest.raises(ValueError, match="strictly increasing"):
        grid().take([3, 1])
    with pytest.raises(ValueError, match="mask"):
        grid().take(np.ones(4, dtype=bool))


def test_restrict_to_keeps_the_candidates_among_given_indices_in_order():
    whole = grid()
    decoded = whole.restrict_to([90, 17, 4, 3])  # 4 is no candidate; order given does not matter
    assert decoded.indices.tolist() == [3, 17, 90]
    assert_aligned(decoded, whole)


def test_take_without_times_stays_without_times():
    positions = Candidates(np.arange(5), None)
    assert positions.take([0, 4]).timestamps is None


def test_scene_seconds_tile_the_video_without_gaps():
    whole = grid()
    spans = whole.scene_seconds((Scene(0, 1), Scene(2, 4), Scene(5, 5)))
    # Each scene ends where the next begins; the last at the video's end, not its last candidate.
    assert spans == [(0.3, 1.9), (1.9, 9.05), (9.05, 10.0)]


def test_scene_seconds_need_times_a_video_and_scenes_inside():
    with pytest.raises(ValueError, match="timestamps and a video"):
        Candidates(np.arange(3), None).scene_seconds((Scene(0, 2),))
    with pytest.raises(ValueError, match="outside"):
        grid().scene_seconds((Scene(0, 6),))


def test_video_scenes_reads_through_its_candidates():
    scenes = VideoScenes(grid(), (Scene(0, 2), Scene(3, 5)))
    assert scenes.indices.tolist() == [3, 10, 17, 40, 55, 90] and scenes.grid == "grid:test"
    data = scenes.to_dict()
    assert data["candidates"] == 6
    assert [(r["start_seconds"], r["end_seconds"]) for r in data["scenes"]] == [(0.3, 4.2), (4.2, 10.0)]
    assert [(r["start_index"], r["end_index"]) for r in data["scenes"]] == [(3, 17), (40, 90)]
    with pytest.raises(ValueError, match="video"):
        VideoScenes(Candidates(np.arange(3), None), (Scene(0, 2),))


def test_selector_input_carries_candidates_of_its_count():
    inputs = SelectorInput(num_candidates=6, candidates=grid())
    assert inputs.timestamps.tolist() == grid().timestamps.tolist()
    assert SelectorInput(num_candidates=6).timestamps is None
    with pytest.raises(InvalidArgumentError, match="num_candidates is 5 but 6 candidates"):
        SelectorInput(num_candidates=5, candidates=grid())
