"""MSJoE's key-frame sampler (paper 004): a 1-D U-Net over a query x frame similarity matrix.

MSJoE reasons out up to four visually grounded queries from the question, scores every frame
against each with a frozen CLIP model, and lets a lightweight 1-D U-Net turn that query x frame
similarity matrix into per-frame sampling weights; the sampler is trained with REINFORCE on a
difficulty-aware reward (``framepick train msjoe``: objective ``reinforce``, reward
``difficulty``) and takes the top-k frames at inference.

Choices the paper (as we have it) leaves open, made here:

- **Queries.** The question (:attr:`Observation.query`) and the query rows
  (:attr:`Observation.options`), all embedded by the frozen encoder. The rows are an MLLM's
  reasoned queries when a query model is given (``--query-model``,
  :mod:`framepick.reasoned_queries`), else, offline, the option-derived texts ("question option").
- **Order-free channels.** Rows (options or queries) come in any number and order, so the matrix
  [1+m, T] is reduced to four fixed channels: the question's similarity, the max and the mean
  over the query rows, and an indicator (1 when rows exist; with none, it and both row
  channels are 0). These are the paper's "up to 4 queries" as 4 input channels. Each similarity
  channel is standardised over time per video (z-score, eps-safe: a constant channel becomes 0)
  because absolute cosine levels differ across encoders, videos and option texts.
- **U-Net.** A conv block (two ``kernel_size`` convolutions, each followed by GroupNorm and GELU)
  at full resolution with ``width`` channels; then ``depth`` times a stride-2 convolution that
  halves the length and doubles the width, followed by a conv block; then back up, per level a
  stride-2 transposed convolution, concatenation with the skip connection and a conv block; a
  1x1 head gives one logit per frame. Lengths not divisible by 2^depth are zero-padded on the
  right (zero is each standardised channel's mean) and the output is cropped, so any T >= 1
  works. 0.22M parameters at the defaults, whatever the encoder's width: the sampler sees
  similarities, never the features themselves.
- **GroupNorm.** Without normalisation, once the zero head had moved, Adam's steps on the 15
  stacked convolutions compounded: on a synthetic task the correction grew from 0.3 to 30 (in
  z units) within ten REINFORCE steps, the sampler turned deterministic on wrong frames and never
  recovered. GroupNorm (up to 8 groups of at least 2 channels) keeps every block at unit scale,
  so the correction grows only through the head; it costs about 10% of the forward time.
- **Initialisation.** The head starts at zero and a residual adds the standardised question
  channel, so the untrained sampler ranks frames exactly as top-k retrieval does and REINFORCE
  learns the correction (how much to trust the options, where to look around a peak).
- **Temperature.** logits = scale * (U-Net(x) + z_question), with ``scale`` learned in log space
  from ``init_scale``; the sampler sets its own sharpness, so :meth:`set_temperature` is a no-op.
- **Sampling and probability.** Training draws k frames without replacement by Gumbel top-k on
  the logits (draw order kept); the probability of a draw is the exact Plackett-Luce probability
  of that ordered draw, and the entropy is the mean over the k successive draws. Inference takes
  the top-k logits (ties to the earlier frame), returned in temporal order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from framepick.errors import InvalidArgumentError
from framepick.policies import register_policy
from framepick.policies.base import Observation, PolicyConfig, SamplingPolicy, gumbel_top_k, plackett_luce_log_prob
from framepick.validation import check_float, check_int

CHANNELS = ("question", "option_max", "option_mean", "has_options")
"""The sampler's input channels, in order (rows of :meth:`MSJoESampler.similarity_channels`)."""

_STANDARDISE_EPS = 1e-6
"""Added to a channel's variance: a flat channel (T = 1, or no contrast) standardises to 0, not NaN."""


@dataclass(frozen=True)
class MSJoEConfig(PolicyConfig):
    """Shape of the 1-D U-Net sampler (``dim`` only checks the features; the weights do not depend on it)."""

    width: int = 32
    """Channels at full temporal resolution (>= 2, for GroupNorm); each down-sampling level doubles them."""
    depth: int = 2
    """Down-sampling levels (stride 2 each); 0 leaves a plain convolutional sampler."""
    kernel_size: int = 3
    """Temporal kernel of the conv blocks, in candidate frames; odd, so a frame stays centred."""
    init_scale: float = 3.0
    """Initial logit scale (multiplies the standardised scores; learned in log space)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("width", self.width, low=2)
        check_int("depth", self.depth, low=0, high=10)
        check_int("kernel_size", self.kernel_size, low=1)
        if self.kernel_size % 2 == 0:
            raise InvalidArgumentError(f"kernel_size must be an odd integer, got {self.kernel_size!r}")
        check_float("init_scale", self.init_scale, low=0.0, low_open=True)


def standardise(values: torch.Tensor, eps: float = _STANDARDISE_EPS) -> torch.Tensor:
    """(values - mean) / sqrt(var + eps) over the last axis (population variance)."""
    mean = values.mean(dim=-1, keepdim=True)
    var = values.var(dim=-1, unbiased=False, keepdim=True)
    return (values - mean) * torch.rsqrt(var + eps)


def norm_groups(channels: int) -> int:
    """GroupNorm groups for ``channels``: up to 8, of at least 2 channels (a lone value at T = 1 cannot be normalised)."""
    groups = math.gcd(channels, 8)
    while groups > 1 and channels // groups < 2:
        groups //= 2
    return groups


class ConvBlock(nn.Sequential):
    """Two same-length temporal convolutions, each followed by GroupNorm and GELU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        pad = kernel_size // 2
        groups = norm_groups(out_channels)
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=pad),
            nn.GroupNorm(groups, out_channels),
            nn.GELU(),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad),
            nn.GroupNorm(groups, out_channels),
            nn.GELU(),
        )


