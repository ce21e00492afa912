"""Small helpers shared by the training-free selectors: parameter checks and even spacing."""

from __future__ import annotations

import math

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.select.base import SelectorInput
from framepick.types import as_float_scores


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise :class:`InvalidArgumentError` unless ``value`` is a finite number in the range.

    The message names the parameter, the allowed range and the value received, so a CLI user can
    fix a typo without reading the source.
    """
    kind = "an integer" if integer else "a number"
    left = "(" if low_open else "["
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    allowed = f"{kind} in {left}{lo}, {hi}]"
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise InvalidArgumentError(f"{name} must be {allowed}, got {value!r}")
    v = float(value)  # type: ignore[arg-type]
    if low is not None and (v < low or (low_open and v == low)):
        raise InvalidArgumentError(f"{name} must be {allowed}, got {value!r}")
    if high is not None and v > high:
        raise InvalidArgumentError(f"{name} must be {allowed}, got {value!r}")


def require_scores(inputs: SelectorInput, method: str) -> np.ndarray:
    """The per-candidate scores as finite float64, or a one-line error saying the method needs them."""
    if inputs.scores is None:
        raise InvalidArgumentError(f"selector {method!r} needs per-candidate scores, got none")
    return as_float_scores(inputs.scores)


def evenly_spaced(n: int, m: int) -> np.ndarray:
    """Offsets of ``min(m, n)`` evenly spaced items out of ``n``: the centres of m equal segments.

    ``floor((2i + 1) n / 2m)`` in exact integer arithmetic; for ``m <= n`` consecutive offsets
    differ by at least one, so the result is strictly increasing (no duplicates). Centres rather
    than ``linspace(0, n-1, m)`` because one frame from a clip should be its middle, not its
    first frame, and because most long-video work samples segment centres.
    """
    m = min(int(m), int(n))
    if m <= 0:
        return np.zeros(0, dtype=np.int64)
    i = np.arange(m, dtype=np.int64)
    return ((2 * i + 1) * int(n)) // (2 * m)


def pick_evenly(pool: np.ndarray, m: int) -> np.ndarray:
    """``min(m, len(pool))`` evenly spaced elements of the sorted array ``pool``."""
    return pool[evenly_spaced(pool.shape[0], m)]


def scores_at(scores: np.ndarray | None, positions: np.ndarray) -> np.ndarray | None:
    return None if scores is None else np.asarray(scores, dtype=np.float64)[positions]
