"""What an answerer can do is its type: evaluation, filtering and training dispatch on it."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest
from eval.needle_video import NEEDLE_SPAN, eval_cache, needle_row, needle_videos, write_manifest_rows  # noqa: F401

from framepick.answer import (
    Answer,
    Answerer,
    EmbeddingAnswerer,
    OfflineAnswerer,
    OptionSimilarityAnswerer,
    load_answerer,
)
from framepick.errors import InvalidArgumentError
from framepick.video.candidates import GridSpec

GRID = GridSpec(count=32)


class FramesOnly(Answerer):
    """An answerer that can only look at frames (as an MLLM behind an API): counts its calls."""

    def __init__(self) -> None:
        self.inner = load_answerer("offline")
        self.id = "frames-only"
        self.calls = 0

    def answer(self, frames: np.ndarray, timestamps: Sequence[float] | None, question: str, options: Sequence[str]) -> Answer:
        self.calls += 1
        return self.inner.answer(frames, timestamps, question, options)


def test_the_offline_answerer_declares_what_it_can_do():
    answerer = load_answerer("offline")
    assert isinstance(answerer, OfflineAnswerer)
    assert isinstance(answerer, EmbeddingAnswerer) and isinstance(answerer, OptionSimilarityAnswerer)
    assert answerer.encoder_id == answerer.encoder.id
    assert not isinstance(FramesOnly(), EmbeddingAnswerer)


def test_a_capability_is_a_contract_not_a_name():
    class Half(EmbeddingAnswerer):  # claims the capability without the method
        id = "half"

        def answer(self, frames, timestamps, question, options):
            return Answer("A")

    with pytest.raises(TypeError, match="answer_embeddings"):
        Half()


@pytest.fixture
def one_sample(needle_videos, tmp_path):
    from framepick.data.manifest import read_manifest

    row = needle_row("needle-1", needle_videos["needle"], NEEDLE_SPAN)
    return read_manifest(write_manifest_rows(tmp_path / "m.jsonl", [row])).samples


def test_eval_decodes_the_chosen_frames_for_an_answerer_without_embeddings(one_sample, tmp_path, eval_cache):
    from framepick.eval import read_records, run_eval

    answerer = FramesOnly()
    run_eval(one_sample, tmp_path / "run", methods="topk", ks=(2, 4), answerer=answerer, grid=GRID, cache=eval_cache,
             queries=("text",))
    records = read_records(tmp_path / "run")
    assert answerer.calls == len(records) == 2
    assert all(r["answerer"] == "frames-only" and r["answer"] is not None for r in records)
    assert all(r["timings_seconds"]["decode"] > 0 for r in records)  # the chosen frames were decoded


def test_eval_refuses_an_answerer_that_is_no_answerer(one_sample, tmp_path, eval_cache):
    from framepick.eval import run_eval

    with pytest.raises(InvalidArgumentError, match="answerer must be a spec such as 'offline' or an Answerer, got object"):
        run_eval(one_sample, tmp_path / "run", methods="topk", ks=(2,), answerer=object(), grid=GRID, cache=eval_cache)
    assert not (tmp_path / "run").exists()


def test_filtering_decodes_subsets_for_an_answerer_without_embeddings(one_sample, eval_cache):
    from framepick.data.filter import reward_variances

    answerer = FramesOnly()
    (variance,) = reward_variances(one_sample, answerer, windows=2, frames=4, grid=GRID, cache=eval_cache)
    assert answerer.calls == variance.subsets > 0 and variance.error is None  # one answer per non-empty subset


def test_training_dispatches_on_what_the_answerer_can_do(one_sample, eval_cache):
    """The offline matcher gets answer tables; an answerer that only looks at frames (an MLLM) gets
    the candidates to decode, and is not asked anything while the episodes are built; a non-answerer
    is a one-line error."""
    from framepick.api import feature_cache
    from framepick.encode import load_encoder
    from framepick.train.episodes import build_episodes

    frames_only, store = FramesOnly(), feature_cache(eval_cache)
    (episode,), _ = build_episodes(one_sample, encoder=load_encoder("offline"), answerer=frames_only, grid=GRID, cache=store)
    assert episode.answer_similarity is None and episode.correct == 0 and frames_only.calls == 0
    assert len(episode.candidates) == episode.num_candidates and episode.video_index is not None
    (table,), _ = build_episodes(one_sample, encoder=load_encoder("offline"), answerer=load_answerer("offline"), grid=GRID, cache=store)
    assert table.answer_similarity is not None and table.candidates is None
    with pytest.raises(InvalidArgumentError) as caught:
        build_episodes(one_sample, encoder=load_encoder("offline"), answerer=object(), grid=GRID, cache=None)
    assert str(caught.value) == "training needs an answerer (offline, hf:..., openai:...), got 'object'"
