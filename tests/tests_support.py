"""Helpers shared by test modules (import as `from tests_support import ...`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RED_SPAN = (10.0, 15.0)
BLUE_SPAN = (25.0, 30.0)


def forbid_decoding(monkeypatch) -> None:
    """Make any frame decode fail the test: proves a result came from the cache."""
    from framepick.video.decode import VideoDecoder

    def fail(*args, **kwargs):
        raise AssertionError("frames were decoded, but the cache should have had them")

    monkeypatch.setattr(VideoDecoder, "get_frames", fail)


def solid_picture(rgb, size=(96, 160)) -> np.ndarray:
    picture = np.empty((*size, 3), dtype=np.uint8)
    picture[:] = rgb
    return picture


# Tiny random CLIP / SigLIP models (hidden size 32) saved with save_pretrained, so every code
# path that loads real weights is exercised through the loader users hit, with no download.

WORDS = (
    "a an the of photo red green blue cat dog man woman car tree rabbit bow tie is there what in on".split()
)


def _tiny_tokenizer():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[BOS]": 2, "[EOS]": 3}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="[BOS]", eos_token="[EOS]", pad_token="[PAD]", unk_token="[UNK]"
    )
    return fast, len(vocab)


def save_tiny_model(family: str, folder: Path, seed: int = 0) -> Path:
    """A random CLIP/SigLIP with hidden size 32, its tokenizer and image processor, saved to ``folder``."""
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        SiglipConfig,
        SiglipImageProcessor,
        SiglipModel,
    )

    tokenizer, vocab_size = _tiny_tokenizer()
    text = dict(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=16,
        bos_token_id=2,
        eos_token_id=3,
        pad_token_id=0,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=32,
        patch_size=8,
    )
    import torch

    torch.manual_seed(seed)
    if family == "clip":
        model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=24))
        processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    else:
        model = SiglipModel(SiglipConfig(text_config=text, vision_config=vision))
        processor = SiglipImageProcessor(size={"height": 32, "width": 32})
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
