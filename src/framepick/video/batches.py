"""Decode a request for many frames in bounded batches, so memory follows the batch, not the video.

A ten-hour video with one candidate a second is 36,000 frames: decoded in one call at 224 px they
would need ~10 GB. :func:`decode_batches` decodes the same candidates a batch at a time through
one open :class:`~framepick.video.decode.VideoDecoder`, and the caller encodes (and drops) each
batch before the next one is decoded.

Batches are cut where a new group of pictures (GOP) begins whenever possible. A batch that ends
mid-GOP makes the next call seek back to that GOP's keyframe and decode its first frames again;
a cut at a keyframe costs nothing the single call would not have paid. Only a GOP holding more
candidates than a batch is split inside (then at most one GOP is decoded twice per cut).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from framepick.errors import InvalidArgumentError, VideoError
from framepick.types import Candidates
from framepick.video.decode import DecodedFrames, VideoDecoder

DEFAULT_BATCH_FRAMES = 64
"""Frames decoded per batch: two forward passes of the encoders' 32, and ~17 MB of 224 px 16:9
RGB, so a few batches in flight (decoding, queued, encoding) stay under 100 MB."""


def batch_bounds(gops: np.ndarray, batch_size: int) -> list[slice]:
    """Slices of the candidates, each at most ``batch_size`` long, cut where a GOP starts.

    ``gops`` holds each sorted candidate's GOP (the keyframe its decoding starts from,
    :meth:`VideoIndex.keyframe_before`). Pure (no I/O). Consecutive GOPs are packed greedily into
    a batch until the next GOP's candidates would overflow it; a GOP with more than ``batch_size``
    candidates is split into full batches (its remainder starts the next one).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InvalidArgumentError(f"batch size must be a positive integer, got {batch_size!r}")
    gops = np.asarray(gops, dtype=np.int64)
    if gops.size == 0:
        return []
    # Positions where a candidate's GOP differs from its predecessor's: the free places to cut.
    starts = np.flatnonzero(np.r_[True, gops[1:] != gops[:-1]]).tolist() + [int(gops.size)]
    bounds: list[slice] = []
    begin = 0
    for gop_start, gop_end in zip(starts[:-1], starts[1:]):
        if gop_end - begin <= batch_size:
            continue  # this GOP still fits in the open batch
        if gop_start > begin:
            bounds.append(slice(begin, gop_start))  # close the batch before this GOP
            begin = gop_start
        while gop_end - begin > batch_size:  # a GOP larger than a batch: split inside it
            bounds.append(slice(begin, begin + batch_size))
            begin += batch_size
    bounds.append(slice(begin, int(gops.size)))
    return bounds


def decode_batches(
    decoder: VideoDecoder,
    candidates: Candidates,
    *,
    short_side: int | None,
    batch_size: int = DEFAULT_BATCH_FRAMES,
) -> Iterator[DecodedFrames]:
    """The decoded frames of ``candidates``, one batch at a time, in increasing frame order.

    Frames that fail to decode are left out of their batch (as :meth:`VideoDecoder.get_frames`
    leaves them out); a batch of which nothing decodes is skipped. Raises :class:`VideoError` at
    the end when not one frame of the request decoded, as the single call does.
    """
    decoded = 0
    for bounds in batch_bounds(decoder.index.keyframe_before(candidates.indices), batch_size):
        try:
            batch = decoder.get_frames(candidates.take(np.arange(bounds.start, bounds.stop)), short_side=short_side)
        except VideoError:
            # get_frames raises only when none of the batch decodes; a damaged stretch of a long
            # video fails those candidates, not the video (the caller checks what survived).
            continue
        decoded += len(batch)
        yield batch
    if decoded == 0 and len(candidates):
        raise VideoError(
            f"none of the {len(candidates)} requested frames of {decoder.info.path!r} could be decoded"
        )
