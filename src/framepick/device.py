"""Where torch work runs, and at what precision: ``--device`` and ``--dtype``, checked once.

One process-wide choice, set by :func:`use_device` (the CLI does it from ``--device``; the Python
API from its ``device=`` arguments), read by every torch component: CLIP/SigLIP encoders, the
offline encoder's torch path, learned policies and local MLLM answerers. One rule for all of them
so that a machine never runs one model on its GPU and another on its CPU by accident.

``auto`` (the default) takes the first GPU when torch sees one. A device that does not exist is an
error before any model loads, naming what torch does see. ONNX Runtime (the offline encoder's CPU
path) is not torch: it runs on the CPU whatever this says, and on a GPU machine ``auto`` moves the
offline encoder to torch on the GPU instead (:mod:`framepick.encode.conse`).

Importing this module does not import torch; the functions do.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from typing import Iterator

from framepick.errors import InvalidArgumentError

DEVICE_ENV = "FRAMEPICK_DEVICE"
DTYPES = ("auto", "float32", "float16", "bfloat16")
_DEVICE_FORM = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")

_lock = threading.Lock()
_chosen: str | None = None


def check_device_spec(spec: str) -> str:
    """``spec`` lower-cased if it is a device name framepick accepts; an error naming the forms if not."""
    value = str(spec).strip().lower()
    if not _DEVICE_FORM.match(value):
        raise InvalidArgumentError(f"device must be auto, cpu, cuda, cuda:N or mps, got {spec!r}")
    return value


def resolve_device(spec: str | None = None) -> str:
    """The torch device string for ``spec`` (None: the process's choice, else ``$FRAMEPICK_DEVICE``, else auto)."""
    if spec is None:
        spec = _chosen or os.environ.get(DEVICE_ENV) or "auto"
    value = check_device_spec(spec)
    import torch

    if value == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if value.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
            raise InvalidArgumentError(
                f"device {spec!r}: torch {torch.__version__} ({build}) sees no GPU; use --device cpu or auto"
            )
        number = int(value.partition(":")[2] or 0)
        if number >= count:
            raise InvalidArgumentError(f"device {spec!r}: torch sees {count} GPU(s), cuda:0..cuda:{count - 1}")
    if value == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InvalidArgumentError(f"device {spec!r}: this torch has no MPS backend here; use --device cpu")
    return value


def use_device(spec: str | None) -> str:
    """Make ``spec`` the process's device (checked now) and return what it resolves to."""
    global _chosen
    resolved = resolve_device(spec)
    with _lock:
        _chosen = None if spec is None else check_device_spec(spec)
    return resolved


def chosen_device() -> str | None:
    """The device :func:`use_device` set (as given, lower-cased), or None when none was."""
    return _chosen


@contextlib.contextmanager
def restored_device_choice() -> Iterator[None]:
    """Put the process's device choice back as it was when the block ends.

    The CLI runs each command inside one, so calling ``framepick.cli.main.main([...,
    "--device", "cpu"])`` from Python (a notebook, a test) does not leave its choice behind for
    the calls that follow. Imports nothing: a command without torch stays without it.
    """
    global _chosen
    previous = _chosen
    try:
        yield
    finally:
        with _lock:
            _chosen = previous


def resolve_dtype(spec: str | None, device: str):
    """The torch dtype for ``spec`` on ``device``: ``auto`` is bfloat16 on a GPU that supports it,
    float16 on other GPUs, float32 on CPUs (half precision on a CPU is slower, not faster)."""
    import torch

    value = (spec or "auto").strip().lower()
    if value not in DTYPES:
        raise InvalidArgumentError(f"dtype must be one of {', '.join(DTYPES)}, got {spec!r}")
    if value == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[value]
