"""Hostile-but-fair input: every case is one line and exit 2 (or a warning), before any work, with
no input overwritten and no partial output left behind.

Tests run as root, for whom a chmod'ed folder is writable; a read-only file system is simulated by
making the one OS call that writes raise EROFS (monkeypatch), or by a path under a regular file
(ENOTDIR) or under /proc (which refuses new entries). Each test says which it uses.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import zlib
from pathlib import Path

import pytest

from framepick.cli.main import main
from videogen import GREY, RED


@pytest.fixture(scope="module")
def video(make_video) -> Path:
    return make_video("hardening.mp4", [(2, GREY, "pattern"), (2, RED)])


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse rejects a bad value itself, before the command runs
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, (code, err)
    assert lines[0].startswith("framepick") and "error" in lines[0] and "internal error" not in lines[0], err
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


def select_args(video: Path, *extra: str) -> list[str]:
    return ["select", str(video), "-q", "the red part", "-k", "2", "--encoder", "hist", "--method", "uniform",
            "--candidates", "8", "--quiet", "--no-cache", *extra]


# -- no output overwrites an input ----------------------------------------------------------------


def test_select_output_onto_its_video_is_refused_and_the_video_is_kept(capsys, video, tmp_path):
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(video.read_bytes())
    code, _, err = run_cli(capsys, *select_args(copy, "-o", str(copy)))
    assert_one_line_error(code, err, "-o", "input VIDEO", "overwrite")
    assert copy.read_bytes() == video.read_bytes()


def test_an_output_that_is_a_hard_link_or_symlink_to_an_input_is_refused(capsys, video, tmp_path):
    picture = tmp_path / "q.png"
    from PIL import Image

    Image.new("RGB", (8, 8), "red").save(picture)
    os.link(picture, tmp_path / "hard.png")
    (tmp_path / "soft.json").symlink_to(picture)
    for output in ("hard.png", "soft.json"):
        code, _, err = run_cli(capsys, "select", str(video), "-k", "2", "--encoder", "hist", "--method", "topk",
                               "--query-image", str(picture), "--no-cache", "--quiet", "-o", str(tmp_path / output))
        assert_one_line_error(code, err, "--query-image")
    assert Image.open(picture).size == (8, 8)


def test_scores_output_onto_the_score_file_and_scenes_onto_the_video(capsys, video, tmp_path):
    scores = tmp_path / "s.json"
    scores.write_text("[0.1, 0.9, 0.3]")
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "-k", "1", "-o", str(scores))
    assert_one_line_error(code, err, "--scores")
    assert scores.read_text() == "[0.1, 0.9, 0.3]"
    copy = tmp_path / "v.mp4"
    copy.write_bytes(video.read_bytes())
    code, _, err = run_cli(capsys, "scenes", str(copy), "--no-cache", "--quiet", "-o", str(copy))
    assert_one_line_error(code, err, "VIDEO")
    assert copy.read_bytes() == video.read_bytes()


def test_two_outputs_on_one_path_are_refused(capsys, video, tmp_path):
    code, _, err = run_cli(capsys, *select_args(video, "-o", str(tmp_path / "x.jpg"), "--sheet", str(tmp_path / "x.jpg")))
    assert_one_line_error(code, err, "same path")
    assert not (tmp_path / "x.jpg").exists()


def test_eval_out_folder_holding_the_manifest_as_records_is_refused(capsys, video, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    manifest = run / "records.jsonl"
    manifest.write_text(json.dumps({"id": "a", "video": str(video), "question": "q?"}) + "\n")
    code, _, err = run_cli(capsys, "eval", "--manifest", str(manifest), "--out", str(run), "--quiet")
    assert_one_line_error(code, err, "--manifest", "records.jsonl")
    assert json.loads(manifest.read_text())["id"] == "a"


# -- a one-line error instead of an internal error, before any work ----------------------------------


@pytest.mark.parametrize(
    "extra, flag",
    [
        (["--seed", "-1"], "--seed"),
        (["--fps", "1e9"], "--fps"),
        (["--fps", "nan"], "--fps"),
        (["--candidates", "0"], "--candidates"),
        (["--fps", "2", "--max-candidates", "0"], "--max-candidates"),
    ],
)
def test_bad_numbers_are_usage_errors_naming_the_flag(capsys, video, tmp_path, extra, flag):
    code, _, err = run_cli(capsys, *select_args(video, "-o", str(tmp_path / "o.json"), *extra))
    assert_one_line_error(code, err, flag)
    assert not (tmp_path / "o.json").exists()


def test_eval_with_a_negative_seed_fails_before_making_the_run_folder(capsys, video, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "video": str(video), "question": "red?"}) + "\n")
    code, _, err = run_cli(capsys, "eval", "--manifest", str(manifest), "--out", str(tmp_path / "run"), "--seed", "-1")
    assert_one_line_error(code, err, "--seed")
    assert not (tmp_path / "run").exists()


def test_a_question_that_is_not_utf8_is_named(capsys, video):
    # Python keeps undecodable argv bytes as lone surrogates: b"\xff" arrives as "\udcff".
    code, _, err = run_cli(capsys, "select", str(video), "-q", "red \udcff", "-k", "2", "--no-cache", "--quiet")
    assert_one_line_error(code, err, "--question", "utf-8", "0xff")


def huge_png_header(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims ``width`` x ``height`` (PIL reads the header lazily: no pixels needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("size", [20000, 9000])  # beyond PIL's bomb error; between its warning and ours
def test_a_gigantic_query_image_is_refused_by_its_size(capsys, video, tmp_path, size):
    picture = tmp_path / "huge.png"
    huge_png_header(picture, size, size)
    code, _, err = run_cli(capsys, "select", str(video), "-k", "2", "--encoder", "hist", "--method", "topk",
                           "--query-image", str(picture), "--no-cache", "--quiet")
    assert_one_line_error(code, err, "query image", "huge.png")


def test_a_learned_method_without_checkpoint_fails_before_the_eval_run_folder_exists(capsys, video, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "video": str(video), "question": "red?"}) + "\n")
    code, _, err = run_cli(capsys, "eval", "--manifest", str(manifest), "--out", str(tmp_path / "run"),
                           "--methods", "tspo", "--quiet")
    assert_one_line_error(code, err, "tspo", "checkpoint")
    assert not (tmp_path / "run").exists()


def test_select_with_a_learned_method_without_checkpoint_fails_before_decoding(capsys, tmp_path, monkeypatch):
    import framepick.pipeline as pipeline

    def no_decoding(*args, **kwargs):
        raise AssertionError("the video was prepared before the argument error")

    monkeypatch.setattr(pipeline, "prepare_video", no_decoding)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not read")
    code, _, err = run_cli(capsys, "select", str(video), "-q", "red", "--method", "tspo", "--quiet")
    assert_one_line_error(code, err, "checkpoint")


# -- the environment says no: one line naming the path ------------------------------------------------


def test_a_cache_dir_that_is_a_file_warns_and_carries_on(capsys, video, tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file")
    out = tmp_path / "o.json"
    code = main(["select", str(video), "-q", "red", "-k", "2", "--encoder", "hist", "--method", "uniform",
                 "--candidates", "8", "--quiet", "--cache-dir", str(not_a_folder), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and len(json.loads(out.read_text())["frames"]) == 2
    warnings = [line for line in err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "cannot write" in warnings[0] and "without caching" in warnings[0], err


def test_a_read_only_cache_warns_once_and_carries_on(tmp_path, monkeypatch, caplog):
    """Simulated: the temporary file every cache write starts with raises EROFS."""
    import numpy as np

    import framepick.encode.cache as cache_module

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path))

    monkeypatch.setattr(cache_module.tempfile, "NamedTemporaryFile", read_only)
    store = cache_module.FeatureCache(tmp_path)
    with caplog.at_level("WARNING", logger="framepick.encode.cache"):
        store.put("a", {"x": np.zeros(3)})
        store.put("b", {"x": np.zeros(3)})
    assert store.get("a") is None
    [warning] = caplog.records  # one warning for the run, not one per entry
    assert "Read-only file system" in warning.getMessage() and "without caching" in warning.getMessage()


def test_eval_out_under_proc_is_one_line(capsys, video, tmp_path):
    """/proc refuses new entries even to root: mkdir fails with ENOENT."""
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "video": str(video), "question": "red?", "options": ["a", "b"],
                                    "answer": "A"}) + "\n")
    code, _, err = run_cli(capsys, "eval", "--manifest", str(manifest), "--out", "/proc/framepick-test-run",
                           "--methods", "uniform", "-k", "2", "--candidates", "8", "--quiet", "--no-cache")
    assert_one_line_error(code, err, "--out", "/proc/framepick-test-run")


def test_frames_dir_on_a_read_only_file_system_leaves_no_output(capsys, video, tmp_path, monkeypatch):
    """Simulated: creating the frames folder's staging directory raises EROFS."""
    import framepick.export as export

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", kwargs.get("dir"))

    monkeypatch.setattr(export.tempfile, "mkdtemp", read_only)
    code, _, err = run_cli(capsys, *select_args(video, "--frames-dir", str(tmp_path / "frames"),
                                                "--sheet", str(tmp_path / "s.jpg"), "-o", str(tmp_path / "o.json")))
    assert_one_line_error(code, err, "frames", "read-only")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_os_error_anywhere_is_one_line_naming_the_path(capsys, monkeypatch):
    """The top-level handler: an OSError that no check foresaw is the user's, not an internal error."""
    import framepick.cli.scenes as scenes

    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/somewhere/out.json")

    monkeypatch.setattr(scenes, "run", read_only)
    code, _, err = run_cli(capsys, "scenes", "any.mp4")
    assert_one_line_error(code, err, "/mnt/somewhere/out.json", "read-only file system")


