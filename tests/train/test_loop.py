"""The training loop: it learns a task with a known answer, resumes exactly, and survives Ctrl-C."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from framepick.errors import InvalidArgumentError
from framepick.policies.checkpoint import load_policy
from framepick.train import loop
from framepick.train.config import default_train_config
from framepick.train.loop import evaluate, train_policy

from synthetic import answerer, make_episodes

TRAIN = make_episodes(24, seed=1)
VAL = make_episodes(8, seed=2)


def run(method: str, out, **overrides):
    config = default_train_config(method, **{"eval_every": 5, "eval_ks": (4,), **overrides})
    return train_policy(method, TRAIN, VAL, out, config=config, answerer=answerer(), encoder_id="stub")


def weights(folder) -> dict[str, torch.Tensor]:
    return torch.load(folder / "state.pt", weights_only=False)["policy"]


def test_tspo_learns_the_evidence_direction_that_retrieval_misses(tmp_path) -> None:
    # The decoy is far more query-like than the span, so at the paper's 0.025 no group would ever
    # sample the span; a higher temperature gives the toy task the exploration real scores have.
    result = run("tspo", tmp_path, steps=50, k=4, lr=3e-3, temperature_start=1.0, temperature_end=0.5)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in rows if r["split"] == "val"]
    assert val[0]["step"] == 0 and val[0]["hit@4"] <= 0.25, "untrained TSPO ranks like retrieval: the decoy"
    assert result.best_score >= 0.75
    policy, meta = load_policy(tmp_path, method="tspo")
    assert meta["val_score"] == result.best_score and meta["encoder_id"] == "stub"
    assert evaluate(policy, VAL, (4,), answerer())["hit@4"] == result.best_score
    assert (tmp_path / "curve.svg").read_text().startswith("<svg")


def test_same_seed_same_weights_other_seed_other_weights(tmp_path) -> None:
    run("tspo", tmp_path / "a", steps=6, k=4)
    run("tspo", tmp_path / "b", steps=6, k=4)
    run("tspo", tmp_path / "c", steps=6, k=4, seed=1)
    a, b, c = (weights(tmp_path / n) for n in "abc")
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert not all(torch.equal(a[name], c[name]) for name in a)


def test_resuming_gives_exactly_the_uninterrupted_run(tmp_path) -> None:
    run("tspo", tmp_path / "straight", steps=10, k=4)
    run("tspo", tmp_path / "resumed", steps=5, k=4)
    result = run("tspo", tmp_path / "resumed", steps=10, k=4)
    assert result.steps_this_run == 5 and result.steps_done == 10
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert all(torch.equal(a[name], b[name]) for name in a)
    lines = (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
    steps = [(r["split"], r["step"]) for r in map(json.loads, lines)]
    assert len(steps) == len(set(steps)), "no step logged twice after a resume"


def test_ctrl_c_saves_a_usable_checkpoint_and_resume_finishes(tmp_path, monkeypatch) -> None:
    real_step = loop.train_step
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", interrupted)
    result = run("tspo", tmp_path, steps=10, k=4)
    assert result.interrupted and result.steps_done == 3
    assert torch.load(tmp_path / "state.pt", weights_only=False)["step"] == 3
    load_policy(tmp_path, method="tspo")  # the checkpoint is complete
    monkeypatch.setattr(loop, "train_step", real_step)
    finished = run("tspo", tmp_path, steps=10, k=4)
    assert not finished.interrupted and finished.steps_done == 10 and finished.steps_this_run == 7


def test_a_different_run_in_the_same_folder_is_refused(tmp_path) -> None:
    run("tspo", tmp_path, steps=3, k=4)
    with pytest.raises(InvalidArgumentError, match="holds a different training run"):
        run("tspo", tmp_path, steps=3, k=4, lr=1e-2)


def test_episode_order_is_a_permutation_per_epoch() -> None:
    seen = [loop._episode_index(step, 7, seed=3) for step in range(14)]
    assert sorted(seen[:7]) == list(range(7)) and sorted(seen[7:]) == list(range(7))
    assert seen[:7] != seen[7:]


def test_no_training_episodes_is_a_clear_error(tmp_path) -> None:
    config = default_train_config("tspo")
    with pytest.raises(InvalidArgumentError, match="no training episodes"):
        train_policy("tspo", [], [], tmp_path, config=config, answerer=answerer(), encoder_id="stub")


def train_rows(folder) -> list[dict]:
    return [r for r in map(json.loads, (folder / "metrics.jsonl").read_text().splitlines()) if r["split"] == "train"]


def test_grpo_logs_approx_kl_and_clip_fraction_and_the_clip_binds_when_the_step_is_large(tmp_path) -> None:
    result = run("tspo", tmp_path / "big", steps=6, k=4, lr=0.05, temperature_start=1.0, temperature_end=1.0)
    rows = train_rows(tmp_path / "big")
    assert all(r["updates_per_s"] > 0 and r["approx_kl"] >= 0 and 0 <= r["clip_fraction"] <= 0.5 for r in rows)
    # updates_per_group = 2: the first update is on-policy (ratio 1), so the mean is at most 1/2.
    assert result.clipped_steps == sum(r["clip_fraction"] > 0 for r in rows) > 0
    assert result.clip_fraction == pytest.approx(np.mean([r["clip_fraction"] for r in rows]))
    assert result.approx_kl_max == max(r["approx_kl"] for r in rows) > 0
    # One on-policy update per group: the ratio is exactly 1, nothing to clip.
    on_policy = run("tspo", tmp_path / "one", steps=3, k=4, updates_per_group=1)
    assert all(r["approx_kl"] == 0 and r["clip_fraction"] == 0 for r in train_rows(tmp_path / "one"))
    assert on_policy.clipped_steps == 0 and on_policy.approx_kl_max == 0


@pytest.mark.parametrize("method", ["msjoe", "videoitg"])
def test_without_a_ratio_only_the_rate_is_logged(tmp_path, method) -> None:
    result = run(method, tmp_path, steps=2, k=4, group_size=4)
    rows = train_rows(tmp_path)
    assert all(r["updates_per_s"] > 0 and "approx_kl" not in r and "clip_fraction" not in r for r in rows)
    assert result.clip_fraction is None and result.clipped_steps is None and result.approx_kl_max is None


def test_the_diagnostics_do_not_touch_the_weights(tmp_path, monkeypatch) -> None:
    run("tspo", tmp_path / "logged", steps=4, k=4, lr=0.05)
    monkeypatch.setattr(loop, "ratio_diagnostics", lambda *args: (0.0, 0.0))
    run("tspo", tmp_path / "silent", steps=4, k=4, lr=0.05)
    a, b = weights(tmp_path / "logged"), weights(tmp_path / "silent")
    assert all(torch.equal(a[name], b[name]) for name in a)


def test_an_overflowed_ratio_is_reported_once_as_divergence(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(loop, "ratio_diagnostics", lambda *args: (float("nan"), 0.0))
    with caplog.at_level("WARNING", logger="framepick.train.loop"):
        result = run("tspo", tmp_path, steps=2, k=4)
    assert np.isnan(result.approx_kl_max)
    assert [r.getMessage() for r in caplog.records].count("step 1: the GRPO ratio overflowed (approx KL nan): training has diverged") == 1
    assert len(caplog.records) == 1
    assert np.isnan(loop._nan_max([1.0, float("nan")])) and np.isnan(loop._nan_max([float("nan"), 1.0]))
    assert loop._nan_max([1.0, float("inf"), 2.0]) == float("inf")
