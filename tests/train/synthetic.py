"""Synthetic training episodes with a known answer, for trainer tests (no video, no real encoder).

Every episode shares a hidden "evidence" direction ``u``: frames inside the span carry it, and a
decoy stretch is more similar to the query than the span is. Top-k retrieval therefore picks the
decoy; a policy that learns "u-frames are the evidence" finds the span. The answer table is built
so the correct option wins exactly when a span frame is chosen.
"""

from __future__ import annotations

import numpy as np

from framepick.answer.offline import OfflineAnswerer
from framepick.train.episodes import Episode
from framepick.types import Sample

DIM = 16


class StubTextEncoder:
    """Just enough of an encoder for :class:`OfflineAnswerer` to do its arithmetic."""

    id = "stub"
    dim = DIM
    has_text = True

    def encode_text(self, texts):  # pragma: no cover - episodes carry their tables
        raise AssertionError("synthetic episodes never embed text")


def answerer() -> OfflineAnswerer:
    return OfflineAnswerer(encoder=StubTextEncoder())


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_episodes(count: int, *, seed: int, total: int = 64, span: int = 5) -> list[Episode]:
    directions = np.random.default_rng(12345)  # shared across calls: the same task for every seed
    u = unit(directions.normal(size=DIM))
    query_base = unit(directions.normal(size=DIM))
    rng = np.random.default_rng(seed)
    episodes = []
    for i in range(count):
        frames = rng.normal(size=(total, DIM)) * 0.6
        start = int(rng.integers(0, total - span))
        decoy = (start + total // 2) % (total - span)
        frames[start : start + span] += 2.0 * u
        frames[decoy : decoy + span] += 2.5 * query_base
        frames = unit(frames)
        query = unit(query_base + 0.1 * rng.normal(size=DIM))[None]
        in_span = np.zeros(total, dtype=bool)
        in_span[start : start + span] = True
        timestamps = np.arange(total, dtype=np.float64)
        # Option 0 (correct) matches span frames; options 1-3 match nothing in particular.
        similarity = np.full((4, total), 0.1, dtype=np.float32)
        similarity[0, in_span] = 0.5
        similarity[1:, :] += rng.uniform(0, 0.05, size=(3, total)).astype(np.float32)
        # The correct option describes the evidence (MSJoE's option-derived queries can find it).
        options = unit(np.concatenate([(u + 0.1 * rng.normal(size=DIM))[None], rng.normal(size=(3, DIM))]))
        sample = Sample(
            id=f"syn-{seed}-{i}", video=f"/synthetic/{seed}-{i}.mp4", question="which?",
            options=("a", "b", "c", "d"), answer="A", spans=((float(start), float(start + span - 1)),),
        )
        episodes.append(
            Episode(
                id=f"{sample.id}:text", sample=sample, mode="text", frames=frames, query=query,
                option_queries=options, timestamps=timestamps, in_span=in_span,
                answer_similarity=similarity, correct=0,
            )
        )
    return episodes
