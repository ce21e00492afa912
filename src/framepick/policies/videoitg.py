"""VideoITG's instructed temporal grounding classifier (paper 002, Sec 3.2 and Sec 4, Variant C).

Variant C, the paper's best model, removes the Video-LLM's causal mask so instruction tokens and
visual tokens attend to each other with full attention, average-pools each frame's visual tokens
and classifies every frame as relevant or not. Here, at CPU size, on frozen features:

- **Tokens.** One query token (the projected query embedding, standing in for the instruction's
  text tokens) followed by T frame tokens. A frame token is a linear projection of the frame's
  embedding together with its cosine to the query, standardised over the video's candidates (one
  extra input feature, so the classifier ranks by query relevance on clips it never saw and
  learns the context around it), plus the
  Transformer's sinusoidal position of the frame.
- **Full attention.** A pre-norm Transformer encoder (width 64, 2 layers, 2 heads of 32, GELU MLP
  of twice the width, no dropout) with no mask: every frame sees the query and every other frame,
  the "global temporal relationship modelling" the paper credits for C beating B. The size is set
  by speed: attention over T + 1 = 1025 tokens costs O(T^2 width); at width 64 one forward pass
  at T = 1024 takes about 12 ms of one CPU core (width 128: about 27 ms). 0.12M parameters at
  D = 384.
- **Initialisation.** The query and frame projections start with std-1 weights: their inputs are
  unit vectors, so token entries start at std ~1, the size of the sine positions, and neither the
  content nor the position drowns the other.
- **Pooling and classification.** Our frames arrive as one pooled embedding each, so the paper's
  per-frame average pooling is over that single token (the identity); a LayerNorm + linear head
  gives one logit per frame, :meth:`VideoITGClassifier.frame_scores`.
- **Training.** Supervised, per-frame binary cross-entropy against the evidence labels with
  positives weighted min(5, sqrt(negatives / positives)) (``framepick train videoitg``, objective
  ``bce``); it is a plain :class:`~framepick.policies.base.Policy`, not a sampling one.

Inference (:meth:`VideoITGClassifier.select`) follows Sec 3.2: the question's instruction type
decides how the top frames are spread over the sigmoid relevance p = sigmoid(logits)
(:mod:`framepick.policies.instruction`):

- **semantic** -> diverse: greedy from the most relevant frame down, skipping frames whose feature
  cosine to a chosen frame exceeds ``diversity_threshold`` (Algorithm 1's diversity test),
  topped up by relevance;
- **motion** -> fixed rate inside the span: the contiguous run of frames with p >= 0.5 around the
  most relevant frame, widened symmetrically to at least k frames, sampled evenly;
- **semantic_motion** -> ceil(k/2) fixed-rate inside the span, the rest diverse over the frames
  outside it (and unlike the span's picks);
- **no_clue** -> diverse over the whole video: greedy farthest-point sampling on the features,
  starting from the middle frame (the paper's "beginning, middle and end").

The paper types questions with an LLM (prompts of its Tables 9-10); offline we use keyword rules
(:func:`~framepick.policies.instruction.classify_instruction`), and a picture query (no question
text) is semantic. ``select(obs, k, instruction=...)`` overrides the rules (the registered
selector's ``instruction`` parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from framepick.errors import InvalidArgumentError
from framepick.policies import register_policy
from framepick.policies.base import Observation, Policy, PolicyConfig, sinusoidal_positions
from framepick.policies.instruction import check_instruction, classify_instruction, spread_frames
from framepick.validation import check_float, check_int

@dataclass(frozen=True)
class VideoITGConfig(PolicyConfig):
    """Shape of the Variant C classifier and how its relevance is turned into k frames."""

    width: int = 64
    """Token width of the Transformer encoder (the frozen features are projected to it)."""
    layers: int = 2
    """Transformer encoder layers, each full (non-causal) self-attention + MLP, pre-norm."""
    heads: int = 2
    """Attention heads; must divide ``width`` (2 heads of 32: the CPU attention kernel is faster on wider heads)."""
    mlp_ratio: float = 2.0
    """MLP hidden width as a multiple of ``width``."""
    diversity_threshold: float = 0.9
    """Semantic spreading skips a frame whose feature cosine to a chosen frame exceeds this (Algorithm 1's t2)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("width", self.width, low=1)
        check_int("layers", self.layers, low=1)
        check_int("heads", self.heads, low=1)
        if self.width % self.heads:
            raise InvalidArgumentError(f"heads ({self.heads}) must divide width ({self.width})")
        check_float("mlp_ratio", self.mlp_ratio, low=0.0, low_open=True)
        check_float("diversity_threshold", self.diversity_threshold, low=-1.0, high=1.0)


class FullAttentionBlock(nn.Module):
    """Pre-norm Transformer encoder layer over [L, width] tokens with full (unmasked) attention.

    It computes what ``nn.TransformerEncoderLayer(norm_first=True, activation="gelu")`` does, but
    that layer's inference fast path materialises the [heads, L, L] attention matrix, while
    :func:`torch.nn.functional.scaled_dot_product_attention` on 4-D inputs streams it (1.4-1.8x
    faster per layer at L = 1025 on a CPU core).
    """

    def __init__(self, width: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm_attention = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length, width = tokens.shape
        qkv = self.qkv(self.norm_attention(tokens)).view(1, length, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each [1, heads, L, head_dim]: 4-D takes the fused CPU kernel
        mixed = F.scaled_dot_product_attention(q, k, v)  # no mask: full attention
        tokens = tokens + self.out(mixed[0].transpose(0, 1).reshape(length, width))
        return tokens + self.mlp(self.norm_mlp(tokens))


@register_policy("videoitg")
class VideoITGClassifier(Policy):
    """VideoITG Variant C: full attention over query + frame tokens, one relevance logit per frame."""

    # Paper 002: supervised per-frame relevance (Variant C), BCE with a capped positive weight.
    train_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType(dict(
        objective="bce", lr=1e-3, weight_decay=0.01, updates_per_group=1,
    ))
    config_class: ClassVar[type[PolicyConfig]] = VideoITGConfig

    def __init__(self, config: VideoITGConfig) -> None:
        super().__init__(config)
        width = config.width
        hidden = max(1, int(round(width * config.mlp_ratio)))
        self.query_in = nn.Linear(config.dim, width)
        self.frame_in = nn.Linear(config.dim, width)
        # The frame projection's column for the query-cosine feature (apart, to skip a [T, D+1] copy).
        self.cosine_in = nn.Parameter(torch.empty(width))
        # Unit-vector inputs: std-1 weights give token entries the sine positions' size (see above).
        for weight in (self.query_in.weight, self.frame_in.weight, self.cosine_in):
            nn.init.normal_(weight, std=1.0)
        self.blocks = nn.ModuleList(FullAttentionBlock(width, config.heads, hidden) for _ in range(config.layers))
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 1))
        self._table: torch.Tensor | None = None

    def _positions(self, length: int, device: torch.device) -> torch.Tensor:
        if self._table is None or self._table.shape[0] < length or self._table.device != device:
            self._table = sinusoidal_positions(max(length, 256), self.config.width, device)
        return self._table[:length]

    def frame_scores(self, obs: Observation) -> torch.Tensor:
        frames, query = obs.frames, obs.query
        # A mat-vec: F.cosine_similarity broadcasts the query to [T, D] first (a tenth of the forward pass).
        cosine = (frames @ query) / (frames.norm(dim=1) * query.norm()).clamp_min(1e-8)
        # Standardised over the video: how far a frame stands out for this query. Raw cosine levels
        # differ by encoder, video and query kind (~0.3 for ConSE text, ~0.8 for a picture) and vary
        # by only ~0.03 across a video's frames, too little for the classifier to pick up.
        standing = (cosine - cosine.mean()) / (cosine.var(unbiased=False) + 1e-6).sqrt()
        frame_tokens = self.frame_in(frames) + standing.unsqueeze(1) * self.cosine_in + self._positions(frames.shape[0], frames.device)
        tokens = torch.cat([self.query_in(query).unsqueeze(0), frame_tokens], dim=0)
        for block in self.blocks:
            tokens = block(tokens)
        # Per-frame average pooling is over the frame's single token: its output is the pooled feature.
        return self.head(tokens[1:]).squeeze(-1)

    def instruction_type(self, obs: Observation, instruction: str = "auto") -> str:
        """The instruction type ``select`` uses: ``instruction`` unless ``auto``, else the question's."""
        instruction = check_instruction(instruction)
        return classify_instruction(obs.question) if instruction == "auto" else instruction

    def select_from_scores(
        self, obs: Observation, logits: torch.Tensor, k: int, instruction: str = "auto"
    ) -> torch.Tensor:
        """The frames spread by instruction type (Sec 3.2) from the relevance ``sigmoid(logits)``."""
        kind = self.instruction_type(obs, instruction)
        # The spreading is NumPy on the host: a few hundred values, wherever the forward pass ran.
        relevance = torch.sigmoid(logits.detach()).cpu().numpy()
        positions = spread_frames(kind, relevance, obs.frames.detach().cpu().numpy(), k, self.config.diversity_threshold)
        return torch.as_tensor(positions, dtype=torch.long)

