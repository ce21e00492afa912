"""Even spacing: which ``m`` of ``n`` items sit at the centres of ``m`` equal segments.

Shared by the training-free selectors (uniform, AKS, MMR), the learned policies' instruction
sampling and the training episodes' baselines, so every floor spaces frames the same way.
"""

from __future__ import annotations

import numpy as np


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
