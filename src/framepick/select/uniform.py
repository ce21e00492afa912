"""Uniform sampling: the query-agnostic baseline every long-video paper compares against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from framepick.registry import register_selector
from framepick.select._common import scores_at
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k
from framepick.spacing import evenly_spaced


@register_selector("uniform")
@dataclass(frozen=True)
class UniformSelector(Selector):
    """Evenly spaced frames: the centre of each of k equal segments of the candidates.

    Choices where the literature is silent: the video is cut into k segments of equal length and
    the centre of each is taken (``floor((2i + 1) T / 2k)``), as most long-video work samples; the
    ends of the video are never chosen for their own sake. The result does not depend on ``rng``.
    When the caller supplies scores they are reported for the chosen frames but do not steer the
    choice.
    """

    name: ClassVar[str] = "uniform"
    needs: ClassVar[frozenset[Need]] = frozenset()
    query_aware: ClassVar[bool] = False

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        k = check_k(k)
        positions = evenly_spaced(inputs.num_candidates, k)
        return SelectorOutput(positions=positions, scores=scores_at(inputs.scores, positions))
