"""curve.svg: one line per series, the clip fraction only where there is a ratio."""

from __future__ import annotations

from framepick.train.curve import moving_average, write_curve


def test_moving_average_is_trailing() -> None:
    assert moving_average([1.0, 3.0, 5.0, 7.0], 2).tolist() == [1.0, 2.0, 4.0, 6.0]


def test_grpo_curve_plots_the_clip_fraction_and_others_do_not(tmp_path) -> None:
    grpo = [{"split": "train", "step": s, "reward_mean": 0.5, "approx_kl": 0.01, "clip_fraction": 0.1 * s} for s in (1, 2, 3)]
    val = [{"split": "val", "step": s, "hit@8": 0.5} for s in (0, 3)]
    write_curve(tmp_path / "grpo.svg", grpo + val, title="tspo")
    svg = (tmp_path / "grpo.svg").read_text()
    assert "train clip fraction (avg of 1)" in svg and "train reward (avg of 1)" in svg and "val hit@8" in svg
    assert svg.count("<polyline") == 3
    bce = [{"split": "train", "step": s, "loss": 0.7, "updates_per_s": 9.0} for s in (1, 2, 3)]
    write_curve(tmp_path / "bce.svg", bce + val, title="videoitg")
    svg = (tmp_path / "bce.svg").read_text()
    assert "clip fraction" not in svg and "train loss (avg of 1)" in svg and svg.count("<polyline") == 2
