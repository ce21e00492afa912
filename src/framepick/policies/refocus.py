"""ReFoCUS's autoregressive frame-selection policy (paper 001, Sec 3.2, Appendix B.2-B.4).

Frozen frame features H [T,D] (unit rows) and the query feature [D] go in. Following Algorithm 2,
the Key and Value heads are single linear layers over the candidates, and k frames are chosen one
at a time: at step i a query vector q_i = QueryHead(z_i) attends over every candidate's key,

    l_i = K q_i * s / sqrt(d)          (s: learnable logit scale, d = D)

frames chosen earlier are masked to -inf, and f_i ~ Categorical(softmax(l_i)) while sampling
(argmax for deterministic inference). The chosen frame's value updates the running state,

    z_1 = query,    z_{i+1} = z_i + V[f_i],    q_i = QueryHead(z_i / |z_i|).

The subset's log-probability is that of its drawn sequence, the sum of the k per-step
log-probabilities (the paper treats the whole trajectory as one atomic action; summing over the k!
orders that give the same set is neither done there nor tractable), and the entropy bonus is the
mean over steps of the entropy over the still-available frames (Appendix B.3.2, Eq. 6-7).

Choices the paper leaves open (or that our setting forces), made here:

- **No backbone.** The paper's z_i is the last hidden state of a Mamba LMM (Video-MA2mba with its
  final layers re-initialised) fed the video, the query and the values of the frames chosen so
  far. We work on frozen encoder features, so the backbone is replaced by the running state above:
  the query plus the sum of the chosen frames' values. A sum is order-independent, so step i's
  distribution depends on *which* frames are already chosen, never on the order they were drawn
  in: the non-causal selection of Sec 3.2 / Fig. 3(c). No further learned map follows the sum: a
  linear one would fold into the Query head, and the linear value update already expresses "move
  away from (or towards) what was chosen" in the logits.
- **Normalisation.** The paper puts a normalisation layer (gain 1.0) before the heads; here the
  state is L2-normalised before the Query head (a learnable gain would fold into the head) and the
  frames need none (already unit). It also keeps the logits' scale fixed as values accumulate.
- **Initialisation (deviation).** As Appendix B.2: Query and Key heads orthogonal with gain 1.0 and
  no bias; Value head orthogonal with gain 0.1 and zero bias; a learnable logit scale. The paper's
  heads read a pretrained LMM's hidden states; ours read frozen, unit-norm encoder features whose
  dot product already is the retrieval score. So the Query and Key heads start from the *same*
  orthogonal matrix W (W^T W = I) and the scale s starts at sqrt(d) / ``init_temperature`` (stored
  as log s), which makes the first step's logits exactly cos(query, frame) / ``init_temperature``:
  the untrained policy's first draw is a softmax over the retrieval scores (its greedy first pick
  is top-1 retrieval) and later draws are shifted only by the small gain-0.1 value updates, so RL
  starts from retrieval and learns the correction. The paper's s = 1 would make the first logits
  cos / sqrt(d), nearly uniform over 512+ frames.
- **Keys are never materialised.** K q = (H W_k^T) q = H (W_k^T q): each step costs T*D instead of
  a T*D^2 key projection, and values are projected for the chosen frames only. Same numbers.
- **Sampling.** The group of N subsets is drawn in parallel (batched over the group) with the
  Gumbel-max trick on a ``torch.Generator``; drawn order is kept so :meth:`log_prob` can replay
  the trajectory teacher-forced. ``select`` is the greedy argmax path (ties to the earlier frame),
  returned sorted. With k >= T every candidate is returned.
- **Temperature.** The logit scale is learned (the paper's s), so there is no sampling temperature
  to anneal; :meth:`RefocusPolicy.set_temperature` is a no-op.
- **No temporal position.** The paper's Mamba reads the frames in order, so its hidden states
  carry position; our frozen per-frame features do not, and none is added. The policy sees content
  only: adjacent frames are near-duplicates in feature space, which is where it sees redundancy.
- **Size.** Three D x D heads plus the value bias and the scale: 3 D^2 + D + 1 parameters
  (442,753 at D = 384; 1,770,241 at D = 768).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, ClassVar, Mapping

import torch
from torch import nn

from framepick.errors import InvalidArgumentError
from framepick.policies import register_policy
from framepick.policies.base import Observation, PolicyConfig, SamplingPolicy
from framepick.validation import check_float, check_int


@dataclass(frozen=True)
class RefocusConfig(PolicyConfig):
    """Shape and initialisation of the ReFoCUS policy heads."""

    init_temperature: float = 0.05
    """The first step's logits start as cos(query, frame) / init_temperature (sets the initial logit scale)."""
    value_gain: float = 0.1
    """Orthogonal-initialisation gain of the Value head (paper Appendix B.2: 0.1)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("init_temperature", self.init_temperature, low=0.0, low_open=True)
        check_float("value_gain", self.value_gain, low=0.0)


@register_policy("refocus")
class RefocusPolicy(SamplingPolicy):
    """ReFoCUS policy: k frames chosen one by one, each step attending over all candidates."""

    # Paper 001: T' = 32 frames, N = 16 subsets, margin reward, advantage (r - mean) / std, entropy
    # bonus 0.002, weight decay 0.01, gradient clip 1.0 (Appendix B hyper-parameter table).
    train_defaults: ClassVar[Mapping[str, Any]] = MappingProxyType(dict(
        objective="grpo", k=32, group_size=16, lr=1e-4, weight_decay=0.01, reward="margin",
        temporal_weight=0.0, entropy_coef=0.002,
    ))
    config_class: ClassVar[type[PolicyConfig]] = RefocusConfig

    def __init__(self, config: RefocusConfig) -> None:
        super().__init__(config)
        dim = config.dim
        self.query_head = nn.Linear(dim, dim, bias=False)
        self.key_head = nn.Linear(dim, dim, bias=False)
        self.value_head = nn.Linear(dim, dim)
        shared = nn.init.orthogonal_(torch.empty(dim, dim), gain=1.0)
        with torch.no_grad():
            self.query_head.weight.copy_(shared)
            self.key_head.weight.copy_(shared)
        nn.init.orthogonal_(self.value_head.weight, gain=config.value_gain)
        nn.init.zeros_(self.value_head.bias)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(math.sqrt(dim) / config.init_temperature)))

    def _check_frames(self, obs: Observation) -> torch.Tensor:
        frames = obs.frames
        if frames.ndim != 2 or frames.shape[0] < 1 or frames.shape[1] != self.config.dim:
            raise InvalidArgumentError(
                f"refocus policy of dim {self.config.dim} needs frames [T,{self.config.dim}], got {tuple(frames.shape)}"
            )
        return frames

    def _logit_scale(self) -> torch.Tensor:
        """s / sqrt(d), the factor on the dot products (computed once per trajectory)."""
        return self.log_logit_scale.exp() / math.sqrt(self.config.dim)

    def _logits(self, frames: torch.Tensor, state: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """[G,T] the scaled dot-product scores of every candidate for the G states [G,D]."""
        direction = state / state.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        probe = self.query_head(direction) @ self.key_head.weight  # rows W_k^T q_i, so probe H^T = K q_i
        return (probe * scale) @ frames.T

    def _rollout(
        self,
        obs: Observation,
        group: int,
        steps: int,
        choose: Callable[[int, torch.Tensor], torch.Tensor],
        *,
        score: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run ``steps`` selection steps for ``group`` trajectories at once.

        ``choose(step, masked_logits [G,T])`` gives the [G] frames taken at ``step`` (sampled,
        argmax or teacher-forced). Returns (chosen [G,steps], summed log-prob [G], mean entropy
        [G]); the last two are zeros unless ``score``.
        """
        frames = self._check_frames(obs)
        length = frames.shape[0]
        state = obs.query.to(frames.dtype).unsqueeze(0).expand(group, -1)
        available = torch.ones((group, length), dtype=torch.bool, device=frames.device)
        rows = torch.arange(group, device=frames.device)
        chosen: list[torch.Tensor] = []
        log_prob = frames.new_zeros(group)
        entropy = frames.new_zeros(group)
        scale = self._logit_scale()
        for step in range(steps):
            taken = ~available
            logits = self._logits(frames, state, scale).masked_fill(taken, float("-inf"))
            action = choose(step, logits)
            if score:
                log_p = torch.log_softmax(logits, dim=-1)
                log_prob = log_prob + log_p.gather(1, action.unsqueeze(1)).squeeze(1)
                # Zero the taken frames' -inf before multiplying: 0 * -inf would make NaN gradients.
                entropy = entropy - (log_p.exp() * log_p.masked_fill(taken, 0.0)).sum(dim=-1)
            chosen.append(action)
            available[rows, action] = False
            state = state + self.value_head(frames[action])
        actions = torch.stack(chosen, dim=1) if chosen else torch.empty((group, 0), dtype=torch.long, device=frames.device)
        return actions, log_prob, entropy / max(steps, 1)

    def frame_scores(self, obs: Observation) -> torch.Tensor:
        """[T] the first step's logits (cos(query, frame) / init_temperature before training)."""
        frames = self._check_frames(obs)
        return self._logits(frames, obs.query.to(frames.dtype).unsqueeze(0), self._logit_scale())[0]

    def choose(self, obs: Observation, k: int, **options) -> tuple[torch.Tensor, torch.Tensor]:
        # The choice is a greedy rollout, not a top-k of the first step's scores.
        return self.select(obs, k), self.frame_scores(obs)

    def select(self, obs: Observation, k: int) -> torch.Tensor:
        check_int("k", k, low=1)
        length = self._check_frames(obs).shape[0]
        if k >= length:
            return torch.arange(length, device=obs.frames.device)
        with torch.no_grad():
            actions, _, _ = self._rollout(obs, 1, k, lambda step, logits: logits.argmax(dim=-1))
        return torch.sort(actions[0]).values

    def sample(self, obs: Observation, k: int, group: int, generator: torch.Generator) -> torch.Tensor:
        check_int("k", k, low=1)
        check_int("group", group, low=1)
        length = self._check_frames(obs).shape[0]

        def gumbel_max(step: int, logits: torch.Tensor) -> torch.Tensor:
            uniform = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).to(logits.device)
            return (logits - torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))).argmax(dim=-1)

        with torch.no_grad():
            actions, _, _ = self._rollout(obs, group, min(k, length), gumbel_max)
        return actions

    def log_prob(self, obs: Observation, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        length = self._check_frames(obs).shape[0]
        actions = torch.as_tensor(actions, dtype=torch.long)
        if actions.ndim != 2 or actions.shape[1] > length:
            raise InvalidArgumentError(f"actions must be [G,k] with k <= {length}, got shape {tuple(actions.shape)}")
        if actions.numel() and (int(actions.min()) < 0 or int(actions.max()) >= length):
            raise InvalidArgumentError(f"actions must be frame positions in [0, {length - 1}]")
        if actions.shape[1] > 1 and bool((torch.sort(actions, dim=1).values.diff(dim=1) == 0).any()):
            raise InvalidArgumentError("actions must not repeat a frame within a subset")
        _, log_prob, entropy = self._rollout(
            obs, actions.shape[0], actions.shape[1], lambda step, logits: actions[:, step], score=True
        )
        return log_prob, entropy

