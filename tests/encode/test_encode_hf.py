"""CLIP / SigLIP through the real loader, with tiny random models saved by save_pretrained.

Also ``auto`` with a fake Hugging Face cache holding a (tiny) CLIP under a well-known hub id.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import framepick.encode as encode
from framepick.encode.hf import HFDualEncoder
from framepick.errors import ModelError
from tests_support import save_tiny_model

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-hf")
    return {family: save_tiny_model(family, root / family) for family in ("clip", "siglip")}


@pytest.fixture(autouse=True)
def fresh_memo():
    encode.clear_loaded_encoders()
    yield
    encode.clear_loaded_encoders()


FRAMES = np.random.default_rng(0).integers(0, 256, (5, 48, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("family, dim", [("clip", 24), ("siglip", 32)])
def test_round_trip_through_load_encoder(tiny_dirs, family, dim):
    encoder = encode.load_encoder(f"{family}:{tiny_dirs[family]}")
    assert isinstance(encoder, HFDualEncoder) and encoder.has_text
    assert encoder.dim == dim and encoder.input_size == 32
    assert encoder.id.startswith(f"{family}:{tiny_dirs[family].resolve()}@cfg")
    images = encoder.encode_images(FRAMES)
    texts = encoder.encode_text(["a red cat", "the man in a car", "a blue tree"])
    assert images.shape == (5, dim) and texts.shape == (3, dim)
    assert images.dtype == np.float32 and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(encoder.encode_images(FRAMES), images)
    np.testing.assert_array_equal(
        encoder.encode_text(["a red cat", "the man in a car", "a blue tree"]), texts
    )
    # different inputs give different vectors (the towers actually look at their input)
    assert not np.allclose(images[0], images[1]) and not np.allclose(texts[0], texts[1])


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_embeddings_match_the_model_called_directly(tiny_dirs, family):
    """Our batching/preprocessing path gives what transformers gives for the same inputs."""
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel, SiglipModel

    folder = tiny_dirs[family]
    model = (CLIPModel if family == "clip" else SiglipModel).from_pretrained(folder).eval()
    pixels = AutoImageProcessor.from_pretrained(folder)(images=list(FRAMES), return_tensors="pt")[
        "pixel_values"
    ]
    padding = "max_length" if family == "siglip" else True
    tokens = AutoTokenizer.from_pretrained(folder)(
        ["a red cat"], padding=padding, truncation=True, max_length=16, return_tensors="pt"
    )
    with torch.inference_mode():
        ref_img = model.get_image_features(pixel_values=pixels)
        ref_txt = model.get_text_features(input_ids=tokens["input_ids"])
    ref_img = getattr(ref_img, "pooler_output", ref_img)
    ref_txt = getattr(ref_txt, "pooler_output", ref_txt)
    ref_img = torch.nn.functional.normalize(ref_img, dim=-1).numpy()
    ref_txt = torch.nn.functional.normalize(ref_txt, dim=-1).numpy()
    encoder = encode.load_encoder(f"{family}:{folder}")
    encoder.batch_size = 2  # several batches, to exercise the batching
    np.testing.assert_allclose(encoder.encode_images(FRAMES), ref_img, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_text(["a red cat"]), ref_txt, atol=1e-5)


def test_same_folder_loads_once_and_different_weights_get_different_ids(tiny_dirs, tmp_path):
    first = encode.load_encoder(f"clip:{tiny_dirs['clip']}")
    assert encode.load_encoder(f"clip:{tiny_dirs['clip']}/") is first
    other = save_tiny_model("clip", tmp_path / "other", seed=1)  # same config, other weights
    assert encode.load_encoder(f"clip:{other}").id != first.id


def test_missing_folder_is_a_one_line_model_error(tmp_path):
    with pytest.raises(ModelError) as info:
        encode.load_encoder(f"clip:{tmp_path / 'nope'}")
    assert "\n" not in str(info.value) and str(tmp_path / "nope") in str(info.value)


def test_folder_without_weights_is_a_one_line_model_error(tiny_dirs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dirs["clip"], broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelError) as info:
        encode.load_encoder(f"clip:{broken}")
    message = str(info.value)
    assert "\n" not in message and str(broken) in message and message.startswith("cannot load clip model")


def test_folder_without_config_is_a_one_line_model_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        encode.load_encoder(f"siglip:{tmp_path / 'empty'}")


def test_wrong_family_is_named(tiny_dirs):
    with pytest.raises(ModelError, match="is a 'clip' model, not 'siglip'"):
        encode.load_encoder(f"siglip:{tiny_dirs['clip']}")


def test_hub_id_not_in_cache_offline_is_a_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError) as info:
        encode.load_encoder("clip:openai/clip-vit-base-patch32")
    assert "openai/clip-vit-base-patch32" in str(info.value) and "\n" not in str(info.value)


def _fake_hub_cache(hub: Path, repo_id: str, source: Path) -> None:
    """Lay ``source``'s files out the way huggingface_hub caches a downloaded repo."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    shutil.copytree(source, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def test_auto_prefers_a_cached_clip_and_loads_it_offline(tiny_dirs, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert encode.resolve_auto() == "offline"
    _fake_hub_cache(hub, "openai/clip-vit-base-patch32", tiny_dirs["clip"])
    assert encode.resolve_auto() == "clip:openai/clip-vit-base-patch32"
    assert encode.resolve_auto(need_text=False) == "clip:openai/clip-vit-base-patch32"
    encoder = encode.load_encoder("auto")
    assert encoder.id.startswith("clip:openai/clip-vit-base-patch32@cfg")
    assert encoder.encode_text(["a cat"]).shape == (1, 24)
    assert encode.load_encoder("clip:openai/clip-vit-base-patch32") is encoder
    # a cached SigLIP ranks above CLIP
    _fake_hub_cache(hub, "google/siglip-base-patch16-224", tiny_dirs["siglip"])
    assert encode.resolve_auto() == "siglip:google/siglip-base-patch16-224"


