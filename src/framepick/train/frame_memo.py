"""Candidate frames kept in memory while a trainer asks an MLLM about many subsets of them.

A GRPO group draws G subsets of k frames from the same T candidates, and the next step on the same
question draws from them again: decoding each subset's frames from the video every time would
decode the same frames many times over. :class:`FrameMemo` keeps decoded frames, fitted to the
answerer's side (:func:`framepick.answer.images.fit_frame`, so the model sees exactly the pixels
it would have seen from a fresh decode), keyed by the video's content hash and the source frame
index, least recently used first out once a byte budget is spent. Only the frames of subsets the
answer cache cannot answer are ever decoded (:mod:`framepick.train.subset_answers`), and the
missing frames of a whole group are decoded together, in bounded batches, in one pass over the file.

The budget is the choice between memory and decoding: 512 MiB by default is ~680 frames fitted
to 768x432 (two to three episodes' 256 candidates at most, since a group touches a few dozen of
them), and 0 keeps nothing (every miss is decoded).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.errors import VideoError
from framepick.validation import check_int

if TYPE_CHECKING:
    from framepick.types import Candidates
    from framepick.video.probe import VideoIndex

DEFAULT_MEMO_MB = 512


class FrameMemo:
    """Decoded candidate frames, fitted to ``max_side`` (None: as decoded), within ``budget_mb``."""

    def __init__(self, max_side: int | None, budget_mb: int = DEFAULT_MEMO_MB) -> None:
        check_int("frame memory (MB)", budget_mb, low=0)
        self.max_side = max_side
        self.budget = int(budget_mb) * 1024 * 1024
        self.bytes = 0
        self.decoded = 0
        """Frames decoded so far (a memo hit decodes nothing)."""
        self._frames: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()

    def frames(self, candidates: Candidates, index: VideoIndex | None) -> dict[int, np.ndarray]:
        """{source index: [H,W,3] frame} for every candidate of ``candidates`` that decodes.

        Frames held are reused; the others are decoded in one pass (bounded batches). A frame that
        does not decode is simply absent: the caller fails what needed it.
        """
        video = candidates.video.content_hash or candidates.video.path
        found: dict[int, np.ndarray] = {}
        missing: list[int] = []
        for position, source in enumerate(candidates.indices.tolist()):
            kept = self._frames.get((video, source))
            if kept is None:
                missing.append(position)
            else:
                self._frames.move_to_end((video, source))
                found[source] = kept
        if missing:
            found.update(self._decode(candidates.take(np.asarray(missing, dtype=np.int64)), index, video))
        return found

    def _decode(self, candidates: Candidates, index: VideoIndex | None, video: str) -> dict[int, np.ndarray]:
        from framepick.answer.images import fit_frame
        from framepick.video.batches import decode_batches
        from framepick.video.decode import VideoDecoder

        decoded: dict[int, np.ndarray] = {}
        try:
            with VideoDecoder(candidates.video.path, index=index) as decoder:
                for batch in decode_batches(decoder, candidates, short_side=None, batch_size=32):
                    for source, frame in zip(batch.indices.tolist(), batch.frames):
                        fitted = fit_frame(frame, self.max_side) if self.max_side else frame
                        decoded[source] = np.ascontiguousarray(fitted)
        except VideoError:
            return decoded  # none decoded: every subset that needs them fails, counted by the caller
        self.decoded += len(decoded)
        for source, frame in decoded.items():
            self._keep((video, source), frame)
        return decoded

    def _keep(self, key: tuple[str, int], frame: np.ndarray) -> None:
        if frame.nbytes > self.budget:
            return
        self._frames[key] = frame
        self.bytes += frame.nbytes
        while self.bytes > self.budget:
            _, dropped = self._frames.popitem(last=False)
            self.bytes -= dropped.nbytes


def subset_frames(found: dict[int, np.ndarray], sources: Sequence[int]) -> np.ndarray | None:
    """[k,H,W,3] the frames of ``sources`` in order from ``found``; None when one is missing."""
    if any(int(s) not in found for s in sources):
        return None
    return np.stack([found[int(s)] for s in sources])