# -- all outputs or none -----------------------------------------------------------------------------


def test_sheet_is_not_written_when_frames_dir_cannot_be(capsys, video, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(capsys, *select_args(video, "--sheet", str(tmp_path / "s.jpg"),
                                                "--frames-dir", str(blocker / "frames")))
    assert_one_line_error(code, err, "--frames-dir")
    assert not (tmp_path / "s.jpg").exists()


def test_frames_dir_is_not_filled_when_the_json_cannot_be_written(capsys, video, tmp_path):
    code, _, err = run_cli(capsys, *select_args(video, "--frames-dir", str(tmp_path / "frames"),
                                                "-o", str(tmp_path / "missing" / "o.json")))
    assert_one_line_error(code, err, "-o", "does not exist")
    assert not (tmp_path / "frames").exists()


def test_a_failure_while_staging_the_last_output_removes_the_others(capsys, video, tmp_path, monkeypatch):
    """The up-front checks pass; the JSON write itself fails (disk full): nothing appears."""
    import framepick.export as export

    real = export.StagedOutputs.write_text

    def disk_full(self, path, text):
        real(self, path, text)
        raise export.OutputError(f"cannot write {str(path)!r}: No space left on device")

    monkeypatch.setattr(export.StagedOutputs, "write_text", disk_full)
    code, _, err = run_cli(capsys, *select_args(video, "--frames-dir", str(tmp_path / "frames"),
                                                "--sheet", str(tmp_path / "s.jpg"), "-o", str(tmp_path / "o.json")))
    assert_one_line_error(code, err, "no space")
    assert list(tmp_path.iterdir()) == []  # no output and no staged leftovers


def test_all_outputs_appear_together(capsys, video, tmp_path):
    code, _, _ = run_cli(capsys, *select_args(video, "--frames-dir", str(tmp_path / "frames"),
                                              "--sheet", str(tmp_path / "s.jpg"), "-o", str(tmp_path / "o.json")))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "o.json", "s.jpg"]
    assert len(list((tmp_path / "frames").glob("*.jpg"))) == 2


