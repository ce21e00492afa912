"""``hf:HUB_ID_OR_DIR``: a local transformers image-text-to-text model answers from the frames.

Any model ``AutoModelForImageTextToText`` loads (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, LLaVA,
LLaVA-OneVision, InternVL-hf, Gemma 3, ...), with its processor and chat template, from a local
folder or a hub id already in the Hugging Face cache (or downloaded by ``from_pretrained`` when the
hub is not switched off).

The input is the prompt of :mod:`framepick.answer.prompt` in the model's own chat template: per
frame a text label with its time, then the frame as an image, then the question block. Choices
made here that the issue left open:

- **Frames are images, not a video.** Each frame is one image part, in order: never resampled,
  never duplicated, an odd count is not padded (qwen-vl-utils repeats the last frame to make the
  count even; a video processor samples its own frames). The times the model needs are in the
  labels, which works for every model family alike, including those without a video input.
- **Frames are downscaled** (aspect kept) so their longer side is at most ``max_side`` pixels
  (768 by default, as the OpenAI backend sends them) before the model's processor sizes them
  its own way; unlike the server path they are not JPEG-compressed.
- **Multiple choice is one forward pass.** The option probabilities are the softmax of the
  next-token logits at the answer position restricted to the option letters' token ids
  (``A``.. for the number of options). Where the tokenizer also has a single token for the letter
  after a space (``" B"``), both spellings count for that letter (log-sum-exp), as the server path
  adds ``"B"`` and ``" B"`` from ``top_logprobs``. The letter is the argmax; ``source="logits"``;
  :attr:`Answer.text` is the token the model would actually have written (its argmax over the
  whole vocabulary), so a model that would not have answered with a letter shows it.
- **An open question** (no options) is greedy generation of at most ``open_max_tokens`` tokens.
- **No torchvision needed.** In transformers 5.x the Qwen2-VL / Qwen2.5-VL processor classes build
  a video processor that imports torchvision. When the full processor cannot be built, the inputs
  are built from the image processor, the tokenizer and the chat template alone, for image
  processors of the Qwen-VL kind (an ``image_grid_thw`` per image, ``merge_size``): the same
  ``input_ids``, ``pixel_values``, ``image_grid_thw`` and ``mm_token_type_ids`` the processor
  would make (the tests compare them). Other families need their processor to load.
- **The context is checked before the forward pass**: more input tokens than the text model's
  ``max_position_embeddings`` is a one-line error naming the frame count, not a CUDA crash.
- :attr:`TransformersAnswerer.id` names the model (folder or hub id), a fingerprint of its config,
  image processor, chat template and weights, the dtype, ``max_side`` and the prompt template: not
  the device, so a CPU and a GPU run of the same dtype share cached answers. ``dtype=auto`` is
  float32 on a CPU and bfloat16 on most GPUs, which is a different id: their answers differ by
  more than float tolerance.

Every failure to load (a folder without a processor or chat template, a text-only model, a hub id
not in the cache while offline) is a one-line :class:`~framepick.errors.AnswererError`.

**transformers versions.** The same code runs across framepick's range (tested on 4.46.3 with
torch 2.6, and on 5.24); where they differ it asks the installed library what it offers (only the
dtype keyword goes by the major version):

- 4.46 knows fewer model types. A model it does not know (Qwen2.5-VL before 4.49, Gemma 3 before
  4.50, Qwen3-VL before 4.57, ...) is a one-line error at load naming the version it needs
  (:data:`NEEDS_TRANSFORMERS`) or asking for a newer transformers; that is the one thing that
  cannot work on 4.46. An image-text-to-text type that 4.46 maps elsewhere (``video_llava``) is the
  "cannot see frames" error, naming the installed version.
- 4.46's Qwen2-VL processor has no video processor and loads without torchvision, so Qwen2-VL runs
  on the processor path there; without ``mm_token_type_ids`` in the model's forward none are made.
- 4.x forwards take no ``**kwargs``: inputs a tokenizer adds that the model does not take
  (``token_type_ids``) are dropped; the last-position logits are asked for with
  ``num_logits_to_keep`` where the forward has no ``logits_to_keep``; the weights' dtype is passed
  as ``torch_dtype`` before 5.0.
- 4.46's LLaVA models log a spurious "Expanding inputs for image tokens ... should be done in
  processing" at each ``generate``; it is filtered out while generating.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from framepick.answer.base import Answer, AnswererOptions, ChatModel
from framepick.answer.images import DEFAULT_MAX_SIDE, fit_within
from framepick.answer.prompt import (
    ImagePart,
    Part,
    PromptTemplate,
    build_parts,
    load_template,
)
from framepick.answer.reply import probs_from_letter_logits
from framepick.errors import AnswererError, InvalidArgumentError, one_line
from framepick.registry import register_answerer
from framepick.runtime import configure_torch_threads, file_fingerprint, quiet_transformers
from framepick.types import option_letter
from framepick.validation import check_int

logger = logging.getLogger(__name__)

DEFAULT_OPEN_MAX_TOKENS = 256
CHAT_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")


@dataclass(frozen=True)
class TransformersAnswererConfig:
    """Which model, and how to run it. ``device`` is not part of the answerer's id; the rest is."""

    source: str
    """A hub id (``Qwen/Qwen2.5-VL-7B-Instruct``) or a folder written by ``save_pretrained``."""
    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:N``, ``auto``; None: the process's ``--device`` (:mod:`framepick.device`)."""
    dtype: str | None = None
    """``auto`` (None), ``float32``, ``float16``, ``bfloat16``."""
    max_side: int = DEFAULT_MAX_SIDE
    """Frames are downscaled so their longer side is at most this many pixels."""
    open_max_tokens: int = DEFAULT_OPEN_MAX_TOKENS
    """Most tokens generated for an open question."""

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise InvalidArgumentError("hf answerer needs a model: hf:HUB_ID or hf:/path/to/model")
        for name in ("max_side", "open_max_tokens"):
            check_int(f"hf answerer {name}", getattr(self, name), low=1)


