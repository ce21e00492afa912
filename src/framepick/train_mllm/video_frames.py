"""A training sample's frames, decoded once and kept small.

The candidate grid is framepick's (``--candidates`` uniform frames, :class:`GridSpec`), the frames
the clip model sees are :func:`framepick.clip_model.shown_positions` of it, as at inference. The
SFT stages need only the shown frames; GRPO also needs every candidate, since the any-k sampling
picks the answerer's frames from the whole grid. Frames are decoded once per sample at most
``max_side`` pixels on their longer side and kept in memory for the run: about
``frames x max_side^2 x 3 x 9/16`` bytes per 16:9 sample (256 candidates at 336 px: ~49 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framepick.clip_model import shown_positions
from framepick.encode.cache import FeatureCache
from framepick.types import Sample, question_with_options
from framepick.validation import check_int


@dataclass(frozen=True)
class SampleFrames:
    """The decoded candidates of one sample (all, or only the shown ones) and which are shown."""

    sample: Sample
    video_hash: str
    indices: np.ndarray
    """Source frame index of each decoded candidate."""
    timestamps: np.ndarray
    frames: np.ndarray
    """[n, H, W, 3] uint8 RGB, one per entry of ``indices``."""
    shown: np.ndarray
    """Positions (into ``indices``) of the frames the clip model sees, numbered 0..len-1 in its prompt."""

    @property
    def shown_frames(self) -> np.ndarray:
        return self.frames[self.shown]

    @property
    def shown_times(self) -> np.ndarray:
        return self.timestamps[self.shown]

    @property
    def num_candidates(self) -> int:
        return int(self.indices.shape[0])


def query_text(sample: Sample) -> str:
    """What the clip model is asked about: :func:`framepick.types.question_with_options`, as at inference."""
    return question_with_options(sample.question, sample.options)


def short_side_for(width: int, height: int, max_side: int) -> int | None:
    """The decoder's ``short_side`` that makes the longer side at most ``max_side`` (None: keep the size)."""
    if max(width, height) <= max_side:
        return None
    return max(1, int(min(width, height) * max_side // max(width, height)))


def decode_sample(
    sample: Sample,
    *,
    candidates: int,
    shown: int,
    max_side: int,
    all_candidates: bool,
    cache: FeatureCache | None = None,
) -> SampleFrames:
    """Decode ``sample``'s shown frames (and every candidate when ``all_candidates``) once."""
    from framepick.pipeline import make_candidates, open_video
    from framepick.video.candidates import GridSpec
    from framepick.video.decode import VideoDecoder

    check_int("--candidates", candidates, low=1)
    check_int("--shown", shown, low=1)
    check_int("--max-side", max_side, low=16)
    index = open_video(sample.video, cache)
    grid = make_candidates(index, GridSpec(count=candidates))
    wanted = grid if all_candidates else grid.take(shown_positions(len(grid), shown))
    short = short_side_for(index.info.width, index.info.height, max_side)
    with VideoDecoder(index.info.path, index=index) as decoder:
        decoded = decoder.get_frames(wanted, short_side=short)
    indices = np.asarray(decoded.indices, dtype=np.int64)
    positions = shown_positions(indices.shape[0], shown) if all_candidates else np.arange(indices.shape[0])
    return SampleFrames(
        sample=sample,
        video_hash=index.info.content_hash,
        indices=indices,
        timestamps=np.asarray(decoded.timestamps, dtype=np.float64),
        frames=np.asarray(decoded.frames),
        shown=np.asarray(positions, dtype=np.int64),
    )


def decode_samples(
    samples: list[Sample],
    *,
    candidates: int,
    shown: int,
    max_side: int,
    all_candidates: bool,
    cache: FeatureCache | None = None,
    progress: bool = False,
) -> tuple[list[SampleFrames], list[tuple[str, str]]]:
    """:func:`decode_sample` for each sample; a sample whose video fails is skipped and counted
    (``(id, reason)``), never fatal."""
    from tqdm import tqdm

    from framepick.errors import FramepickError

    decoded, skipped = [], []
    for sample in tqdm(samples, desc="decoding", unit="video", disable=not progress):
        try:
            decoded.append(decode_sample(sample, candidates=candidates, shown=shown, max_side=max_side,
                                         all_candidates=all_candidates, cache=cache))
        except (FramepickError, OSError) as error:
            skipped.append((sample.id, " ".join(str(error).split())))
    return decoded, skipped
