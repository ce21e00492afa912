"""Embed videos on this machine, decoding the next batch while the encoders embed this one.

A background thread plans each video against the cache, probes it and decodes its candidates a
batch at a time, across videos, into a queue a few batches deep; this thread embeds each batch
and hands it to the writer (:class:`~framepick.embed.assemble.Assembler`). With ``overlap=False``
the same stages run one after the other in this thread: the baseline the benchmark compares with.
"""

from __future__ import annotations

import time
from typing import Iterator, Sequence

from framepick.embed.assemble import Assembler
from framepick.embed.events import Cached, Event, FrameBatch, VideoEnd
from framepick.embed.jobs import plan_job
from framepick.embed.prefetch import prefetch
from framepick.embed.progress import VideoBar
from framepick.embed.spec import EmbedSpec, Extractor, load_extractors
from framepick.embed.stages import decode_job, encode_batch, failure_reason
from framepick.embed.summary import EmbedSummary
from framepick.encode.cache import FeatureCache

QUEUE_DEPTH = 2
"""Decoded batches waiting for the encoders: enough to ride out one slow batch, and the bound on memory."""


def embed_videos(
    videos: Sequence[str],
    spec: EmbedSpec,
    cache: FeatureCache,
    *,
    overlap: bool = True,
    progress: bool = False,
) -> EmbedSummary:
    """Write every video's index, features (per encoder of ``spec``) and colour histograms to ``cache``.

    Videos whose entries are all cached are skipped; a video that cannot be read or decoded is
    counted in the summary's ``failed`` with its reason, and the run goes on.
    """
    started = time.perf_counter()
    extractors = load_extractors(spec)
    summary = EmbedSummary(videos=len(videos))
    with VideoBar(progress, summary) as bar:
        writer = Assembler(videos, spec, cache, summary, on_finished=bar.finished)
        events = _events(videos, spec, cache, extractors)
        if overlap:
            events = prefetch(events, QUEUE_DEPTH, name="framepick-decode")
        try:
            for event in events:
                writer.feed(encode_batch(event, extractors) if isinstance(event, FrameBatch) else event)
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        writer.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _events(
    videos: Sequence[str], spec: EmbedSpec, cache: FeatureCache, extractors: dict[str, Extractor]
) -> Iterator[Event]:
    """Every video's events in turn: planned against the cache, then decoded (the producer's work)."""
    for number, video in enumerate(videos):
        try:
            job = plan_job(number, video, cache, extractors, spec.grid)
        except Exception as exc:  # noqa: BLE001 - an unreadable file fails itself, as in decode_job
            yield VideoEnd(number, 0, failure_reason(exc))
            continue
        if job is None:
            yield Cached(number)
        else:
            yield from decode_job(job, spec)
