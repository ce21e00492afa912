"""What every learned frame-selection policy is: a torch module over frozen features.

A policy sees an :class:`Observation` (the candidates' frozen embeddings, the query's, and the
embeddings of "question + option" texts when a method uses them) and

- :meth:`Policy.select` picks ``k`` distinct candidate positions deterministically (inference);
- :meth:`SamplingPolicy.sample` draws a group of ``k``-subsets for RL (no gradient);
- :meth:`SamplingPolicy.log_prob` gives, with gradient, the log-probability and mean entropy of given
  subsets under the current parameters (for GRPO / REINFORCE ratios);
- :meth:`Policy.frame_scores` gives one score per candidate (what a user inspects, and what a
  supervised policy is trained on).

Configs are frozen dataclasses with one docstring per field, checked in ``__post_init__``; a
checkpoint stores the config as JSON next to the weights (:mod:`framepick.policies.checkpoint`).
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Mapping, NamedTuple

import torch
from torch import nn

from framepick.errors import InvalidArgumentError
from framepick.validation import check_int


class Observation(NamedTuple):
    """One question about one video, as a policy sees it (float32 tensors on one device)."""

    frames: torch.Tensor
    """[T,D] L2-normalised candidate embeddings from the frozen encoder."""
    query: torch.Tensor
    """[D] the query (question text and/or picture) embedding, L2-normalised."""
    options: torch.Tensor
    """[m,D] embeddings of "question option" texts; m = 0 when the query has no options."""
    question: str = ""
    """The question text ("" for a picture-only query); only policies that read it use it."""

    def to(self, device: torch.device | str) -> "Observation":
        """The same observation with its tensors on ``device``."""
        return Observation(self.frames.to(device), self.query.to(device), self.options.to(device), self.question)


def make_observation(frames: Any, query: Any, options: Any = None, question: str | None = None) -> Observation:
    """Build an :class:`Observation` from arrays; a [Q,D] query is averaged into one direction.

    Averaging the rows matches :func:`framepick.pipeline.relevance`, where a question and a
    picture given together weigh the same.
    """
    frames_t = torch.as_tensor(frames, dtype=torch.float32)
    if frames_t.ndim != 2 or frames_t.shape[0] < 1:
        raise InvalidArgumentError(f"frame features must be [T,D] with T >= 1, got shape {tuple(frames_t.shape)}")
    query_t = torch.as_tensor(query, dtype=torch.float32)
    if query_t.ndim == 2:
        query_t = query_t.mean(dim=0)
    if query_t.shape != (frames_t.shape[1],):
        raise InvalidArgumentError(
            f"query embedding must have the frames' width {frames_t.shape[1]}, got shape {tuple(query_t.shape)}"
        )
    query_t = query_t / query_t.norm().clamp_min(1e-12)
    if options is None or len(options) == 0:
        options_t = frames_t.new_zeros((0, frames_t.shape[1]))
    else:
        options_t = torch.as_tensor(options, dtype=torch.float32)
        if options_t.ndim != 2 or options_t.shape[1] != frames_t.shape[1]:
            raise InvalidArgumentError(
                f"option embeddings must be [m,{frames_t.shape[1]}], got shape {tuple(options_t.shape)}"
            )
    return Observation(frames_t, query_t, options_t, (question or "").strip())


@dataclass(frozen=True)
class PolicyConfig:
    """Fields every policy config has. Subclasses add their own, each with a docstring."""

    dim: int = 384
    """Width of the frozen encoder's embeddings (384 for ``offline``, 512/768 for CLIP/SigLIP)."""

    def __post_init__(self) -> None:
        check_int("dim", self.dim, low=1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PolicyConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidArgumentError(f"{cls.__name__} has no field {', '.join(map(repr, unknown))}")
        return cls(**data)


class Policy(nn.Module, ABC):
    """Base class of the learned selectors' torch modules."""

    method: ClassVar[str]
    """The selector name this policy serves (``tspo``, ``refocus``, ...); set by ``@register_policy``."""
    config_class: ClassVar[type[PolicyConfig]]
    train_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})
    """The paper's training settings: :class:`~framepick.train.config.TrainConfig` fields that differ
    from its defaults. ``framepick train NAME`` starts from them; flags override them."""
    uses_options: ClassVar[bool] = False
    """True when :attr:`Observation.options` changes the policy's choice."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config

    @abstractmethod
    def frame_scores(self, obs: Observation) -> torch.Tensor:
        """[T] one score per candidate; higher means more likely to be chosen."""

    def select(self, obs: Observation, k: int, **options: Any) -> torch.Tensor:
        """[min(k,T)] distinct positions, sorted, deterministic (no sampling noise)."""
        return self.choose(obs, k, **options)[0]

    def choose(self, obs: Observation, k: int, **options: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(positions as :meth:`select`, per-frame scores as :meth:`frame_scores`) from one forward pass.

        What a registered selector calls. By default the positions are the top-k of the scores; a
        policy whose choice is not a function of its per-frame scores overrides this.
        """
        scores = self.frame_scores(obs)
        return self.select_from_scores(obs, scores, k, **options), scores

    def select_from_scores(self, obs: Observation, scores: torch.Tensor, k: int, **options: Any) -> torch.Tensor:
        """Positions given :meth:`frame_scores` already computed: the k best, ties to the earlier frame."""
        check_int("k", k, low=1)
        return top_k_positions(scores, k)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class SamplingPolicy(Policy):
    """A policy trained by sampling subsets and rewarding them (GRPO / REINFORCE): TSPO, ReFoCUS, MSJoE.

    A supervised policy (VideoITG) is a plain :class:`Policy`; the trainer refuses to pair it with
    a sampling objective.
    """

    @abstractmethod
    def sample(self, obs: Observation, k: int, group: int, generator: torch.Generator) -> torch.Tensor:
        """[group, min(k,T)] subsets drawn from the policy, each of distinct positions."""

    @abstractmethod
    def log_prob(self, obs: Observation, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probability [G], mean per-step entropy [G]) of ``actions`` [G,k], with gradient."""

    def set_temperature(self, temperature: float) -> None:
        """Sampling temperature for the next :meth:`sample` / :meth:`log_prob` calls.

        Policies whose logit scale is learned (ReFoCUS, MSJoE) keep this default and ignore the
        trainer's schedule; TSPO anneals it (0.025 -> 0.01).
        """


def top_k_positions(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The ``min(k, T)`` highest scores' positions, ties to the earlier position, sorted by position."""
    order = torch.argsort(-scores.detach(), stable=True)[: min(k, scores.shape[0])]
    return torch.sort(order).values


