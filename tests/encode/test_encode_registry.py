"""Encoder names, 'auto' resolution without models, memoisation, hist, and a light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import framepick.encode as encode
from framepick.encode import resolve
from framepick.encode.hist import HistogramEncoder
from framepick.errors import InvalidArgumentError, UnknownNameError
from framepick.registry import encoders


def test_import_does_not_import_torch_or_transformers():
    # What is imported, not how long it takes: a time bound failed on a loaded machine, and the
    # import time is measured where timings belong (benchmarks/bench_pipeline.py import).
    code = (
        "import sys; import framepick, framepick.encode; "
        "print([m for m in ('torch', 'transformers', 'huggingface_hub', 'efficientnet_lite_pytorch') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_builtin_encoders_are_registered():
    assert {"offline", "effnet-pool", "hist", "clip", "siglip"} <= set(encoders.names())
    listing = encode.list_encoders()
    assert "auto" in listing and all(listing[name] for name in ("offline", "clip", "hist"))


def test_unknown_name_lists_names_and_closest_match():
    with pytest.raises(UnknownNameError) as info:
        encode.load_encoder("ofline")
    message = str(info.value)
    assert "'offline'" in message and "did you mean" in message and "hist" in message and "\n" not in message


@pytest.mark.parametrize(
    "spec, match",
    [
        ("clip", "needs an argument"),
        ("siglip:", "needs an argument"),
        ("hist:16", "takes no argument"),
        ("auto:x", "takes no argument"),
        ("", "non-empty"),
        ("   ", "non-empty"),
    ],
)
def test_bad_specs(spec, match):
    with pytest.raises(InvalidArgumentError, match=match):
        encode.load_encoder(spec)


def test_parse_spec_splits_on_the_first_colon_only():
    assert resolve.parse_spec("clip:C:/models/clip") == ("clip", "C:/models/clip")
    assert resolve.parse_spec(" Offline ") == ("offline", None)


def test_loaded_encoders_are_memoised():
    encode.clear_loaded_encoders()
    first = encode.load_encoder("hist")
    assert encode.load_encoder("hist") is first
    assert encode.load_encoder(" HIST ") is first
    encode.clear_loaded_encoders()
    assert encode.load_encoder("hist") is not first


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_auto_without_cached_clip_uses_packaged_models(empty_hf_cache):
    assert encode.resolve_auto() == "offline"
    assert encode.resolve_auto(need_text=True) == "offline"
    assert encode.resolve_auto(need_text=False) == "effnet-pool"


def test_auto_without_any_model_falls_back_to_hist(empty_hf_cache, monkeypatch):
    monkeypatch.setattr(resolve, "_packaged_models_available", lambda: False)
    assert encode.resolve_auto() == "hist"
    encode.clear_loaded_encoders()
    assert isinstance(encode.load_encoder("auto"), HistogramEncoder)
    encode.clear_loaded_encoders()


def test_packaged_models_are_importable_here():
    assert resolve._packaged_models_available()


def test_hist_encoder_is_normalised_and_separates_colours():
    frames = np.zeros((4, 40, 60, 3), dtype=np.uint8)
    frames[0, ..., 0] = 220  # red
    frames[1, ..., 0] = 200  # a slightly different red
    frames[2, ..., 2] = 220  # blue
    frames[3] = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    encoder = HistogramEncoder()
    emb = encoder.encode_images(frames)
    assert emb.shape == (4, 48) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] and sim[0, 1] > sim[0, 3]
    np.testing.assert_array_equal(encoder.encode_images(frames), emb)
    assert not encoder.has_text and encoder.id == "hist:rgb16"
    with pytest.raises(InvalidArgumentError, match="no text tower"):
        encoder.encode_text(["a red frame"])
    with pytest.raises(InvalidArgumentError, match="uint8"):
        encoder.encode_images(frames.astype(np.float32))
    assert encoder.encode_images(frames[:0]).shape == (0, 48)
