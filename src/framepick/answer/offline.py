"""``offline``: a multiple-choice answerer that matches options against frames in an encoder's space.

**It is a weak baseline.** It does not read, count or reason; it asks which option, written after
the question, looks most like one of the frames it is shown. Its job is to make option
probabilities, rewards and accuracy computable everywhere (CI, a laptop, a machine with no MLLM),
through the same :class:`~framepick.answer.base.Answerer` interface the real MLLM backends
implement. With the default ``offline`` (ConSE) encoder it can tell "a man wearing a bow tie" from
"a rabbit" when one of them is in view, and it is at chance for colours, actions and counting
(see the encoder's own notes in :mod:`framepick.encode.conse`). Do not report its accuracy as an
MLLM's.

How an answer is computed, for options ``o_1 .. o_m`` and frames ``f_1 .. f_n``:

1. each option becomes the text ``template.format(question=..., option=...)`` (default
   ``"{question} {option}"``: the option alone loses what the question asks about, the question
   alone is the same for every option) and is embedded by the encoder's text tower: ``t_j``;
2. the frames are embedded by the same encoder (L2-normalised): ``e_i``;
3. option ``j`` scores ``s_j = mean of the top_m largest cos(t_j, e_i)`` over frames. The default
   ``top_m=1`` is the maximum: evidence in a long video is often one or two frames (a needle), and
   a mean over all frames would drown it in frames that show something else;
4. ``p = softmax(s / temperature)``. The default temperature 0.05 turns the typical gap between a
   matching and a non-matching option under the ConSE encoder (0.1-0.4 in cosine) into clear but
   not saturated probabilities; ``log p`` differs from the logits ``s / temperature`` by a
   constant, so margin rewards computed from ``p`` equal those from the logits.

The letter is the most probable option (the first on ties). Scores depend on the set of frames,
not their order or timestamps. :meth:`OfflineAnswerer.answer_embeddings` takes frame embeddings
already computed by the same encoder (an evaluation has them cached) and gives exactly the answer
:meth:`OfflineAnswerer.answer` gives on the frames they came from.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.answer.base import Answer, AnswererOptions, OptionSimilarityAnswerer
from framepick.errors import InvalidArgumentError
from framepick.registry import register_answerer

if TYPE_CHECKING:
    from framepick.encode.base import Encoder


@dataclass(frozen=True)
class OfflineAnswererConfig:
    """The knobs of the offline option matcher; all of them are part of the answerer's id."""

    encoder: str = "offline"
    """Encoder spec (as for ``--encoder``) whose text and image towers do the matching; it needs text."""
    template: str = "{question} {option}"
    """How one option is written before embedding; must contain ``{option}``."""
    top_m: int = 1
    """An option's score is the mean of its ``top_m`` best frame similarities (1: the maximum)."""
    temperature: float = 0.05
    """Softmax temperature on the option scores (cosine similarities)."""

    def __post_init__(self) -> None:
        if not isinstance(self.encoder, str) or not self.encoder.strip():
            raise InvalidArgumentError(f"offline answerer encoder must be a non-empty spec, got {self.encoder!r}")
        if "{option}" not in self.template:
            raise InvalidArgumentError(f"offline answerer template must contain '{{option}}', got {self.template!r}")
        if isinstance(self.top_m, bool) or not isinstance(self.top_m, int) or self.top_m < 1:
            raise InvalidArgumentError(f"offline answerer top_m must be a positive integer, got {self.top_m!r}")
        if not (isinstance(self.temperature, (int, float)) and math.isfinite(self.temperature) and self.temperature > 0):
            raise InvalidArgumentError(
                f"offline answerer temperature must be a positive number, got {self.temperature!r}"
            )