def test_auto_ignores_a_cached_repo_without_weights(tiny_dirs, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    _fake_hub_cache(hub, "openai/clip-vit-base-patch32", tiny_dirs["clip"])
    (
        next((hub / "models--openai--clip-vit-base-patch32" / "snapshots").iterdir()) / "model.safetensors"
    ).unlink()
    assert encode.resolve_auto() == "offline"


@pytest.mark.parametrize(
    "missing, match",
    [
        (("tokenizer.json", "tokenizer_config.json"), "no tokenizer"),
        (("preprocessor_config.json",), "no preprocessor_config.json"),
    ],
)
def test_folder_without_tokenizer_or_processor_is_named(tiny_dirs, tmp_path, missing, match):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dirs["clip"], broken)
    for name in missing:
        (broken / name).unlink()
    with pytest.raises(ModelError, match=match) as info:
        encode.load_encoder(f"clip:{broken}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_model_and_inputs_go_where_torch_device_says(tiny_dirs, family, monkeypatch):
    """A GPU is used when torch sees one (the rule is torch_device's); inputs follow the weights.

    No GPU exists here, so the placement is checked on the CPU: the model is moved to the device
    torch_device() names at load time, and every tensor handed to it is on the weights' device."""
    import framepick.encode.hf as hf
    from framepick.encode._runtime import torch_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_device() == "cuda"
    monkeypatch.undo()

    moved_to: list[str] = []
    real_to = torch.nn.Module.to

    def spy_to(module, *args, **kwargs):
        moved_to.append(str(args[0]) if args else str(kwargs.get("device")))
        return real_to(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", spy_to)
    encoder = hf.load_hf_encoder(family, str(tiny_dirs[family]))
    assert moved_to == [torch_device()] and encoder.device == "cpu"
    seen: list[str] = []
    for name in ("get_image_features", "get_text_features"):
        real = getattr(encoder.model, name)

        def spy(*args, _real=real, **kwargs):
            seen.extend(str(v.device) for v in [*args, *kwargs.values()] if isinstance(v, torch.Tensor))
            return _real(*args, **kwargs)

        monkeypatch.setattr(encoder.model, name, spy)
    encoder.encode_images(FRAMES[:2])
    encoder.encode_text(["a red cat"])
    assert seen and set(seen) == {encoder.device}
