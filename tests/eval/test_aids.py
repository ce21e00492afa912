"""What eval hands a selector besides the query: here, VideoITG's instruction type from the manifest."""

from __future__ import annotations

import json

import pytest

from framepick.cli.main import main


@pytest.fixture(scope="module")
def checkpoint(segment_video, tmp_path_factory):
    folder = tmp_path_factory.mktemp("videoitg")
    manifest = folder / "train.jsonl"
    manifest.write_text(json.dumps({"id": "t", "video": str(segment_video), "question": "When is the screen red?",
                                    "spans": [[10.0, 15.0]]}) + "\n", encoding="utf-8")
    code = main(["train", "videoitg", "--manifest", str(manifest), "--out", str(folder / "ckpt"), "--steps", "2",
                 "--eval-every", "2", "--candidates", "32", "--cache-dir", str(folder / "cache"), "--quiet"])
    assert code == 0
    return folder / "ckpt", folder / "cache"


def test_a_labelled_instruction_type_decides_how_videoitg_spreads_its_frames(segment_video, checkpoint, tmp_path, capsys) -> None:
    ckpt, cache = checkpoint
    question = "What colour is the screen?"  # the keyword rules call this semantic
    rows = [
        {"id": "labelled", "video": str(segment_video), "question": question, "extra": {"instruction_type": "motion"}},
        {"id": "plain", "video": str(segment_video), "question": question},
        {"id": "odd", "video": str(segment_video), "question": question, "extra": {"instruction_type": "dance"}},
    ]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code = main(["eval", "--manifest", str(manifest), "--out", str(tmp_path / "run"), "--methods", f"videoitg={ckpt}",
                 "-k", "6", "--candidates", "32", "--cache-dir", str(cache), "--quiet"])
    assert code == 0, capsys.readouterr().err
    records = {r["sample_id"]: r for r in map(json.loads, (tmp_path / "run" / "records.jsonl").read_text().splitlines())}
    assert records["labelled"]["instruction_source"] == "labels" and records["labelled"]["instruction"] == "motion"
    for plain in ("plain", "odd"):  # no label, or not one of the four types: the keyword rules, as before
        assert "instruction_source" not in records[plain]
    # motion samples at a fixed rate inside one segment; semantic spreads diverse frames: not the same frames
    labelled = [f["index"] for f in records["labelled"]["frames"]]
    plain = [f["index"] for f in records["plain"]["frames"]]
    assert labelled != plain
    assert [f["index"] for f in records["odd"]["frames"]] == plain
