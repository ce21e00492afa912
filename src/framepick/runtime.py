"""Process-wide plumbing of torch and transformers, shared by every floor that loads a model.

Encoders (:mod:`framepick.encode`) and local MLLM answerers (:mod:`framepick.answer.hf_local`)
load weights the same way: torch threads capped at the CPUs this process may use, third-party
loaders kept quiet, a weights file named by a cheap fingerprint. Importing this module imports
neither torch nor transformers; the functions do.
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

logger = logging.getLogger(__name__)

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


def hf_hub_cache_dir() -> Path:
    """The Hugging Face hub cache, from the environment *now* (huggingface_hub reads it at import).

    Same precedence as huggingface_hub: ``HF_HUB_CACHE``, then ``$HF_HOME/hub``, then
    ``$XDG_CACHE_HOME/huggingface/hub``, then ``~/.cache/huggingface/hub``. Encoders, local
    answerers and the TSPO authors' agent (:mod:`framepick.policies.tspo_release_io`) all look there.
    """
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"
