"""framepick export lmms-eval: the layouts that lmms-eval keyframe integrations read.

bolt: BOLT's lmms-eval fork (github.com/sming256/lmms-eval, models/simple/llava_onevision.py
load_video/sample_frames) reads ``json[video_name]``, picks the entry whose "question" occurs in the
prompt and turns its "frames" (seconds) into indices with round(seconds * fps).
aks: AKS (github.com/ncTimTang/AKS, evaluation/change_score.py) copies list[i] into annotation
doc i as "frame_idx"; evaluation/llava_vid.py load_video_index decodes doc["frame_idx"][:k].
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from report_run import EVIL, QUESTIONS, TIMES

from framepick.cli.main import main
from framepick.errors import InvalidArgumentError
from framepick.eval.lmms_export import build_lmms_eval, lmms_video_name


def test_bolt_layout(run_dir: Path, segment_video: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "frames.json"
    assert main(["export", "lmms-eval", str(run_dir), "--method", "kframes", "-k", "4", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"{out}: 3 questions"
    data = json.loads(out.read_text())
    video_key = segment_video.name.split(".")[0]
    assert set(data) == {video_key, "missing"}
    entries = data[video_key]
    assert [set(e) for e in entries] == [{"question_id", "question", "frames"}] * 2
    assert [e["question_id"] for e in entries] == ["s1", EVIL]
    assert [e["question"] for e in entries] == [QUESTIONS["s1"], QUESTIONS[EVIL]]
    assert entries[0]["frames"] == TIMES[("kframes", 4)]["s1"]
    assert data["missing"][0]["frames"] == TIMES[("kframes", 4)]["s3"]


def test_bolt_frames_map_back_to_the_chosen_indices_as_the_reader_does(run_dir: Path, segment_video: Path) -> None:
    data = build_lmms_eval(run_dir, method="uniform", k=4, query="image")
    video_fps, total = 10.0, 300  # the segment video
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    want = next(r for r in records if r["sample_id"] == "s1" and r["method"] == "uniform" and r["k"] == 4 and r["query"] == "image")
    prompt = f"Some system text.\n{QUESTIONS['s1']}\nA. a\nB. b"
    # the reader: the entry whose question is in the prompt, seconds -> round(s * fps), sorted, clipped
    entry = next(e for e in data[segment_video.name.split(".")[0]] if e["question"] in prompt)
    indices = np.clip(np.sort(np.round(np.array(entry["frames"]) * video_fps).astype(int)), 0, total - 1).tolist()
    assert indices == [f["index"] for f in want["frames"]]
    assert len(entry["frames"]) == 4  # LLaVA-OneVision's reader asserts len(frames) == max_frames_num


def test_aks_layout(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "selected_frames.json"
    assert main(["export", "lmms-eval", str(run_dir), "--method", "kframes", "-k", "2", "--layout", "aks", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    # one list per question in manifest order, sorted source frame indices (ints)
    assert data == [[int(round(t * 10)) for t in TIMES[("kframes", 2)][sid]] for sid in ("s1", EVIL, "s3")]
    assert all(isinstance(i, int) for row in data for i in row)


def test_aks_layout_refuses_gaps(run_dir: Path) -> None:
    lines = [line for line in (run_dir / "records.jsonl").read_text().splitlines() if '"s3"' not in line or '"uniform"' in line]
    (run_dir / "records.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidArgumentError, match="matched by position"):
        build_lmms_eval(run_dir, method="kframes", k=2, layout="aks")


def test_video_name_is_lmms_evals_key() -> None:
    assert lmms_video_name("/data/videomme/data/fFjv93ACGo8.mp4") == "fFjv93ACGo8"
    assert lmms_video_name("clips/a.b.mkv") == "a"  # the reader's split(".")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "aks", "-k", "2"], "method 'aks' is not in run"),
        (["--method", "kframes", "-k", "3"], "k=3 was not run"),
        (["--method", "kframes", "-k", "2", "--manifest", "/nope.jsonl"], "manifest '/nope.jsonl' is missing"),
    ],
)
def test_errors_are_one_line(run_dir: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    out = tmp_path / "x.json"
    assert main(["export", "lmms-eval", str(run_dir), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_bolt_needs_the_manifest(run_dir: Path) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    Path(config["manifest"]).unlink()
    with pytest.raises(InvalidArgumentError, match="pass --manifest"):
        build_lmms_eval(run_dir, method="kframes", k=2)
    # the aks layout needs only the records (their order)
    assert len(build_lmms_eval(run_dir, method="kframes", k=2, layout="aks")) == 3


def test_auto_takes_the_pictures_selection_where_a_question_has_one(run_dir: Path, tmp_path: Path) -> None:
    """What eval's default --query auto ran: s1 by its picture, the others by their text. Exported
    with the default --query auto, each question gets the selection eval used for it."""
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    kept = []
    for record in records:
        if record["method"] != "kframes" or record["k"] != 2:
            continue
        if record["sample_id"] == "s1" and record["query"] == "image":
            record["frames"] = [{"index": 7, "timestamp": 0.7, "score": 0.5}, {"index": 9, "timestamp": 0.9, "score": 0.5}]
        if (record["sample_id"] == "s1") == (record["query"] == "image"):
            kept.append(record)
    assert len(kept) == 3
    (run_dir / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    out = tmp_path / "selected_frames.json"
    assert main(["export", "lmms-eval", str(run_dir), "--method", "kframes", "-k", "2", "--layout", "aks", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == [[7, 9]] + [[int(round(t * 10)) for t in TIMES[("kframes", 2)][sid]] for sid in (EVIL, "s3")]
    with pytest.raises(InvalidArgumentError, match="matched by position"):  # text alone lacks s1
        build_lmms_eval(run_dir, method="kframes", k=2, query="text", layout="aks")
