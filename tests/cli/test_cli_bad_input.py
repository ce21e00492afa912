"""Every bad input gets one line on stderr, a non-zero exit, no traceback and no output file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from framepick.cli.main import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("framepick") and "error" in lines[0], err
    assert "Traceback" not in err
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


@pytest.fixture()
def out_file(tmp_path: Path) -> Path:
    return tmp_path / "out.json"


def _select(capsys, video, out_file, *extra):
    return run_cli(capsys, "select", str(video), "-q", "the red part", "-k", "4", "--encoder", "hist",
                   "--method", "uniform", "--quiet", "-o", str(out_file), *extra)


def test_missing_file(capsys, tmp_path, out_file):
    code, _, err = _select(capsys, tmp_path / "nope.mp4", out_file)
    assert_one_line_error(code, err, "nope.mp4")
    assert not out_file.exists()


def test_directory_instead_of_file(capsys, tmp_path, out_file):
    code, _, err = _select(capsys, tmp_path, out_file)
    assert_one_line_error(code, err)
    assert not out_file.exists()


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.mp4", b""),
        ("random.mp4", np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes()),
        ("notes.mp4", b"this is a text file, not a video\n" * 100),
    ],
)
def test_not_a_video(capsys, tmp_path, out_file, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = _select(capsys, path, out_file)
    assert_one_line_error(code, err, name)
    assert not out_file.exists()


def test_audio_only_file(capsys, tmp_path, out_file):
    import av

    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        t = np.arange(16000) / 16000
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    code, _, err = _select(capsys, path, out_file)
    assert_one_line_error(code, err, "video stream")
    assert not out_file.exists()


@pytest.mark.parametrize("k", ["0", "-3"])
def test_k_not_positive(capsys, segment_video, out_file, k):
    code, _, err = run_cli(capsys, "select", str(segment_video), "-q", "red", "-k", k, "--method", "uniform",
                           "--quiet", "-o", str(out_file))
    assert_one_line_error(code, err, "k")
    assert not out_file.exists()


def test_k_not_a_number(capsys, segment_video, out_file):
    with pytest.raises(SystemExit) as exc:
        main(["select", str(segment_video), "-k", "eight", "-o", str(out_file)])
    assert exc.value.code == 2
    assert_one_line_error(2, capsys.readouterr().err, "-k")
    assert not out_file.exists()


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_for_query_aware_method(capsys, segment_video, out_file, question):
    code, _, err = run_cli(capsys, "select", str(segment_video), "-q", question, "--method", "topk",
                           "--encoder", "hist", "--quiet", "-o", str(out_file))
    assert_one_line_error(code, err, "question")
    assert not out_file.exists()


def test_no_question_for_query_aware_method(capsys, segment_video, out_file):
    code, _, err = run_cli(capsys, "select", str(segment_video), "--method", "aks", "--quiet", "-o", str(out_file))
    assert_one_line_error(code, err, "question")


def test_unknown_method_suggests_closest(capsys, segment_video, out_file):
    code, _, err = _select(capsys, segment_video, out_file, "--method", "topkk")
    # --method given twice: argparse keeps the last one
    assert_one_line_error(code, err, "topkk", "topk")
    assert not out_file.exists()


def test_unknown_encoder(capsys, segment_video, out_file):
    code, _, err = run_cli(capsys, "select", str(segment_video), "-q", "red", "--method", "topk",
                           "--encoder", "clipp", "--quiet", "-o", str(out_file))
    assert_one_line_error(code, err, "clipp")
    assert not out_file.exists()


def test_unreadable_model_path(capsys, segment_video, tmp_path, out_file):
    code, _, err = run_cli(capsys, "select", str(segment_video), "-q", "red", "--method", "topk",
                           "--encoder", f"clip:{tmp_path / 'no-such-model'}", "--quiet", "-o", str(out_file))
    assert_one_line_error(code, err, "no-such-model")
    assert not out_file.exists()


def test_scores_wrong_length(capsys, tmp_path, out_file):
    scores = tmp_path / "s.json"
    scores.write_text(json.dumps([0.1, 0.5, 0.2]))
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "--candidates", "5", "-k", "2", "-o", str(out_file))
    assert_one_line_error(code, err, "--candidates 5", "3 scores")
    assert not out_file.exists()


@pytest.mark.parametrize("payload", ["[0.1, NaN, 0.3]", "[0.1, null, 0.3]", "[]", "[[1, 2], [3, 4]]", '["a", "b"]', "{bad"])
def test_scores_bad_values(capsys, tmp_path, out_file, payload):
    scores = tmp_path / "s.json"
    scores.write_text(payload)
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "-k", "2", "-o", str(out_file))
    assert_one_line_error(code, err, "s.json")
    assert not out_file.exists()


def test_scores_npy_with_nan(capsys, tmp_path, out_file):
    scores = tmp_path / "s.npy"
    np.save(scores, np.array([0.1, np.nan, 0.3]))
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "-k", "2", "-o", str(out_file))
    assert_one_line_error(code, err, "non-finite")
    assert not out_file.exists()


def test_method_needing_scenes_on_scores(capsys, tmp_path, out_file):
    scores = tmp_path / "s.json"
    scores.write_text("[0.1, 0.2, 0.3]")
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "--method", "kframes", "-k", "2", "-o", str(out_file))
    assert_one_line_error(code, err, "kframes")


def test_two_sources(capsys, segment_video, tmp_path, out_file):
    scores = tmp_path / "s.json"
    scores.write_text("[0.1, 0.2, 0.3]")
    code, _, err = run_cli(capsys, "select", str(segment_video), "--scores", str(scores), "-o", str(out_file))
    assert_one_line_error(code, err, "exactly one")


def test_bad_method_params(capsys, tmp_path, out_file):
    scores = tmp_path / "s.json"
    scores.write_text("[0.1, 0.2, 0.3]")
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "--method", "bolt",
                           "--method-params", '{"power": -1}', "-o", str(out_file))
    assert_one_line_error(code, err, "power", "-1")
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "--method", "bolt",
                           "--method-params", '{"alpha": 2}', "-o", str(out_file))
    assert_one_line_error(code, err, "alpha", "power")  # names the unknown one and the accepted ones
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "--method-params", "{nope", "-o", str(out_file))
    assert_one_line_error(code, err, "--method-params")


def test_output_folder_missing(capsys, tmp_path):
    scores = tmp_path / "s.json"
    scores.write_text("[0.1, 0.2, 0.3]")
    target = tmp_path / "missing" / "out.json"
    code, _, err = run_cli(capsys, "select", "--scores", str(scores), "-k", "2", "-o", str(target))
    assert_one_line_error(code, err, "missing")


def test_subprocess_exit_code_and_no_traceback(tmp_path):
    """The installed entry point, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "framepick.cli.main", "select", str(tmp_path / "missing.mp4"), "-q", "x"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, "missing.mp4")
