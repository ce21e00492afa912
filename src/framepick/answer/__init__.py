"""Answerers: a few frames and a multiple-choice question in, an :class:`Answer` out.

``load_answerer("offline")`` builds one by name (``name`` or ``name:argument``, as encoders are
named); :data:`framepick.registry.answerers` lists them. Built in:

- ``openai:MODEL@http://HOST:PORT/v1``: an MLLM behind any OpenAI-compatible server (vLLM, SGLang,
  llama.cpp, ``transformers serve``, hosted APIs), :mod:`framepick.answer.openai_compat`;
- ``hf:HUB_ID_OR_DIR``: an image-text-to-text model run locally with transformers (``--device``,
  ``--dtype``), option probabilities from its next-token logits, :mod:`framepick.answer.hf_local`;
- ``offline``: the weak option matcher of :mod:`framepick.answer.offline` (no MLLM, no download);
  ``offline:ENCODER`` matches in another encoder's space, e.g. ``offline:clip:/models/clip``.

What an answerer can do beyond :meth:`Answerer.answer` is its type: an :class:`EmbeddingAnswerer`
answers from cached frame embeddings, an :class:`OptionSimilarityAnswerer` (training needs one)
from one option-to-frame similarity table.

Importing this package is cheap: an answerer loads its models when it is built.
"""

from __future__ import annotations

from framepick.answer import hf_local, offline, openai_compat  # noqa: F401  (registers the built-in answerers)
from framepick.answer.base import (
    Answer,
    Answerer,
    AnswererOptions,
    ChatModel,
    EmbeddingAnswerer,
    OptionSimilarityAnswerer,
)
from framepick.answer.offline import OfflineAnswerer, OfflineAnswererConfig
from framepick.errors import InvalidArgumentError
from framepick.registry import answerers


def parse_answerer_spec(spec: str) -> tuple[str, str | None]:
    """'offline' -> ('offline', None); 'offline:clip:/m' -> ('offline', 'clip:/m')."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"answerer must be a non-empty name such as 'offline', got {spec!r}")
    name, sep, argument = spec.strip().partition(":")
    return name.strip().lower(), (argument.strip() or None) if sep else None


def load_answerer(spec: str = "offline", options: AnswererOptions | None = None) -> Answerer:
    """The answerer named by ``spec``, run as ``options`` say; unknown names list the registered ones.

    Every factory is called as ``factory(argument, options)``: ``argument`` is what follows the
    first colon of the spec (None without one).
    """
    name, argument = parse_answerer_spec(spec)
    factory = answerers.get(name)
    return factory(argument, options or AnswererOptions())


def load_chat_model(spec: str | Answerer, options: AnswererOptions | None = None, *, flag: str = "--llm") -> ChatModel:
    """The MLLM ``spec`` names (or ``spec`` itself when it is built), for the stages that need free
    text (:class:`ChatModel`); any other answerer is a one-line error naming ``flag``."""
    model = load_answerer(spec, options) if isinstance(spec, str) else spec
    if not isinstance(model, ChatModel):
        raise InvalidArgumentError(f"{flag} must name an MLLM (hf:..., openai:...), got {getattr(model, 'id', spec)!r}")
    return model


def list_answerers() -> dict[str, str]:
    """Registered answerer names with a one-line summary each."""
    return answerers.summaries()


__all__ = [
    "Answer",
    "Answerer",
    "AnswererOptions",
    "ChatModel",
    "EmbeddingAnswerer",
    "OfflineAnswerer",
    "OfflineAnswererConfig",
    "OptionSimilarityAnswerer",
    "list_answerers",
    "load_answerer",
    "load_chat_model",
    "parse_answerer_spec",
]
