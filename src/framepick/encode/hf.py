"""``clip:<id or folder>`` and ``siglip:<id or folder>``: dual encoders through transformers.

The real loader users hit: ``CLIPModel`` / ``SiglipModel`` ``from_pretrained`` with a hub id or a
local folder, plus the tokenizer and image processor saved with the model. Nothing here downloads
behind the user's back beyond what ``from_pretrained`` does, and with ``HF_HUB_OFFLINE=1`` (or
``TRANSFORMERS_OFFLINE=1``) only local files are used. Any failure to load becomes a one-line
:class:`~framepick.errors.ModelError` naming the id or folder and what is missing.

The encoder id names the source (hub id, or the folder's absolute path), a hash of the model and
image-processor configs and a fingerprint of the weights file, so two checkpoints never share
cached features.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from framepick.encode._runtime import DEFAULT_BATCH_SIZE, batches, check_frames, check_texts, torch_device
from framepick.encode.base import Encoder, l2_normalize
from framepick.errors import ModelError, one_line
from framepick.registry import register_encoder
from framepick.runtime import configure_torch_threads, file_fingerprint, hf_hub_cache_dir, quiet_transformers

logger = logging.getLogger(__name__)

Family = Literal["clip", "siglip"]
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "spiece.model", "tokenizer.model", "vocab.txt")
"""Any one of these means a folder ships a tokenizer; without them transformers builds an empty one."""
WEIGHT_FILES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


def hub_offline() -> bool:
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def looks_like_path(source: str) -> bool:
    """A folder rather than a hub id: it exists, or is spelled like a path (/, ., ~, backslash, drive)."""
    return (
        Path(source).expanduser().exists()
        or source.startswith(("/", ".", "~", "\\"))
        or (len(source) > 1 and source[1] == ":")
        or source.count("/") > 1
    )


class HFDualEncoder(Encoder):
    """A CLIP or SigLIP model: images and text into one space, cosine similarity = relevance."""

    has_text = True

    def __init__(
        self, family: Family, source: str, model: Any, tokenizer: Any, image_processor: Any, weights_id: str
    ) -> None:
        self.family = family
        self.source = source
        self.model = model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.device = str(next(model.parameters()).device)
        """Where the model's weights are (``cuda`` when torch saw a GPU at load time); inputs follow."""
        self.batch_size = DEFAULT_BATCH_SIZE
        config = model.config
        self.dim = int(getattr(config, "projection_dim", 0) or config.vision_config.hidden_size)
        self.max_text_tokens = int(config.text_config.max_position_embeddings)
        self.input_size = _processor_short_side(image_processor)
        configs = config.to_json_string(use_diff=False) + image_processor.to_json_string()
        config_hash = hashlib.sha256(configs.encode()).hexdigest()[:8]
        self.id = f"{family}:{source}@cfg{config_hash}" + (f"-w{weights_id}" if weights_id else "")

    reports_norms = True

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        return self.encode_images_with_norms(frames, progress=progress)[0]

    def encode_images_with_norms(
        self, frames: np.ndarray, *, progress: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        import torch

        frames = check_frames(frames)
        out = np.zeros((frames.shape[0], self.dim), dtype=np.float32)
        with torch.inference_mode():
            for part in batches(frames.shape[0], self.batch_size, progress=progress, desc=self.family):
                pixels = self.image_processor(images=list(frames[part]), return_tensors="pt")["pixel_values"]
                pixels = pixels.to(self.device)
                out[part] = _pooled(self.model.get_image_features(pixel_values=pixels)).float().cpu().numpy()
        # The norms of get_image_features' rows: what a model fed raw CLIP features was trained on.
        return l2_normalize(out), np.linalg.norm(out, axis=1).astype(np.float32)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        items = check_texts(texts)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        # SigLIP was trained on text padded to its full length and pools the last token, so it
        # must see "max_length" padding; CLIP pools the EOS token and takes dynamic padding.
        padding = "max_length" if self.family == "siglip" else True
        with torch.inference_mode():
            for start in range(0, len(items), 64):
                chunk = items[start : start + 64]
                tokens = self.tokenizer(
                    chunk,
                    padding=padding,
                    truncation=True,
                    max_length=self.max_text_tokens,
                    return_tensors="pt",
                )
                inputs = {"input_ids": tokens["input_ids"].to(self.device)}
                if self.family == "clip" and "attention_mask" in tokens:
                    inputs["attention_mask"] = tokens["attention_mask"].to(self.device)
                out[start : start + len(chunk)] = (
                    _pooled(self.model.get_text_features(**inputs)).float().cpu().numpy()
                )
        return l2_normalize(out)


def _pooled(output: Any) -> Any:
    """transformers 5 returns a model output whose pooler_output is projected; 4.x a tensor."""
    return output.pooler_output if hasattr(output, "pooler_output") else output


def _processor_short_side(processor: Any) -> int:
    """The short side the processor resizes to, so the pipeline can decode frames that small."""
    size = getattr(processor, "size", None) or {}
    if not isinstance(size, dict):
        size = dict(getattr(size, "__dict__", {}))
    for key in ("shortest_edge", "height", "width"):
        if size.get(key):
            return int(size[key])
    return 224


def load_hf_encoder(family: Family, source: str) -> HFDualEncoder:
    """Load ``clip:<source>`` / ``siglip:<source>``; ``source`` is a hub id or a local folder."""
    if not isinstance(source, str) or not source.strip():
        raise ModelError(f"{family}: needs a hub id or a model folder, e.g. '{family}:/path/to/model'")
    source = source.strip()
    is_path = looks_like_path(source)
    name = str(Path(source).expanduser().resolve()) if is_path else source
    if is_path:
        folder = Path(name)
        if not folder.is_dir():
            raise ModelError(f"{family} model folder {name} does not exist")
        if not (folder / "config.json").is_file():
            raise ModelError(
                f"{family} model folder {name} has no config.json (save it with save_pretrained)"
            )
        if not any((folder / f).is_file() for f in TOKENIZER_FILES):
            raise ModelError(
                f"{family} model folder {name} has no tokenizer (none of {', '.join(TOKENIZER_FILES)}); "
                "save the tokenizer or processor there with save_pretrained"
            )
        if not (folder / "preprocessor_config.json").is_file():
            raise ModelError(
                f"{family} model folder {name} has no preprocessor_config.json; "
                "save the image processor there with save_pretrained"
            )
    try:
        from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer, CLIPModel, SiglipModel
    except ImportError as error:
        raise ModelError(f"{family}:{name} needs transformers (pip install transformers): {error}") from None
    configure_torch_threads()
    options: dict[str, Any] = {}
    if not is_path:
        options = {"cache_dir": str(hf_hub_cache_dir()), "local_files_only": hub_offline()}
    model_class = CLIPModel if family == "clip" else SiglipModel
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(name, **options)
    except Exception as error:
        raise ModelError(f"cannot load {family} model {name!r}: {one_line(error)}") from None
    model_type = getattr(config, "model_type", "")
    if model_type != family:
        hint = f"use '{model_type}:{source}'" if model_type in ("clip", "siglip") else "framepick loads clip and siglip"
        raise ModelError(f"{name!r} is a {model_type!r} model, not {family!r}; {hint}")
    try:
        with quiet_transformers():
            model = model_class.from_pretrained(name, **options)
            tokenizer = AutoTokenizer.from_pretrained(name, **options)
            image_processor = AutoImageProcessor.from_pretrained(name, **options)
    except Exception as error:
        raise ModelError(f"cannot load {family} model {name!r}: {one_line(error)}") from None
    if len(tokenizer) < 10:  # transformers can build an empty tokenizer instead of failing
        raise ModelError(
            f"{family} model {name!r} loaded a tokenizer with {len(tokenizer)} tokens; its tokenizer files are missing"
        )
    model.eval()
    device = torch_device()
    model.to(device)
    logger.info("loaded %s model %s on %s", family, name, device)
    return HFDualEncoder(family, name, model, tokenizer, image_processor, _weights_fingerprint(name, is_path))



def _weights_fingerprint(name: str, is_path: bool) -> str:
    """Fingerprint of the weights file, or '' if it cannot be found (the config hash still applies)."""
    for filename in WEIGHT_FILES:
        if is_path:
            candidate: Any = Path(name) / filename
        else:
            from huggingface_hub import try_to_load_from_cache

            candidate = try_to_load_from_cache(name, filename, cache_dir=str(hf_hub_cache_dir()))
        if isinstance(candidate, (str, Path)) and Path(candidate).is_file():
            return file_fingerprint(Path(candidate))[:8]
    return ""


@register_encoder("clip")
def make_clip_encoder(source: str) -> Encoder:
    """CLIP through transformers: 'clip:<hub id or folder>' (e.g. clip:openai/clip-vit-base-patch32)."""
    return load_hf_encoder("clip", source)


@register_encoder("siglip")
def make_siglip_encoder(source: str) -> Encoder:
    """SigLIP through transformers: 'siglip:<hub id or folder>' (e.g. siglip:google/siglip-base-patch16-224)."""
    return load_hf_encoder("siglip", source)
