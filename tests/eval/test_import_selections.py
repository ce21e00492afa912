"""framepick data import-selections: published TSPO / VideoITG / BOLT selections as run records.

The fixtures are small hand-made files in each project's published layout (docs/published_selections.md),
over the session's generated videos: ``segment_video`` (30 s at 10 fps, 300 frames: red 10-15 s,
blue 25-30 s) and a 25 fps one (8 s, 200 frames) where rounding seconds to frames matters.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from videogen import GREY, RED

from framepick.cli.main import main
from framepick.eval.import_selections import (
    Converted,
    convert_frames,
    import_selections,
)
from framepick.eval.published import PublishedEntry, read_published

VIDEOMME_ROWS = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "benchmarks" / "videomme" / "videomme_rows.json"
RED_Q = "When is the screen red?"
BLUE_Q = "When is it blue?"


@pytest.fixture
def video25(make_video) -> Path:
    """8 s at 25 fps (200 frames)."""
    return make_video("bolt25.mp4", [(4, GREY, "pattern"), (4, RED)], fps=25)


def _write(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def _manifest(path: Path, rows: list[dict]) -> Path:
    with path.open("w") as handle:
        for row in rows:
            handle.write(json.dumps({"options": ["a", "b", "c", "d"], "answer": "A", **row}) + "\n")
    return path


def _segment_manifest(tmp_path: Path, video: Path) -> Path:
    return _manifest(tmp_path / "m.jsonl", [
        {"id": "q1", "video": str(video), "question": RED_Q, "spans": [[10.0, 15.0]]},
        {"id": "q2", "video": str(video), "question": BLUE_Q, "spans": [[25.0, 30.0]]},
    ])


def _records(run: Path) -> dict[tuple[str, int], dict]:
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    return {(r["sample_id"], r["k"]): r for r in rows}


def _import(argv: list[str], tmp_path: Path) -> int:
    return main(["data", "import-selections", *argv, "--quiet", "--cache-dir", str(tmp_path / "cache")])


@pytest.fixture
def videomme_manifest(tmp_path: Path, segment_video: Path) -> Path:
    """The Video-MME rows fixture converted as users convert it: ids videomme:<question_id>."""
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(segment_video, videos / "fFjv93ACGo8.mp4")  # 001-1 and 001-2; the others' videos are absent
    out = tmp_path / "videomme.jsonl"
    assert main(["data", "convert", "--benchmark", "videomme", "--annotations", str(VIDEOMME_ROWS),
                 "--videos", str(videos), "--out", str(out), "--allow-missing-videos"]) == 0
    return out


def test_tspo_frame_idx_are_0_based_native_frames_matched_by_question_id(videomme_manifest, tmp_path, capsys) -> None:
    capsys.readouterr()
    tspo = _write(tmp_path / "TSPO_VideoMME_frameIdx.json", [
        {"video_id": "001", "videoID": "fFjv93ACGo8", "question_id": "001-1", "question": "Which decoration?",
         "answer": "C", "frame_idx": [0.0, 10.0, 150.0, 300.0]},  # 300: one past the last frame (decord may count one more)
        {"video_id": "001", "videoID": "fFjv93ACGo8", "question_id": "001-2", "question": "Genre?", "frame_idx": [5.0, 400.0]},
        {"video_id": "302", "videoID": "notDownloaded", "question_id": "302-1", "question": "x", "frame_idx": [1.0]},
        {"video_id": "999", "videoID": "elsewhere", "question_id": "999-1", "question": "y", "frame_idx": [1.0]},
    ])
    run = tmp_path / "run"
    assert _import([str(tspo), "--format", "tspo", "--manifest", str(videomme_manifest), "--out", str(run)], tmp_path) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [(f"{run}: tspo-published (tspo, k=4): 1 of 4 entries imported, 1 records written; 1 unmatched; "
                   "2 skipped (video missing or not matching); 1 manifest samples without an entry; "
                   "1 frames clipped to the video's end")]
    records = _records(run)
    assert list(records) == [("videomme:001-1", 4)]
    record = records[("videomme:001-1", 4)]
    assert [f["index"] for f in record["frames"]] == [0, 10, 150, 299]
    assert [f["timestamp"] for f in record["frames"]] == [0.0, 1.0, 15.0, 29.9]
    assert record["query"] == "text" and record["gold"] == "C" and record["answer"] is None and record["correct"] is None
    assert record["candidates"] == 30  # TSPO's 1 fps grid: range(0, 300, round(10 / 1))
    assert record["task_type"] == "Counting Problem" and record["duration_bucket"] == "short"
    config = json.loads((run / "config.json").read_text())
    assert config["methods"] == ["tspo-published"] and config["ks"] == [4]
    imports = json.loads((run / "imports.json").read_text())
    assert [(i["method"], i["format"], i["entries"], i["imported"], i["unmatched"], i["skipped"]) for i in imports] == [
        ("tspo-published", "tspo", 4, 1, 1, 2)
    ]


def test_tspo_mlvu_entries_match_by_video_and_question_text(segment_video, tmp_path) -> None:
    # TSPO's MLVU file numbers questions Q0, Q1, ... itself: no manifest id, so video + question decide.
    manifest = _segment_manifest(tmp_path, segment_video)
    tspo = _write(tmp_path / "TSPO_MLVU_frameIdx.json", [
        {"video_name": "segments.mp4", "question": f"{BLUE_Q}\n(A) a\n(B) b\n", "question_id": "Q0", "frame_idx": [250.0, 260.0]},
        {"video_name": "segments.mp4", "question": "Something not asked?\n(A) a\n", "question_id": "Q1", "frame_idx": [1.0]},
        {"video_name": "segments.mp4", "question": f"{BLUE_Q}\n(A) c\n", "question_id": "Q2", "frame_idx": [2.0]},
    ])
    summary = import_selections(tspo, "tspo", manifest, tmp_path / "run", cache=tmp_path / "cache")
    assert (summary.imported, len(summary.unmatched), len(summary.duplicates)) == (1, 1, 1)
    assert "occurs in the entry's text" in summary.unmatched[0][1]
    assert summary.duplicates == [("entry 2", "q2 (already matched by entry 0)")]
    assert [f["index"] for f in _records(tmp_path / "run")[("q2", 2)]["frames"]] == [250, 260]


def test_an_id_match_must_agree_with_the_entrys_video(videomme_manifest, tmp_path) -> None:
    tspo = _write(tmp_path / "t.json", [
        {"videoID": "fFjv93ACGo8", "question_id": "001-1", "frame_idx": [1.0]},
        {"videoID": "someOtherVideo", "question_id": "001-2", "frame_idx": [1.0]},
    ])
    summary = import_selections(tspo, "tspo", videomme_manifest, tmp_path / "run", cache=tmp_path / "cache")
    assert summary.imported == 1
    assert summary.unmatched == [("entry 1", ("id '001-2' is sample 'videomme:001-2', whose video is 'fFjv93ACGo8', "
                                  "not the entry's 'someOtherVideo'"))]


def _itg_line(question: str, index, logits, doc_id: int = 0) -> str:
    return json.dumps({"doc_id": doc_id, "video_path": "/data/videomme/segments.mp4", "num_frames": 1,
                       "contexts": f"Select the frames.\n{question}\nA. a\nB. b", "index": index, "logits": logits})


def test_videoitg_top_k_is_the_first_k_of_the_score_order(segment_video, tmp_path) -> None:
    manifest = _segment_manifest(tmp_path, segment_video)
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join([
        _itg_line(RED_Q, [150, 10, 20, 299, 0], [0.9, 0.8, 0.7, 0.6, 0.5]),
        _itg_line(BLUE_Q, [270, 260, 250], [0.99, 0.5, 0.25], doc_id=1),
        _itg_line(RED_Q, [1], [0.1], doc_id=2),  # a second entry for q1
        _itg_line("Which question is this?", [1], [0.1], doc_id=3),
        json.dumps({"doc_id": 4, "index": [1, 2]}),  # the downstream frame-indices file's line: nothing to match by
    ]) + "\n")
    run = tmp_path / "run"
    assert _import([str(results), "--format", "videoitg", "--manifest", str(manifest), "--out", str(run), "-k", "2,4"], tmp_path) == 0
    records = _records(run)
    assert sorted(records) == [("q1", 2), ("q1", 4), ("q2", 2), ("q2", 4)]
    top2 = records[("q1", 2)]["frames"]
    assert [(f["index"], f["score"]) for f in top2] == [(10, 0.8), (150, 0.9)]  # the two best, in time order
    assert [f["index"] for f in records[("q1", 4)]["frames"]] == [10, 20, 150, 299]
    assert [f["index"] for f in records[("q2", 4)]["frames"]] == [250, 260, 270]  # fewer scored frames than k
    assert records[("q1", 2)]["candidates"] == 5  # every frame VideoITG scored
    assert json.loads((run / "imports.json").read_text())[0]["unmatched"] == 2
    summary = import_selections(results, "videoitg", manifest, run, ks="2,4", cache=tmp_path / "cache")
    assert summary.duplicates == [("line 3", "q1 (already matched by line 1)")] and summary.already_done == 4
    assert [why for _, why in summary.unmatched][1].startswith("the entry names no question id, video or question")


def test_videoitg_needs_k(segment_video, tmp_path, capsys) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(_itg_line(RED_Q, [1], [0.5]) + "\n")
    manifest = _segment_manifest(tmp_path, segment_video)
    code = _import([str(results), "--format", "videoitg", "--manifest", str(manifest), "--out", str(tmp_path / "run")], tmp_path)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "-k" in err[0]
    assert not (tmp_path / "run").exists()


def test_bolt_seconds_become_frames_as_its_reader_rounds_them(video25, tmp_path) -> None:
    manifest = _manifest(tmp_path / "m.jsonl", [
        {"id": "mlvu:1_plotQA:0", "video": str(video25), "question": "What colour is the screen?", "spans": [[4.0, 8.0]]},
        {"id": "mlvu:1_plotQA:1", "video": str(video25), "question": "What moves?", "spans": []},
    ])
    # BOLT's MLVU entries use the video file name as question_id and the question's first line.
    bolt = _write(tmp_path / "mlvu_clip_l_fps1_power3_frame5.json", {"bolt25": [
        {"question_id": "bolt25.mp4", "question": "What colour is the screen?", "frames": [0.1, 2.0, 3.5, 3.5, 7.99]},
        {"question_id": "bolt25.mp4", "question": "What moves?", "frames": [0.0, 1.0, 2.0, 3.0, 4.0]},
    ]})
    summary = import_selections(bolt, "bolt", manifest, tmp_path / "run", cache=tmp_path / "cache")
    assert (summary.imported, summary.ks, summary.repeated_frames, summary.clipped_frames) == (2, (5,), 1, 1)
    record = _records(tmp_path / "run")[("mlvu:1_plotQA:0", 5)]
    # round(t * 25) with NumPy's half-to-even (0.1 s -> 2.5 -> 2; 3.5 s -> 87.5 -> 88), 199.75 -> 200
    # clipped to the last frame, the repeated 3.5 s kept once
    assert [f["index"] for f in record["frames"]] == [2, 50, 88, 199]
    assert [f["timestamp"] for f in record["frames"]] == [0.08, 2.0, 3.52, 7.96]
    assert record["candidates"] == 8  # BOLT's 1 fps feature rows: int(200 / 25)


def test_convert_frames_refuses_frames_far_past_the_end() -> None:
    from framepick.errors import FramepickError

    near = PublishedEntry(where="e", ids=(), video=None, text=None, values=(0.0, 309.0), unit="frame")
    assert convert_frames(near, 300, 10.0) == Converted((0, 299), (None, None), clipped=1)  # within 1 s: clipped
    far = PublishedEntry(where="e", ids=(), video=None, text=None, values=(0.0, 310.0), unit="frame")
    with pytest.raises(FramepickError, match="frame 310 is past the video's end"):
        convert_frames(far, 300, 10.0)


@pytest.mark.parametrize(
    ("layout", "name", "content", "message"),
    [
        ("tspo", "t.json", json.dumps([{"question_id": "001-1", "frame_idx": [1.0, "a"]}]), "is not a finite number"),
        ("tspo", "t.json", json.dumps([{"question_id": "001-1", "frame_idx": [1.5]}]), "not a whole frame index"),
        ("tspo", "t.json", json.dumps({"001-1": [1, 2]}), "expected a JSON array"),
        ("tspo", "t.json", json.dumps([{"question_id": "001-1"}]), "no 'frame_idx'"),
        ("tspo", "t.json", "[{", "is not valid JSON"),
        ("videoitg", "r.jsonl", _itg_line(RED_Q, [1, 2], [0.5]) + "\n", "must pair up"),
        ("videoitg", "r.jsonl", _itg_line(RED_Q, [1], [0.5]) + "\n{oops\n", "line 2"),
        ("bolt", "b.json", json.dumps({"segments": [{"question": RED_Q, "frames": [-1.0]}]}), "is negative"),
        ("bolt", "b.json", json.dumps([[1.0]]), "expected a JSON object"),
    ],
)
def test_a_malformed_file_is_one_line_and_touches_no_run(segment_video, tmp_path, capsys, layout, name, content, message) -> None:
    manifest = _segment_manifest(tmp_path, segment_video)
    bad = tmp_path / name
    bad.write_text(content)
    new_run = tmp_path / "new"
    code = _import([str(bad), "--format", layout, "--manifest", str(manifest), "--out", str(new_run), "-k", "4"], tmp_path)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("framepick: error:") and message in err[0], err
    assert "Traceback" not in err[0] and not new_run.exists()


def test_an_existing_run_is_unchanged_by_a_failed_import(segment_video, tmp_path, capsys) -> None:
    manifest = _segment_manifest(tmp_path, segment_video)
    run = tmp_path / "run"
    good = _write(tmp_path / "t.json", [{"video_name": "segments.mp4", "question": RED_Q, "frame_idx": [100.0]}])
    assert _import([str(good), "--format", "tspo", "--manifest", str(manifest), "--out", str(run)], tmp_path) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    bad = _write(tmp_path / "bad.json", [{"video_name": "segments.mp4", "question": BLUE_Q, "frame_idx": [1.0, None]}])
    assert _import([str(bad), "--format", "tspo", "--manifest", str(manifest), "--out", str(run), "--name", "other"], tmp_path) == 2
    nothing = _write(tmp_path / "none.json", [{"video_name": "elsewhere.mp4", "question": BLUE_Q, "frame_idx": [1.0]}])
    assert _import([str(nothing), "--format", "tspo", "--manifest", str(manifest), "--out", str(run), "--name", "other"], tmp_path) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no entry of" in err[-1] and "nothing written" in err[-1] and "1 unmatched" in err[-1]
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    # importing the same file again adds nothing
    summary = import_selections(good, "tspo", manifest, run, cache=tmp_path / "cache")
    assert (summary.written, summary.already_done) == (0, 1)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_refuses_another_manifests_run_and_framepicks_own_method_names(segment_video, tmp_path, capsys) -> None:
    manifest = _segment_manifest(tmp_path, segment_video)
    good = _write(tmp_path / "t.json", [{"video_name": "segments.mp4", "question": RED_Q, "frame_idx": [100.0]}])
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"manifest": str(tmp_path / "other.jsonl"), "methods": ["uniform"]}))
    (run / "records.jsonl").write_text("")
    assert _import([str(good), "--format", "tspo", "--manifest", str(manifest), "--out", str(run)], tmp_path) == 2
    assert "another manifest" in capsys.readouterr().err
    (run / "config.json").write_text(json.dumps({"manifest": str(manifest), "methods": ["uniform"]}))
    assert _import([str(good), "--format", "tspo", "--manifest", str(manifest), "--out", str(run), "--name", "uniform"], tmp_path) == 2
    assert "framepick's own method 'uniform'" in capsys.readouterr().err
    assert (run / "records.jsonl").read_text() == ""


def test_the_real_tspo_layout_reads(tmp_path) -> None:
    # One entry copied field for field from the shape of TSPO_LongVideoBench_frameIdx.json (values made up).
    path = _write(tmp_path / "TSPO_LongVideoBench_frameIdx.json", [{
        "video_id": "86CxyhFV9MI", "question": "In the video, which subtitles appear?", "question_wo_referring_query": "Which?",
        "candidates": ["a", "b"], "correct_choice": 1, "position": [854, 948], "topic_category": "NP-News-Programs",
        "question_category": "TOS", "level": "L2-Relation", "id": "86CxyhFV9MI_0", "video_path": "86CxyhFV9MI.mp4",
        "subtitle_path": "86CxyhFV9MI_en.json", "duration_group": 600, "starting_timestamp_for_subtitles": 0,
        "duration": 190.16, "view_count": 1, "frame_idx": [0.0, 30.0, 90.0],
    }])
    (entry,) = read_published(path, "tspo")
    assert (entry.ids, entry.video, entry.unit, entry.values) == (("86CxyhFV9MI_0",), "86CxyhFV9MI", "frame", (0.0, 30.0, 90.0))


@pytest.mark.parametrize("eval_first", [True, False], ids=["eval-then-import", "import-then-eval"])
def test_import_beside_eval_in_one_report(segment_video, tmp_path, capsys, eval_first) -> None:
    manifest = _segment_manifest(tmp_path, segment_video)
    run = tmp_path / "run"
    cache = str(tmp_path / "cache")
    # TSPO's choice: frames inside each question's evidence (q1: 10-15 s, q2: only two of four inside 25-30 s)
    tspo = _write(tmp_path / "TSPO_frameIdx.json", [
        {"video_name": "segments.mp4", "question": RED_Q, "frame_idx": [100.0, 110.0, 120.0, 140.0]},
        {"video_name": "segments.mp4", "question": BLUE_Q, "frame_idx": [10.0, 20.0, 260.0, 280.0]},
    ])
    steps = [
        ["eval", "--manifest", str(manifest), "--out", str(run), "--methods", "uniform", "-k", "4",
         "--query", "text", "--candidates", "16", "--quiet", "--cache-dir", cache],
        ["data", "import-selections", str(tspo), "--format", "tspo", "--manifest", str(manifest), "--out", str(run),
         "--quiet", "--cache-dir", cache],
    ]
    for argv in steps if eval_first else steps[::-1]:
        assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["report", str(run)]) == 0
    markdown = (run / "report.md").read_text()
    summary_table = markdown.split("\n\n")[2]  # title, meta line, then the summary table
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
            for line in summary_table.splitlines()[2:]}
    assert set(rows) == {"uniform", "tspo-published"}
    assert rows["tspo-published"][:8] == ["tspo-published", "4", "text", "2", "—", "100.0%", "75.0%", "100.0%"]
    assert rows["uniform"][1:4] == ["4", "text", "2"] and rows["uniform"][4] != "—"  # eval's answered, the import has no answers
    html = (run / "report.html").read_text()
    assert "tspo-published" in html and "uniform" in html
    config = json.loads((run / "config.json").read_text())
    order = ["uniform", "tspo-published"] if eval_first else ["tspo-published", "uniform"]
    assert config["methods"] == order and config["encoder_id"] and "imported_only" not in config  # eval's identity
    assert json.loads((run / "imports.json").read_text())[0]["method"] == "tspo-published"


def test_an_import_appends_so_an_eval_writing_into_the_run_loses_nothing(segment_video, tmp_path) -> None:
    """An eval still running in the folder holds records.jsonl open for appending: an import that
    swapped in a new file would leave it writing into the old one, and its records would be lost."""
    from framepick.eval import records as rec

    manifest = _segment_manifest(tmp_path, segment_video)
    run = tmp_path / "run"
    first = _write(tmp_path / "a.json", [{"video_name": "segments.mp4", "question": RED_Q, "frame_idx": [100.0]}])
    assert _import([str(first), "--format", "tspo", "--manifest", str(manifest), "--out", str(run)], tmp_path) == 0
    with rec.JsonlAppender(run / rec.RECORDS_FILE) as running_eval:
        second = _write(tmp_path / "b.json", [{"video_name": "segments.mp4", "question": BLUE_Q, "frame_idx": [300.0]}])
        assert _import([str(second), "--format", "tspo", "--manifest", str(manifest), "--out", str(run),
                        "--name", "second"], tmp_path) == 0
        running_eval.append({"sample_id": "from-the-eval", "method": "uniform", "k": 1, "query": "text"})
    rows = [json.loads(line) for line in (run / rec.RECORDS_FILE).read_text().splitlines()]
    assert [(r["sample_id"], r["method"]) for r in rows] == [
        ("q1", "tspo-published"), ("q2", "second"), ("from-the-eval", "uniform"),
    ]
