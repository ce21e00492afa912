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
