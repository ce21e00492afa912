"""Parameter checks for the public boundary, shared by every floor.

Each raises :class:`~framepick.errors.InvalidArgumentError` with a message that names the
parameter, the allowed values and what was received (DESIGN.md section 6), so a CLI user can fix
a typo without reading the source. Booleans are never accepted as numbers.

- :func:`check_number`: a finite number (or integer) in a range, the range spelled in the message
  (``w_p1 must be a number in (0, inf], got -1``); the selectors' parameters.
- :func:`check_int` / :func:`check_float`: the same tests worded per bound (``lr must be > 0``);
  the policies' and the trainer's configs.
- :func:`check_positive_int`: an integer >= 1 (``--windows must be a positive integer``).
"""

from __future__ import annotations

import math

import numpy as np

from framepick.errors import InvalidArgumentError


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> None:
    """Raise unless ``value`` is a finite number (an integer when ``integer``) in the range."""
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


def check_int(name: str, value: object, *, low: int | None = None, high: int | None = None) -> None:
    """Raise unless ``value`` is a Python int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise InvalidArgumentError(f"{name} must be an integer in {bounds}, got {value!r}")


def check_float(
    name: str, value: object, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> None:
    """Raise unless ``value`` is a finite int or float in the range (``low`` excluded when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise InvalidArgumentError(f"{name} must be a finite number, got {value!r}")
    v = float(value)
    if low is not None and (v < low or (low_open and v == low)):
        raise InvalidArgumentError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and v > high:
        raise InvalidArgumentError(f"{name} must be <= {high:g}, got {value!r}")


def check_positive_int(name: str, value: object) -> None:
    """Raise unless ``value`` is an integer (Python or NumPy) >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {value!r}")
