"""`select --frames-dir` decodes the chosen frames once, and a damaged file still follows the policy.

A method that decodes nothing (uniform) used to decode its chosen frames twice: small, to prove
they exist, then at full size for the JPEGs. The full-size decode is the proof now; the small one
runs (with --allow-damaged's re-pick or the damage error) only when a chosen frame fails.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from videogen import GREY, RED, decode_barcode

from framepick.cli.main import main


def written(folder) -> list[int]:
    return [decode_barcode(np.asarray(Image.open(p).convert("RGB"))) for p in sorted(folder.glob("*.jpg"))]


def test_uniform_frames_dir_decodes_once(segment_video, tmp_path, monkeypatch, capsys):
    import framepick.video.decode as decode_module

    requests = []
    original = decode_module.VideoDecoder.get_frames

    def counting(self, indices, **kwargs):
        requests.append(np.asarray(indices).size)
        return original(self, indices, **kwargs)

    monkeypatch.setattr(decode_module.VideoDecoder, "get_frames", counting)
    frames_dir = tmp_path / "frames"
    code = main(["select", str(segment_video), "--method", "uniform", "-k", "16", "--candidates", "16",
                 "--frames-dir", str(frames_dir), "--no-cache", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    chosen = [frame["index"] for frame in json.loads(out.out)["frames"]]
    assert written(frames_dir) == chosen
    assert requests == [16]  # one decode of the 16 chosen frames, at full size
    assert json.loads(out.out)["timings_seconds"]["decode"] > 0  # and it is counted


@pytest.fixture(scope="module")
def corrupt_video(make_video, tmp_path_factory):
    source = make_video("decode_once_src.mp4", [(10, GREY, "pattern"), (10, RED, "pattern")])
    data = bytearray(source.read_bytes())
    lo, hi = int(len(data) * 0.4), int(len(data) * 0.5)
    data[lo:hi] = np.random.default_rng(5).integers(0, 256, size=hi - lo, dtype=np.uint8).tobytes()
    broken = tmp_path_factory.mktemp("decode_once") / "broken.mp4"
    broken.write_bytes(bytes(data))
    return broken


def test_a_chosen_frame_that_fails_still_follows_the_damage_policy(corrupt_video, tmp_path, capsys):
    argv = ["select", str(corrupt_video), "--method", "uniform", "-k", "40", "--candidates", "40", "--no-cache",
            "--quiet"]
    refused = tmp_path / "refused"
    assert main([*argv, "--frames-dir", str(refused)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "--allow-damaged" in err and err.count("\n") == 1
    assert not refused.exists()

    frames_dir = tmp_path / "frames"
    code = main([*argv, "--frames-dir", str(frames_dir), "--allow-damaged"])
    out = capsys.readouterr()
    assert code == 0, out.err
    chosen = [frame["index"] for frame in json.loads(out.out)["frames"]]
    assert len(chosen) < 40  # the candidates that failed are gone, not written as wrong pictures
    assert written(frames_dir) == chosen
