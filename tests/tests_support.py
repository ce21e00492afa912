"""Helpers shared by test modules (import as `from tests_support import ...`)."""

from __future__ import annotations

import numpy as np

RED_SPAN = (10.0, 15.0)
BLUE_SPAN = (25.0, 30.0)


def solid_picture(rgb, size=(96, 160)) -> np.ndarray:
    picture = np.empty((*size, 3), dtype=np.uint8)
    picture[:] = rgb
    return picture
