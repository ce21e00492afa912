"""probe(): metadata, per-frame timestamps, keyframes, the cache hash, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videogen import GREY, RED, remux

from framepick.errors import VideoError
from framepick.video.probe import VideoIndex, content_hash, probe


def test_probe_reads_metadata(segment_video):
    index = probe(segment_video)
    info = index.info
    assert info.frame_count == 300 == index.num_frames
    assert info.duration_seconds == pytest.approx(30.0, abs=1e-6)
    assert info.fps == pytest.approx(10.0, abs=1e-6)
    assert (info.width, info.height, info.rotation) == (160, 96, 0)
    assert info.codec == "h264"
    assert info.path == str(segment_video)
    assert len(info.content_hash) == 32
    np.testing.assert_allclose(index.frame_timestamps, np.arange(300) / 10.0, atol=1e-9)


def test_keyframes_sit_at_gop_boundaries(segment_video, make_video):
    np.testing.assert_array_equal(probe(segment_video).keyframe_indices, np.arange(0, 300, 10))
    gop25 = make_video("gop25.mp4", [(10, GREY, "pattern")], gop=25)
    np.testing.assert_array_equal(probe(gop25).keyframe_indices, np.arange(0, 100, 25))


def test_variable_frame_rate_timestamps_come_from_the_file(make_video):
    rng = np.random.default_rng(3)
    times = np.round(np.concatenate([[0.0], np.cumsum(rng.uniform(0.02, 0.4, size=79))]), 3)
    path = make_video("vfr_probe.mp4", [(8, GREY, "pattern")], vfr_timestamps=list(times))
    index = probe(path)
    assert index.num_frames == 80
    np.testing.assert_allclose(index.frame_timestamps, times, atol=1e-6)
    # VFR: the average rate is frames / duration, not anything the container declares.
    assert index.info.fps == pytest.approx(80 / index.info.duration_seconds)


@pytest.mark.parametrize("rotation", [90, 270, 180])
def test_rotation_is_reported_and_display_size_swapped(make_video, rotation):
    path = make_video(f"rot_probe_{rotation}.mp4", [(2, RED)], rotation=rotation)
    info = probe(path).info
    assert info.rotation == rotation
    expected = (96, 160) if rotation in (90, 270) else (160, 96)
    assert (info.width, info.height) == expected


def test_index_round_trips_through_npz(segment_video, tmp_path):
    index = probe(segment_video)
    np.savez(tmp_path / "index.npz", **index.to_arrays())
    with np.load(tmp_path / "index.npz", allow_pickle=False) as arrays:
        again = VideoIndex.from_arrays(dict(arrays))
    assert again.info == index.info
    assert again.time_base == index.time_base and again.start_pts == index.start_pts
    np.testing.assert_array_equal(again.frame_timestamps, index.frame_timestamps)
    np.testing.assert_array_equal(again.keyframe_indices, index.keyframe_indices)
    np.testing.assert_array_equal(again.frame_pts, index.frame_pts)


def test_content_hash_is_stable_and_samples_large_files(tmp_path):
    data = bytearray(np.random.default_rng(0).integers(0, 256, size=4 * 1024 * 1024, dtype=np.uint8).tobytes())
    a = tmp_path / "a.bin"
    a.write_bytes(data)
    b = tmp_path / "copy_elsewhere.bin"
    b.write_bytes(data)
    assert content_hash(a) == content_hash(b)  # path and mtime are not part of it

    changed = bytearray(data)
    changed[0] ^= 0xFF  # the first chunk is always sampled
    b.write_bytes(changed)
    assert content_hash(b) != content_hash(a)

    b.write_bytes(data + b"x")  # size is part of the key
    assert content_hash(b) != content_hash(a)

    # The documented trade-off: a same-size edit between sampled chunks goes unnoticed. With 16
    # chunks of 64 KiB spread over 4 MiB, offset 100 KiB lies in the gap after the first chunk.
    unseen = bytearray(data)
    unseen[100 * 1024] ^= 0xFF
    b.write_bytes(unseen)
    assert content_hash(b) == content_hash(a)


def _write_audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _write_video_without_frames(path: Path) -> Path:
    """A Matroska file that declares a video track but only ever muxes audio into it."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i in range(5):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def _bad_input(kind: str, tmp_path: Path, segment_video: Path) -> Path:
    if kind == "missing":
        return tmp_path / "nope.mp4"
    if kind == "directory":
        folder = tmp_path / "folder.mp4"
        folder.mkdir()
        return folder
    if kind == "empty":
        path = tmp_path / "empty.mp4"
        path.write_bytes(b"")
        return path
    if kind == "random":
        path = tmp_path / "random.mp4"
        path.write_bytes(np.random.default_rng(1).integers(0, 256, size=200_000, dtype=np.uint8).tobytes())
        return path
    if kind == "text":
        path = tmp_path / "notes.mp4"
        path.write_text("this is a text file, not a video\n" * 20)
        return path
    if kind == "audio":
        return _write_audio_only(tmp_path / "speech.m4a")
    if kind == "no_frames":
        return _write_video_without_frames(tmp_path / "noframes.mkv")
    if kind == "truncated_moov_at_end":
        # A plain MP4 keeps its index (moov) at the end: half a file has none and cannot be read.
        path = tmp_path / "half.mp4"
        data = segment_video.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind, words",
    [
        ("missing", "not found"),
        ("directory", "directory"),
        ("empty", "empty"),
        ("random", "cannot open"),
        ("text", "cannot open"),
        ("audio", "no video stream"),
        ("no_frames", "no frames"),
        ("truncated_moov_at_end", "cannot open"),
    ],
)
def test_bad_inputs_raise_one_line_video_errors(kind, words, tmp_path, segment_video):
    path = _bad_input(kind, tmp_path, segment_video)
    with pytest.raises(VideoError) as caught:
        probe(path)
    message = str(caught.value)
    assert "\n" not in message
    assert path.name in message
    assert words in message


def test_truncated_streamable_files_index_what_is_there(make_video, tmp_path):
    source = make_video("trunc_src.mp4", [(10, GREY, "pattern"), (10, RED, "pattern")])
    for name, streamable in (("half.mkv", remux(source, tmp_path / "full.mkv")),
                             ("half_fs.mp4", remux(source, tmp_path / "full_fs.mp4", movflags="faststart"))):
        data = streamable.read_bytes()
        half = tmp_path / name
        half.write_bytes(data[: len(data) // 2])
        index = probe(half)
        # About half of the 200 frames survive; their timestamps are still the original ones.
        assert 60 <= index.num_frames <= 140
        np.testing.assert_allclose(index.frame_timestamps, np.arange(index.num_frames) / 10.0, atol=1e-6)


def test_special_files_are_refused_not_read_forever():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
    with pytest.raises(VideoError, match="special file"):
        probe("/dev/zero")
