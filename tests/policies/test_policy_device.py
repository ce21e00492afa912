"""Learned policies follow --device: no tensor of theirs is made on a fixed device.

CI has no GPU, so the check runs on PyTorch's ``meta`` device: a policy and an observation moved
there fail with "Tensor on device cpu is not on the expected device meta" wherever the code makes
a tensor without the input's device, which is exactly what would fail on ``cuda``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from framepick.policies import policy_class
from framepick.policies.base import make_observation

METHODS = ("tspo", "refocus", "msjoe", "videoitg")
# VideoITG spreads its chosen frames with NumPy on the host (values leave the device there), which
# the meta device cannot do; its forward pass is checked on meta, its choice on the CPU path.
HOST_SIDE_CHOICE = {"videoitg"}


def _observation(dim: int):
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((48, dim)).astype(np.float32)
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    return make_observation(frames, frames[3], frames[:4], "What colour is the car?")


@pytest.mark.parametrize("method", METHODS)
def test_inference_runs_where_the_inputs_are(method: str) -> None:
    cls = policy_class(method)
    policy = cls(cls.config_class()).eval().to("meta")
    obs = _observation(policy.config.dim).to("meta")
    with torch.no_grad():
        if method in HOST_SIDE_CHOICE:
            scores = policy.frame_scores(obs)
            assert scores.device.type == "meta" and scores.shape == (48,)
        else:
            chosen, scores = policy.choose(obs, 8)
            assert chosen.device.type == scores.device.type == "meta" and chosen.shape == (8,)


@pytest.mark.parametrize("method", ("tspo", "refocus", "msjoe"))
def test_sampling_with_a_cpu_generator_runs_where_the_inputs_are(method: str) -> None:
    cls = policy_class(method)
    policy = cls(cls.config_class()).eval().to("meta")
    obs = _observation(policy.config.dim).to("meta")
    with torch.no_grad():
        actions = policy.sample(obs, 4, 3, torch.Generator().manual_seed(0))
    assert actions.device.type == "meta" and actions.shape == (3, 4)
