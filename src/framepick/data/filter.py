"""Reward-variance filtering of a manifest (ReFoCUS, paper 001, Sec 3.1 and Appendix A.1).

A sample whose answer does not depend on which frames the answerer sees gives a policy nothing to
learn from. ReFoCUS keeps a QA pair only when the margin reward varies across 16 frame subsets:

1. **Subsets** (A.1). Over the ``T`` frames of the video, window ``w = ceil(T/8)``, stride
   ``s = ceil(w/2)``; windows ``W_i = [(i-1)s, (i-1)s + w)`` for i = 1..7 and, as the paper writes
   it, ``W_8 = [0, s) U [7s, T)``; complements ``C_i = [0, T) \\ W_i``. From each of the 16 ranges
   ``k = 32`` frames are sampled uniformly. With ``n`` windows in general: ``w = ceil(T/n)``,
   ``W_n = [0, s) U [(n-1)s, T)``. (Windows 1..7 overlap by half and reach only ``6s + w``, about
   9/16 of the video; the paper's ``W_8`` takes the rest plus the head. We follow the paper.)
2. **Margin reward** (Eq. 5, B.3.1): ``r = tanh((z* - z~)/2)`` with ``z*`` the correct option's
   logit and ``z~`` the best wrong option's. From option probabilities ``p`` we use log-probs,
   which differ from the logits by one constant per answer, so ``r = tanh((log p* - log p~)/2)``,
   computed as the equal ``(p* - p~) / (p* + p~)`` (no log of 0). ``r`` is in [-1, 1].
3. **Variance** ``Var(r_1..r_16)``: the population variance (``ddof=0``; the paper does not say
   which). Samples with variance **above** ``threshold`` (0.21 by default) are kept.

Here ``T`` is the sample's candidate grid (default 256 uniform candidates, the grid ``framepick
eval`` embeds and caches), not every frame of the source: with 256 candidates a window holds 32
and its 32 "uniformly sampled" frames are all of it. Raise ``candidates`` for finer subsets. Subsets
left empty by a very short grid are skipped (the variance is over the rest). Samples without a
gold answer or with fewer than 2 options have no margin and are not kept.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from framepick.errors import FramepickError, InvalidArgumentError
from framepick.rewards import margin_reward
from framepick.spacing import evenly_spaced
from framepick.types import Sample
from framepick.validation import check_positive_int

if TYPE_CHECKING:
    from framepick.answer.base import Answer, Answerer
    from framepick.pipeline import PreparedVideo
    from framepick.video.candidates import GridSpec

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.21
DEFAULT_WINDOWS = 8
DEFAULT_FRAMES = 32


class NoOptionProbabilities(InvalidArgumentError):
    """The answerer gives no option probabilities, so no margin reward can be computed."""


def window_ranges(num_frames: int, windows: int = DEFAULT_WINDOWS) -> list[np.ndarray]:
    """The ``windows`` temporal windows of A.1 as sorted position arrays (some may be empty)."""
    check_positive_int("num_frames", num_frames)
    check_positive_int("windows", windows)
    w = math.ceil(num_frames / windows)
    s = math.ceil(w / 2)
    ranges = []
    for i in range(windows - 1):
        ranges.append(np.arange(min(i * s, num_frames), min(i * s + w, num_frames)))
    last = np.concatenate([np.arange(0, min(s, num_frames)), np.arange(min((windows - 1) * s, num_frames), num_frames)])
    ranges.append(np.unique(last))
    return ranges


def uniform_sample(positions: np.ndarray, count: int) -> np.ndarray:
    """``count`` positions spread evenly over ``positions`` (the centre of each of ``count`` equal
    parts, as the ``uniform`` selector does); all of them when there are not more than ``count``."""
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size <= count:
        return positions
    return positions[evenly_spaced(positions.size, count)]


def frame_subsets(num_frames: int, windows: int = DEFAULT_WINDOWS, frames: int = DEFAULT_FRAMES) -> list[np.ndarray]:
    """The ``2 * windows`` subsets of A.1: ``frames`` positions from each window, then from each complement."""
    check_positive_int("frames", frames)
    window_sets = window_ranges(num_frames, windows)
    every = np.arange(num_frames)
    complements = [np.setdiff1d(every, window) for window in window_sets]
    return [uniform_sample(r, frames) for r in window_sets] + [uniform_sample(r, frames) for r in complements]


@dataclass(frozen=True)
class SampleVariance:
    """The 16 margins of one sample and their variance; ``kept`` when it exceeds the threshold."""

    sample_id: str
    variance: float | None
    """None when the sample has no margin (no gold answer, or fewer than 2 options) or failed."""
    margins: tuple[float, ...]
    kept: bool
    subsets: int
    """How many non-empty subsets were answered."""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample_id": self.sample_id,
            "variance": None if self.variance is None else round(self.variance, 6),
            "kept": self.kept,
            "margins": [round(m, 6) for m in self.margins],
            "subsets": self.subsets,
            "error": self.error,
        }


def reward_variances(
    samples: Sequence[Sample],
    answerer: str | Answerer = "offline",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    windows: int = DEFAULT_WINDOWS,
    frames: int = DEFAULT_FRAMES,
    grid: GridSpec | None = None,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
) -> Iterator[SampleVariance]:
    """Yield one :class:`SampleVariance` per sample, in order (see the module docstring).

    ``answerer``: a spec (``"offline"``) or an :class:`~framepick.answer.base.Answerer`. An
    :class:`~framepick.answer.base.EmbeddingAnswerer` (the offline one) answers from the cached
    candidate embeddings; any other gets the subset's frames decoded from the video.
    """
    from framepick import api, pipeline
    from framepick.answer import EmbeddingAnswerer, load_answerer
    from framepick.video.candidates import GridSpec

    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold)):
        raise InvalidArgumentError(f"threshold must be a finite number, got {threshold!r}")
    check_positive_int("windows", windows)
    check_positive_int("frames", frames)
    grid = grid if grid is not None else GridSpec(count=256)
    store = api.feature_cache(cache)
    answerer_obj = load_answerer(answerer) if isinstance(answerer, str) else answerer
    from_embeddings = isinstance(answerer_obj, EmbeddingAnswerer)
    encoders = [answerer_obj.encoder] if from_embeddings else []

    prepared_key, prepared = None, None
    for sample in samples:
        if sample.answer_index is None or len(sample.options) < 2:
            yield SampleVariance(sample.id, None, (), False, 0, "no gold answer or fewer than 2 options")
            continue
        try:
            key = str(Path(sample.video).resolve())
            if key != prepared_key:
                prepared = pipeline.prepare_video(sample.video, grid, encoders, cache=store, allow_damaged=allow_damaged)
                prepared_key = key
            margins = []
            subsets = [s for s in frame_subsets(prepared.num_candidates, windows, frames) if s.size]
            for positions in subsets:
                if from_embeddings:
                    embeddings = prepared.features[answerer_obj.encoder_id].embeddings[positions]
                    answer = answerer_obj.answer_embeddings(
                        embeddings, prepared.timestamps[positions], sample.question, sample.options
                    )
                else:
                    answer = _answer_from_frames(answerer_obj, prepared, positions, sample)
                if answer.option_probs is None:
                    raise NoOptionProbabilities(
                        f"answerer {answerer_obj.id!r} gives no option probabilities; "
                        "the margin reward needs them"
                    )
                margins.append(margin_reward(answer.option_probs, sample.answer_index))
        except NoOptionProbabilities:
            raise
        except FramepickError as exc:
            logger.warning("sample %s: %s; not kept", sample.id, exc)
            prepared_key = None
            yield SampleVariance(sample.id, None, (), False, 0, str(exc))
            continue
        variance = float(np.var(margins)) if margins else None
        kept = variance is not None and variance > threshold
        yield SampleVariance(sample.id, variance, tuple(margins), kept, len(margins))


def _answer_from_frames(answerer: Answerer, prepared: PreparedVideo, positions: np.ndarray, sample: Sample) -> Answer:
    from framepick.video.decode import VideoDecoder

    with VideoDecoder(prepared.index.info.path, index=prepared.index) as decoder:
        decoded = decoder.get_frames(prepared.indices[positions])
    return answerer.answer(decoded.frames, decoded.timestamps, sample.question, sample.options)


@dataclass
class FilterReport:
    """Counts of one filtering run."""

    total: int = 0
    kept: int = 0
    dropped: int = 0
    """Scored, with variance at or below the threshold."""
    unscorable: int = 0
    """No gold answer / options, or the video failed."""
    seconds: float = 0.0

    def summary(self, threshold: float) -> str:
        return (
            f"kept {self.kept} of {self.total} samples (variance > {threshold:g}); dropped {self.dropped} "
            f"at or below it; {self.unscorable} without a margin (no gold answer or options, or an unusable video)"
        )


def filter_manifest(
    samples: Sequence[Sample],
    out_manifest: str | Path,
    variances_path: str | Path,
    answerer: str | Answerer = "offline",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    windows: int = DEFAULT_WINDOWS,
    frames: int = DEFAULT_FRAMES,
    grid: GridSpec | None = None,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
    progress: bool = False,
) -> FilterReport:
    """Write the kept samples as a manifest and every sample's variance as JSONL (both atomically)."""
    import json

    from tqdm import tqdm

    from framepick.data.manifest import write_manifest
    from framepick.export import write_text

    start = time.perf_counter()
    report = FilterReport(total=len(samples))
    kept: list[Sample] = []
    lines: list[str] = []
    by_id = {sample.id: sample for sample in samples}
    results = reward_variances(
        samples, answerer, threshold=threshold, windows=windows, frames=frames, grid=grid, cache=cache,
        allow_damaged=allow_damaged,
    )
    for result in tqdm(results, total=len(samples), desc="filter", unit="sample", disable=not progress):
        lines.append(json.dumps(result.to_dict()))
        if result.kept:
            report.kept += 1
            kept.append(by_id[result.sample_id])
        elif result.variance is None:
            report.unscorable += 1
        else:
            report.dropped += 1
    write_text(Path(variances_path), "".join(line + "\n" for line in lines))
    write_manifest(out_manifest, kept)
    report.seconds = time.perf_counter() - start
    return report

