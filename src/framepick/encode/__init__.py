"""Encoders (frames and questions into one embedding space) and the on-disk feature cache.

Built-in encoders, registered in :data:`framepick.registry.encoders`:

- ``offline``: ConSE over packaged EfficientNet-Lite0 + MiniLM; text and images; no download.
- ``effnet-pool``: EfficientNet-Lite0 pooled features; image-to-image only.
- ``clip:<id or folder>`` / ``siglip:<id or folder>``: transformers dual encoders.
- ``hist``: colour histograms; no model at all.
- ``auto``: the best of these whose weights are on disk (:func:`resolve_auto`).

Importing this package is cheap: torch and transformers are imported when an encoder loads.
"""

from framepick.encode import conse, effnet, hf, hist  # noqa: F401  (registers the built-in encoders)
from framepick.encode.base import Encoder, l2_normalize
from framepick.encode.cache import FeatureCache, default_cache_dir, feature_key
from framepick.encode.resolve import (
    KNOWN_HUB_MODELS,
    clear_loaded_encoders,
    list_encoders,
    load_encoder,
    resolve_auto,
)

__all__ = [
    "Encoder",
    "FeatureCache",
    "KNOWN_HUB_MODELS",
    "clear_loaded_encoders",
    "default_cache_dir",
    "feature_key",
    "l2_normalize",
    "list_encoders",
    "load_encoder",
    "resolve_auto",
]
