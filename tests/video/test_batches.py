"""Batched decoding: bounded batches cut at GOP starts, exactly the frames of one big call."""

from __future__ import annotations

import numpy as np
import pytest
from videogen import GREY, RED, decode_barcode, remux

from framepick.errors import InvalidArgumentError, VideoError
from framepick.types import Candidates
from framepick.video.batches import batch_bounds, decode_batches
from framepick.video.decode import VideoDecoder
from framepick.video.probe import probe


def spans(bounds: list[slice]) -> list[tuple[int, int]]:
    return [(s.start, s.stop) for s in bounds]


def test_batches_close_before_a_gop_that_would_overflow():
    # Three GOPs of 3, 3 and 2 candidates; batches of 5 hold one GOP each but the last two fit together.
    gops = np.array([0, 0, 0, 10, 10, 10, 20, 20])
    assert spans(batch_bounds(gops, 5)) == [(0, 3), (3, 8)]
    assert spans(batch_bounds(gops, 6)) == [(0, 6), (6, 8)]
    assert spans(batch_bounds(gops, 100)) == [(0, 8)]


def test_a_gop_larger_than_a_batch_is_split_inside():
    gops = np.array([0] * 7 + [50] * 2)
    bounds = batch_bounds(gops, 3)
    assert spans(bounds) == [(0, 3), (3, 6), (6, 9)]
    assert all(s.stop - s.start <= 3 for s in bounds)


def test_every_candidate_is_in_exactly_one_batch():
    rng = np.random.default_rng(0)
    gops = np.sort(rng.integers(0, 40, size=500)) * 25
    for size in (1, 7, 64, 1000):
        bounds = batch_bounds(gops, size)
        covered = np.concatenate([np.arange(s.start, s.stop) for s in bounds])
        np.testing.assert_array_equal(covered, np.arange(500))
        assert max(s.stop - s.start for s in bounds) <= size


def test_bad_batch_size_and_empty_request():
    with pytest.raises(InvalidArgumentError, match="batch size"):
        batch_bounds(np.zeros(3), 0)
    assert batch_bounds(np.zeros(0), 4) == []


def test_batches_decode_exactly_the_frames_of_one_call(segment_video):
    index = probe(segment_video)  # 300 frames, a keyframe every 10
    wanted = Candidates(np.arange(0, 300, 3), index.frame_timestamps[0:300:3], index.info, "g")
    with VideoDecoder(segment_video, index=index) as decoder:
        whole = decoder.get_frames(wanted)
        batches = list(decode_batches(decoder, wanted, short_side=None, batch_size=8))
    assert max(len(b) for b in batches) <= 8
    got = np.concatenate([b.indices for b in batches])
    np.testing.assert_array_equal(got, whole.indices)
    np.testing.assert_array_equal(np.concatenate([b.frames for b in batches]), whole.frames)
    assert [decode_barcode(f) for b in batches for f in b.frames] == got.tolist()
    # Cut at GOP starts: no batch but the first starts inside a GOP whose candidates the one before holds.
    starts = [int(index.keyframe_before(b.indices[:1])[0]) for b in batches]
    ends = [int(index.keyframe_before(b.indices[-1:])[0]) for b in batches]
    assert all(start > end for start, end in zip(starts[1:], ends[:-1]))


def test_a_damaged_stretch_fails_its_frames_not_the_video(make_video, tmp_path):
    source = make_video("batch_damage.mp4", [(10, GREY, "pattern"), (10, RED, "pattern")])
    data = bytearray(source.read_bytes())  # moov at the end: the index survives
    lo, hi = int(len(data) * 0.45), int(len(data) * 0.55)
    data[lo:hi] = bytes(hi - lo)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    index = probe(broken)
    wanted = Candidates(np.arange(200), index.frame_timestamps, index.info, "g")
    with VideoDecoder(broken, index=index) as decoder:
        batches = list(decode_batches(decoder, wanted, short_side=None, batch_size=10))
    got = np.concatenate([b.indices for b in batches])
    assert 0 < got.size < 200 and got[0] == 0 and got[-1] == 199
    assert [decode_barcode(f) for b in batches for f in b.frames] == got.tolist()


def test_nothing_decodable_raises_like_the_single_call(make_video, tmp_path):
    source = make_video("batch_damage.mp4", [(10, GREY, "pattern"), (10, RED, "pattern")])
    streamable = remux(source, tmp_path / "full.mp4", movflags="faststart")
    index = probe(streamable)
    data = streamable.read_bytes()
    header_only = tmp_path / "header_only.mp4"
    header_only.write_bytes(data[: data.find(b"mdat") + 64])
    wanted = Candidates(np.array([0, 100, 199]), index.frame_timestamps[[0, 100, 199]], index.info, "g")
    with VideoDecoder(header_only, index=index) as decoder:
        with pytest.raises(VideoError, match="none of the 3 requested frames"):
            list(decode_batches(decoder, wanted, short_side=None, batch_size=1))


def test_the_decoders_pts_lookup_finds_every_frame_in_16_bytes_a_frame():
    from framepick.video.decode import _PtsLookup

    rng = np.random.default_rng(0)
    stamps = rng.permutation(np.arange(0, 3_000_000, 3, dtype=np.int64))  # out of order, as packed B-frames
    lookup = _PtsLookup(stamps)
    for frame in rng.integers(0, stamps.size, size=200):
        assert lookup.get(int(stamps[frame])) == frame
    assert lookup.get(1) == -1 and lookup.get(-5) == -1 and lookup.get(10**12) == -1
    assert lookup._order.nbytes + lookup._sorted.nbytes == 16 * stamps.size
