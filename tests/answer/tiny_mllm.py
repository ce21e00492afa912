"""Tiny random image-text-to-text models for the answerer tests, built offline from config.

``build_tiny_mllm(folder, family)`` writes a Qwen2-VL or Qwen2.5-VL checkpoint a few hundred
kilobytes large to ``folder`` with ``save_pretrained``: random weights (seeded), a byte-level BPE
tokenizer built from scratch (no download) in which "A".."E" and " A".." E" are single tokens, the
PIL image processor, and Qwen's chat template. The folder is what a user's model folder looks like,
so tests load it through the same loader users hit.

The processor is saved piece by piece (tokenizer, image processor, ``chat_template.jinja``) rather
than through ``Qwen2VLProcessor.save_pretrained``: in transformers 5.x that class builds a video
processor which needs torchvision, which these tests must not need.

``build_text_only(folder)`` writes a tiny Qwen2 causal LM with the same tokenizer: the "not an
image-text-to-text model" case.

The same models are built on transformers 5.x and on 4.46 (the bottom of framepick's range). Where
the two differ, the builders ask the installed transformers what it offers rather than its version:
whether the VL config nests a ``text_config`` (5.x) or takes the text fields flat (4.46); whether
configs take ``rope_parameters`` (5.x) or ``rope_theta`` and ``rope_scaling`` (4.46); whether
there is a separate PIL image processor class (5.x's ``*ImageProcessorPil``) or the plain class is
the PIL one (4.46). :func:`missing_family` says why a family cannot be built here (Qwen2.5-VL came
in transformers 4.49).
"""

from __future__ import annotations

import inspect
from pathlib import Path

# Qwen2-VL-Instruct's chat template (the one shipped with Qwen/Qwen2-VL-7B-Instruct), with the
# image part also matched on ``type == 'image'`` as transformers' processors write it.
QWEN_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# LLaVA's format with Qwen's turn markers: one "<image>" per image part, expanded by the processor.
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<image>\n{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "llava")

# Small enough that a forward pass on a few 56x56 frames takes milliseconds on a CPU, large enough
# that the vision tower's merger and M-RoPE run with their real shapes: head_dim 16, so the three
# M-RoPE sections (time, height, width) sum to 8.
TEXT_HIDDEN = 64
TEXT_LAYERS = 2
TEXT_HEADS = 4
VISION_DIM = 32
VISION_LAYERS = 2
MAX_POSITIONS = 2048
# 56x56 frames stay 56x56 (a 4x4 patch grid, 4 image tokens after the 2x2 merge); larger frames
# are shrunk to at most 112x112 (16 tokens), so no test input can get slow.
MIN_PIXELS = 56 * 56
MAX_PIXELS = 112 * 112
ROPE_THETA = 10000.0
MROPE_SECTION = [2, 3, 3]
FAMILY_CONFIGS = {"qwen2_vl": ("Qwen2VLConfig", "4.45"), "qwen2_5_vl": ("Qwen2_5_VLConfig", "4.49"), "llava": ("LlavaConfig", "4.36")}
"""The config class each family needs and the transformers release that brought it."""


def missing_family(family: str) -> str | None:
    """Why ``family`` cannot be built with the installed transformers; None when it can."""
    import transformers

    if family not in FAMILY_CONFIGS:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    name, since = FAMILY_CONFIGS[family]
    if hasattr(transformers, name):
        return None
    return f"transformers {transformers.__version__} has no {name} ({family} came in transformers {since})"


def build_tokenizer(extra_special: tuple[str, ...] = ()):
    """A byte-level BPE tokenizer (Qwen's kind) with Qwen2-VL's special tokens and no download.

    Every byte is a token and the only merges make " A".." E" single tokens, so any text
    round-trips and each option letter, with or without its leading space, is one token.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {symbol: i for i, symbol in enumerate(sorted(alphabet))}
    merges = []
    for letter in "ABCDE":
        vocab["\u0120" + letter] = len(vocab)  # "Ġ" is byte-level BPE's space
        merges.append(("\u0120", letter))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:] + list(extra_special),
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:] + list(extra_special)})
    tokenizer.add_tokens(["<|endoftext|>"], special_tokens=True)
    tokenizer.chat_template = QWEN_VL_CHAT_TEMPLATE
    return tokenizer


def _takes(cls, name: str) -> bool:
    return name in inspect.signature(cls.__init__).parameters


def _rope(config_cls, mrope: bool) -> dict:
    """RoPE settings in the form ``config_cls`` takes: 5.x's ``rope_parameters``, or 4.x's
    ``rope_theta`` with ``rope_scaling`` (where M-RoPE is ``{"type": "mrope", ...}``)."""
    if _takes(config_cls, "rope_parameters"):
        parameters = {"rope_type": "default", "rope_theta": ROPE_THETA}
        return {"rope_parameters": parameters | ({"mrope_section": MROPE_SECTION} if mrope else {})}
    return {"rope_theta": ROPE_THETA} | ({"rope_scaling": {"type": "mrope", "mrope_section": MROPE_SECTION}} if mrope else {})


def _text_config(tokenizer) -> dict:
    """The text model's fields, without RoPE (see :func:`_rope`)."""
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=2 * TEXT_HIDDEN,
        num_hidden_layers=TEXT_LAYERS,
        num_attention_heads=TEXT_HEADS,
        num_key_value_heads=2,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    )


