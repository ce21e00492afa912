"""`framepick eval --benchmark NAME --annotations FILE --videos DIR` reads official annotations directly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from framepick.cli.main import main

LVBENCH = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "benchmarks" / "lvbench" / "video_info.meta.jsonl"


def test_eval_straight_from_lvbench_annotations(segment_video, tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(segment_video, videos / "vidAAAAAAAA.mp4")  # the fixture's first video; the second is absent
    out = tmp_path / "run"
    code = main(["eval", "--benchmark", "lvbench", "--annotations", str(LVBENCH), "--videos", str(videos),
                 "--out", str(out), "--methods", "uniform", "-k", "4", "--query", "text", "--quiet",
                 "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "missing video" in err  # the absent second video is counted, not fatal
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert records and all(r["method"] == "uniform" and len(r["frames"]) == 4 for r in records)
    # LVBench's time_reference "03:45-04:10" became a span in seconds
    assert any(r["spans"] == [[225.0, 250.0]] for r in records)
    assert json.loads((out / "config.json").read_text())["benchmark"] == "lvbench"


def test_benchmark_needs_annotations_and_videos(tmp_path, capsys):
    code = main(["eval", "--benchmark", "lvbench", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--annotations" in err[0]
