"""Text-frame retrieval: keep the k candidates most similar to the query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from framepick.registry import register_selector
from framepick.select._common import require_scores
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k


def top_k_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, ties to the earlier position, returned sorted by position."""
    k = min(k, scores.shape[0])
    # A stable sort of the negated scores keeps equal scores in position order.
    order = np.argsort(-scores, kind="stable")[:k]
    return np.sort(order)


@register_selector("topk")
@dataclass(frozen=True)
class TopKSelector(Selector):
    """Top-k retrieval: the k frames with the highest query similarity.

    Ties are broken by position (the earlier frame wins), so the result is deterministic and does
    not depend on ``rng``. No temporal diversity is enforced: that is what distinguishes the plain
    retrieval baseline from AKS, BOLT and K-frames.
    """

    name: ClassVar[str] = "topk"
    needs: ClassVar[frozenset[Need]] = frozenset({"scores"})
    query_aware: ClassVar[bool] = True

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        k = check_k(k)
        scores = require_scores(inputs, self.name)
        positions = top_k_positions(scores, k)
        return SelectorOutput(positions=positions, scores=scores[positions])
