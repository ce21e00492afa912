"""The answerer interface: frames and a multiple-choice question in, an answer out.

Real MLLM backends (an OpenAI-compatible server, a local transformers model) and the offline
matcher implement the same :class:`Answerer`, so rewards and accuracy are computed one way.

What an answerer can do beyond that is a type, not an attribute to probe for:

- :class:`EmbeddingAnswerer`: answers from frame embeddings its own encoder made, so an
  evaluation answers from the features it has cached instead of decoding the chosen frames;
- :class:`OptionSimilarityAnswerer`: moreover its answer on any set of frames is a function of one
  option-to-frame similarity table, so training computes the table once per question;
- :class:`ChatModel`: an MLLM that writes free text for any prompt of text and image parts, which
  the papers' MLLM-side stages need (K-frames' clip predictor asks for key clips, not an option).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.types import option_letter

if TYPE_CHECKING:
    from framepick.answer.prompt import Part
    from framepick.encode.base import Encoder


@dataclass(frozen=True)
class AnswererOptions:
    """How to run an answerer, as opposed to which one (its spec). None means the backend's default.

    Every backend takes the same options object and ignores what does not apply to it (the offline
    matcher has no prompt), so a command line's ``--device`` reaches every kind of answerer.
    """

    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (a GPU when torch sees one), for local models."""
    dtype: str | None = None
    """``auto``, ``float32``, ``float16`` or ``bfloat16``, for local models."""
    prompt: str | None = None
    """A template name or a JSON file of template fields (:mod:`framepick.answer.prompt`)."""
    max_side: int | None = None
    """Frames are downscaled so that their longer side is at most this many pixels."""
    concurrency: int | None = None
    """Requests in flight at once, for servers."""
    timeout: float | None = None
    """Seconds before one request is given up (then retried), for servers."""
    api_key_env: str | None = None
    """The environment variable holding a server's API key (never the key itself)."""


@dataclass(frozen=True)
class Answer:
    """What an answerer said, with a probability per option when the backend can give them."""

    letter: str | None
    """The chosen option's letter, or None when the reply named none."""
    option_probs: tuple[float, ...] | None = None
    """One probability per option, summing to 1, when the backend exposes them."""
    text: str | None = None
    """The raw reply, for backends that generate text."""
    source: str | None = None
    """How the answer was read: ``logits`` (a local model's next-token logits over the letters),
    ``logprobs`` (a server's ``top_logprobs``), ``parsed`` (the letter read from the reply's text:
    no probabilities), ``embeddings`` (the offline matcher), or None for an open question."""

    def __post_init__(self) -> None:
        if self.option_probs is not None:
            probs = np.asarray(self.option_probs, dtype=np.float64)
            if probs.ndim != 1 or probs.size == 0 or np.any(probs < 0) or not np.isclose(probs.sum(), 1.0, atol=1e-6):
                raise ValueError(f"option_probs must be a probability vector, got {self.option_probs}")
            object.__setattr__(self, "option_probs", tuple(float(p) for p in probs))

    @classmethod
    def from_probs(cls, probs: Sequence[float], text: str | None = None, source: str | None = None) -> "Answer":
        probs = np.asarray(probs, dtype=np.float64)
        return cls(letter=option_letter(int(np.argmax(probs))), option_probs=tuple(probs), text=text, source=source)


class Answerer(ABC):
    """Answers a multiple-choice question about a few frames of a video."""

    id: str
    """Names the backend and its model; keys the answer cache."""
    max_concurrency: int = 1
    """How many :meth:`answer` calls a caller may run at once on threads: a server answers many
    requests together, a local model one batch at a time."""
    max_side: int | None = None
    """The longer side, in pixels, the answerer fits a frame to before the model sees it
    (:func:`framepick.answer.images.fit_frame`); None: frames are shown as given. A caller that
    keeps frames for many questions (RL rewards) may keep them fitted: the model sees the same pixels."""

    @abstractmethod
    def answer(
        self,
        frames: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        """``frames`` are [n,H,W,3] uint8 RGB in time order, ``timestamps`` their seconds."""


class EmbeddingAnswerer(Answerer):
    """An answerer that can answer from frame embeddings made by its own :attr:`encoder`."""

    encoder: Encoder
    """The encoder whose frame embeddings :meth:`answer_embeddings` takes; a pipeline embeds the
    candidates with it alongside the selection encoder."""

    @property
    def encoder_id(self) -> str:
        """The id of :attr:`encoder`: the key of the prepared features to answer from."""
        return self.encoder.id

    @abstractmethod
    def answer_embeddings(
        self,
        embeddings: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        """The answer :meth:`answer` gives on the frames that [n,D] ``embeddings`` were made from."""


class OptionSimilarityAnswerer(EmbeddingAnswerer):
    """An embedding answerer whose answer on any frames depends only on each option's similarity
    to each of those frames: one table per question serves every subset a trainer draws."""

    @abstractmethod
    def option_similarity(self, embeddings: np.ndarray, question: str, options: Sequence[str]) -> np.ndarray:
        """[m,n]: how much each of the m options matches each of the n frames ([n,D] ``embeddings``)."""

    @abstractmethod
    def probs_from_similarity(self, similarity: np.ndarray) -> np.ndarray:
        """[m] option probabilities from the [m,n'] columns of :meth:`option_similarity` for the chosen frames."""


class ChatModel(Answerer):
    """An answerer that is a real MLLM: it also writes text for any prompt of text and image parts."""

    @abstractmethod
    def generate(self, parts: Sequence[Part], max_tokens: int) -> str:
        """The model's reply (greedy: temperature 0) to one user turn made of ``parts``."""
