"""TSPO's event-aware temporal agent (paper 003, "Event-aware Temporal Agent").

Frozen frame features F_f [T,D] and the query feature F_t [D] go in. Local-window attention
(each frame attends to the w = 12 frames around it) with sinusoidal positions, followed by an
MLP, turns F_f into event features F_e; the score of a frame is

    S = cos(F_e, F_t) + cos(F_f, F_t)            (event-level + frame-level similarity)

Training draws T_s frames with Gumbel top-k on S / tau (Eq. 4), tau annealed 0.025 -> 0.01 by
the trainer; inference takes the top-k of S with no noise, as the paper does for reproducibility.

Choices the paper leaves open, made here:

- **Window.** Frame i attends to positions i - w/2 .. i + w/2 - 1 (w positions, clipped at the
  ends). Positions are added to the attention's queries and keys only, so the residual stream
  stays in the encoder's space and cos(F_e, F_t) is meaningful.
- **Size.** One attention block (4 D^2) and an MLP D -> D -> D (2 D^2): 6 D^2 + O(D) parameters,
  3.54M at D = 768, the paper's "3.5M"; 0.89M at the offline encoder's D = 384.
- **Initialisation.** The attention output and the MLP's last layer start at zero, so at step 0
  F_e = F_f and S = 2 cos(F_f, F_t): the untrained agent ranks frames exactly as top-k retrieval
  does, and RL learns the event-level correction. (A pretrained agent is what the paper starts
  GRPO from; random event features would only add noise to S at the start.)
- **Probability of a subset.** Eq. 5 multiplies the selected frames' probabilities P_i; we take
  P = softmax(S / tau) without the noise (the noise is how the subset is drawn, not part of the
  policy's probability), so log pi = sum_i log softmax(S / tau)_i over the chosen frames.
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
from framepick.policies.tspo_modes import bin_max_positions, check_mode
from framepick.policies.base import Observation, PolicyConfig, SamplingPolicy, gumbel_top_k, sinusoidal_positions
from framepick.validation import check_float, check_int


@dataclass(frozen=True)
class TSPOConfig(PolicyConfig):
    """Shape of the temporal agent (the trainer holds the temperature schedule)."""

    window: int = 12
    """Local attention window w, in candidate frames (paper: 12)."""
    heads: int = 8
    """Attention heads; must divide ``dim``."""
    mlp_ratio: float = 1.0
    """MLP hidden width as a multiple of ``dim`` (1.0 gives the paper's 3.5M at D = 768)."""
    temperature: float = 0.025
    """Gumbel-softmax temperature tau used by :meth:`TSPOAgent.sample` until the trainer sets another."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("window", self.window, low=1)
        check_int("heads", self.heads, low=1)
        if self.dim % self.heads:
            raise InvalidArgumentError(f"heads ({self.heads}) must divide dim ({self.dim})")
        check_float("mlp_ratio", self.mlp_ratio, low=0.0, low_open=True)
        check_float("temperature", self.temperature, low=0.0, low_open=True)


class LocalWindowAttention(nn.Module):
    """Multi-head attention in which frame i sees only the ``window`` frames around it."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        length, dim = x.shape
        head_dim = dim // self.heads
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = (q + positions).view(length, self.heads, head_dim)
        k = k + positions
        before, after = self.window // 2, self.window - self.window // 2 - 1
        # Each frame's window as a strided view of the padded keys/values ([T, H, hd, w], no copy):
        # no [T, T] score matrix and no materialised windows.
        k_win = F.pad(k, (0, 0, before, after)).view(-1, self.heads, head_dim).unfold(0, self.window, 1)
        v_win = F.pad(v, (0, 0, before, after)).view(-1, self.heads, head_dim).unfold(0, self.window, 1)
        logits = torch.einsum("thd,thdw->thw", q, k_win) / head_dim**0.5
        offsets = torch.arange(self.window, device=q.device) - before
        target = torch.arange(length, device=q.device).unsqueeze(1) + offsets  # [T, w] source frame of each slot
        valid = (target >= 0) & (target < length)
        logits = logits.masked_fill(~valid.unsqueeze(1), float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        mixed = torch.einsum("thw,thdw->thd", weights, v_win)
        return self.out(mixed.reshape(length, dim))


@register_policy("tspo")
class TSPOAgent(SamplingPolicy):
    """TSPO's temporal agent: S = cos(event features, query) + cos(frame features, query)."""

    # Paper 003: GRPO on the agent only, R_A + R_T, T_s = 16 while training, lr 5e-4, tau 0.025 -> 0.01.
    train_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType(dict(
        objective="grpo", k=16, lr=5e-4, reward="tspo", temporal_weight=1.0,
        temperature_start=0.025, temperature_end=0.01,
    ))
    config_class: ClassVar[type[PolicyConfig]] = TSPOConfig

    def __init__(self, config: TSPOConfig) -> None:
        super().__init__(config)
        dim = config.dim
        hidden = max(1, int(round(dim * config.mlp_ratio)))
        self.norm_attention = nn.LayerNorm(dim)
        self.attention = LocalWindowAttention(dim, config.heads, config.window)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)
        self.temperature = config.temperature
        self._table: torch.Tensor | None = None

    def set_temperature(self, temperature: float) -> None:
        self.temperature = float(temperature)

    def _positions(self, length: int, device: torch.device) -> torch.Tensor:
        # The sine table costs more than the attention itself at T = 1024; keep the longest one.
        if self._table is None or self._table.shape[0] < length or self._table.device != device:
            self._table = sinusoidal_positions(max(length, 256), self.config.dim, device)
        return self._table[:length]

    def event_features(self, frames: torch.Tensor) -> torch.Tensor:
        positions = self._positions(frames.shape[0], frames.device)
        events = frames + self.attention(self.norm_attention(frames), positions)
        return events + self.mlp(self.norm_mlp(events))

    def frame_scores(self, obs: Observation) -> torch.Tensor:
        events = self.event_features(obs.frames)
        sim_event = F.cosine_similarity(events, obs.query.unsqueeze(0), dim=-1)
        sim_frame = F.cosine_similarity(obs.frames, obs.query.unsqueeze(0), dim=-1)
        return sim_event + sim_frame

    def select_from_scores(self, obs: Observation, scores: torch.Tensor, k: int, mode: str = "topk") -> torch.Tensor:
        """``topk`` (the paper's inference) or the authors' ``bin-max`` (the best frame of each of k even bins)."""
        if check_mode(mode) == "topk":
            return super().select_from_scores(obs, scores, k)
        positions = bin_max_positions(scores.detach().cpu().numpy(), k)
        return torch.as_tensor(positions, dtype=torch.long, device=scores.device)

    def sample(self, obs: Observation, k: int, group: int, generator: torch.Generator) -> torch.Tensor:
        return gumbel_top_k(self.frame_scores(obs) / self.temperature, k, group, generator)

    def log_prob(self, obs: Observation, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_p = torch.log_softmax(self.frame_scores(obs) / self.temperature, dim=-1)
        entropy = -(log_p.exp() * log_p).sum()
        return log_p[actions].sum(dim=-1), entropy.expand(actions.shape[0])

