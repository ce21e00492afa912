"""How a policy is trained: one frozen dataclass; each method's paper defaults live with its policy.

``framepick train METHOD`` starts from :func:`default_train_config` and applies the flags the user
gave; the resolved config is stored with the checkpoint and checked on resume.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from framepick.errors import InvalidArgumentError
from framepick.policies import policy_class, policy_methods
from framepick.validation import check_float, check_int

Objective = Literal["grpo", "reinforce", "bce"]
RewardKind = Literal["tspo", "margin", "log_ratio", "difficulty"]
OBJECTIVES = ("grpo", "reinforce", "bce")
REWARDS = ("tspo", "margin", "log_ratio", "difficulty")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (the policy's shape is its own config)."""

    objective: Objective = "grpo"
    """``grpo`` (group-relative advantages, clipped ratio), ``reinforce`` (group-mean baseline) or ``bce``."""
    steps: int = 300
    """Optimizer steps; one training episode (question) per step."""
    group_size: int = 8
    """Subsets sampled per question (G in GRPO, N in ReFoCUS)."""
    k: int = 16
    """Frames per sampled subset during training (TSPO: 16; ReFoCUS: T' = 32)."""
    lr: float = 5e-4
    """AdamW learning rate."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Global gradient-norm clip."""
    clip: float = 0.2
    """GRPO ratio clip epsilon."""
    updates_per_group: int = 2
    """Gradient steps on each sampled group (ReFoCUS Algorithm 1's inner K); the first is on-policy."""
    entropy_coef: float = 0.0
    """Weight of the policy-entropy bonus (ReFoCUS: beta = 0.002)."""
    temperature_start: float | None = None
    """Sampling temperature at step 0, annealed linearly to ``temperature_end`` (TSPO: 0.025 -> 0.01)."""
    temperature_end: float | None = None
    reward: RewardKind = "tspo"
    """``tspo`` R_A + R_T; ``margin`` ReFoCUS Eq. 5; ``log_ratio`` K-frames Eq. 2; ``difficulty`` MSJoE-style."""
    temporal_weight: float = 1.0
    """Weight of R_T (fraction of chosen frames inside the evidence) added to the reward."""
    eval_every: int = 25
    """Validate (and checkpoint) every this many steps, and at the end."""
    eval_ks: tuple[int, ...] = (8, 32)
    """Frame budgets the validation hit@k is averaged over; the best checkpoint maximises it."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise InvalidArgumentError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.reward not in REWARDS:
            raise InvalidArgumentError(f"reward must be one of {', '.join(REWARDS)}, got {self.reward!r}")
        check_int("steps", self.steps, low=1)
        check_int("group_size", self.group_size, low=2)
        check_int("k", self.k, low=1)
        check_float("lr", self.lr, low=0.0, low_open=True)
        check_float("weight_decay", self.weight_decay, low=0.0)
        check_float("grad_clip", self.grad_clip, low=0.0, low_open=True)
        check_float("clip", self.clip, low=0.0, low_open=True)
        check_int("updates_per_group", self.updates_per_group, low=1)
        check_float("entropy_coef", self.entropy_coef, low=0.0)
        check_float("temporal_weight", self.temporal_weight, low=0.0)
        check_int("eval_every", self.eval_every, low=1)
        check_int("seed", self.seed, low=0)
        object.__setattr__(self, "eval_ks", tuple(self.eval_ks))
        if not self.eval_ks:
            raise InvalidArgumentError("eval_ks must name at least one frame budget")
        for k in self.eval_ks:
            check_int("eval_ks", k, low=1)
        if (self.temperature_start is None) != (self.temperature_end is None):
            raise InvalidArgumentError("give both temperature_start and temperature_end, or neither")
        if self.temperature_start is not None:
            check_float("temperature_start", self.temperature_start, low=0.0, low_open=True)
            check_float("temperature_end", self.temperature_end, low=0.0, low_open=True)

    def temperature_at(self, step: int) -> float | None:
        """The annealed sampling temperature for ``step`` (linear from start to end over the run)."""
        if self.temperature_start is None or self.temperature_end is None:
            return None
        fraction = min(1.0, step / max(1, self.steps - 1))
        return self.temperature_start + fraction * (self.temperature_end - self.temperature_start)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["eval_ks"] = list(self.eval_ks)
        return data


def default_train_config(method: str, **overrides: Any) -> TrainConfig:
    """The paper defaults for ``method`` with ``overrides`` (None values are ignored) applied.

    The defaults are the policy class's ``train_defaults`` (declared next to the policy, in
    ``framepick/policies/METHOD.py``); fields they leave out take :class:`TrainConfig`'s defaults.
    """
    defaults = dict(policy_class(method).train_defaults)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(defaults) - fields)
    if unknown:
        raise InvalidArgumentError(f"{method}'s train_defaults name unknown training option {', '.join(map(repr, unknown))}")
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise InvalidArgumentError(f"unknown training option {', '.join(map(repr, unknown))}")
    return TrainConfig(**{**defaults, **{k: v for k, v in overrides.items() if v is not None}})


def trainable_methods() -> list[str]:
    """Every learned method: each policy module declares how it is trained."""
    return policy_methods()
