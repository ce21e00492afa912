"""Files whose decoder stamps frames out of display order (DivX packed B-frames, Megamind.avi).

Frame ``i`` must be the ``i``-th frame the decoder returns. The generated files reproduce the real
one's packet pattern (pts 1, 3, 2, 4, 6, 5, ...; 7-byte not-coded VOPs) without opencv-doc; the
real file is checked where Debian's opencv-doc is installed. H.264 with B-frames in AVI has the
same problem with in-order packets (the AVI demuxer's pts are decode times plus one).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videogen import GREY, RED, decode_barcode, write_packed_bframes_avi, write_video

import framepick
import framepick.video.probe as probe_module
from framepick.cli.main import main
from framepick.video.decode import VideoDecoder
from framepick.video.probe import VideoIndex, probe

STRATEGIES = ("seek", "sequential", "auto")
MEGAMIND = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")


@pytest.fixture(scope="module")
def packed_avi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s at 10 fps (80 frames), GOP 12, two B-frames per reference frame, packed."""
    path = tmp_path_factory.mktemp("packed") / "packed.avi"
    return write_packed_bframes_avi(path, [(4, GREY, "pattern"), (4, RED, "pattern")], gop=12, bframes=2)


def barcodes(frames: np.ndarray) -> list[int]:
    return [decode_barcode(frame) for frame in frames]


def test_the_generated_file_reproduces_the_packed_layout(packed_avi):
    """Guard for the tests below: packets out of pts order, placeholders, decoder stamps out of order."""
    import av

    with av.open(str(packed_avi)) as container:
        stream = container.streams.video[0]
        packets = [(p.pts, p.size) for p in container.demux(stream) if p.size]
        container.seek(0)
        stamps = [frame.pts for frame in container.decode(stream)]
    pts = [p for p, _ in packets]
    assert pts[:7] == [1, 3, 2, 4, 6, 5, 7]
    assert sum(size <= 7 for _, size in packets) >= 20  # the not-coded placeholder VOPs
    assert len(stamps) == 80 and sorted(stamps) == sorted(pts)
    assert stamps != sorted(stamps)  # frames come out (in display order) stamped out of order


def test_index_is_the_order_the_decoder_returns(packed_avi):
    import av

    with av.open(str(packed_avi)) as container:
        keyframes = [i for i, frame in enumerate(container.decode(video=0)) if frame.key_frame]
    index = probe(packed_avi)
    assert index.num_frames == 80 and index.info.frame_count == 80
    assert index.frame_pts is not None and not np.all(np.diff(index.frame_pts) > 0)
    np.testing.assert_allclose(np.diff(index.frame_timestamps), 0.1, atol=1e-9)
    assert len(keyframes) > 4 and index.keyframe_indices.tolist() == keyframes


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_frame_decodes_exactly(packed_avi, strategy):
    with VideoDecoder(packed_avi) as decoder:
        every = decoder.get_frames(np.arange(80), strategy=strategy)
        assert every.failed.size == 0 and barcodes(every.frames) == list(range(80))
        for seed in range(3):
            wanted = np.unique(np.random.default_rng(seed).choice(80, size=9, replace=False))
            assert barcodes(decoder.get_frames(wanted, strategy=strategy).frames) == wanted.tolist()


@pytest.mark.parametrize("open_gop", [0, 1])
def test_h264_b_frames_in_avi(tmp_path, open_gop):
    import av

    options = {"bf": "3", "x264-params": f"b-adapt=0:open-gop={open_gop}"}
    path = write_video(tmp_path / "h264_bframes.avi", [(3, GREY, "pattern"), (3, RED, "pattern")], gop=12,
                       codec_options=options)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packet_pts = [p.pts for p in container.demux(stream) if p.size]
        container.seek(0)
        stamps = [frame.pts for frame in container.decode(stream)]
    assert packet_pts == sorted(packet_pts) and stamps != sorted(stamps)  # the case being tested
    index = probe(path)
    assert index.num_frames == 60
    np.testing.assert_allclose(np.diff(index.frame_timestamps), 0.1, atol=1e-9)
    with VideoDecoder(path, index) as decoder:
        for strategy in STRATEGIES:
            assert barcodes(decoder.get_frames(np.arange(60), strategy=strategy).frames) == list(range(60))
            wanted = [0, 5, 11, 12, 13, 30, 47, 59]
            assert barcodes(decoder.get_frames(wanted, strategy=strategy).frames) == wanted


def test_a_cached_index_keeps_the_decoder_order(packed_avi):
    index = VideoIndex.from_arrays(probe(packed_avi).to_arrays())
    with VideoDecoder(packed_avi, index=index) as decoder:
        assert barcodes(decoder.get_frames([5, 40, 41, 79]).frames) == [5, 40, 41, 79]


def test_uniform_selection_on_a_packed_file(packed_avi, tmp_path, capsys):
    selection = framepick.select_frames(packed_avi, k=8, method="uniform", cache=False)
    assert len(selection.indices) == 8
    frames_dir = tmp_path / "frames"
    code = main(["select", str(packed_avi), "--method", "uniform", "-k", "8", "--no-cache", "--frames-dir", str(frames_dir)])
    assert code == 0, capsys.readouterr().err
    written = sorted(frames_dir.glob("*.jpg"))
    assert len(written) == 8
    from PIL import Image

    got = [decode_barcode(np.asarray(Image.open(p).convert("RGB"))) for p in written]
    assert got == selection.indices.tolist()


def test_streams_stamped_in_order_are_not_decoded_to_index(make_video, monkeypatch):
    """The full decode pass is for misbehaving streams only; B-frame H.264 indexes from packets."""
    path = make_video("bframes_index_cost.mp4", [(3, GREY, "pattern")], gop=12, codec_options={"bf": "3"})

    def refuse(*args, **kwargs):
        raise AssertionError("decoded a well-stamped stream to index it")

    monkeypatch.setattr(probe_module, "_decoder_display_order", refuse)
    index = probe(path)
    assert index.num_frames == 30 and np.all(np.diff(index.frame_pts) > 0)


@pytest.mark.skipif(not MEGAMIND.exists(), reason="Debian's opencv-doc is not installed (apt-get install opencv-doc)")
def test_megamind_matches_a_plain_sequential_decode(capsys):
    import av

    with av.open(str(MEGAMIND)) as container:
        reference = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    index = probe(MEGAMIND)
    assert index.num_frames == len(reference) == 270
    wanted = np.union1d(np.random.default_rng(0).choice(270, size=14, replace=False), [0, 1, 97, 98, 99, 269])
    with VideoDecoder(MEGAMIND, index) as decoder:
        for strategy in STRATEGIES:
            result = decoder.get_frames(wanted, strategy=strategy)
            np.testing.assert_array_equal(result.indices, wanted)
            for frame, i in zip(result.frames, wanted):
                np.testing.assert_array_equal(frame, reference[i])
    assert main(["select", str(MEGAMIND), "--method", "uniform", "-k", "8", "--no-cache"]) == 0
    assert '"frame_count": 270' in capsys.readouterr().out