def gumbel_top_k(logits: torch.Tensor, k: int, group: int, generator: torch.Generator) -> torch.Tensor:
    """[group, k] positions: top-k of ``logits + Gumbel(0,1)`` noise, one noise draw per row.

    Gumbel top-k draws k items without replacement with Plackett-Luce probabilities (Kool et al.,
    2019), in the order they would have been drawn one by one.
    """
    k = min(k, logits.shape[-1])
    # The generator lives on the CPU (one seed, the same draws on any device); the noise follows the logits.
    uniform = torch.rand((group, logits.shape[-1]), generator=generator, dtype=logits.dtype).to(logits.device)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))
    return torch.topk(logits.detach().unsqueeze(0) + gumbel, k, dim=-1).indices


def plackett_luce_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact log-probability of drawing ``actions`` [G,k] in order, without replacement, from ``logits`` [T].

    Returns (log-prob [G], mean entropy of the k successive draws [G]).
    """
    group, k = actions.shape
    available = torch.ones((group, logits.shape[0]), dtype=torch.bool, device=logits.device)
    total = logits.new_zeros(group)
    entropy = logits.new_zeros(group)
    rows = torch.arange(group, device=logits.device)
    expanded = logits.unsqueeze(0).expand(group, -1)
    for step in range(k):
        masked = expanded.masked_fill(~available, float("-inf"))
        log_p = torch.log_softmax(masked, dim=-1)
        chosen = actions[:, step]
        total = total + log_p[rows, chosen]
        # Taken frames have log p = -inf; zero them *before* multiplying, or 0 * -inf puts NaN
        # into the backward pass even though the forward value is masked out.
        safe_log_p = log_p.masked_fill(~available, 0.0)
        entropy = entropy - (safe_log_p.exp().masked_fill(~available, 0.0) * safe_log_p).sum(dim=-1)
        available = available.clone()
        available[rows, chosen] = False
    return total, entropy / max(k, 1)


def sinusoidal_positions(length: int, dim: int, device: torch.device | str | None = None) -> torch.Tensor:
    """[length, dim] the Transformer's sine/cosine position table (Vaswani et al., 2017)."""
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    half = (dim + 1) // 2
    frequency = torch.exp(torch.arange(half, dtype=torch.float32, device=device) * (-math.log(10000.0) / max(half, 1)))
    table = torch.zeros(length, 2 * half, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table[:, :dim]