class TransformersAnswerer(ChatModel):
    """An image-text-to-text model run in this process with transformers (``hf:HUB_ID_OR_DIR``)."""

    def __init__(self, config: TransformersAnswererConfig, template: PromptTemplate | None = None) -> None:
        import torch

        from framepick.device import resolve_device, resolve_dtype

        self.config = config
        self.max_side = config.max_side
        self.template = template or load_template("default")
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        loaded = _load(config.source.strip(), self.dtype)
        self.name = loaded.name
        self.model = loaded.model.to(self.device).eval()
        self.tokenizer = loaded.tokenizer
        self.inputs = loaded.inputs
        self.context = loaded.context
        forward = inspect.signature(self.model.forward).parameters
        self._forward_params = set(forward)
        self._forward_takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in forward.values())
        self._letter_ids: dict[str, list[int]] = {}
        dtype_name = str(self.dtype).removeprefix("torch.")
        self.id = f"hf:{self.name}@{loaded.fingerprint}:{dtype_name}:max{config.max_side}:{self.template.id}"
        self._torch = torch
        logger.info("loaded %s on %s (%s, inputs from %s)", self.name, self.device, dtype_name, loaded.inputs.kind)

    # -- the Answerer interface ------------------------------------------------------------

    def answer(
        self,
        frames: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        parts = build_parts(self.template, frames, timestamps, question, options)
        letter_ids = [self.letter_token_ids(option_letter(i)) for i in range(len(options))]
        inputs = self.model_inputs(parts, reserve=1 if options else self.config.open_max_tokens)
        torch = self._torch
        with torch.inference_mode():
            if not options:
                return Answer(letter=None, text=self._generate(inputs, self.config.open_max_tokens), source=None)
            # The logits at the last position only: ``logits_to_keep``, or 4.46's ``num_logits_to_keep``.
            keep = [name for name in ("logits_to_keep", "num_logits_to_keep") if name in self._forward_params]
            extra = {keep[0]: 1} if keep else {}
            logits = self.model(**inputs, use_cache=False, **extra).logits[0, -1].float()
            # One spelling or two per letter ("B", " B"): their probabilities add up.
            per_letter = torch.stack([torch.logsumexp(logits[ids], dim=0) for ids in letter_ids])
            said = self.tokenizer.decode([int(logits.argmax())])
        return Answer.from_probs(probs_from_letter_logits(per_letter.double().cpu().numpy()), text=said, source="logits")

    # -- inputs ----------------------------------------------------------------------------

    def model_inputs(self, parts: list[Part], reserve: int = 1) -> dict[str, Any]:
        """The model's inputs for ``parts`` on its device, checked against its context.

        ``reserve``: tokens that must fit after the prompt (1 for a letter, the generation budget
        for an open question).
        """
        images = [self._picture(p.image) for p in parts if isinstance(p, ImagePart)]
        messages = self.messages(parts)
        batch = self.inputs(messages, images)
        input_ids = batch["input_ids"]
        grid = batch.get("image_grid_thw")
        if grid is not None and int(grid.shape[0]) != len(images):
            raise AnswererError(
                f"hf:{self.name}: the processor made {int(grid.shape[0])} images out of {len(images)} frames"
            )
        length = int(input_ids.shape[1])
        if self.context and length + reserve > self.context:
            raise AnswererError(
                f"hf:{self.name}: {len(images)} frames make a {length}-token prompt, more than the model's "
                f"context of {self.context} tokens (with {reserve} to generate); use fewer frames (-k) "
                f"or a smaller max side (now {self.config.max_side})"
            )
        floating = self.model.dtype
        return {
            key: value.to(self.device, dtype=floating) if value.is_floating_point() else value.to(self.device)
            for key, value in batch.items()
            if hasattr(value, "is_floating_point") and self._takes(key)
        }

    def _takes(self, key: str) -> bool:
        # A tokenizer may add inputs its model does not take (token_type_ids from a generic fast
        # tokenizer); a forward without **kwargs (transformers 4.x) would raise on them.
        return self._forward_takes_any or key in self._forward_params

    def messages(self, parts: list[Part]) -> list[dict[str, Any]]:
        """The chat for ``parts`` in transformers' format: image parts carry no pixels here (the
        images go to the processor separately, in the same order)."""
        content = [{"type": "image"} if isinstance(p, ImagePart) else {"type": "text", "text": p.text} for p in parts]
        system = (
            [{"role": "system", "content": [{"type": "text", "text": self.template.system}]}]
            if self.template.system
            else []
        )
        return system + [{"role": "user", "content": content}]

    def letter_token_ids(self, letter: str) -> list[int]:
        """The token ids that write ``letter`` as the answer: the bare letter, and the letter after
        a space when that is one token too. An error when the bare letter is not one token."""
        if letter not in self._letter_ids:
            bare = self.tokenizer.encode(letter, add_special_tokens=False)
            if len(bare) != 1:
                pieces = self.tokenizer.convert_ids_to_tokens(bare)
                raise AnswererError(
                    f"hf:{self.name}: option letter {letter!r} is {len(bare)} tokens {pieces} in this tokenizer; "
                    "reading option probabilities from the logits needs one token per letter"
                )
            spaced = self.tokenizer.encode(" " + letter, add_special_tokens=False)
            ids = [bare[0]] + ([spaced[0]] if len(spaced) == 1 and spaced[0] != bare[0] else [])
            self._letter_ids[letter] = ids
        return self._letter_ids[letter]

    def _picture(self, frame: np.ndarray) -> Any:
        from PIL import Image

        image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
        height, width = fit_within(frame.shape[0], frame.shape[1], self.config.max_side)
        if (height, width) != frame.shape[:2]:
            image = image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0)
        return image

    def generate(self, parts: Sequence[Part], max_tokens: int) -> str:
        inputs = self.model_inputs(list(parts), reserve=max_tokens)
        with self._torch.inference_mode():
            return self._generate(inputs, max_tokens)

    def _generate(self, inputs: dict[str, Any], max_tokens: int) -> str:
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        model_logger = logging.getLogger(type(self.model).__module__)
        model_logger.addFilter(_LEGACY_EXPANSION_NOTICE)
        try:
            output = self.model.generate(
                **inputs, max_new_tokens=max_tokens, do_sample=False, pad_token_id=pad
            )
        finally:
            model_logger.removeFilter(_LEGACY_EXPANSION_NOTICE)
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        return self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()


