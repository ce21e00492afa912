"""Candidate grids: uniform count, fps (capped), keyframes only, validation and cache keys."""

from __future__ import annotations

import numpy as np
import pytest
from videogen import GREY

from framepick.errors import InvalidArgumentError
from framepick.types import VideoInfo
from framepick.video.candidates import GridSpec, candidate_grid, uniform_positions
from framepick.video.probe import VideoIndex, probe


def synthetic_index(timestamps, keyframes=(0,)) -> VideoIndex:
    timestamps = np.asarray(timestamps, dtype=np.float64)
    duration = float(timestamps[-1] + 0.1) if timestamps.size else 0.0
    info = VideoInfo(path="synthetic.mp4", duration_seconds=duration, fps=10.0, frame_count=timestamps.size,
                     width=64, height=64)
    return VideoIndex(info=info, frame_timestamps=timestamps, keyframe_indices=np.asarray(keyframes))


@pytest.fixture(scope="module")
def segment_index(segment_video) -> VideoIndex:
    return probe(segment_video)


def check_grid(indices, timestamps, index):
    assert indices.dtype == np.int64 and timestamps.dtype == np.float64
    assert np.all(np.diff(indices) > 0)
    assert indices[0] >= 0 and indices[-1] < index.num_frames
    np.testing.assert_array_equal(timestamps, index.frame_timestamps[indices])


def test_uniform_count_samples_segment_centres(segment_index):
    indices, timestamps = candidate_grid(segment_index, GridSpec(count=30))
    check_grid(indices, timestamps, segment_index)
    # 300 frames in 30 segments of 10: centres are frames 5, 15, ..., 295.
    np.testing.assert_array_equal(indices, np.arange(5, 300, 10))
    np.testing.assert_allclose(timestamps, np.arange(5, 300, 10) / 10.0)


def test_default_grid_and_uneven_counts(segment_index):
    indices, _ = candidate_grid(segment_index, GridSpec())
    assert indices.size == 256
    assert uniform_positions(10, 4).tolist() == [1, 3, 6, 8]  # floor((i + 0.5) * 2.5)
    assert uniform_positions(7, 7).tolist() == list(range(7))


def test_fewer_frames_than_count_gives_all_frames(make_video):
    short = probe(make_video("short_grid.mp4", [(1.2, GREY)]))
    indices, timestamps = candidate_grid(short, GridSpec(count=256))
    np.testing.assert_array_equal(indices, np.arange(12))
    check_grid(indices, timestamps, short)


def test_fps_grid_samples_interval_centres(segment_index):
    indices, timestamps = candidate_grid(segment_index, GridSpec(count=None, fps=1.0))
    check_grid(indices, timestamps, segment_index)
    # One candidate per second, the frame shown at 0.5 s, 1.5 s, ...
    np.testing.assert_array_equal(indices, np.arange(5, 300, 10))
    two_fps, _ = candidate_grid(segment_index, GridSpec(count=None, fps=2.0))
    assert two_fps.size == 60


def test_fps_grid_capped_by_max_candidates(segment_index):
    indices, timestamps = candidate_grid(segment_index, GridSpec(count=None, fps=5.0, max_candidates=12))
    check_grid(indices, timestamps, segment_index)
    assert indices.size == 12
    # Thinned uniformly: gaps are all within one fps-step of each other.
    gaps = np.diff(indices)
    assert gaps.max() - gaps.min() <= 2


def test_fps_grid_on_variable_frame_rate_uses_timestamps():
    # Frames bunched in the first second, then one every 2 s.
    times = np.concatenate([np.arange(10) * 0.1, 1.0 + np.arange(1, 6) * 2.0])
    index = synthetic_index(times)
    indices, timestamps = candidate_grid(index, GridSpec(count=None, fps=1.0))
    # Every candidate is the frame on screen at its sample time: its timestamp is the last <= t.
    sample_times = np.arange(int(index.info.duration_seconds)) + 0.5
    expected = np.unique(np.searchsorted(times, sample_times, side="right") - 1)
    np.testing.assert_array_equal(indices, expected)
    assert np.all(np.diff(indices) > 0)


def test_keyframes_only(segment_index):
    indices, timestamps = candidate_grid(segment_index, GridSpec(count=None, keyframes_only=True))
    np.testing.assert_array_equal(indices, np.arange(0, 300, 10))
    check_grid(indices, timestamps, segment_index)
    thinned, _ = candidate_grid(segment_index, GridSpec(count=6, keyframes_only=True))
    assert thinned.size == 6 and set(thinned.tolist()) <= set(range(0, 300, 10))
    capped, _ = candidate_grid(segment_index, GridSpec(count=None, keyframes_only=True, max_candidates=4))
    assert capped.size == 4 and set(capped.tolist()) <= set(range(0, 300, 10))
    # count larger than the number of keyframes: every keyframe.
    every, _ = candidate_grid(segment_index, GridSpec(count=256, keyframes_only=True))
    assert every.size == 30


def test_count_grid_with_max_candidates(segment_index):
    indices, _ = candidate_grid(segment_index, GridSpec(count=100, max_candidates=10))
    assert indices.size == 10


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"count": 10, "fps": 1.0}, "fps"),
        ({"count": 0}, "count"),
        ({"count": 2.5}, "count"),
        ({"count": True}, "count"),
        ({"count": None, "fps": -1.0}, "fps"),
        ({"count": None, "fps": float("nan")}, "fps"),
        ({"count": None, "fps": 1.0, "max_candidates": 0}, "max_candidates"),
        ({"keyframes_only": "yes"}, "keyframes_only"),
        ({"count": None}, "count"),
    ],
)
def test_validation_names_the_parameter(kwargs, parameter):
    with pytest.raises(InvalidArgumentError) as caught:
        GridSpec(**kwargs)
    message = str(caught.value)
    assert parameter in message and "got" in message


def test_keys_are_stable_and_distinct():
    specs = [
        GridSpec(),
        GridSpec(count=64),
        GridSpec(count=None, fps=1.0),
        GridSpec(count=None, fps=1.0, max_candidates=100),
        GridSpec(count=None, fps=2.0),
        GridSpec(count=64, keyframes_only=True),
    ]
    keys = [spec.key() for spec in specs]
    assert len(set(keys)) == len(keys)
    assert GridSpec(count=64).key() == GridSpec(count=64).key() == "grid:count=64:v1"
    assert GridSpec(count=None, fps=1).key() == GridSpec(count=None, fps=1.0).key()
