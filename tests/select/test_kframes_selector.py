"""The kframes selector: scene scoring into P1/P2 clips, user clips, and the auto mode switch."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.errors import InvalidArgumentError
from framepick.select import load_selector
from framepick.select.base import SelectorInput
from framepick.select.kframes import KFramesSelector, clips_from_scenes, relevance_1_to_5, scene_mean_scores
from framepick.select.kframes_sampling import focused_sampling, hybrid_sampling
from framepick.types import Clip, Scene

SCENES = (Scene(0, 9), Scene(10, 19), Scene(20, 29), Scene(30, 39), Scene(40, 99))
# Scene means 0.1, 0.5, 0.48, 0.45, 0.3 -> min-max over [0.1, 0.5] onto [1, 5]:
# 1.0, 5.0, 1 + 4 * 0.38 / 0.4 = 4.8, 1 + 4 * 0.35 / 0.4 = 4.5, 1 + 4 * 0.2 / 0.4 = 3.0.
MEANS = [0.1, 0.5, 0.48, 0.45, 0.3]


def scene_scores(rng: np.random.Generator | None = None) -> np.ndarray:
    scores = np.concatenate([np.full(len(s), m) for s, m in zip(SCENES, MEANS)])
    if rng is not None:  # zero-mean wiggle inside each scene keeps the means
        for s in SCENES:
            noise = rng.normal(scale=0.01, size=len(s))
            scores[s.start : s.end + 1] += noise - noise.mean()
    return scores


def test_scene_means_and_relevance_mapping() -> None:
    scores = scene_scores(np.random.default_rng(0))
    np.testing.assert_allclose(scene_mean_scores(scores, SCENES), MEANS)
    np.testing.assert_allclose(relevance_1_to_5(np.array(MEANS)), [1.0, 5.0, 4.8, 4.5, 3.0])


def test_thresholds_make_p1_and_p2_clips() -> None:
    clips = clips_from_scenes(scene_scores(np.random.default_rng(1)), SCENES)
    # 5.0 >= 4.9 -> P1; 4.8 and 4.5 in [4.3, 4.9) -> P2; 1.0 and 3.0 are not key.
    assert [(c.start_index, c.end_index, c.priority) for c in clips] == [(10, 19, "P1"), (20, 29, "P2"), (30, 39, "P2")]
    np.testing.assert_allclose([c.score for c in clips], [5.0, 4.8, 4.5])


def test_all_scenes_equal_are_all_p1() -> None:
    clips = clips_from_scenes(np.full(100, 0.3), SCENES)
    assert [c.priority for c in clips] == ["P1"] * 5


def test_selector_on_scenes_focused_for_small_k() -> None:
    scores = scene_scores(np.random.default_rng(2))
    out = KFramesSelector().select(SelectorInput(100, scores=scores, scenes=SCENES), 8, np.random.default_rng(0))
    # Neighbouring P2 scenes 20-29 and 30-39 merge (gap 1 <= tau); clips: P1 10-19, P2 20-39.
    assert [(c.start_index, c.end_index, c.priority) for c in out.clips] == [(10, 19, "P1"), (20, 39, "P2")]
    # w*l = 20 and 20: 4 frames each. P1: offsets 1, 3, 6, 8 -> 11, 13, 16, 18; P2 (20 frames):
    # offsets 2, 7, 12, 17 -> 22, 27, 32, 37.
    assert out.positions.tolist() == [11, 13, 16, 18, 22, 27, 32, 37]
    np.testing.assert_array_equal(out.scores, scores[out.positions])


def test_auto_switches_from_focused_to_hybrid_above_k_8() -> None:
    clips = (Clip(40, 59, "P1"),)
    inputs = SelectorInput(200, clips=clips)
    selector = load_selector("kframes")
    for k, sample in ((8, focused_sampling), (9, hybrid_sampling), (32, hybrid_sampling)):
        got = selector.select(inputs, k, np.random.default_rng(0)).positions
        np.testing.assert_array_equal(got, sample(clips, 200, k))
    eight = selector.select(inputs, 8, np.random.default_rng(0)).positions
    nine = selector.select(inputs, 9, np.random.default_rng(0)).positions
    assert np.all((eight >= 40) & (eight <= 59))  # focused: only the key clip
    assert np.any((nine < 40) | (nine > 59))  # hybrid: background too
    assert KFramesSelector(mode="focused").resolved_mode(64) == "focused"
    assert KFramesSelector(mode="hybrid").resolved_mode(1) == "hybrid"
    assert KFramesSelector(focused_max_k=16).resolved_mode(16) == "focused"


def test_user_clips_need_neither_scores_nor_scenes() -> None:
    out = KFramesSelector().select(SelectorInput(100, clips=(Clip(10, 19, "P1"),)), 4, np.random.default_rng(0))
    assert out.positions.tolist() == [11, 13, 16, 18] and out.scores is None
    assert out.clips == (Clip(10, 19, "P1"),)


def test_user_clips_outside_the_candidates_are_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match=r"outside the candidates \[0, 49\]"):
        KFramesSelector().select(SelectorInput(50, clips=(Clip(40, 50, "P1"),)), 4, np.random.default_rng(0))


def test_missing_scenes_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="needs key clips, or scores and scenes; got no scenes"):
        KFramesSelector().select(SelectorInput(50, scores=np.zeros(50)), 4, np.random.default_rng(0))
