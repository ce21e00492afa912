"""Shared plumbing of the torch encoders: threads, batching, progress, quiet third-party loaders.

Kept apart from the encoders so that each of them reads as "load, preprocess, forward".
Importing this module does not import torch; the functions do.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import threading
from pathlib import Path
from typing import Iterator

import numpy as np

from framepick.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
"""Frames per forward pass: big enough to amortise Python overhead, small enough for ~1 GB of RAM."""

_threads_lock = threading.Lock()
_threads_set = False


def configure_torch_threads() -> None:
    """Cap torch's intra-op threads at the CPUs this process may actually use.

    torch counts the machine's physical cores, which in a container or under ``taskset`` can be
    far more than the CPUs we are allowed on; oversubscribed threads then spin and thrash. An
    explicit user choice (``OMP_NUM_THREADS`` / ``torch.set_num_threads`` before us) wins.
    """
    global _threads_set
    with _threads_lock:
        if _threads_set:
            return
        _threads_set = True
        import torch

        if "OMP_NUM_THREADS" in os.environ or "MKL_NUM_THREADS" in os.environ:
            return
        try:
            allowed = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            allowed = os.cpu_count() or 1
        if torch.get_num_threads() > allowed:
            torch.set_num_threads(allowed)
            logger.debug("torch threads capped at %d (CPU affinity)", allowed)


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


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Swallow prints from third-party loaders (library code must not write to stdout)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        yield
    if sink.getvalue().strip():
        logger.debug("suppressed loader output: %s", sink.getvalue().strip())


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' weight-loading bar and backend notices while we load a model.

    The library keeps progress bars off unless asked (DESIGN.md section 6), and notices such as
    "falling back to the PIL image processor" are not actionable for a framepick user. The
    previous settings are restored afterwards.
    """
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars_were_on:
            hf_logging.enable_progress_bar()


def file_fingerprint(path: Path, chunk: int = 1 << 20) -> str:
    """A cheap identity for a weights file: sha256 over its size, first and last MiB.

    Hashing a whole multi-GB checkpoint on every load would cost seconds; two different
    checkpoints that agree on size and on both ends are not a realistic risk for a cache key.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(chunk))
        if size > chunk:
            handle.seek(max(size - chunk, chunk))
            digest.update(handle.read(chunk))
    return digest.hexdigest()[:12]


def text_hash(text: str, length: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]