def _vl_config(family: str, tokenizer):
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in [
        ("image_token_id", "<|image_pad|>"),
        ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"),
        ("vision_end_token_id", "<|vision_end|>"),
    ]}
    missing = missing_family(family)
    if missing:
        raise RuntimeError(missing)
    import transformers

    config_cls = getattr(transformers, FAMILY_CONFIGS[family][0])
    if family == "qwen2_vl":
        vision = dict(depth=VISION_LAYERS, embed_dim=VISION_DIM, hidden_size=TEXT_HIDDEN, num_heads=2, mlp_ratio=2)
    elif family == "qwen2_5_vl":
        vision = dict(
            depth=VISION_LAYERS,
            hidden_size=VISION_DIM,
            intermediate_size=2 * VISION_DIM,
            num_heads=2,
            out_hidden_size=TEXT_HIDDEN,
            window_size=56,
            fullatt_block_indexes=[VISION_LAYERS - 1],
        )
    else:
        raise ValueError(f"{family} is not a Qwen-VL family")
    if "text_config" in (getattr(config_cls, "sub_configs", None) or {}):  # 5.x: the text model's own config
        text = _text_config(tokenizer) | _rope(config_cls.sub_configs["text_config"], mrope=True)
        return config_cls(text_config=text, vision_config=vision, **ids)
    # 4.x: the text fields sit in the VL config itself
    return config_cls(vision_config=vision, **_text_config(tokenizer), **_rope(config_cls, mrope=True), **ids)


def build_image_processor():
    """Qwen2-VL's PIL image processor: 5.x's ``Qwen2VLImageProcessorPil`` (its plain class is the
    torchvision one where torchvision is), or 4.x's ``Qwen2VLImageProcessor``, which is PIL."""
    try:
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    except ImportError:
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor

        return Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    return Qwen2VLImageProcessorPil(size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS})


def _clip_image_processor():
    """CLIP's PIL image processor: 5.x's ``CLIPImageProcessorPil`` or 4.x's ``CLIPImageProcessor``."""
    try:
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil as cls
    except ImportError:
        from transformers import CLIPImageProcessor as cls
    return cls(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56})


def build_tiny_mllm(folder: str | Path, family: str = "qwen2_vl", seed: int = 0) -> Path:
    """Write a tiny random ``family`` image-text-to-text checkpoint with its processor to ``folder``."""
    import torch
    from transformers import AutoModelForImageTextToText

    if family == "llava":
        return build_tiny_llava(folder, seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    config = _vl_config(family, tokenizer)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    build_image_processor().save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(QWEN_VL_CHAT_TEMPLATE)
    return folder


def build_tiny_llava(folder: str | Path, seed: int = 0) -> Path:
    """A tiny LLaVA (CLIP vision tower, Qwen2 text model) with a full ``LlavaProcessor``.

    Unlike Qwen2-VL's, LLaVA's processor has no video processor, so ``AutoProcessor`` (and hence
    ``transformers serve``) loads it without torchvision. Each 56x56 image is 16 image tokens.
    """
    import torch
    from transformers import (
        AutoModelForImageTextToText,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaProcessor,
        Qwen2Config,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(extra_special=("<image>",))
    text = _text_config(tokenizer) | _rope(Qwen2Config, mrope=False)
    vision = CLIPVisionConfig(
        hidden_size=VISION_DIM, intermediate_size=2 * VISION_DIM, num_hidden_layers=VISION_LAYERS,
        num_attention_heads=2, image_size=56, patch_size=14, projection_dim=VISION_DIM,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=Qwen2Config(**text),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        image_seq_length=16,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config)
    model.generation_config.eos_token_id = text["eos_token_id"]
    model.generation_config.pad_token_id = text["pad_token_id"]
    model.save_pretrained(folder)
    tokenizer.chat_template = LLAVA_CHAT_TEMPLATE
    # CLIP's CLS token, which the "default" strategy drops (4.46's processor counts it by itself)
    extra = {"num_additional_image_tokens": 1} if _takes(LlavaProcessor, "num_additional_image_tokens") else {}
    processor = LlavaProcessor(
        image_processor=_clip_image_processor(),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        chat_template=LLAVA_CHAT_TEMPLATE,
        **extra,
    )
    processor.save_pretrained(folder)
    return folder


def build_text_only(folder: str | Path, seed: int = 0) -> Path:
    """A tiny Qwen2 causal LM (text only) with the same tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    text = _text_config(tokenizer) | _rope(Qwen2Config, mrope=False)
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(Qwen2Config(**text)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


if __name__ == "__main__":  # python tests/answer/tiny_mllm.py OUT_DIR [FAMILY]
    import sys

    print(build_tiny_mllm(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "qwen2_vl"))
