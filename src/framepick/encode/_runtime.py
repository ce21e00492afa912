"""Shared plumbing of the encoders: the device, input checks, batching with progress.

Threads, quiet loaders and weights fingerprints are not the encoders' alone: they live in
:mod:`framepick.runtime`, which local answerers use too.

Kept apart from the encoders so that each of them reads as "load, preprocess, forward".
Importing this module does not import torch; the functions do.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Iterator

import numpy as np

from framepick.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
"""Frames per forward pass: big enough to amortise Python overhead, small enough for ~1 GB of RAM."""

def torch_device() -> str:
    """Where the torch encoders run: the process's ``--device`` (:func:`framepick.device.resolve_device`;
    ``auto`` by default, a GPU when torch sees one).

    One rule for every torch model (CLIP/SigLIP, the offline encoder's torch path, learned
    policies, local answerers), so that a machine never runs one model on its GPU and another on
    its CPU.
    """
    from framepick.device import resolve_device

    return resolve_device()


def check_frames(frames: np.ndarray) -> np.ndarray:
    """Validate the public input of ``encode_images``: [N,H,W,3] uint8 RGB."""
    if (
        not isinstance(frames, np.ndarray)
        or frames.ndim != 4
        or frames.shape[-1] != 3
        or frames.dtype != np.uint8
    ):
        shape = getattr(frames, "shape", None)
        dtype = getattr(frames, "dtype", type(frames).__name__)
        raise InvalidArgumentError(
            f"frames must be a [N,H,W,3] uint8 RGB array, got shape {shape} dtype {dtype}"
        )
    if frames.shape[1] < 1 or frames.shape[2] < 1:
        raise InvalidArgumentError(f"frames must have a non-empty height and width, got shape {frames.shape}")
    return frames


def check_texts(texts: object) -> list[str]:
    """Validate the public input of ``encode_text``: a sequence of strings (a bare str is one text)."""
    if isinstance(texts, str):
        return [texts]
    try:
        items = list(texts)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidArgumentError(f"texts must be a list of strings, got {type(texts).__name__}") from None
    bad = [type(t).__name__ for t in items if not isinstance(t, str)]
    if bad:
        raise InvalidArgumentError(f"texts must be a list of strings, got an item of type {bad[0]}")
    return items


def batches(n: int, batch_size: int, *, progress: bool, desc: str) -> Iterator[slice]:
    """Slices covering range(n) in batches, with a tqdm bar over frames when ``progress``."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=desc, unit="frame", leave=False)
    try:
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            yield slice(start, stop)
            if bar is not None:
                bar.update(stop - start)
    finally:
        if bar is not None:
            bar.close()


def text_hash(text: str, length: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
