"""One Candidates flows from the grid through decoding and the feature rows to the selection."""

from __future__ import annotations

import numpy as np
import pytest
from videogen import GREY, RED, remux

from framepick import api, pipeline
from framepick.encode import load_encoder
from framepick.encode.cache import FeatureCache, feature_key
from framepick.types import Candidates, Features
from framepick.video.candidates import GridSpec
from framepick.video.decode import VideoDecoder
from framepick.video.probe import probe

GRID = GridSpec(count=40)


def test_prepared_video_holds_the_grid_candidates_and_reads_through_them(segment_video, tmp_path):
    encoder = load_encoder("hist")
    prepared = pipeline.prepare_video(segment_video, GRID, [encoder], scenes=True, cache=FeatureCache(tmp_path))
    index = pipeline.open_video(segment_video, None)
    grid = pipeline.make_candidates(index, GRID)
    assert prepared.candidates.indices.tolist() == grid.indices.tolist()  # nothing failed to decode
    assert prepared.indices is prepared.candidates.indices
    assert prepared.timestamps is prepared.candidates.timestamps
    assert prepared.grid == GRID.key() == prepared.candidates.grid
    assert prepared.candidates.video.content_hash == index.info.content_hash
    np.testing.assert_array_equal(prepared.timestamps, index.frame_timestamps[prepared.indices])
    assert len(prepared.features[encoder.id]) == prepared.num_candidates == 40
    # The pipeline's features do not repeat the times: the candidates beside them hold them.
    assert prepared.features[encoder.id].timestamps is None


def test_prepared_video_refuses_features_or_scenes_of_other_candidates(segment_video):
    index = pipeline.open_video(segment_video, None)
    candidates = pipeline.make_candidates(index, GRID)
    rows = Features(np.ones((39, 8), dtype=np.float32), None, "e")
    with pytest.raises(ValueError, match="39 rows of 'e' features for 40 candidates"):
        pipeline.PreparedVideo(index, candidates, {"e": rows}, None, {})
    with pytest.raises(ValueError, match="need their timestamps"):
        pipeline.PreparedVideo(index, Candidates(candidates.indices, None), {}, None, {})


def test_a_selection_is_its_candidates_at_the_chosen_positions(segment_video, tmp_path):
    prepared = pipeline.prepare_video(segment_video, GRID, [], cache=FeatureCache(tmp_path))
    selection = api.select_prepared(prepared, 6, method="uniform")
    chosen = prepared.candidates.take(selection.positions)
    assert selection.indices.tolist() == chosen.indices.tolist()
    assert selection.timestamps.tolist() == chosen.timestamps.tolist()
    assert selection.num_candidates == len(prepared.candidates) and selection.video is prepared.candidates.video


def test_decoding_candidates_returns_the_subset_that_decoded(make_video, tmp_path):
    source = make_video("candidates_damage.mp4", [(10, GREY, "pattern"), (10, RED, "pattern")])
    whole = remux(source, tmp_path / "full.mp4", movflags="faststart")
    index = probe(whole)  # the index from when the file was whole
    half = tmp_path / "half.mp4"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    grid = pipeline.make_candidates(index, GridSpec(count=50))
    with VideoDecoder(half, index=index) as decoder:
        decoded = decoder.get_frames(grid)
    assert 0 < len(decoded) < len(grid) and decoded.failed.size == len(grid) - len(decoded)
    assert decoded.candidates.grid == grid.grid and decoded.candidates.video is grid.video
    assert decoded.indices.tolist() == grid.restrict_to(decoded.indices).indices.tolist()
    np.testing.assert_array_equal(decoded.timestamps, index.frame_timestamps[decoded.indices])
    assert decoded.frames.shape[0] == len(decoded.candidates)


def test_plain_indices_decode_to_candidates_of_the_video(segment_video):
    with VideoDecoder(segment_video) as decoder:
        decoded = decoder.get_frames([30, 5, 5])
    assert decoded.indices.tolist() == [5, 30] and decoded.timestamps.tolist() == pytest.approx([0.5, 3.0])
    assert decoded.candidates.video == decoder.info and decoded.candidates.grid == ""


def test_a_cache_entry_with_rows_off_the_grid_is_rebuilt(segment_video, tmp_path):
    encoder = load_encoder("hist")
    cache = FeatureCache(tmp_path)
    index = pipeline.open_video(segment_video, cache)
    key = feature_key(index.info.content_hash, encoder.id, GRID.key())
    off_grid = np.arange(1, 41, dtype=np.int64)  # 40 rows, but not the grid's frames
    rows = np.full((40, encoder.dim), 1.0 / np.sqrt(encoder.dim), dtype=np.float32)
    cache.put(key, {"embeddings": rows, "timestamps": off_grid / 10.0, "indices": off_grid})
    prepared = pipeline.prepare_video(segment_video, GRID, [encoder], cache=cache)
    assert prepared.timings["decode"] > 0  # the entry was not trusted
    assert cache.get(key)["indices"].tolist() == prepared.indices.tolist()
    assert not np.allclose(prepared.features[encoder.id].embeddings, rows)
