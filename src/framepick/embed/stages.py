"""The two stages of an embed, the same on one machine and on Ray: decode a video, encode a batch.

:func:`decode_job` turns one planned video into events: its start (index and candidates), its
frame batches (:func:`framepick.video.batches.decode_batches`, so memory follows the batch), and
its end. It never raises for a bad video: the failure is the end event's one-line ``error``, so
one corrupt file among thousands fails itself, not the run. :func:`encode_batch` embeds a batch
with every extractor the video lacks.
"""

from __future__ import annotations

import logging
import time
from typing import Iterator, Mapping

import numpy as np

from framepick.embed.events import EmbedJob, EncodedBatch, Event, FrameBatch, VideoEnd, VideoStart
from framepick.embed.spec import EmbedSpec, Extractor
from framepick.errors import FramepickError, one_line
from framepick.pipeline import check_damage, encode_frames, make_candidates

logger = logging.getLogger(__name__)


def decode_job(job: EmbedJob, spec: EmbedSpec) -> Iterator[Event]:
    """Start, frame batches and end of one video; a failure ends it with an error instead of raising."""
    from framepick.video.batches import decode_batches
    from framepick.video.decode import VideoDecoder
    from framepick.video.probe import probe

    seconds = {"probe": 0.0, "decode": 0.0}
    parts = 0
    try:
        start = time.perf_counter()
        index = job.index if job.index is not None else probe(job.video)
        candidates = make_candidates(index, spec.grid)
        seconds["probe"] = time.perf_counter() - start
        yield VideoStart(job, index, candidates)
        if job.missing:
            # As prepare_video: a damaged file is refused before decoding unless allowed.
            check_damage(index, np.empty(0), None, spec.allow_damaged)
            with VideoDecoder(job.video, index=index) as decoder:
                batches = decode_batches(decoder, candidates, short_side=job.short_side, batch_size=spec.batch_size)
                while True:
                    start = time.perf_counter()
                    batch = next(batches, None)
                    seconds["decode"] += time.perf_counter() - start
                    if batch is None:
                        break
                    yield FrameBatch(job.number, parts, batch.frames, batch.candidates, job.missing)
                    parts += 1
    except Exception as exc:  # noqa: BLE001 - one video's failure, whatever raised it, is reported, not fatal
        yield VideoEnd(job.number, parts, failure_reason(exc), seconds)
        return
    yield VideoEnd(job.number, parts, None, seconds)


def failure_reason(exc: BaseException) -> str:
    """One line for a video's failure: framepick's own message, else the library's, marked as such."""
    if isinstance(exc, FramepickError):
        return str(exc)
    if isinstance(exc, OSError):
        return one_line(exc, os_reason=True)
    logger.debug("embedding failed with an unexpected error", exc_info=exc)
    return f"unexpected {one_line(exc)}"


def encode_batch(batch: FrameBatch, extractors: Mapping[str, Extractor]) -> EncodedBatch:
    """The batch's features for each extractor it names (loaded once per process by the caller)."""
    start = time.perf_counter()
    features = {name: encode_frames(extractors[name], batch.frames) for name in batch.extractors}
    return EncodedBatch(batch.number, batch.part, batch.candidates, features, time.perf_counter() - start)
