"""K-frames (paper 000): scene-driven key clips with P1/P2 priority, then any-k sampling.

Without the K-frames model, key clips come from the scenes (histogram-difference segmentation)
scored against the query; with it, pass its clips (``SelectorInput.clips``, parsed by
:mod:`framepick.select.clips_io`) and neither scores nor scenes are needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.registry import register_selector
from framepick.select._common import scores_at
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k
from framepick.select.kframes_sampling import (
    SamplingParams,
    check_clips_in_range,
    focused_sampling,
    hybrid_sampling,
    merge_clips,
)
from framepick.types import Clip, Scene, as_float_scores
from framepick.validation import check_number

Mode = Literal["auto", "focused", "hybrid"]
MODES = ("auto", "focused", "hybrid")


def scene_mean_scores(scores: np.ndarray, scenes: Sequence[Scene]) -> np.ndarray:
    """Mean query similarity of each scene's frames (inclusive positions)."""
    total = scores.shape[0]
    for scene in scenes:
        if scene.end >= total:
            raise InvalidArgumentError(f"scene [{scene.start}, {scene.end}] is outside the candidates [0, {total - 1}]")
    cumulative = np.concatenate([[0.0], np.cumsum(scores)])
    starts = np.array([s.start for s in scenes], dtype=np.int64)
    ends = np.array([s.end for s in scenes], dtype=np.int64)
    return (cumulative[ends + 1] - cumulative[starts]) / (ends - starts + 1)


def relevance_1_to_5(scene_means: np.ndarray) -> np.ndarray:
    """Stand-in for the paper's LLM relevance score: min-max of scene means onto [1, 5].

    The best scene always scores 5 (so there is always a P1 clip); when every scene has the same
    mean (to 1e-9 relative) or there is one scene, all score 5: nothing singles a scene out, so
    all are key.
    """
    low, span = float(np.min(scene_means)), float(np.ptp(scene_means))
    # Means come from cumulative sums, so "equal" scenes can differ in the last bits: treat
    # spans within 1e-9 of the score scale as ties rather than stretching noise onto [1, 5].
    if span <= 1e-9 * max(1.0, float(np.max(np.abs(scene_means)))):
        return np.full(scene_means.shape[0], 5.0)
    return 1.0 + 4.0 * (scene_means - low) / span


def clips_from_scenes(
    scores: np.ndarray, scenes: Sequence[Scene], p1_threshold: float = 4.9, p2_threshold: float = 4.3
) -> tuple[Clip, ...]:
    """Key clips: scenes whose 1-5 relevance is >= p1_threshold (P1) or in [p2, p1) (P2)."""
    if not scenes:
        return ()
    means = scene_mean_scores(scores, scenes)
    relevance = relevance_1_to_5(means)
    clips = []
    for scene, mean, score in zip(scenes, means.tolist(), relevance.tolist()):
        if score >= p2_threshold:  # p2_threshold <= p1_threshold, so this admits P1 too
            clips.append(
                Clip(
                    start_index=scene.start,
                    end_index=scene.end,
                    priority="P1" if score >= p1_threshold else "P2",
                    score=score,
                    reason=f"scene mean query similarity {mean:.4g}",
                )
            )
    return tuple(clips)


@register_selector("kframes")
@dataclass(frozen=True)
class KFramesSelector(SamplingParams, Selector):
    """K-frames: sample any k frames from query-relevant key clips (P1/P2), focused or hybrid.

    The sampling hyper-parameters (tau, w_p1, w_p2, a_pred, r_min; Tables 7-8) are inherited
    from :class:`SamplingParams`, so they are declared and checked in one place.

    Key clips are the caller's (``inputs.clips``, e.g. a K-frames model's output parsed by
    ``framepick.select.clips_io``) when given; otherwise they come from the scenes (paper Sec 3.1).
    Sampling follows Appendix D.2, Algorithms 1-2 (see ``framepick.select.kframes_sampling``).

    Scene scoring without an LLM (the paper's Sec 3.1 has Gemini give each scene a 1-5 relevance,
    refined by the mean SigLIP query similarity of its frames): we take each scene's mean query
    similarity from ``inputs.scores`` and min-max it over the scenes onto [1, 5]; that mapped value
    stands in for the LLM score. The paper's SigLIP refinement is not applied again, since the
    stand-in already *is* the mean similarity and a second weighted average with the same signal
    would only rescale it. The paper's thresholds then apply unchanged: P1 if >= 4.9, P2 if in
    [4.3, 4.9), i.e. P1 within 2.5 % and P2 within 17.5 % of the best scene's mean. The best scene
    is therefore always P1; if all scenes tie, every scene is P1 and sampling is spread over the
    whole video. Each clip's ``score`` is its mapped 1-5 value.

    ``mode="auto"`` uses Focused sampling for k <= ``focused_max_k`` (8) and Hybrid above, the
    paper's choice for k = 8 versus k = 32/64. ``rng`` is unused: the method is deterministic.
    Fewer candidates than k gives all of them.
    """

    name: ClassVar[str] = "kframes"
    needs: ClassVar[frozenset[Need]] = frozenset({"scores", "scenes"})
    query_aware: ClassVar[bool] = True

    mode: Mode = "auto"
    """"focused" (only key clips), "hybrid" (key clips and background), or "auto"."""
    p1_threshold: float = 4.9
    """Scene relevance (1-5) at or above which a scene is a P1 clip (Sec 3.1)."""
    p2_threshold: float = 4.3
    """Scene relevance (1-5) at or above which a scene below P1 is a P2 clip (Sec 3.1)."""
    focused_max_k: int = 8
    """Largest k that ``mode="auto"`` samples with Focused sampling."""

    def __post_init__(self) -> None:
        super().__post_init__()  # the sampling hyper-parameters (tau, weights, a_pred, r_min)
        if self.mode not in MODES:
            raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        check_number("p1_threshold", self.p1_threshold, low=1.0, high=5.0)
        check_number("p2_threshold", self.p2_threshold, low=1.0, high=float(self.p1_threshold))
        check_number("focused_max_k", self.focused_max_k, low=0, integer=True)

    def resolved_mode(self, k: int) -> Literal["focused", "hybrid"]:
        if self.mode == "auto":
            return "focused" if k <= self.focused_max_k else "hybrid"
        return self.mode

    def key_clips(self, inputs: SelectorInput) -> tuple[Clip, ...]:
        """The caller's clips when given, else clips from scenes scored against the query."""
        if inputs.clips is not None:
            check_clips_in_range(inputs.clips, inputs.num_candidates)
            return tuple(inputs.clips)
        if inputs.scores is None or inputs.scenes is None:
            missing = " and ".join(n for n, v in (("scores", inputs.scores), ("scenes", inputs.scenes)) if v is None)
            raise InvalidArgumentError(f"selector 'kframes' needs key clips, or scores and scenes; got no {missing}")
        scores = as_float_scores(inputs.scores)
        return clips_from_scenes(scores, inputs.scenes, self.p1_threshold, self.p2_threshold)

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        k = check_k(k)
        clips = self.key_clips(inputs)
        sample = focused_sampling if self.resolved_mode(k) == "focused" else hybrid_sampling
        positions = sample(clips, inputs.num_candidates, k, self)
        return SelectorOutput(
            positions=positions, scores=scores_at(inputs.scores, positions), clips=merge_clips(clips, self.tau)
        )
