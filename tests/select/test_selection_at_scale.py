"""MMR and the near-duplicate guard on long grids compare only the frames that could be chosen;
their choices are exactly those of comparing every frame with every chosen one (kept here, as the
reference, in the form both had before)."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.select.dedup import drop_near_duplicates
from framepick.select.mmr import mmr_order, normalised_relevance, typical_similarity


def reference_mmr(relevance, embeddings, k, weight):
    total = embeddings.shape[0]
    features = embeddings.astype(np.float64)
    floor = min(typical_similarity(features), 1.0 - 1e-6)
    redundancy, taken = np.zeros(total), np.zeros(total, dtype=bool)
    order = []
    for _ in range(min(k, total)):
        gain = weight * relevance - (1.0 - weight) * redundancy
        gain[taken] = -np.inf
        position = int(np.argmax(gain))
        order.append(position)
        taken[position] = True
        np.maximum(redundancy, np.clip((features @ features[position] - floor) / (1.0 - floor), 0.0, 1.0), out=redundancy)
    return np.asarray(order)


def reference_dedup(chosen, embeddings, k, threshold, scores):
    features = np.asarray(embeddings, dtype=np.float32)
    total = features.shape[0]
    want = min(k, total)
    relevance = None if scores is None else np.asarray(scores, dtype=np.float64)
    order = chosen if relevance is None else chosen[np.argsort(-relevance[chosen], kind="stable")]
    kept, closest, taken = [], np.full(total, -np.inf), np.zeros(total, dtype=bool)

    def keep(position):
        kept.append(position)
        taken[position] = True
        np.maximum(closest, features @ features[position], out=closest)

    for position in order:
        if len(kept) < want and closest[position] < threshold:
            keep(int(position))
    positions = np.arange(total)
    while len(kept) < want:
        free = ~taken & (closest < threshold)
        if free.any():
            if relevance is not None:
                priority = np.where(free, relevance, -np.inf)
            else:
                gap = np.min(np.abs(positions[:, None] - np.asarray(kept)[None, :]), axis=1) if kept else positions
                priority = np.where(free, gap.astype(np.float64), -np.inf)
            keep(int(np.argmax(priority)))
        else:
            keep(int(np.argmin(np.where(taken, np.inf, closest))))
    return np.sort(np.asarray(kept))


def video_like(total, dim, seed, *, copies=0):
    """Features drifting like a video's (neighbours alike), some frames exact copies; scores with ties."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(size=(total, dim)), axis=0) * 0.3 + rng.normal(size=(total, dim))
    for _ in range(copies):
        a, b = rng.integers(0, total, size=2)
        walk[b] = walk[a]
    features = (walk / np.linalg.norm(walk, axis=1, keepdims=True)).astype(np.float32)
    scores = np.round(features @ features[rng.integers(total)], 2)  # rounding makes ties
    return features, scores


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 1.0])
def test_mmr_picks_what_comparing_everything_picks(seed, weight):
    features, scores = video_like(600, 16, seed, copies=40)
    relevance = normalised_relevance(scores)
    for k in (1, 7, 40, 600, 700):
        np.testing.assert_array_equal(mmr_order(relevance, features, k, weight), reference_mmr(relevance, features, k, weight))


def test_mmr_with_flat_relevance_still_matches():
    features, _ = video_like(300, 8, 1, copies=30)
    flat = np.zeros(300)
    np.testing.assert_array_equal(mmr_order(flat, features, 25, 0.5), reference_mmr(flat, features, 25, 0.5))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.5, 0.9, 0.95, 0.999])
def test_the_guard_keeps_what_comparing_everything_keeps(seed, threshold):
    features, scores = video_like(500, 12, seed, copies=60)
    rng = np.random.default_rng(seed)
    for k in (1, 8, 50, 499, 600):
        chosen = np.sort(rng.choice(500, size=min(k, 500), replace=False))
        for given in (scores, None):
            np.testing.assert_array_equal(
                drop_near_duplicates(chosen, features, k, threshold=threshold, scores=given),
                reference_dedup(chosen, features, k, threshold, given),
            )


def test_the_guard_on_a_video_of_one_picture_returns_k_frames_as_before():
    features = np.tile(np.eye(4, dtype=np.float32)[0], (50, 1))
    scores = np.linspace(0, 1, 50)
    kept = drop_near_duplicates(np.array([49, 48, 47]), features, 5, scores=scores)
    np.testing.assert_array_equal(kept, reference_dedup(np.array([49, 48, 47]), features, 5, 0.95, scores))
    assert kept.shape == (5,)