class _LegacyExpansionNotice(logging.Filter):
    """Drops transformers 4.46's "Expanding inputs for image tokens in LLaVa should be done in
    processing" warning, which its LLaVA-family models log at the first decoding step of every
    ``generate`` (a decoding step has no image tokens, which 4.46 takes for an unexpanded prompt)
    even though the processor expanded them; the answers are right, the notice is not actionable."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Expanding inputs for image tokens")


_LEGACY_EXPANSION_NOTICE = _LegacyExpansionNotice()


# -- building inputs ------------------------------------------------------------------------


class _ProcessorInputs:
    """Inputs from the model's full processor: what users with torchvision (GPU machines) get."""

    kind = "processor"

    def __init__(self, processor: Any, chat_template: str) -> None:
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.chat_template = chat_template

    def __call__(self, messages: list[dict[str, Any]], images: list[Any]) -> dict[str, Any]:
        text = self.processor.apply_chat_template(
            messages, chat_template=self.chat_template, add_generation_prompt=True, tokenize=False
        )
        return dict(
            self.processor(
                text=[text], images=images or None, return_tensors="pt",
                add_special_tokens=_needs_special_tokens(self.tokenizer, text),
            )
        )


class _ImageGridInputs:
    """Inputs from the image processor, the tokenizer and the chat template, for Qwen-VL-style
    image processors (one ``image_grid_thw`` row per image; ``prod(grid) / merge_size**2`` image
    tokens each): what the Qwen2-VL processor does, without its video processor."""

    kind = "image processor + tokenizer"

    def __init__(self, image_processor: Any, tokenizer: Any, chat_template: str, image_token: str, type_ids: bool) -> None:
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.image_token = image_token
        self.image_token_id = tokenizer.convert_tokens_to_ids(image_token)
        self.type_ids = type_ids
        """Whether the model takes ``mm_token_type_ids`` (transformers 5.x's M-RoPE needs them)."""

    def __call__(self, messages: list[dict[str, Any]], images: list[Any]) -> dict[str, Any]:

        text = self.tokenizer.apply_chat_template(
            messages, chat_template=self.chat_template, add_generation_prompt=True, tokenize=False
        )
        pieces = text.split(self.image_token)
        if len(pieces) - 1 != len(images):
            raise AnswererError(
                f"the chat template wrote {len(pieces) - 1} image placeholders for {len(images)} frames"
            )
        batch: dict[str, Any] = {}
        if images:
            batch = dict(self.image_processor(images=images, return_tensors="pt"))
            merge = int(getattr(self.image_processor, "merge_size", 1) or 1) ** 2
            counts = [int(row.prod()) // merge for row in batch["image_grid_thw"]]
            text = pieces[0] + "".join(self.image_token * n + piece for n, piece in zip(counts, pieces[1:]))
        encoded = self.tokenizer(
            [text], return_tensors="pt", add_special_tokens=_needs_special_tokens(self.tokenizer, text)
        )
        batch.update(encoded)
        if self.type_ids:
            batch["mm_token_type_ids"] = (encoded["input_ids"] == self.image_token_id).to(encoded["input_ids"].dtype)
        return batch


def _needs_special_tokens(tokenizer: Any, text: str) -> bool:
    # A chat template that writes the BOS itself must not get a second one from the tokenizer.
    bos = getattr(tokenizer, "bos_token", None)
    return not (bos and text.startswith(bos))


# -- loading --------------------------------------------------------------------------------


@dataclass
class _Loaded:
    name: str
    model: Any
    tokenizer: Any
    inputs: Any
    context: int | None
    fingerprint: str


def _load(source: str, dtype: Any) -> _Loaded:
    from framepick.encode.hf import hf_hub_cache_dir, hub_offline, looks_like_path

    is_path = looks_like_path(source)
    name = str(Path(source).expanduser().resolve()) if is_path else source
    if is_path:
        _check_folder(Path(name))
    options: dict[str, Any] = {} if is_path else {"cache_dir": str(hf_hub_cache_dir()), "local_files_only": hub_offline()}
    try:
        import transformers
        from transformers import AutoConfig, AutoModelForImageTextToText
        from transformers.models.auto.modeling_auto import (
            MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
        )
    except ImportError as error:
        raise AnswererError(f"hf:{name} needs transformers >= 4.46 (pip install transformers): {one_line(error)}") from None
    configure_torch_threads()
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(name, **options)
    except Exception as error:
        raise AnswererError(_unknown_model_type(name, is_path) or _load_failure(name, is_path, error)) from None
    model_type = getattr(config, "model_type", "?")
    if model_type not in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        raise AnswererError(
            f"hf:{name} is a {model_type!r} model, which AutoModelForImageTextToText does not load (transformers "
            f"{transformers.__version__}): it cannot see frames; use an image-text-to-text model (Qwen2.5-VL, "
            "Qwen3-VL, LLaVA-OneVision, InternVL-hf)"
        )
    inputs, tokenizer, template = _load_inputs(name, is_path, config, options)
    dtype_key = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
    try:
        with quiet_transformers():
            model = AutoModelForImageTextToText.from_pretrained(name, **{dtype_key: dtype}, **options)
    except Exception as error:
        raise AnswererError(_load_failure(name, is_path, error)) from None
    if isinstance(inputs, _ImageGridInputs):
        inputs.type_ids = "mm_token_type_ids" in inspect.signature(model.forward).parameters
    return _Loaded(
        name=name,
        model=model,
        tokenizer=tokenizer,
        inputs=inputs,
        context=_context_length(config),
        fingerprint=_fingerprint(name, is_path, template),
    )


NEEDS_TRANSFORMERS = {"qwen2_5_vl": "4.49", "gemma3": "4.50", "qwen3_vl": "4.57"}
"""The first transformers release that knows a model type, for the families the docs name that
came after framepick's floor (4.46); any other unknown type gets "a newer transformers"."""


def _unknown_model_type(name: str, is_path: bool) -> str | None:
    """The error for a model whose ``model_type`` the installed transformers does not know (a
    Qwen2.5-VL under transformers 4.46), read from its config.json; None when that is not why."""
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    path = _model_file(name, is_path, "config.json")
    try:
        model_type = json.loads(path.read_text(encoding="utf-8")).get("model_type") if path else None
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(model_type, str) or not model_type or model_type in CONFIG_MAPPING_NAMES:
        return None
    since = NEEDS_TRANSFORMERS.get(model_type)
    needed = f"transformers >= {since}" if since else "a newer transformers"
    upgrade = f"pip install -U 'transformers>={since}'" if since else "pip install -U transformers"
    return (
        f"hf:{name} is a {model_type!r} model, which transformers {transformers.__version__} does not know: "
        f"it needs {needed} ({upgrade})"
    )


def _check_folder(folder: Path) -> None:
    from framepick.encode.hf import TOKENIZER_FILES

    if not folder.is_dir():
        raise AnswererError(f"hf: model folder {folder} does not exist")
    if not (folder / "config.json").is_file():
        raise AnswererError(f"hf: model folder {folder} has no config.json (save the model there with save_pretrained)")
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise AnswererError(
            f"hf: model folder {folder} has no tokenizer (none of {', '.join(TOKENIZER_FILES)}); "
            "save the processor there with save_pretrained"
        )


def _load_failure(name: str, is_path: bool, error: BaseException) -> str:
    from framepick.encode.hf import hf_hub_cache_dir, hub_offline

    if not is_path and hub_offline() and isinstance(error, OSError):
        return (
            f"hf:{name} is not in the local Hugging Face cache ({hf_hub_cache_dir()}) and downloads are off "
            f"(HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE); run `hf download {name}` where there is network "
            "(same HF_HOME), or pass a model folder: hf:/path/to/model"
        )
    message = f"cannot load hf:{name}: {one_line(error)}"
    if not is_path and isinstance(error, OSError) and "connect" in str(error):
        message += " (without network: HF_HUB_OFFLINE=1 uses the local cache only; or pass a model folder)"
    return message


def _load_inputs(name: str, is_path: bool, config: Any, options: dict[str, Any]) -> tuple[Any, Any, str]:
    """The full processor when it loads; else image processor + tokenizer (Qwen-VL kind)."""
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    processor_error: BaseException | None = None
    try:
        with quiet_transformers():
            processor = AutoProcessor.from_pretrained(name, **options)
    except Exception as error:  # ImportError: torchvision for the video processor, and the like
        processor, processor_error = None, error
    # AutoProcessor falls back to a bare tokenizer when a folder has no processor: no images then.
    if processor is not None and getattr(processor, "image_processor", None) is not None:
        template = _chat_template(name, is_path, processor, processor.tokenizer)
        return _ProcessorInputs(processor, template), processor.tokenizer, template
    try:
        with quiet_transformers():
            image_processor = AutoImageProcessor.from_pretrained(name, **options)
            tokenizer = AutoTokenizer.from_pretrained(name, **options)
    except Exception as error:
        where = "folder" if is_path else "model"
        # "Can't load image processor for ..." (an OSError) only repeats that the file is missing.
        reason = "" if isinstance(error, OSError) else f" ({one_line(error)})"
        raise AnswererError(
            f"hf:{name}: {where} has no usable image processor (preprocessor_config.json); save the model's "
            f"processor there with save_pretrained{reason}"
        ) from None
    template = _chat_template(name, is_path, None, tokenizer)
    image_token = getattr(tokenizer, "image_token", None)
    if image_token is None and getattr(config, "image_token_id", None) is not None:
        image_token = tokenizer.convert_ids_to_tokens(int(config.image_token_id))
    if not hasattr(image_processor, "merge_size") or not image_token:
        reason = one_line(processor_error) if processor_error else "it is not a multimodal processor"
        raise AnswererError(
            f"hf:{name}: its processor did not load ({reason}); without it framepick builds inputs only for "
            "Qwen-VL-style image processors, install what the processor needs"
        )
    logger.info("hf:%s: building inputs without the full processor (%s)", name, one_line(processor_error or ""))
    return _ImageGridInputs(image_processor, tokenizer, template, image_token, type_ids=False), tokenizer, template


def _chat_template(name: str, is_path: bool, processor: Any, tokenizer: Any) -> str:
    for owner in (processor, tokenizer):
        template = getattr(owner, "chat_template", None) if owner is not None else None
        if isinstance(template, str) and template.strip():
            return template
        if isinstance(template, dict) and template.get("default"):
            return template["default"]
    if is_path:  # an older transformers may not read chat_template.jinja by itself
        for filename in CHAT_TEMPLATE_FILES:
            path = Path(name) / filename
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                return json.loads(text)["chat_template"] if filename.endswith(".json") else text
    raise AnswererError(
        f"hf:{name} has no chat template (chat_template.jinja, or chat_template in the tokenizer or processor "
        "config); save the model's processor there with save_pretrained"
    )


def _context_length(config: Any) -> int | None:
    for owner in (getattr(config, "text_config", None), config):
        value = getattr(owner, "max_position_embeddings", None) if owner is not None else None
        if isinstance(value, int) and value > 0:
            return value
    return None


WEIGHT_FILES = ("model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin")
FINGERPRINT_FILES = ("config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json")
"""Small files whose contents decide what the model sees and answers (besides the weights)."""


def _fingerprint(name: str, is_path: bool, template: str) -> str:
    """What decides the model's answers besides the device: its config, processor and tokenizer
    settings as saved (the files, not transformers' view of them, which changes with its version),
    the chat template, and the weights (a cheap fingerprint: size and both ends of the file)."""
    digest = hashlib.sha256()
    for filename in FINGERPRINT_FILES:
        path = _model_file(name, is_path, filename)
        digest.update(filename.encode() + b"\0" + (path.read_bytes() if path is not None else b"-") + b"\0")
    digest.update(template.encode() + b"\0")
    for filename in WEIGHT_FILES:
        path = _model_file(name, is_path, filename)
        if path is not None:
            digest.update(file_fingerprint(path).encode())
            break
    return digest.hexdigest()[:10]


def _model_file(name: str, is_path: bool, filename: str) -> Path | None:
    """``filename`` of a model folder, or of a hub model's cached snapshot; None when absent."""
    if is_path:
        candidate: Any = Path(name) / filename
    else:
        from huggingface_hub import try_to_load_from_cache

        from framepick.encode.hf import hf_hub_cache_dir

        candidate = try_to_load_from_cache(name, filename, cache_dir=str(hf_hub_cache_dir()))
    return Path(candidate) if isinstance(candidate, (str, Path)) and Path(candidate).is_file() else None


@register_answerer("hf")
def make_transformers_answerer(argument: str | None = None, options: AnswererOptions | None = None) -> TransformersAnswerer:
    """A local transformers image-text-to-text model: ``hf:HUB_ID`` or ``hf:/path/to/model`` (--device, --dtype)."""
    options = options or AnswererOptions()
    if not argument:
        raise InvalidArgumentError("hf answerer needs a model: hf:HUB_ID (e.g. hf:Qwen/Qwen2.5-VL-3B-Instruct) or hf:/path/to/model")
    settings = {"device": options.device, "dtype": options.dtype, "max_side": options.max_side}
    config = TransformersAnswererConfig(source=argument, **{k: v for k, v in settings.items() if v is not None})
    template = load_template(options.prompt) if options.prompt else None
    return TransformersAnswerer(config, template)
