"""``hist``: colour histograms as frame features. No model, no text, no torch.

The fallback when no neural encoder is available, and a cheap diversity signal: two frames are
similar when their colour distributions are. It cannot read a question.
"""

from __future__ import annotations

import numpy as np

from framepick.encode._runtime import check_frames
from framepick.encode.base import Encoder, l2_normalize
from framepick.registry import register_encoder
from framepick.video.histogram import color_histograms


class HistogramEncoder(Encoder):
    """Per-channel RGB colour histograms (3 x ``bins``), L2-normalised; no text tower."""

    has_text = False
    input_size = 112
    """Histograms barely change with resolution, so the pipeline may decode small frames."""

    def __init__(self, bins: int = 16) -> None:
        if not isinstance(bins, int) or not 1 <= bins <= 256 or 256 % bins:
            raise ValueError(f"bins must be an integer dividing 256, got {bins!r}")
        self.bins = bins
        self.dim = 3 * bins
        self.id = f"hist:rgb{bins}"

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        frames = check_frames(frames)
        if frames.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalize(color_histograms(frames, bins=self.bins))


@register_encoder("hist")
def make_hist_encoder() -> Encoder:
    """Colour histograms (48-D); no text, no model; the fallback of last resort."""
    return HistogramEncoder()
