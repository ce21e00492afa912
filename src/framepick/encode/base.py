"""The encoder interface: frames and queries into one embedding space.

An encoder's ``id`` names its weights and preprocessing; it keys the feature cache, so two
encoders that would give different embeddings must never share an id.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np

from framepick.errors import InvalidArgumentError


class Encoder(ABC):
    """Embeds RGB frames (and, when it has a text tower, text) into L2-normalised vectors."""

    id: str
    dim: int
    has_text: bool = False
    """True when :meth:`encode_text` is supported (frames and text share one space)."""
    input_size: int = 224
    """Short side, in pixels, that frames may be downscaled to before :meth:`encode_images`."""

    reports_norms: bool = False
    """True when :meth:`encode_images_with_norms` gives the rows' norms before normalisation."""

    @abstractmethod
    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        """[N,H,W,3] uint8 RGB -> [N,D] float32, rows of unit norm."""

    def encode_images_with_norms(
        self, frames: np.ndarray, *, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(:meth:`encode_images`, [N] each row's norm before normalisation or None when unknown).

        A model trained on an encoder's raw outputs (the TSPO authors' agent, on CLIP's projected
        features) needs the norms back; an encoder that knows them sets :attr:`reports_norms`.
        """
        return self.encode_images(frames, progress=progress), None

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """[M] strings -> [M,D] float32, rows of unit norm."""
        raise InvalidArgumentError(
            f"encoder {self.id!r} has no text tower; use a query image, or an encoder with text "
            "(offline, clip:..., siglip:...)"
        )


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)
