"""How the TSPO authors turn the agent's scores into frames: their ``topk`` and ``bin-max`` modes.

Re-written from Hui-design/TSPO ``model/temporal_agent.py`` (commit 19f4ecb),
``TSPOModel.inference_ts`` lines 187-210, and ``model/utils.py`` ``generate_uniform_integers``
(lines 10-16) and ``group_features_by_cluster`` (lines 42-50). Their evaluation uses ``topk`` on
LongVideoBench, MLVU and LVBench and ``bin-max`` on Video-MME
(``mp_tools/vlmeval/vlm/gen_id_tspo.py`` line 83). NumPy only: torch-free selectors import it, and
framepick's own TSPO variant (:mod:`framepick.policies.tspo`) offers the same two modes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from framepick.errors import InvalidArgumentError

Mode = Literal["topk", "bin-max"]
MODES: tuple[str, ...] = ("topk", "bin-max")


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return str(mode)


def topk_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """The ``min(k, T)`` best, sorted by position; ties go to the earlier frame (``torch.topk``
    leaves their order unspecified)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[: min(k, len(scores))]
    return np.sort(order).astype(np.int64)


def uniform_integers(last: int, count: int) -> list[int]:
    """``generate_uniform_integers(last, count)``: ``round(i * last / (count - 1))`` for ``i < count``,
    Python's ``round`` (halves to even) as theirs; ``[last]`` for one."""
    if count <= 0:
        return []
    if count == 1:
        return [last]
    step = last / (count - 1)
    return [round(i * step) for i in range(count)]


def bin_max_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Their ``bin-max``: ``L = min(k, T)`` evenly spread anchors; every frame joins its nearest
    anchor's bin (the earlier anchor on a tie, as ``torch.argmin``); each bin gives its best frame
    (the earlier on a tie, as ``torch.argmax``).

    With ``L <= T`` the anchors are distinct (their spacing is at least one frame) and each is its
    own nearest, so there are exactly ``L`` non-empty bins, each a run of consecutive frames.
    """
    values = np.asarray(scores, dtype=np.float64)
    total = values.shape[0]
    anchors = np.asarray(uniform_integers(total - 1, min(k, total)), dtype=np.int64)
    frames = np.arange(total)
    # Nearest anchor by bisection rather than their [T, L] distance table: of the two anchors
    # around a frame, the earlier wins a tie.
    right = np.clip(np.searchsorted(anchors, frames), 0, len(anchors) - 1)
    left = np.clip(right - 1, 0, len(anchors) - 1)
    bins = np.where(np.abs(frames - anchors[left]) <= np.abs(frames - anchors[right]), left, right)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], total]
    return np.array([start + int(np.argmax(values[start:end])) for start, end in zip(starts, ends)], dtype=np.int64)


def positions_for(mode: str, scores: np.ndarray, k: int) -> np.ndarray:
    """The positions ``mode`` picks from ``scores``."""
    return topk_positions(scores, k) if check_mode(mode) == "topk" else bin_max_positions(scores, k)
