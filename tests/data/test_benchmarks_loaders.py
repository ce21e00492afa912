"""Each benchmark loader on a few rows in its official format, including rows that must not pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from benchmark_fixtures import FIXTURES, make_video_tree

from framepick.data.benchmarks import LoadReport, load_benchmark
from framepick.data.manifest import read_manifest, write_manifest
from framepick.errors import InvalidArgumentError, UnknownNameError
from framepick.registry import benchmarks
from framepick.types import Sample

ALL = ("videomme", "longvideobench", "mlvu", "lvbench", "egoschema", "nextqa")
MAIN_ANNOTATIONS = {
    "videomme": "videomme/videomme_rows.json",
    "longvideobench": "longvideobench/lvb_val.json",
    "mlvu": "mlvu/json",
    "lvbench": "lvbench/video_info.meta.jsonl",
    "egoschema": "egoschema/questions.json",
    "nextqa": "nextqa/val.csv",
}


def load(name: str, tmp_path: Path, annotations: str | None = None, **params) -> LoadReport:
    videos = make_video_tree(tmp_path / "videos", name)
    return load_benchmark(name, **params).load(FIXTURES / (annotations or MAIN_ANNOTATIONS[name]), videos)


def by_id(report: LoadReport) -> dict[str, Sample]:
    return {sample.id: sample for sample in report.samples}


def wheres(items) -> list[str]:
    return [where for where, _ in items]


def test_every_benchmark_is_registered():
    assert set(ALL) <= set(benchmarks.names())
    with pytest.raises(UnknownNameError, match="did you mean 'lvbench'"):
        load_benchmark("lvbenhc")


# --- Video-MME ----------------------------------------------------------------------------------


def test_videomme_rows(tmp_path):
    report = load("videomme", tmp_path)
    samples = by_id(report)
    assert sorted(samples) == ["videomme:001-1", "videomme:001-2", "videomme:601-1"]
    first = samples["videomme:001-1"]
    assert first.options == ("Apples.", "Candles.", "Berries.", "All the same.")
    assert first.answer == "C" and first.answer_index == 2
    assert first.task_type == "Counting Problem" and first.duration_bucket == "short"
    assert first.spans == () and first.duration_seconds is None and first.source == "videomme"
    assert first.extra["domain"] == "Knowledge" and first.extra["videoID"] == "fFjv93ACGo8"
    assert Path(first.video) == (tmp_path / "videos/data/fFjv93ACGo8.mp4").resolve()
    # Another extension, upper case, in data/: still found.
    assert samples["videomme:601-1"].video.endswith("LongMovie_1.MKV")
    assert samples["videomme:601-1"].duration_bucket == "long"
    assert report.missing_videos == [("row 2", "notDownloaded")]
    reasons = dict(report.malformed)
    assert set(reasons) == {"row 3", "row 4", "row 6"}
    assert "at least 2 options" in reasons["row 3"]
    assert "'E'" in reasons["row 4"]
    assert "duplicate id" in reasons["row 6"]
    assert report.summary() == "3 samples, 3 malformed rows, 1 missing videos"


def test_videomme_nested_github_form(tmp_path):
    report = load("videomme", tmp_path, "videomme/videomme_nested.json")
    samples = by_id(report)
    assert sorted(samples) == ["videomme:001-1", "videomme:001-2", "videomme:002-1"]
    # The nested form has no videoID: the file is looked up by video_id.
    assert samples["videomme:001-1"].video.endswith("001.mp4")
    assert samples["videomme:001-1"].answer == "C"
    assert samples["videomme:002-1"].duration_bucket is None
    assert wheres(report.warnings) == ["row 1 question 0"]
    assert wheres(report.malformed) == ["row 1 question 1"]


def test_a_file_that_is_not_parquet_is_a_one_line_error(tmp_path):
    bogus = tmp_path / "test-00000-of-00001.parquet"
    bogus.write_bytes(b"not parquet")
    make_video_tree(tmp_path / "videos", "videomme")
    with pytest.raises(InvalidArgumentError, match="cannot be read as parquet") as info:
        load_benchmark("videomme").load(bogus, tmp_path / "videos")
    assert "\n" not in str(info.value)


# --- LongVideoBench -----------------------------------------------------------------------------


def test_longvideobench_val_json(tmp_path):
    report = load("longvideobench", tmp_path)
    samples = by_id(report)
    assert sorted(samples) == ["longvideobench:86CxyhFV9MI_0", "longvideobench:Zz9_short_1"]
    first = samples["longvideobench:86CxyhFV9MI_0"]
    assert first.options == ("A cup", "A phone", "A red umbrella", "Nothing")
    assert first.answer == "C"
    assert first.duration_seconds == pytest.approx(527.3)
    assert first.duration_bucket == "600" and first.task_type == "S2E"
    assert first.spans == ()
    assert first.extra["topic_category"] == "NP-News-Programs"
    assert first.video.endswith("videos/86CxyhFV9MI.mp4")
    second = samples["longvideobench:Zz9_short_1"]
    assert len(second.options) == 5 and second.answer == "A"
    assert second.video.endswith("Zz9_short.webm")  # the json says .mp4; the file on disk is .webm
    assert report.missing_videos == [("row 2", "missingVid.mp4")]
    assert wheres(report.malformed) == ["row 3", "row 4", "row 5"]


def test_longvideobench_option_columns_and_test_rows(tmp_path):
    report = load("longvideobench", tmp_path, "longvideobench/lvb_rows.jsonl")
    samples = by_id(report)
    assert list(samples) == ["longvideobench:86CxyhFV9MI_0"]
    assert samples["longvideobench:86CxyhFV9MI_0"].options == ("A cup", "A phone", "A red umbrella", "Nothing")
    assert report.skipped == [("line 2", "no public answer")]
    assert sorted(wheres(report.malformed)) == ["line 3", "line 4"]  # N/A answer; not JSON

    kept = load("longvideobench", tmp_path / "again", "longvideobench/lvb_rows.jsonl", include_unanswered=True)
    unanswered = by_id(kept)["longvideobench:Zz9_short_7"]
    assert unanswered.answer is None and len(unanswered.options) == 5


# --- MLVU ---------------------------------------------------------------------------------------


def test_mlvu_folder_of_task_files(tmp_path):
    report = load("mlvu", tmp_path)
    samples = by_id(report)
    assert sorted(samples) == ["mlvu:2_needle:0", "mlvu:4_count:0", "mlvu:4_count:1"]
    needle = samples["mlvu:2_needle:0"]
    assert needle.answer == "A"  # the answer was the option's text
    assert needle.task_type == "findNeedle" and needle.spans == () and needle.duration_bucket is None
    assert needle.duration_seconds == pytest.approx(467.98)
    assert needle.video.endswith("2_needle/needle_32.mp4")
    count = samples["mlvu:4_count:0"]
    assert count.options == ("2", "1", "5", "4") and count.answer == "B"
    assert count.video.endswith("video/count/count_126.mp4")
    numbers = samples["mlvu:4_count:1"]
    assert numbers.options == ("3", "0", "2", "1") and numbers.answer == "C"
    assert report.malformed == [("2_needle.json row 1", "answer 'Purple' is not one of the options")]
    assert report.missing_videos == [("2_needle.json row 2", "needle_99.mp4")]
    assert report.skipped == [("9_summary.json row 0", "open-ended (no candidates)")]


def test_mlvu_single_task_file_and_case_insensitive_answer(tmp_path):
    videos = make_video_tree(tmp_path / "videos", "mlvu")
    (videos / "2_needle" / "needle_99.mp4").write_bytes(b"")
    report = load_benchmark("mlvu").load(FIXTURES / "mlvu/json/2_needle.json", videos)
    assert by_id(report)["mlvu:2_needle:2"].answer == "C"  # "a parrot" vs "A parrot"
    assert len(report.samples) == 2


def test_mlvu_test_rows_use_question_id_and_letter_answers(tmp_path):
    rows = [
        {"question_id": "AR_0", "question_type": "anomaly_reco", "video": "surveil_1.mp4", "duration": 300,
         "question": "Which anomaly?", "candidates": ["Fire", "Theft", "None", "Fight", "Flood", "Crash"], "answer": "(D)"},
    ]
    path = tmp_path / "test_question.json"
    path.write_text(json.dumps(rows))
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "surveil_1.mp4").write_bytes(b"")
    report = load_benchmark("mlvu").load(path, tmp_path / "videos")
    sample = report.samples[0]
    assert sample.id == "mlvu:AR_0" and sample.answer == "D" and len(sample.options) == 6


# --- LVBench ------------------------------------------------------------------------------------


def test_lvbench_time_reference_spans_and_embedded_options(tmp_path):
    report = load("lvbench", tmp_path)
    samples = by_id(report)
    assert sorted(samples) == ["lvbench:1", "lvbench:2", "lvbench:4"]
    first = samples["lvbench:1"]
    assert first.question == "What colour is the first car that enters the tunnel?"
    assert first.options == ("red", "blue", "green", "black")
    assert first.answer == "B"
    assert first.spans == ((225.0, 250.0),)  # "03:45-04:10"
    assert first.duration_seconds == pytest.approx(80.5 * 60)
    assert first.duration_bucket is None and first.task_type == "entity recognition"
    assert first.extra["video_type"] == "documentary" and first.extra["time_reference"] == "03:45-04:10"
    second = samples["lvbench:2"]
    assert second.spans == ((4510.0, 4530.0),)  # "75:10-75:30": minutes past 59
    assert second.task_type == "reasoning"
    assert second.extra["question_types"] == ["reasoning", "temporal grounding"]
    # An unreadable time_reference keeps the question, without spans, and warns.
    assert samples["lvbench:4"].spans == ()
    assert wheres(report.warnings) == ["line 1 qa 3"]
    assert report.missing_videos == [("line 3 qa 0", "vidMISSING0")]
    reasons = dict(report.malformed)
    assert set(reasons) == {"line 1 qa 2", "line 2", "line 4", "line 5 qa 0", "line 5 qa 1"}
    assert "not JSON" in reasons["line 2"] and "duplicate id" in reasons["line 5 qa 1"]


# --- EgoSchema ----------------------------------------------------------------------------------


def test_egoschema_answers_from_subset_file(tmp_path):
    report = load("egoschema", tmp_path)
    samples = by_id(report)
    assert list(samples) == ["egoschema:0074f737-11cb-497d-8d07-77c3a8127391"]
    sample = samples["egoschema:0074f737-11cb-497d-8d07-77c3a8127391"]
    assert sample.answer == "D" and len(sample.options) == 5  # subset answer 3 -> D
    assert sample.options[3] == "c is washing dishes and tidying up."
    assert sample.task_type is None and sample.duration_bucket is None and sample.spans == ()
    assert report.missing_videos == [("row 1", "00b9a0de-c59e-49cb-a127-6081e2fb8c8e")]
    assert report.skipped == [("row 2", "no public answer")]
    assert wheres(report.malformed) == ["row 3", "row 4"]


def test_egoschema_include_unanswered_and_explicit_answers_file(tmp_path):
    report = load("egoschema", tmp_path, include_unanswered=True)
    assert by_id(report)["egoschema:0a0b0c0d-0000-4000-8000-000000000003"].answer is None
    answers = tmp_path / "my_answers.json"
    answers.write_text(json.dumps({"0a0b0c0d-0000-4000-8000-000000000003": 4}))
    report = load("egoschema", tmp_path / "b", answers=answers)
    assert by_id(report)["egoschema:0a0b0c0d-0000-4000-8000-000000000003"].answer == "E"
    # The explicit file replaces the subset file: the subset's answers are gone.
    assert "egoschema:0074f737-11cb-497d-8d07-77c3a8127391" not in by_id(report)


def test_egoschema_without_answers_file_skips_everything(tmp_path):
    copy = tmp_path / "questions.json"
    shutil.copy(FIXTURES / "egoschema/questions.json", copy)
    videos = make_video_tree(tmp_path / "videos", "egoschema")
    report = load_benchmark("egoschema").load(copy, videos)
    assert report.samples == [] and len(report.skipped) == 4


# --- NExT-QA ------------------------------------------------------------------------------------


def test_nextqa_csv_with_video_map(tmp_path):
    report = load("nextqa", tmp_path)
    samples = by_id(report)
    assert sorted(samples) == ["nextqa:2574374895_8", "nextqa:2925959064_1", "nextqa:4010069381_6"]
    first = samples["nextqa:4010069381_6"]
    assert first.answer == "A" and first.task_type == "CH"
    assert first.options == ("roll the handle", "tap their feet", "strum the string", "hit with sticks", "pat with hand")
    assert first.video.endswith("1006/4010069381.mp4")  # through map_vid_vidorID.json
    assert first.extra == {"video": "4010069381", "qid": "6", "type": "CH", "frame_count": 369, "width": 640, "height": 480}
    temporal = samples["nextqa:2574374895_8"]
    assert temporal.task_type == "TN" and temporal.extra["type"] == "TP"  # folded as eval_mc.py does
    assert temporal.video.endswith("2574374895.avi")  # not in the map: found by id
    assert samples["nextqa:2925959064_1"].question == "where is this place, indoors or out"
    assert report.missing_videos == [("line 3", "0000/4882821564")]
    reasons = dict(report.malformed)
    assert set(reasons) == {"line 4", "line 5", "line 8"}
    assert "more cells" in reasons["line 8"]


def test_nextqa_csv_without_expected_columns_is_an_error(tmp_path):
    bad = tmp_path / "val.csv"
    bad.write_text("a,b\n1,2\n")
    (tmp_path / "videos").mkdir()
    with pytest.raises(InvalidArgumentError, match="header lacks"):
        load_benchmark("nextqa").load(bad, tmp_path / "videos")


# --- shared behaviour ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_round_trip_through_a_manifest(name, tmp_path):
    report = load(name, tmp_path)
    assert report.samples
    manifest = tmp_path / "videos" / "manifest.jsonl"
    assert write_manifest(manifest, report.samples) == len(report.samples)
    back = read_manifest(manifest)
    assert back.malformed == [] and back.missing_videos == []
    assert [s.to_dict() for s in back.samples] == [s.to_dict() for s in report.samples]
    # Videos under the manifest's folder are written relative to it.
    first_line = json.loads(manifest.read_text().splitlines()[0])
    assert not Path(first_line["video"]).is_absolute()


@pytest.mark.parametrize("name", ALL)
def test_ids_are_unique_and_stable(name, tmp_path):
    first = [s.id for s in load(name, tmp_path / "a").samples]
    second = [s.id for s in load(name, tmp_path / "b").samples]
    assert first == second and len(set(first)) == len(first)
    assert all(sample_id.startswith(f"{name}:") for sample_id in first)


@pytest.mark.parametrize("name", ALL)
def test_missing_videos_can_be_kept(name, tmp_path):
    strict = load(name, tmp_path / "a")
    kept = load(name, tmp_path / "b", require_videos=False)
    assert len(kept.samples) == len(strict.samples) + len(strict.missing_videos)
    assert kept.missing_videos == strict.missing_videos and kept.kept_missing_videos
    assert kept.summary().endswith("(kept)") or "(kept)," in kept.summary()
    missing = {s.id for s in kept.samples} - {s.id for s in strict.samples}
    for sample in kept.samples:
        if sample.id in missing:
            assert not Path(sample.video).exists()
            assert Path(sample.video).is_relative_to((tmp_path / "b" / "videos").resolve())


@pytest.mark.parametrize("name", ALL)
def test_score_is_letter_accuracy(name, tmp_path):
    loader = load_benchmark(name)
    sample = load(name, tmp_path).samples[0]
    wrong = "A" if sample.answer != "A" else "B"
    assert loader.score(sample.answer, sample) == 1.0
    assert loader.score(f"({sample.answer.lower()})", sample) == 1.0
    assert loader.score(wrong, sample) == 0.0
    assert loader.score("no idea", sample) == 0.0
    assert loader.score(None, sample) == 0.0


def test_score_needs_an_answer(tmp_path):
    sample = Sample(id="x", video="v.mp4", question="q?", options=("a", "b"))
    with pytest.raises(InvalidArgumentError, match="no answer"):
        load_benchmark("videomme").score("A", sample)


@pytest.mark.parametrize("name", ALL)
def test_missing_annotations_and_videos_folder_are_one_line_errors(name, tmp_path):
    (tmp_path / "videos").mkdir()
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        load_benchmark(name).load(tmp_path / "nope.json", tmp_path / "videos")
    with pytest.raises(InvalidArgumentError, match="videos folder"):
        load_benchmark(name).load(FIXTURES / MAIN_ANNOTATIONS[name], tmp_path / "no-videos")


@pytest.mark.parametrize("name", ["videomme", "longvideobench", "egoschema", "mlvu"])
def test_invalid_json_is_one_line_error(name, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('[{"question": ')
    (tmp_path / "videos").mkdir()
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        load_benchmark(name).load(bad, tmp_path / "videos")


def test_report_iterates_its_samples(tmp_path):
    report = load("lvbench", tmp_path)
    assert list(report) == report.samples and len(report) == 3
    details = report.to_dict()
    assert details["samples"] == 3 and len(details["malformed"]) == 5
    json.dumps(details)
