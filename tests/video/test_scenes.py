"""Scene segmentation by histogram differences (K-frames Sec. 3.1)."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.errors import InvalidArgumentError
from framepick.types import Scene
from framepick.video.candidates import GridSpec, candidate_grid
from framepick.video.decode import VideoDecoder
from framepick.video.histogram import color_histograms
from framepick.video.probe import probe
from framepick.video.scenes import boundary_scores, detect_scenes


def one_hot_rows(bins_per_row, width=8):
    rows = np.zeros((len(bins_per_row), width))
    rows[np.arange(len(bins_per_row)), bins_per_row] = 1.0
    return rows


def covers(scenes, total):
    assert scenes[0].start == 0 and scenes[-1].end == total - 1
    for before, after in zip(scenes, scenes[1:]):
        assert after.start == before.end + 1


def test_boundary_scores_are_total_variation_distances():
    hist = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0.5, 0.5, 0, 0], [2, 2, 0, 0]], dtype=float)
    scores = boundary_scores(hist)
    # identical, disjoint, half the mass moved, same distribution at another scale
    np.testing.assert_allclose(scores, [0.0, 1.0, 0.5, 0.0])
    assert boundary_scores(hist[:1]).shape == (0,)


def test_boundary_scores_on_color_histograms_are_in_unit_range():
    frames = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    frames[1] = 255
    frames[2, :, :4] = 255
    scores = boundary_scores(color_histograms(frames))
    np.testing.assert_allclose(scores, [1.0, 0.5])


def test_cuts_land_on_step_changes():
    hist = one_hot_rows([0] * 6 + [3] * 5 + [5] * 7)
    scenes = detect_scenes(hist)
    assert scenes == (Scene(0, 5), Scene(6, 10), Scene(11, 17))


def test_min_scene_len_keeps_the_stronger_of_two_close_cuts():
    rng = np.random.default_rng(0)
    hist = np.tile(np.array([10.0, 0, 0, 0]), (20, 1)) + rng.uniform(0, 0.01, (20, 4))
    hist[10:, :] = [0, 10, 0, 0]  # strong cut after 9
    hist[12:, :] = [0, 6, 4, 0]  # weaker cut after 11, two candidates later
    scores = boundary_scores(hist)
    assert scores[9] > scores[11] > 0.3
    assert detect_scenes(hist, min_scene_len=2) == (Scene(0, 9), Scene(10, 11), Scene(12, 19))
    assert detect_scenes(hist, min_scene_len=3) == (Scene(0, 9), Scene(10, 19))
    for min_len in (1, 2, 3, 5, 9):
        scenes = detect_scenes(hist, min_scene_len=min_len)
        assert all(len(scene) >= min_len for scene in scenes)
        covers(scenes, 20)
    # Adjacent transitions can never both be cuts: only the local maximum is.
    hist[11:, :] = [0, 6, 4, 0]
    assert detect_scenes(hist, min_scene_len=1) == (Scene(0, 9), Scene(10, 19))


def test_min_scene_len_near_the_ends_and_short_inputs():
    hist = one_hot_rows([0, 1, 1, 1, 1, 1, 2])
    # Cuts after 0 and after 5 would leave one-candidate scenes at either end.
    assert detect_scenes(hist, min_scene_len=2) == (Scene(0, 6),)
    assert detect_scenes(hist, min_scene_len=1) == (Scene(0, 0), Scene(1, 5), Scene(6, 6))
    assert detect_scenes(np.zeros((0, 4))) == ()
    assert detect_scenes(np.ones((1, 4))) == (Scene(0, 0),)


def test_max_scenes_keeps_the_strongest_cuts():
    hist = np.zeros((30, 4))
    hist[:, 0] = 1.0
    hist[10:, :] = [0.7, 0.3, 0, 0]  # score 0.3 after 9
    hist[20:, :] = [0, 0, 0, 1.0]  # score 1.0 after 19
    assert detect_scenes(hist, threshold=0.2) == (Scene(0, 9), Scene(10, 19), Scene(20, 29))
    assert detect_scenes(hist, threshold=0.2, max_scenes=2) == (Scene(0, 19), Scene(20, 29))
    assert detect_scenes(hist, threshold=0.2, max_scenes=1) == (Scene(0, 29),)


def test_noise_alone_is_not_cut():
    rng = np.random.default_rng(1)
    hist = 100 + rng.uniform(0, 3, size=(50, 16))  # small wobbles: scores well under the floor
    assert boundary_scores(hist).max() < 0.1
    assert detect_scenes(hist) == (Scene(0, 49),)


def test_gradual_transition_gives_one_cut_at_its_peak():
    weights = np.array([0.0] * 8 + [0.1, 0.6, 0.9] + [1.0] * 8)
    hist = np.stack([1 - weights, weights, np.zeros_like(weights)], axis=1)
    scenes = detect_scenes(hist, threshold=0.05, min_scene_len=1)
    assert len(scenes) == 2 and scenes[0].end == 8  # the 0.1 -> 0.6 step is the steepest


@pytest.mark.parametrize(
    "kwargs, parameter",
    [({"min_scene_len": 0}, "min_scene_len"), ({"max_scenes": 0}, "max_scenes"),
     ({"threshold": -1.0}, "threshold"), ({"threshold": float("nan")}, "threshold")],
)
def test_validation(kwargs, parameter):
    with pytest.raises(InvalidArgumentError, match=parameter):
        detect_scenes(np.ones((5, 4)), **kwargs)
    with pytest.raises(InvalidArgumentError, match="2-D"):
        detect_scenes(np.ones(5))


def test_scenes_of_segment_video_land_on_the_colour_changes(segment_video):
    index = probe(segment_video)
    indices, timestamps = candidate_grid(index, GridSpec(count=60))  # one candidate per 0.5 s
    with VideoDecoder(segment_video, index) as decoder:
        frames = decoder.get_frames(indices, short_side=48).frames
    scenes = detect_scenes(color_histograms(frames), min_scene_len=3)
    covers(scenes, 60)
    assert len(scenes) == 4
    starts = np.array([timestamps[scene.start] for scene in scenes[1:]])
    step = float(np.diff(timestamps).max())
    np.testing.assert_allclose(starts, [10.0, 15.0, 25.0], atol=step)
    assert all(len(scene) >= 3 for scene in scenes)
