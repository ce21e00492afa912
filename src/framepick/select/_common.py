"""Small helpers shared by the training-free selectors.

Parameter checks live in :mod:`framepick.validation` and even spacing in :mod:`framepick.spacing`,
where the other floors use them too.
"""

from __future__ import annotations

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.select.base import SelectorInput
from framepick.spacing import evenly_spaced
from framepick.types import as_float_scores


def require_scores(inputs: SelectorInput, method: str) -> np.ndarray:
    """The per-candidate scores as finite float64, or a one-line error saying the method needs them."""
    if inputs.scores is None:
        raise InvalidArgumentError(f"selector {method!r} needs per-candidate scores, got none")
    return as_float_scores(inputs.scores)


def pick_evenly(pool: np.ndarray, m: int) -> np.ndarray:
    """``min(m, len(pool))`` evenly spaced elements of the sorted array ``pool``."""
    return pool[evenly_spaced(pool.shape[0], m)]


def scores_at(scores: np.ndarray | None, positions: np.ndarray) -> np.ndarray | None:
    return None if scores is None else np.asarray(scores, dtype=np.float64)[positions]
