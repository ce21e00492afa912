"""One learned method is one policy module (registered, with its training defaults) + its selector file."""

from __future__ import annotations

import subprocess
import sys

import pytest

import framepick.policies as policies
from framepick.errors import UnknownNameError
from framepick.policies import build_policy, policy_class, policy_methods, register_policy
from framepick.policies.base import Policy, SamplingPolicy
from framepick.registry import selectors
from framepick.train.config import TrainConfig, default_train_config, trainable_methods

import framepick.select  # noqa: F401  (registers the selectors)


def test_the_policy_modules_and_the_learned_selectors_name_the_same_methods() -> None:
    learned = sorted(name for name in selectors if getattr(selectors.get(name), "learned", False))
    assert policy_methods() == learned == trainable_methods()
    assert {"tspo", "refocus", "msjoe", "videoitg"} <= set(learned)


@pytest.mark.parametrize("method", ["tspo", "refocus", "msjoe", "videoitg"])
def test_each_method_lives_in_its_own_module_and_declares_how_it_trains(method: str) -> None:
    cls = policy_class(method)
    assert cls.method == method and cls.__module__ == f"framepick.policies.{method}"
    assert set(cls.train_defaults) <= {f for f in TrainConfig.__dataclass_fields__}
    config = default_train_config(method)
    assert (config.objective == "bce") != issubclass(cls, SamplingPolicy), "sampling policies train by RL"
    assert build_policy(method, dim=8).method == method


def test_the_paper_defaults_resolve_as_before() -> None:
    # What the old train/config._DEFAULTS table gave; the values now live on the policy classes.
    expected = {
        "tspo": dict(objective="grpo", k=16, group_size=8, lr=5e-4, reward="tspo", temporal_weight=1.0,
                     temperature_start=0.025, temperature_end=0.01, updates_per_group=2, entropy_coef=0.0),
        "refocus": dict(objective="grpo", k=32, group_size=16, lr=1e-4, weight_decay=0.01, reward="margin",
                        temporal_weight=0.0, entropy_coef=0.002, temperature_start=None),
        "msjoe": dict(objective="reinforce", k=16, lr=1e-3, reward="difficulty", temporal_weight=1.0,
                      updates_per_group=1, weight_decay=0.0),
        "videoitg": dict(objective="bce", lr=1e-3, weight_decay=0.01, updates_per_group=1, k=16),
    }
    for method, fields in expected.items():
        config = default_train_config(method).to_dict()
        assert {name: config[name] for name in fields} == fields, method
    assert default_train_config("tspo", lr=0.1, k=None).lr == 0.1


def test_an_unknown_method_lists_the_known_ones() -> None:
    for name in ("tpso", "base", "checkpoint", "../tspo"):
        with pytest.raises(UnknownNameError, match="known: msjoe, refocus, tspo, videoitg"):
            policy_class(name)


def test_a_new_method_needs_only_its_registered_class(monkeypatch) -> None:
    monkeypatch.setattr(policies, "_POLICIES", dict(policies._POLICIES))

    @register_policy("toy")
    class Toy(Policy):
        config_class = policy_class("videoitg").config_class
        train_defaults = {"objective": "bce", "lr": 0.5}

        def frame_scores(self, obs):  # pragma: no cover - not called
            return obs.frames @ obs.query  # the query similarity: any scores make a policy

    assert Toy.method == "toy" and policy_class("toy") is Toy and "toy" in policy_methods()
    assert default_train_config("toy").lr == 0.5
    with pytest.raises(ValueError, match="already registered"):
        register_policy("tspo")(Toy)


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, framepick.policies; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
