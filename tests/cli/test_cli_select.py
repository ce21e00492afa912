"""`framepick select`, `scenes`, `methods`, `encoders` end to end on generated videos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framepick.cli.main import main
from tests_support import RED_SPAN, forbid_decoding, solid_picture


def run_json(capsys, *argv: str) -> dict:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def check_contract(result: dict, k: int, candidates: int) -> None:
    assert set(result) >= {"video", "question", "method", "encoder", "k", "candidates", "frames", "clips", "timings_seconds"}
    assert result["k"] == k and result["candidates"] == candidates
    frames = result["frames"]
    assert len(frames) == min(k, candidates)
    indices = [f["index"] for f in frames]
    assert indices == sorted(set(indices))
    assert set(result["timings_seconds"]) >= {"decode", "encode", "select"}
    for clip in result["clips"]:
        assert clip["priority"] in ("P1", "P2")
        assert clip["start_index"] <= clip["end_index"]


def test_uniform_json_contract(capsys, segment_video, tmp_path):
    result = run_json(capsys, "select", str(segment_video), "-k", "6", "--method", "uniform", "--quiet",
                      "--cache-dir", str(tmp_path / "cache"))
    check_contract(result, 6, 256)
    assert result["encoder"] is None and result["clips"] == []
    assert result["video"]["frame_count"] == 300
    assert result["video"]["duration_seconds"] == pytest.approx(30.0, abs=0.15)
    for frame in result["frames"]:
        # The index is the source frame index; at 10 fps its time is index / 10.
        assert frame["timestamp"] == pytest.approx(frame["index"] / 10, abs=1e-6)


def test_image_query_topk_finds_red_segment(capsys, segment_video, tmp_path):
    picture = tmp_path / "red.png"
    Image.fromarray(solid_picture((220, 30, 30))).save(picture)
    result = run_json(capsys, "select", str(segment_video), "--query-image", str(picture), "-k", "5",
                      "--method", "topk", "--encoder", "hist", "--quiet", "--cache-dir", str(tmp_path / "cache"))
    check_contract(result, 5, 256)
    assert result["encoder"].startswith("hist")
    for frame in result["frames"]:
        assert RED_SPAN[0] <= frame["timestamp"] < RED_SPAN[1]


def test_kframes_image_query_clips_cover_red(capsys, segment_video, tmp_path):
    picture = tmp_path / "red.png"
    Image.fromarray(solid_picture((220, 30, 30))).save(picture)
    result = run_json(capsys, "select", str(segment_video), "--query-image", str(picture), "-k", "4",
                      "--method", "kframes", "--encoder", "hist", "--quiet", "--cache-dir", str(tmp_path / "cache"))
    check_contract(result, 4, 256)
    p1 = [c for c in result["clips"] if c["priority"] == "P1"]
    assert p1, result["clips"]
    assert any(c["start_seconds"] <= 12.5 <= c["end_seconds"] for c in p1)
    inside = [f for f in result["frames"] if RED_SPAN[0] <= f["timestamp"] < RED_SPAN[1]]
    assert len(inside) >= 2


def test_outputs_frames_dir_sheet_and_file(capsys, segment_video, tmp_path):
    out = tmp_path / "sel.json"
    frames_dir = tmp_path / "frames"
    sheet = tmp_path / "sheet.jpg"
    code = main(["select", str(segment_video), "-k", "4", "--method", "uniform", "--quiet", "-o", str(out),
                 "--frames-dir", str(frames_dir), "--sheet", str(sheet), "--no-cache"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == ""
    result = json.loads(out.read_text())
    names = sorted(p.name for p in frames_dir.iterdir())
    assert len(names) == 4
    # named by timestamp, so lexical order is time order, and each name carries the frame index
    for name, frame in zip(names, result["frames"]):
        assert f"_f{frame['index']:07d}.jpg" in name
        assert name.startswith(f"t{frame['timestamp']:011.3f}s")
    with Image.open(frames_dir / names[0]) as img:
        assert img.size == (160, 96)  # full resolution, not the encoder's small copy
    with Image.open(sheet) as img:
        assert img.format == "JPEG" and img.width >= 4 * 160
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_second_question_uses_cache(segment_video, tmp_path, monkeypatch):
    import framepick

    cache = tmp_path / "cache"
    framepick.select_frames(segment_video, None, 4, method="kframes", encoder="hist", cache=cache,
                            query_image=solid_picture((220, 30, 30)))
    # A second question on the same video must neither decode nor embed the candidates again.
    forbid_decoding(monkeypatch)
    monkeypatch.setattr(framepick.pipeline.ColorHistograms, "encode_images", _fail)
    second = framepick.select_frames(segment_video, None, 4, method="kframes", encoder="hist", cache=cache,
                                     query_image=solid_picture((30, 40, 220)))
    assert all(25.0 <= t < 30.0 for t in second.timestamps)


def _fail(*args, **kwargs):
    raise AssertionError("the cache should have made this call unnecessary")


def test_scores_file(capsys, tmp_path):
    scores = np.zeros(50)
    scores[[5, 17, 30]] = [0.9, 0.8, 0.95]
    path = tmp_path / "s.npy"
    np.save(path, scores)
    result = run_json(capsys, "select", "--scores", str(path), "-k", "3")
    check_contract(result, 3, 50)
    assert [f["index"] for f in result["frames"]] == [5, 17, 30]
    assert result["video"] is None and result["method"] == "topk"
    assert result["frames"][0]["timestamp"] is None


@pytest.mark.parametrize("method", ["uniform", "topk", "aks", "bolt"])
def test_scores_json_every_score_method(capsys, tmp_path, method):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(list(np.sin(np.arange(40) / 5.0))))
    result = run_json(capsys, "select", "--scores", str(path), "-k", "8", "--method", method)
    check_contract(result, 8, 40)


def test_clips_text_output_of_kframes_model(capsys, tmp_path):
    path = tmp_path / "clips.txt"
    path.write_text(
        "<time>84-89, P2,</time><reason>the thief digs the goods out of the ice</reason>\n"
        "<time>102-115, P1,</time><reason>the aftermath</reason>\n"
    )
    result = run_json(capsys, "select", "--clips", str(path), "--candidates", "256", "-k", "8")
    check_contract(result, 8, 256)
    assert {c["priority"] for c in result["clips"]} == {"P1", "P2"}
    # Focused sampling (k <= 8): every frame comes from the key clips
    for frame in result["frames"]:
        assert 83 <= frame["index"] <= 115


def test_clips_json(capsys, tmp_path):
    path = tmp_path / "clips.json"
    path.write_text(json.dumps([{"start_index": 10, "end_index": 19, "priority": "P1"}]))
    result = run_json(capsys, "select", "--clips", str(path), "--candidates", "100", "-k", "32")
    check_contract(result, 32, 100)


def test_scenes_command(capsys, segment_video, tmp_path):
    result = run_json(capsys, "scenes", str(segment_video), "--quiet", "--cache-dir", str(tmp_path / "cache"))
    starts = [s["start_seconds"] for s in result["scenes"]]
    assert starts[0] == pytest.approx(0.0, abs=0.2)
    for cut in (10.0, 15.0, 25.0):
        assert any(abs(s - cut) <= 0.3 for s in starts), (cut, starts)
    ends = [s["end_seconds"] for s in result["scenes"]]
    assert ends[-1] == pytest.approx(30.0, abs=0.2)
    assert all(a["end_position"] + 1 == b["start_position"] for a, b in zip(result["scenes"], result["scenes"][1:]))


def test_methods_and_encoders_listing(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("uniform", "topk", "aks", "bolt", "kframes"):
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert len(line.split(None, 1)) == 2  # a name and a one-line summary
    assert main(["encoders"]) == 0
    out = capsys.readouterr().out
    for name in ("offline", "hist", "clip", "siglip"):
        assert any(line.startswith(name) for line in out.splitlines()), out


def test_uniform_loads_no_encoder(segment_video, tmp_path):
    code = (
        "import sys, framepick\n"
        f"s = framepick.select_frames({str(segment_video)!r}, k=4, method='uniform', cache=False)\n"
        "print(len(s), 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.split() == ["4", "False", "False"]


def test_k_above_candidates_returns_all_and_says_so(capsys, segment_video, tmp_path):
    code = main(["select", str(segment_video), "-k", "40", "--candidates", "30", "--method", "uniform",
                 "--quiet", "--cache-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0
    result = json.loads(captured.out)
    check_contract(result, 40, 30)
    assert len(result["frames"]) == 30
    assert "k=40 is more than the 30 candidates" in captured.err


def test_output_files_get_the_usual_permissions(capsys, tmp_path):
    import os
    import stat

    scores = tmp_path / "s.json"
    scores.write_text("[0.1, 0.9, 0.3]")
    out = tmp_path / "out.json"
    old = os.umask(0o022)
    try:
        assert main(["select", "--scores", str(scores), "-k", "1", "-o", str(out)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