class UNet1d(nn.Module):
    """[C, T] -> [T]: encoder (conv block, stride-2 down) x depth, bottleneck, decoder with skips."""

    def __init__(self, in_channels: int, width: int, depth: int, kernel_size: int) -> None:
        super().__init__()
        self.depth = depth
        widths = [width * 2**level for level in range(depth + 1)]
        self.stem = ConvBlock(in_channels, widths[0], kernel_size)
        self.downs = nn.ModuleList(nn.Conv1d(widths[i], widths[i + 1], 2, stride=2) for i in range(depth))
        self.encoders = nn.ModuleList(ConvBlock(widths[i + 1], widths[i + 1], kernel_size) for i in range(depth))
        self.ups = nn.ModuleList(nn.ConvTranspose1d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth))
        self.decoders = nn.ModuleList(ConvBlock(2 * widths[i], widths[i], kernel_size) for i in range(depth))
        self.head = nn.Conv1d(widths[0], 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, channels: torch.Tensor) -> torch.Tensor:
        length = channels.shape[-1]
        multiple = 2**self.depth
        padded = -(-length // multiple) * multiple
        hidden = self.stem(F.pad(channels, (0, padded - length)).unsqueeze(0))
        skips = []
        for down, encoder in zip(self.downs, self.encoders):
            skips.append(hidden)
            hidden = encoder(down(hidden))
        for level in reversed(range(self.depth)):
            hidden = self.decoders[level](torch.cat([self.ups[level](hidden), skips[level]], dim=1))
        return self.head(hidden)[0, 0, :length]


@register_policy("msjoe")
class MSJoESampler(SamplingPolicy):
    """MSJoE's sampler: logits = scale * (U-Net(similarity channels) + standardised question similarity)."""

    # Paper 004: the sampler is trained with REINFORCE on a difficulty-aware accuracy reward.
    train_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType(dict(
        objective="reinforce", k=16, lr=1e-3, reward="difficulty", temporal_weight=1.0, updates_per_group=1,
    ))
    config_class: ClassVar[type[PolicyConfig]] = MSJoEConfig
    uses_options: ClassVar[bool] = True

    def __init__(self, config: MSJoEConfig) -> None:
        super().__init__(config)
        self.unet = UNet1d(len(CHANNELS), config.width, config.depth, config.kernel_size)
        self.log_scale = nn.Parameter(torch.tensor(math.log(config.init_scale)))

    def similarity_channels(self, obs: Observation) -> torch.Tensor:
        """[4, T] the order-free channels of the query x frame similarity matrix (see :data:`CHANNELS`)."""
        frames = obs.frames
        if frames.ndim != 2 or frames.shape[1] != self.config.dim:
            raise InvalidArgumentError(
                f"msjoe policy expects [T,{self.config.dim}] frame features, got shape {tuple(frames.shape)}"
            )
        frames = F.normalize(frames, dim=-1)
        question = standardise(frames @ F.normalize(obs.query, dim=-1))
        options = obs.options
        if options.shape[0] == 0:
            zeros = torch.zeros_like(question)
            return torch.stack([question, zeros, zeros, zeros])
        similarity = F.normalize(options, dim=-1) @ frames.T  # [m, T]
        return torch.stack([
            question,
            standardise(similarity.max(dim=0).values),
            standardise(similarity.mean(dim=0)),
            torch.ones_like(question),
        ])

    def frame_scores(self, obs: Observation) -> torch.Tensor:
        channels = self.similarity_channels(obs)
        return self.log_scale.exp() * (self.unet(channels) + channels[0])

    def sample(self, obs: Observation, k: int, group: int, generator: torch.Generator) -> torch.Tensor:
        check_int("k", k, low=1)
        check_int("group", group, low=1)
        return gumbel_top_k(self.frame_scores(obs), k, group, generator)

    def log_prob(self, obs: Observation, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return plackett_luce_log_prob(self.frame_scores(obs), actions)

