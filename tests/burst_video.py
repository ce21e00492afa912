"""A synthetic video whose most relevant frames are copies of one picture (issue 8's close-up)."""

from __future__ import annotations

import numpy as np

from framepick.select.base import SelectorInput
from framepick.types import Features


def unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def burst_video(total: int = 60, burst: range = range(50, 58), shots: int = 6, seed: int = 0):
    """Frames of ``shots`` distinct shots; the most relevant frames are copies of one picture.

    The burst (issue 8's blurred close-up) scores highest; one frame of every other shot scores a
    little lower, the rest lower still.
    """
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(shots, 32)))
    shot_of = np.arange(total) * shots // total
    embeddings = centres[shot_of] + 0.01 * rng.normal(size=(total, 32))
    close_up = unit(rng.normal(size=(1, 32)))[0]
    embeddings[list(burst)] = close_up + 0.001 * rng.normal(size=(len(burst), 32))
    scores = np.full(total, 0.1)
    scores[list(burst)] = 0.30
    for shot in range(shots):
        first = int(np.argmax(shot_of == shot))
        if first not in burst:
            scores[first] = 0.25
    return SelectorInput(num_candidates=total, scores=scores, features=Features(unit(embeddings), None, "t")), burst
