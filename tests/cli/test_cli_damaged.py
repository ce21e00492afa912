"""Truncated and partly corrupt videos: an error by default, the decodable frames on request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from videogen import GREY, RED, remux
from framepick.cli.main import main


@pytest.fixture(scope="module")
def source(make_video) -> Path:
    return make_video("damaged_cli_src.mp4", [(10, GREY, "pattern"), (10, RED, "pattern")])


@pytest.fixture()
def truncated(source, tmp_path) -> Path:
    streamable = remux(source, tmp_path / "full.mp4", movflags="faststart")  # index up front
    data = streamable.read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture()
def truncated_plain_mp4(source, tmp_path) -> Path:
    data = source.read_bytes()  # index (moov) at the end: cut in half, nothing can be read
    path = tmp_path / "half_plain.mp4"
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture()
def corrupt_middle(source, tmp_path) -> Path:
    data = bytearray(source.read_bytes())
    lo, hi = int(len(data) * 0.45), int(len(data) * 0.55)
    data[lo:hi] = np.random.default_rng(1).integers(0, 256, size=hi - lo, dtype=np.uint8).tobytes()
    path = tmp_path / "broken.mp4"
    path.write_bytes(bytes(data))
    return path


def _run(capsys, video: Path, out: Path, *extra: str):
    code = main(["select", str(video), "-k", "8", "--method", "uniform", "--quiet", "--no-cache", "-o", str(out), *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", ["truncated", "truncated_plain_mp4", "corrupt_middle"])
def test_damaged_video_is_a_one_line_error(request, capsys, tmp_path, name):
    video = request.getfixturevalue(name)
    out = tmp_path / "out.json"
    code, err = _run(capsys, video, out)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framepick: error:"), err
    assert video.name in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("name", ["truncated", "corrupt_middle"])
def test_allow_damaged_uses_the_frames_that_decode(request, capsys, tmp_path, name):
    video = request.getfixturevalue(name)
    out = tmp_path / "out.json"
    code, err = _run(capsys, video, out, "--allow-damaged")
    assert code == 0, err
    assert "damaged" in err and "Traceback" not in err  # said, as a warning
    result = json.loads(out.read_text())
    assert len(result["frames"]) == 8
    assert result["candidates"] < 200 or name == "truncated"
