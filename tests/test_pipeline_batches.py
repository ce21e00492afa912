"""prepare_video decodes and embeds a batch at a time: encoders never see more than a batch, and
the cached features are those of one big batch."""

from __future__ import annotations

import numpy as np

from framepick import pipeline
from framepick.encode import load_encoder
from framepick.encode.cache import FeatureCache, feature_key
from framepick.video.candidates import GridSpec


class Counting:
    """An encoder that records how many frames each call gave it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.id, self.dim, self.input_size = inner.id, inner.dim, inner.input_size
        self.calls: list[int] = []

    def encode_images(self, frames, *, progress=False):
        self.calls.append(frames.shape[0])
        return self.inner.encode_images(frames)


def test_encoders_see_one_batch_at_a_time_and_the_entries_match_one_big_batch(segment_video, tmp_path):
    grid = GridSpec(count=120)
    index = pipeline.open_video(segment_video, None)
    candidates = pipeline.make_candidates(index, grid)
    small, big = Counting(load_encoder("hist")), Counting(load_encoder("hist"))
    small_cache, big_cache = FeatureCache(tmp_path / "small"), FeatureCache(tmp_path / "big")
    pipeline.embed_candidates(index, candidates, [small], small_cache, pipeline.Timer(), batch_size=16)
    pipeline.embed_candidates(index, candidates, [big], big_cache, pipeline.Timer(), batch_size=1000)
    assert max(small.calls) <= 16 and sum(small.calls) == 120 and len(small.calls) >= 8
    assert big.calls == [120]
    key = feature_key(index.info.content_hash, small.id, grid.key())
    a, b = small_cache.get(key), big_cache.get(key)
    np.testing.assert_array_equal(a["indices"], b["indices"])
    np.testing.assert_array_equal(a["timestamps"], b["timestamps"])
    np.testing.assert_allclose(a["embeddings"], b["embeddings"], atol=1e-6)


def test_timer_counts_decode_and_encode_apart(segment_video):
    index = pipeline.open_video(segment_video, None)
    candidates = pipeline.make_candidates(index, GridSpec(count=60))
    timer = pipeline.Timer()
    rows = pipeline.embed_candidates(index, candidates, [load_encoder("hist")], None, timer, batch_size=8)
    assert timer.decode > 0 and timer.encode > 0
    assert len(next(iter(rows.values())).candidates) == 60
