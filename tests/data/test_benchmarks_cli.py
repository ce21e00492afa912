"""``framepick data convert`` end to end, in-process, through the real ``framepick`` entry point.

cli/main.py does not list the ``data`` group yet (the lead wires it once every data tool exists),
so these tests add it, holding only this tool, for their own duration.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmark_fixtures import FIXTURES, make_video_tree

from framepick.cli import main as cli_main
from framepick.data.manifest import read_manifest


@pytest.fixture()
def cli(capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(["data", "convert", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def convert_args(benchmark: str, annotations: str, videos: Path, out: Path) -> list[str]:
    return ["--benchmark", benchmark, "--annotations", str(FIXTURES / annotations), "--videos", str(videos), "--out", str(out)]


def test_convert_lvbench(cli, tmp_path):
    videos = make_video_tree(tmp_path / "videos", "lvbench")
    out = tmp_path / "lvbench.jsonl"
    code, stdout, err = cli(*convert_args("lvbench", "lvbench/video_info.meta.jsonl", videos, out))
    assert code == 0 and stdout == ""
    assert one_line(err) == f"{out}: 3 samples, 5 malformed rows, 1 missing videos, 1 warnings"
    manifest = read_manifest(out)
    assert [s.id for s in manifest.samples] == ["lvbench:1", "lvbench:2", "lvbench:4"]
    assert manifest.samples[0].spans == ((225.0, 250.0),) and manifest.samples[0].answer == "B"
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left nothing behind


@pytest.mark.parametrize(
    "bench, annotations, summary",
    [
        ("videomme", "videomme/videomme_rows.json", "3 samples, 3 malformed rows, 1 missing videos"),
        ("longvideobench", "longvideobench/lvb_val.json", "2 samples, 3 malformed rows, 1 missing videos"),
        ("mlvu", "mlvu/json", "3 samples, 1 malformed rows, 1 missing videos, 1 skipped (open-ended (no candidates))"),
        ("egoschema", "egoschema/questions.json", "1 samples, 2 malformed rows, 1 missing videos, 1 skipped (no public answer)"),
        ("nextqa", "nextqa/val.csv", "3 samples, 3 malformed rows, 1 missing videos"),
    ],
)
def test_convert_each_benchmark(cli, tmp_path, bench, annotations, summary):
    # (not named "benchmark": pytest-benchmark owns that fixture name)
    videos = make_video_tree(tmp_path / "videos", bench)
    out = tmp_path / "m.jsonl"
    code, _, err = cli(*convert_args(bench, annotations, videos, out))
    assert code == 0
    assert one_line(err) == f"{out}: {summary}"
    assert len(read_manifest(out).samples) == int(summary.split()[0])


# The rows each benchmark publishes on the Hugging Face hub as parquet. pyarrow is a dependency, so
# the default install converts them.
PARQUET_FORMS = [
    ("videomme", "videomme/videomme_rows.json", "test-00000-of-00001.parquet"),
    ("longvideobench", "longvideobench/lvb_rows.jsonl", "validation-00000-of-00001.parquet"),
    ("mlvu", "mlvu/json/2_needle.json", "2_needle.parquet"),
    ("egoschema", "egoschema/questions.json", "questions.parquet"),
]


def _fixture_rows(path: Path) -> list[dict]:
    if path.suffix != ".jsonl":
        rows = json.loads(path.read_text())
    else:
        rows = []
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # the fixture's deliberately broken lines
                continue
    return [r for r in rows if isinstance(r, dict)]


def _parquet_table(rows: list[dict]):
    """The fixture rows as one parquet table: a column has one type, so rows whose field types
    differ from the most common ones (deliberately malformed rows) are left out."""
    import pyarrow as pa

    def shape(row: dict) -> tuple:
        return tuple(sorted((k, "number" if type(v) in (int, float) else type(v).__name__) for k, v in row.items()))

    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        common = max({shape(r) for r in rows}, key=lambda sh: sum(shape(r) == sh for r in rows))
        return pa.Table.from_pylist([r for r in rows if shape(r) == common])


@pytest.mark.parametrize("bench, annotations, parquet_name", PARQUET_FORMS)
def test_official_parquet_converts_like_its_json(cli, tmp_path, bench, annotations, parquet_name):
    import pyarrow.parquet as pq

    table = _parquet_table(_fixture_rows(FIXTURES / annotations))
    videos = make_video_tree(tmp_path / "videos", bench)
    outputs = {}
    for form in ("json", "parquet"):
        folder = tmp_path / form
        folder.mkdir()
        for side in (FIXTURES / annotations).parent.glob("subset_answers.json"):  # EgoSchema's answers
            (folder / side.name).write_bytes(side.read_bytes())
        if form == "json":  # the same rows as the parquet holds them (absent fields are nulls)
            path = folder / Path(annotations).with_suffix(".json").name
            path.write_text(json.dumps(table.to_pylist()))
        else:
            path = folder / parquet_name
            pq.write_table(table, path)
        out = tmp_path / f"{form}.jsonl"
        code, _, err = cli("--benchmark", bench, "--annotations", str(path), "--videos", str(videos), "--out", str(out))
        assert code == 0, err
        outputs[form] = read_manifest(out).samples
    assert outputs["parquet"] and outputs["parquet"] == outputs["json"]


def test_allow_missing_videos_keeps_them(cli, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()  # nothing downloaded yet
    out = tmp_path / "m.jsonl"
    code, _, err = cli(*convert_args("nextqa", "nextqa/val.csv", videos, out), "--allow-missing-videos")
    assert code == 0
    assert one_line(err).endswith("4 samples, 3 malformed rows, 4 missing videos (kept)")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["video"] == "videos/1006/4010069381.mp4"  # where the map says it will be
    # Reading the manifest before the download reports them, as for any manifest.
    assert len(read_manifest(out).missing_videos) == 4


def test_no_video_found_is_an_error_with_a_hint(cli, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    out = tmp_path / "m.jsonl"
    code, _, err = cli(*convert_args("videomme", "videomme/videomme_rows.json", videos, out))
    assert code == 2
    line = one_line(err)
    assert line.startswith("framepick: error:") and "no samples" in line and "--allow-missing-videos" in line
    assert not out.exists()


def test_only_unanswered_questions_is_an_error_with_a_hint(cli, tmp_path):
    questions = tmp_path / "questions.json"
    questions.write_text((FIXTURES / "egoschema/questions.json").read_text())  # no subset_answers.json beside it
    videos = make_video_tree(tmp_path / "videos", "egoschema")
    code, _, err = cli("--benchmark", "egoschema", "--annotations", str(questions), "--videos", str(videos),
                       "--out", str(tmp_path / "m.jsonl"))
    assert code == 2 and "--include-unanswered" in one_line(err)
    code, _, err = cli("--benchmark", "egoschema", "--annotations", str(questions), "--videos", str(videos),
                       "--out", str(tmp_path / "m.jsonl"), "--include-unanswered")
    assert code == 0 and "3 samples" in one_line(err)
    code, _, err = cli("--benchmark", "egoschema", "--annotations", str(questions), "--videos", str(videos),
                       "--out", str(tmp_path / "m.jsonl"), "--answers", str(FIXTURES / "egoschema/subset_answers.json"))
    assert code == 0 and "1 samples" in one_line(err)


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: d / "missing.json", "does not exist"),
        (lambda d: _write(d / "bad.json", "{not json"), "not valid JSON"),
        (lambda d: _write(d / "obj.json", '{"a": 1}'), "JSON list"),
        (lambda d: _write(d / "empty.json", "[]"), "no samples"),
        (lambda d: _bytes(d / "latin1.json", b"[\xff]"), "UTF-8"),
    ],
)
def test_unreadable_annotations_are_one_line_errors(cli, tmp_path, make, needle):
    (tmp_path / "videos").mkdir()
    out = tmp_path / "m.jsonl"
    code, _, err = cli("--benchmark", "longvideobench", "--annotations", str(make(tmp_path)),
                       "--videos", str(tmp_path / "videos"), "--out", str(out))
    assert code == 2
    line = one_line(err)
    assert line.startswith("framepick: error:") and needle in line
    assert not out.exists()


def test_options_of_another_benchmark_are_refused(cli, tmp_path):
    videos = make_video_tree(tmp_path / "videos", "videomme")
    code, _, err = cli(*convert_args("videomme", "videomme/videomme_rows.json", videos, tmp_path / "m.jsonl"),
                       "--video-map", "x.json")
    assert code == 2 and "--video-map applies to --benchmark nextqa only" in one_line(err)


def test_unknown_benchmark_is_a_usage_error(cli, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse exits itself, as for every command
        cli("--benchmark", "kinetics", "--annotations", "a", "--videos", "v", "--out", "o")
    assert exit_info.value.code == 2
    assert "invalid choice: 'kinetics'" in one_line(capsys.readouterr().err)


def test_report_file_and_verbose_details(cli, tmp_path):
    videos = make_video_tree(tmp_path / "videos", "lvbench")
    report = tmp_path / "report.json"
    code = cli_main.main(["-v", "data", "convert", *convert_args("lvbench", "lvbench/video_info.meta.jsonl", videos,
                                                                 tmp_path / "m.jsonl"), "--report", str(report)])
    assert code == 0
    details = json.loads(report.read_text())
    assert details["samples"] == 3 and details["benchmark"] == "lvbench"
    assert ["line 3 qa 0", "vidMISSING0"] in details["missing_videos"]
    assert len(details["malformed"]) == 5 and len(details["warnings"]) == 1


def test_verbose_lists_examples(cli, tmp_path, capsys):
    videos = make_video_tree(tmp_path / "videos", "nextqa")
    code = cli_main.main(["-v", "data", "convert", *convert_args("nextqa", "nextqa/val.csv", videos, tmp_path / "m.jsonl")])
    err = capsys.readouterr().err
    assert code == 0
    assert "framepick: INFO: malformed: line 4: answer index 9 is outside the 5 options" in err
    assert "framepick: INFO: missing video: line 3: 0000/4882821564" in err


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
