"""Policy checkpoints are written atomically per file: a failed save leaves the last good one."""

from __future__ import annotations

import pytest
import torch

from framepick.policies import build_policy
from framepick.policies.checkpoint import load_policy, save_policy

from policies.threads import one_thread  # noqa: F401  (autouse)


def test_a_save_that_fails_half_way_leaves_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    torch.manual_seed(0)
    first = build_policy("tspo", dim=8)
    save_policy(tmp_path, first, encoder_id="stub", extra={"trained_steps": 1})
    real_save = torch.save

    def save_then_die(obj, path, *args, **kwargs):
        real_save(obj, path, *args, **kwargs)
        with open(path, "r+b") as handle:
            handle.truncate(10)  # what a kill during the write would leave
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_policy(tmp_path, build_policy("tspo", dim=8), encoder_id="stub", extra={"trained_steps": 2})
    monkeypatch.undo()

    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.json", "policy.pt"]
    policy, meta = load_policy(tmp_path)
    assert meta["trained_steps"] == 1
    for name, value in first.state_dict().items():
        assert torch.equal(policy.state_dict()[name], value)