# -- messages that say what a path is -----------------------------------------------------------------


def test_a_symlink_loop_is_called_a_loop(capsys, tmp_path):
    (tmp_path / "a.mp4").symlink_to(tmp_path / "b.mp4")
    (tmp_path / "b.mp4").symlink_to(tmp_path / "a.mp4")
    code, _, err = run_cli(capsys, "select", str(tmp_path / "a.mp4"), "-q", "red", "--quiet")
    assert_one_line_error(code, err, "VIDEO", "symbolic link loop")


def test_a_fifo_as_scores_is_called_a_pipe(capsys, tmp_path):
    fifo = tmp_path / "scores.json"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "select", "--scores", str(fifo), "-k", "1")
    assert_one_line_error(code, err, "--scores", "named pipe")


def test_missing_and_folder_inputs_say_so(capsys, tmp_path):
    code, _, err = run_cli(capsys, "select", "--scores", str(tmp_path / "nope.json"), "-k", "1")
    assert_one_line_error(code, err, "--scores", "does not exist")
    code, _, err = run_cli(capsys, "select", "--scores", str(tmp_path), "-k", "1")
    assert_one_line_error(code, err, "--scores", "is a folder")


def test_data_niah_names_skipped_library_clips_without_verbose(capsys, tmp_path, monkeypatch):
    import framepick.data.niah as niah

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "data"))
    from niah_fixtures import small_config, write_library

    monkeypatch.setattr(niah, "NiahConfig", lambda **kw: small_config(**kw))
    library = write_library(tmp_path / "lib")
    data = json.loads(library.read_text())
    data["clips"].append({**data["clips"][0], "id": "clip-gone", "path": "gone.mp4"})
    library.write_text(json.dumps(data))
    code = main(["data", "niah", "--out", str(tmp_path / "o"), "--library", str(library), "--count", "1",
                 "--min-minutes", "0.2", "--max-minutes", "0.3", "--decoys", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0
    assert [line for line in err.splitlines() if "WARNING" in line] == [
        f"framepick: WARNING: 1 library clip(s) skipped: clip-gone: {_skip_reason(library, 'clip-gone')}"
    ]


def _skip_reason(library: Path, clip_id: str) -> str:
    from framepick.data.clip_library import load_library

    return next(clip.reason for clip in load_library(library).skipped if clip.id == clip_id)


def test_report_and_export_may_not_overwrite_the_run_or_its_manifest(capsys, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"id": "a"}\n')
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"manifest": str(manifest)}))
    (run / "records.jsonl").write_text("")
    # export reads the manifest named in config.json when --manifest is not given: it is an input too.
    code, _, err = run_cli(capsys, "export", "lmms-eval", str(run), "--method", "topk", "-k", "2", "--out", str(manifest))
    assert_one_line_error(code, err, "--out", "config.json")
    code, _, err = run_cli(capsys, "report", str(run), "--out", str(run / "records.jsonl"))
    assert_one_line_error(code, err, "--out", "records.jsonl")
    code, _, err = run_cli(capsys, "report", str(run), "--markdown", str(manifest))
    assert_one_line_error(code, err, "--markdown")
    assert manifest.read_text() == '{"id": "a"}\n' and (run / "records.jsonl").read_text() == ""
