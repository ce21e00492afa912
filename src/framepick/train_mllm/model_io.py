"""The policy MLLM: loaded for training with a processor TRL can use, saved as a folder ``hf:DIR`` loads.

TRL's vision-language paths need a ``ProcessorMixin`` (it renders the chat with images and makes
``pixel_values``). Where the model's own processor loads (``AutoProcessor``; on GPU machines with
torchvision), that one is used. In transformers 5.x the Qwen-VL processors also build a video
processor that imports torchvision; where that is what fails, the same processor class is built
from its image processor and tokenizer alone (a subclass whose only attributes are those two), so
the images are processed exactly as the full processor would (frames are images here, never a
video). Any other failure is a one-line error.

The folder written after training holds the weights (``save_pretrained``), the tokenizer, the image
processor and ``chat_template.jinja`` (and the processor's own files when the full processor
loaded): what :mod:`framepick.answer.hf_local` loads, so ``--clip-model hf:DIR`` and the next
stage's ``--model hf:DIR`` read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framepick.errors import InvalidArgumentError, ModelError, one_line


@dataclass
class Policy:
    """A trainable image-text-to-text model and its processor."""

    source: str
    model: Any
    processor: Any
    full_processor: bool
    """Whether the model's own processor loaded (else the image-only one, module docstring)."""


def model_source(spec: str) -> str:
    """``hf:PATH_OR_ID`` -> ``PATH_OR_ID`` (the policy is always a local transformers model)."""
    if not isinstance(spec, str) or not spec.startswith("hf:") or not spec[3:].strip():
        raise InvalidArgumentError(f"--model must be hf:PATH_OR_HUB_ID (a transformers image-text-to-text model), got {spec!r}")
    return spec[3:].strip()


def _images_only_processor(name: str) -> Any:
    """The model's processor class built from its image processor and tokenizer (no video processor)."""
    import inspect

    from transformers import AutoConfig, AutoImageProcessor, AutoTokenizer
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES
    import transformers

    config = AutoConfig.from_pretrained(name)
    class_name = PROCESSOR_MAPPING_NAMES.get(getattr(config, "model_type", ""))
    base = getattr(transformers, class_name, None) if class_name else None
    if base is None or "video_processor" not in inspect.signature(base.__init__).parameters:
        raise ModelError(f"hf:{name}: its processor does not load and is not a processor with a video part to leave out")
    tokenizer = AutoTokenizer.from_pretrained(name)
    image_processor = AutoImageProcessor.from_pretrained(name)

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):  # noqa: N807
        base.__init__(self, image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    cls = type(f"ImagesOnly{base.__name__}", (base,), {"__init__": __init__})
    template = tokenizer.chat_template
    if not template and (Path(name) / "chat_template.jinja").is_file():
        template = (Path(name) / "chat_template.jinja").read_text(encoding="utf-8")
    return cls(image_processor=image_processor, tokenizer=tokenizer, chat_template=template)


def load_policy(spec: str, dtype: Any) -> Policy:
    """The model named by ``--model hf:...`` in ``dtype`` (a torch dtype), with a processor TRL can use."""
    import transformers
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from framepick.runtime import quiet_transformers

    name = model_source(spec)
    full = True
    try:
        with quiet_transformers():
            try:
                processor = AutoProcessor.from_pretrained(name)
            except ImportError:  # torchvision for the video processor: build the image-only one
                processor, full = _images_only_processor(name), False
            dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
            model = AutoModelForImageTextToText.from_pretrained(name, **{dtype_key: dtype})
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - any loading failure is the user's model folder or id
        raise ModelError(f"cannot load --model hf:{name} for training: {one_line(error)}") from None
    if getattr(processor, "image_processor", None) is None:
        raise ModelError(f"hf:{name} has no image processor: the clip predictor must see frames")
    if processor.tokenizer.pad_token is None:
        processor.tokenizer.pad_token = processor.tokenizer.eos_token
    return Policy(name, model, processor, full)


def save_policy(policy: Policy, model: Any, out: Path) -> None:
    """Write ``model`` and the processor's pieces to ``out`` (a folder ``hf:OUT`` loads)."""
    from framepick.runtime import quiet_transformers

    processor = policy.processor
    with quiet_transformers():
        model.save_pretrained(out)
        if policy.full_processor:
            processor.save_pretrained(out)
        else:  # never the image-only class itself: its name is not one AutoProcessor knows
            processor.tokenizer.save_pretrained(out)
            processor.image_processor.save_pretrained(out)
    template = processor.chat_template or processor.tokenizer.chat_template
    if isinstance(template, str) and not (out / "chat_template.jinja").is_file():
        (out / "chat_template.jinja").write_text(template, encoding="utf-8")
