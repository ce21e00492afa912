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
    # ... and first the command-line flag the user typed.
    flag = {"count": "--candidates", "fps": "--fps", "max_candidates": "--max-candidates",
            "keyframes_only": "--keyframes"}[parameter]
    assert flag in message and "GridSpec count must" not in message


def naive_fps_grid(timestamps, duration_seconds, fps):
    """The fps grid by listing every sample time (what the grid must equal, without its memory)."""
    start = float(timestamps[0])
    duration = max(duration_seconds - start, float(timestamps[-1] - start))
    steps = max(1, int(np.floor(duration * fps + 1e-9)))
    times = start + (np.arange(steps) + 0.5) / fps
    found = np.searchsorted(timestamps, times + 1e-6, side="right") - 1
    return np.unique(np.clip(found, 0, timestamps.size - 1))


def test_fps_grid_equals_listing_every_sample_time():
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 200))
        kind = trial % 3
        if kind == 0:  # constant rate, sometimes with a start offset
            times = np.arange(n) / rng.choice([10, 23.976, 25, 29.97, 60]) + rng.choice([0.0, 0.7])
        elif kind == 1:  # variable rate
            times = np.cumsum(rng.exponential(0.05, n) + 1e-4)
        else:  # millisecond timestamps with long stalls
            times = np.unique(np.round(np.cumsum(rng.choice([1 / 30, 1 / 15, 0.5, 2.0], n)), 3))
        index = synthetic_index(times)
        fps = float(rng.choice([0.1, 0.5, 1, 2, 5, 7.5, 10, 25, 30, 100, 1000])) * float(rng.choice([1, rng.uniform(0.5, 2)]))
        indices, _ = candidate_grid(index, GridSpec(count=None, fps=fps, max_candidates=10_000))
        expected = naive_fps_grid(index.frame_timestamps, index.info.duration_seconds, fps)
        np.testing.assert_array_equal(indices, expected, err_msg=f"trial {trial}: fps={fps}")


@pytest.mark.parametrize("fps", [1e6, 1e7, 1e9, 1e300])
def test_a_capped_fps_grid_costs_what_the_frames_cost_not_what_fps_asks(fps):
    """The issue's `--fps 1e7 --max-candidates 32` peaked at 3.4 GB listing 10^8 sample times."""
    import tracemalloc

    index = synthetic_index(np.arange(250) / 25.0)  # 10 s at 25 fps
    tracemalloc.start()
    try:
        indices, timestamps = candidate_grid(index, GridSpec(count=None, fps=fps, max_candidates=32))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    check_grid(indices, timestamps, index)
    assert indices.size == 32
    # A few arrays of 250 frames (2 kB each); listing the samples of fps=1e6 alone would be 80 MB.
    assert peak < 200_000, f"{peak} bytes traced"
    everything, _ = candidate_grid(index, GridSpec(count=None, fps=fps, max_candidates=10_000))
    np.testing.assert_array_equal(everything, np.arange(250))  # denser than the frames: every frame


@pytest.mark.parametrize("fps", [1e4, 1e9])
def test_an_uncapped_absurd_fps_is_a_user_error_naming_the_flags(fps):
    with pytest.raises(InvalidArgumentError, match=r"^--fps .*--max-candidates"):
        GridSpec(count=None, fps=fps)
    GridSpec(count=None, fps=1000.0)  # the densest accepted without a cap
    GridSpec(count=None, fps=fps, max_candidates=64)


def test_keyframes_refuse_an_fps_they_would_ignore():
    with pytest.raises(InvalidArgumentError, match=r"^--keyframes .*--fps"):
        GridSpec(count=None, fps=2.0, keyframes_only=True)


def test_select_frames_with_a_huge_capped_fps(segment_video):
    import framepick

    selection = framepick.select_frames(segment_video, k=4, method="uniform", fps=1e7, max_candidates=32, cache=False)
    assert selection.num_candidates == 32 and len(selection.indices) == 4
    with pytest.raises(InvalidArgumentError, match="^--fps"):
        framepick.select_frames(segment_video, k=4, method="uniform", fps=1e9, cache=False)


def test_cli_grid_errors_are_one_line_naming_the_flag(segment_video, capsys):
    from framepick.cli.main import main

    for argv, flag in [(["--fps", "1e9"], "--fps"), (["--fps", "2", "--keyframes"], "--keyframes")]:
        try:  # argparse may refuse the value itself (a usage error) or the grid may
            code = main(["select", str(segment_video), "--method", "uniform", "--no-cache", *argv])
        except SystemExit as exit:
            code = exit.code
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and flag in err and "GridSpec count" not in err, err


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