class OfflineAnswerer(OptionSimilarityAnswerer):
    """Weak baseline: scores each option (with the question) by its best cosine match among the frames."""

    _TEXT_CACHE_SIZE = 4096

    def __init__(self, config: OfflineAnswererConfig | None = None, *, encoder: Encoder | None = None) -> None:
        """``encoder``: an already loaded :class:`~framepick.encode.base.Encoder` to use instead of
        loading ``config.encoder`` (so an evaluation shares one loaded model)."""
        self.config = config or OfflineAnswererConfig()
        if encoder is None:
            from framepick.encode import load_encoder

            encoder = load_encoder(self.config.encoder)
        if not encoder.has_text:
            raise InvalidArgumentError(
                f"the offline answerer matches option texts against frames; encoder {encoder.id!r} has no "
                "text tower (use offline, clip:..., siglip:...)"
            )
        self.encoder = encoder
        template_tag = self.config.template.replace(" ", "_")
        self.id = (
            f"offline:top{self.config.top_m}-temp{self.config.temperature:g}-tmpl[{template_tag}]:{encoder.id}"
        )
        self._texts: OrderedDict[str, np.ndarray] = OrderedDict()

    def answer(
        self,
        frames: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise InvalidArgumentError(f"frames must be [n,H,W,3] uint8 RGB, got {frames.shape} {frames.dtype}")
        self._check_question(question, options, frames.shape[0])
        return self.answer_embeddings(self.encoder.encode_images(frames), timestamps, question, options)

    def answer_embeddings(
        self,
        embeddings: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        """The same answer as :meth:`answer`, from [n,D] frame embeddings made by :attr:`encoder`."""
        embeddings = np.asarray(embeddings, dtype=np.float32)
        if embeddings.ndim != 2 or embeddings.shape[1] != self.encoder.dim:
            raise InvalidArgumentError(
                f"frame embeddings must be [n,{self.encoder.dim}] from encoder {self.encoder.id!r}, "
                f"got shape {embeddings.shape}"
            )
        self._check_question(question, options, embeddings.shape[0])
        return Answer.from_probs(self.option_probs(embeddings, question, options), source="embeddings")

    def option_probs(self, embeddings: np.ndarray, question: str, options: Sequence[str]) -> np.ndarray:
        """[m] probabilities of the options given [n,D] frame embeddings (no argument checks)."""
        return self.probs_from_similarity(self.option_similarity(embeddings, question, options))

    def option_similarity(self, embeddings: np.ndarray, question: str, options: Sequence[str]) -> np.ndarray:
        """[m,n] cosine of each option text to each frame: everything an answer on any subset of
        these frames needs, so a trainer computes it once per question and reuses its columns."""
        texts = [self.config.template.format(question=question.strip(), option=str(o).strip()) for o in options]
        return self._embed_texts(texts) @ np.asarray(embeddings, dtype=np.float32).T

    def probs_from_similarity(self, similarity: np.ndarray) -> np.ndarray:
        """[m] option probabilities from the [m,n] similarities of the chosen frames."""
        m = min(self.config.top_m, similarity.shape[1])
        top = -np.partition(-similarity, m - 1, axis=1)[:, :m] if m < similarity.shape[1] else similarity
        scores = top.mean(axis=1).astype(np.float64)
        logits = scores / self.config.temperature
        logits -= logits.max()
        probs = np.exp(logits)
        return probs / probs.sum()

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        # The same question and options come back for every method and budget of an evaluation.
        missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if missing:
            for text, row in zip(missing, self.encoder.encode_text(missing), strict=True):
                self._texts[text] = np.asarray(row, dtype=np.float32)
            while len(self._texts) > self._TEXT_CACHE_SIZE:
                self._texts.popitem(last=False)
        for text in texts:
            self._texts.move_to_end(text)
        return np.stack([self._texts[t] for t in texts])

    @staticmethod
    def _check_question(question: str, options: Sequence[str], num_frames: int) -> None:
        if not isinstance(question, str):
            raise InvalidArgumentError(f"question must be a string, got {type(question).__name__}")
        if len(options) < 2:
            raise InvalidArgumentError(f"a multiple-choice question needs at least 2 options, got {len(options)}")
        if num_frames < 1:
            raise InvalidArgumentError("the answerer needs at least one frame")


@register_answerer("offline")
def make_offline_answerer(argument: str | None = None, options: AnswererOptions | None = None) -> OfflineAnswerer:
    """Weak baseline: option texts matched against frames in the encoder's space (``offline:ENCODER`` picks the encoder)."""
    return OfflineAnswerer(OfflineAnswererConfig(encoder=argument or "offline"))
