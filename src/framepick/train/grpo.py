"""Policy-gradient pieces as pure functions of tensors: advantages and losses.

Kept apart from the loop so each can be read and tested on its own (cleanrl style):

- :func:`group_advantages`: GRPO's (r - mean) / (std + eps) within one group of samples
  (ReFoCUS Algorithm 1 line 8; TSPO Eq. 9 via DeepSeek's GRPO);
- :func:`clipped_surrogate_loss`: PPO/GRPO's clipped importance-ratio objective, negated;
- :func:`ratio_diagnostics`: what cleanrl logs about that ratio (approx KL, clip fraction);
- :func:`reinforce_loss`: REINFORCE with the group mean as baseline (MSJoE's sampler);
- :func:`weighted_bce_loss`: VideoITG's per-frame binary cross-entropy with a capped positive weight.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def group_advantages(rewards: torch.Tensor, *, eps: float = 1e-6, scale: bool = True) -> torch.Tensor:
    """Rewards of one group made relative: minus the group mean, divided by its std when ``scale``.

    The population std (``unbiased=False``) as in the papers' ``std(r)``; a group whose rewards are
    all equal gets zero advantages (nothing to prefer), never NaN.
    """
    centred = rewards - rewards.mean()
    if not scale:
        return centred
    spread = rewards.std(unbiased=False)
    # Equal rewards leave float32 rounding in ``centred`` (1e-8); dividing that by a ~0 std would
    # turn noise into advantages of order 0.1, so a group without real spread teaches nothing.
    if float(spread) <= eps * max(1.0, float(rewards.abs().max())):
        return torch.zeros_like(rewards)
    return centred / (spread + eps)


def clipped_surrogate_loss(
    log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor, clip: float = 0.2
) -> torch.Tensor:
    """-mean(min(ratio * A, clip(ratio, 1 - clip, 1 + clip) * A)) with ratio = pi / pi_old.

    On the first update after sampling, ratio = 1 and the gradient equals the plain policy
    gradient; later updates on the same samples are kept near the sampling policy by the clip.
    """
    ratio = torch.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages
    return -torch.minimum(unclipped, clipped).mean()


def ratio_diagnostics(log_prob: torch.Tensor, old_log_prob: torch.Tensor, clip: float = 0.2) -> tuple[float, float]:
    """(approx KL, clip fraction) of ratio = pi / pi_old, computed as cleanrl's PPO logs them.

    - approx KL = mean((ratio - 1) - log ratio): the "k3" estimator of KL(pi_old || pi) over the
      sampled subsets (Schulman, "Approximating KL Divergence", 2020). Every term is >= 0 and is 0
      only where ratio = 1, so it is 0 on the on-policy first update and grows as the policy moves
      away from the one that drew the group.
    - clip fraction = share of samples with |ratio - 1| > clip: those whose ratio the clip touched.
      Where the clip also takes the min (ratio above 1 + clip with A > 0, below 1 - clip with A < 0)
      the sample's gradient is zero; a clip fraction that stays 0 means the clip never binds.

    Read-only: no gradient, no random numbers, nothing the update depends on.
    """
    with torch.no_grad():
        log_ratio = log_prob.detach() - old_log_prob.detach()
        ratio = log_ratio.exp()
        approx_kl = ((ratio - 1.0) - log_ratio).mean()
        clip_fraction = ((ratio - 1.0).abs() > clip).float().mean()
    return float(approx_kl), float(clip_fraction)


def reinforce_loss(log_prob: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """-mean((r - mean r) * log pi): REINFORCE with the group's mean reward as the baseline."""
    return -(group_advantages(rewards, scale=False).detach() * log_prob).mean()


def positive_weight(labels: torch.Tensor, cap: float = 5.0) -> float:
    """VideoITG's weight on positive frames: min(cap, sqrt(negatives / positives)); 1 without positives."""
    positives = float(labels.sum())
    negatives = float(labels.numel()) - positives
    if positives <= 0:
        return 1.0
    return min(cap, math.sqrt(negatives / positives))


def weighted_bce_loss(logits: torch.Tensor, labels: torch.Tensor, cap: float = 5.0) -> torch.Tensor:
    """Binary cross-entropy of per-frame logits against 0/1 labels, positives weighted by :func:`positive_weight`."""
    weight = torch.tensor(positive_weight(labels, cap), dtype=logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), pos_weight=weight)
