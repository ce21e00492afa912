"""The data flow of DESIGN.md section 1: video -> candidates -> features -> scores/scenes -> selection.

Each video is probed once and embedded once per (encoder, candidate grid); both results live in
the feature cache, so a second question on the same video neither decodes nor embeds again. The
functions here are the composable layer under :func:`framepick.select_frames`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from framepick.encode.base import Encoder
from framepick.encode.cache import FeatureCache, feature_key
from framepick.errors import InvalidArgumentError
from framepick.types import Candidates, Features, OnCandidates, Query, Scene, Selection
from framepick.video.candidates import GridSpec, candidate_grid
from framepick.video.probe import VideoIndex, content_hash, probe

logger = logging.getLogger(__name__)

@dataclass
class Timer:
    """Accumulates wall time per stage, for the output's ``timings_seconds``.

    ``probe`` (hashing and indexing the file, or reading that index from the cache) is counted
    apart from ``decode`` (decoding candidate frames), so users can see which one a long video
    spends its time in.
    """

    probe: float = 0.0
    decode: float = 0.0
    encode: float = 0.0
    select: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"probe": self.probe, "decode": self.decode, "encode": self.encode, "select": self.select}


def index_key(content_hash: str) -> str:
    """The cache key of a video's index (:func:`open_video`), by the content it indexes."""
    # v2: indexes of packed-B-frame files made before v2 matched frames by the wrong stamps.
    return f"index-v2-{content_hash}"


def cached_index(cache: FeatureCache, path: str | Path, content_hash: str) -> VideoIndex | None:
    """The index of the video with ``content_hash`` from the cache, named ``path``; None on a miss."""
    key = index_key(content_hash)
    arrays = cache.get(key)
    if arrays is None:
        return None
    try:
        index = VideoIndex.from_arrays(arrays)
    except (KeyError, ValueError) as exc:  # an entry from an older layout: rebuild it
        logger.debug("rebuilding cached index %s: %s", key, exc)
        return None
    # The cache is keyed by content, so the same bytes may live under another name.
    return replace(index, info=replace(index.info, path=str(path)))


def open_video(path: str | Path, cache: FeatureCache | None) -> VideoIndex:
    """Probe a video once; later calls on the same content read the index from the cache."""
    path = Path(path)
    if cache is None or not path.is_file():
        return probe(path)  # probe names what is wrong with a missing path
    digest = content_hash(path)
    index = cached_index(cache, path, digest)
    if index is None:
        index = probe(path)
        cache.put(index_key(digest), index.to_arrays())
    return index


def make_candidates(index: VideoIndex, grid: GridSpec) -> Candidates:
    indices, timestamps = candidate_grid(index, grid)
    return Candidates(indices=indices, timestamps=timestamps, video=index.info, grid=grid.key())


@dataclass(frozen=True)
class FrameRows:
    """One feature matrix and the candidates its rows belong to, row for row.

    Candidates whose frames fail to decode are dropped (the decoder warns), so rows can be fewer
    than the grid's candidates; ``candidates`` says which survived.
    """

    candidates: Candidates
    features: Features

    def __post_init__(self) -> None:
        if len(self.features) != len(self.candidates):
            raise ValueError(f"{len(self.features)} feature rows for {len(self.candidates)} candidates")

    def features_of(self, candidates: Candidates) -> Features:
        """The rows of ``candidates``, a subset of this matrix's (the frames every extractor decoded)."""
        if len(candidates) == len(self.candidates):
            return self.features  # the same subset: no copy
        return self.features.rows(np.isin(self.candidates.indices, candidates.indices))


class ColorHistograms:
    """Raw per-channel colour histograms for scene cuts, cached like an encoder's features.

    Not an :class:`Encoder`: scene detection compares histograms that sum to one per channel,
    and L2-normalising them (as encoders do) would make the distance depend on how peaked a
    frame's colours are.
    """

    id = "colorhist-16"
    input_size = 64
    dim = 48

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        from framepick.video.histogram import color_histograms

        # Frames may arrive at an encoder's larger size; a histogram needs only ~input_size
        # pixels on the short side, and striding keeps the colour proportions.
        stride = max(1, min(frames.shape[1:3]) // self.input_size)
        return color_histograms(frames[:, ::stride, ::stride], bins=16)


def embed_candidates(
    index: VideoIndex,
    candidates: Candidates,
    extractors: Iterable[Encoder | ColorHistograms],
    cache: FeatureCache | None,
    timer: Timer,
    *,
    progress: bool = False,
    batch_size: int | None = None,
) -> dict[str, FrameRows]:
    """Features of the candidates for each extractor, decoding at most once for all cache misses.

    Misses are decoded a batch at a time (:func:`framepick.video.batches.decode_batches`, default
    :data:`~framepick.video.batches.DEFAULT_BATCH_FRAMES` frames) and every extractor embeds a
    batch before the next is decoded: memory follows the batch, not the number of candidates.
    """
    from framepick.video.batches import DEFAULT_BATCH_FRAMES, decode_batches
    from framepick.video.decode import VideoDecoder

    found: dict[str, FrameRows] = {}
    missing = []
    for extractor in extractors:
        key = feature_key(index.info.content_hash, extractor.id, candidates.grid)
        cached = cache.get(key) if cache is not None else None
        rows = _cached_rows(cached, candidates, extractor.id, extractor.dim) if cached is not None else None
        if rows is not None:
            found[extractor.id] = rows
        else:
            missing.append((extractor, key))
    if not missing:
        return found

    short_side = max(extractor.input_size for extractor, _ in missing)
    parts: dict[str, list[Features]] = {extractor.id: [] for extractor, _ in missing}
    kept: list[np.ndarray] = []
    bar = _frames_bar(progress, len(candidates), Path(index.info.path).name)
    try:
        with VideoDecoder(index.info.path, index=index) as decoder:
            size = batch_size or DEFAULT_BATCH_FRAMES
            batches = decode_batches(decoder, candidates, short_side=short_side, batch_size=size)
            while True:
                start = time.perf_counter()
                batch = next(batches, None)
                timer.decode += time.perf_counter() - start
                if batch is None:
                    break
                for extractor, _ in missing:
                    start = time.perf_counter()
                    parts[extractor.id].append(encode_frames(extractor, batch.frames))
                    timer.encode += time.perf_counter() - start
                kept.append(batch.indices)
                if bar is not None:
                    bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()

    decoded = candidates.restrict_to(np.concatenate(kept))
    for extractor, key in missing:
        rows = FrameRows(decoded, join_features(parts[extractor.id]))
        if cache is not None:
            store_rows(cache, key, rows)
        found[extractor.id] = rows
    return found


def encode_frames(extractor: Encoder | ColorHistograms, frames: np.ndarray) -> Features:
    """One extractor's features of [n,H,W,3] ``frames``, with the rows' norms where it reports them."""
    if _reports_norms(extractor):
        embeddings, norms = extractor.encode_images_with_norms(frames)
    else:
        embeddings, norms = extractor.encode_images(frames), None
    return Features(embeddings, None, extractor.id, norms)


def join_features(parts: Sequence[Features]) -> Features:
    """Batches of one extractor's features, in order, as one matrix (norms kept when every batch has them)."""
    norms = [part.norms for part in parts]
    return Features(
        np.concatenate([part.embeddings for part in parts]), None, parts[0].encoder_id,
        None if any(n is None for n in norms) else np.concatenate(norms),  # type: ignore[arg-type]
    )


def store_rows(cache: FeatureCache, key: str, rows: FrameRows) -> None:
    """Write one extractor's rows as the entry :func:`embed_candidates` reads back under ``key``."""
    # The entry keeps its timestamps although reads take them from the grid: the layout stays the
    # one older versions wrote and read, plus the rows' norms when the encoder gave them.
    arrays = {
        "embeddings": rows.features.embeddings,
        "timestamps": rows.candidates.timestamps,
        "indices": rows.candidates.indices,
    }
    if rows.features.norms is not None:
        arrays["norms"] = rows.features.norms
    cache.put(key, arrays)


def _reports_norms(extractor: Encoder | ColorHistograms) -> bool:
    """An encoder that can give its rows' norms before normalisation (CLIP, SigLIP)."""
    return isinstance(extractor, Encoder) and extractor.reports_norms


def _frames_bar(enabled: bool, total: int, name: str):
    """One bar over the candidates as they are decoded and embedded, or None."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"embed {name}", unit="frame", leave=False)


def _cached_rows(arrays: dict[str, np.ndarray], candidates: Candidates, encoder_id: str, dim: int) -> FrameRows | None:
    """The rows a cache entry holds, or None when it is not an entry for exactly these candidates."""
    if not {"embeddings", "timestamps", "indices"} <= set(arrays):
        return None
    emb, indices = arrays["embeddings"], arrays["indices"]
    if emb.ndim != 2 or emb.shape[1] != dim or emb.shape[0] != indices.shape[0]:
        return None
    kept = candidates.restrict_to(indices)
    if len(kept) != indices.shape[0]:  # rows of frames off this grid: rebuild the entry
        return None
    # An entry from before norms were kept (or from an encoder without them) stays valid: its
    # features simply have no norms, and a model that wants raw rows says so.
    norms = arrays.get("norms")
    return FrameRows(kept, Features(emb, None, encoder_id, norms if norms is not None and norms.shape == indices.shape else None))


def embed_query(encoder: Encoder, query: Query) -> np.ndarray:
    """[Q,D] rows for the question text and/or the query image, in the frames' space."""
    rows = []
    if query.text and query.text.strip():
        rows.append(encoder.encode_text([query.text])[0])
    if query.image is not None:
        rows.append(encoder.encode_images(query.image[None])[0])
    if not rows:
        raise InvalidArgumentError("the query is empty: give a non-empty --question or a --query-image")
    return np.stack(rows).astype(np.float32)


OPTION_QUERY_TEMPLATE = "{question} {option}"
"""How a learned selector's option queries are written; the offline answerer's default template too."""


def embed_options(encoder: Encoder, question: str, options: Sequence[str]) -> np.ndarray:
    """[m,D] embeddings of "question option" texts, one per option, in the frames' space."""
    texts = [OPTION_QUERY_TEMPLATE.format(question=question.strip(), option=str(o).strip()) for o in options]
    return np.asarray(encoder.encode_text(texts), dtype=np.float32)


def relevance(features: Features, query_embedding: np.ndarray) -> np.ndarray:
    """Cosine similarity of each frame to the query, averaged over the query's rows.

    With both a question and a query image, each contributes equally: neither is privileged
    because the user gave both on purpose.
    """
    return (features.embeddings @ query_embedding.T).mean(axis=1).astype(np.float64)




def check_damage(index: VideoIndex, wanted: np.ndarray, kept: np.ndarray | None, allow: bool) -> None:
    """Refuse a damaged video unless the caller allowed it; then only warn.

    A damaged file would silently change what "K of N candidates" means, so by default it is an
    error naming the damage. With ``allow`` the selection runs on the frames that decode.
    """
    from framepick.errors import VideoError

    problems = []
    if index.damage:
        problems.append(index.damage)
    if kept is not None and kept.size < wanted.size:
        lost = np.setdiff1d(wanted, kept)
        first = float(index.frame_timestamps[lost[0]])
        problems.append(f"{lost.size} of {wanted.size} candidate frames failed to decode (first at {first:.2f} s)")
    if not problems:
        return
    message = f"{index.info.path!r} is damaged: {'; '.join(problems)}"
    if not allow:
        raise VideoError(message + "; pass --allow-damaged (allow_damaged=True) to use the frames that decode")
    logger.warning("%s; using the frames that decode", message)


@dataclass(frozen=True, repr=False)
class PreparedVideo(OnCandidates):
    """A video probed, decoded and embedded once, ready for any number of questions and methods.

    What :func:`framepick.select_frames` computes before it selects, kept so that an evaluation
    (many questions x methods x budgets per video) does it once; :func:`framepick.api.select_prepared`
    selects on it. ``indices``, ``timestamps``, ``grid`` and ``num_candidates`` read through to
    the one :class:`Candidates`.
    """

    index: VideoIndex
    candidates: Candidates
    """The candidates (those that decoded for every extractor), with their times, video and grid."""
    features: dict[str, Features]
    """Per encoder id, the [T,D] features of exactly these candidates."""
    scenes: tuple[Scene, ...] | None
    """Scene segmentation over the candidates (colour histograms), when asked for."""
    timings: dict[str, float]
    """Seconds spent preparing: probe, decode, encode, and select (scene detection)."""

    def __post_init__(self) -> None:
        if self.candidates.timestamps is None:
            raise ValueError("a prepared video's candidates need their timestamps")
        for encoder_id, features in self.features.items():
            if len(features) != len(self.candidates):
                raise ValueError(f"{len(features)} rows of {encoder_id!r} features for {len(self.candidates)} candidates")
        if self.scenes and self.scenes[-1].end >= len(self.candidates):
            raise ValueError(f"scenes reach position {self.scenes[-1].end} of {len(self.candidates)} candidates")

    def __repr__(self) -> str:
        return (
            f"PreparedVideo(path={self.index.info.path!r}, candidates={self.num_candidates}, "
            f"features={sorted(self.features)}, scenes={None if self.scenes is None else len(self.scenes)})"
        )


def prepare_video(
    video: str | Path,
    grid: GridSpec,
    encoders: Iterable[Encoder] = (),
    *,
    scenes: bool = False,
    cache: FeatureCache | None = None,
    allow_damaged: bool = False,
    progress: bool = False,
) -> PreparedVideo:
    """Probe ``video``, decode its candidates once and embed them with every encoder (cached).

    Damage is handled as in :func:`framepick.select_frames`: an error unless ``allow_damaged``,
    then the candidates are those that decoded. With no encoder and no scenes nothing is decoded
    and the candidates are the grid's.
    """
    from framepick.errors import VideoError

    timer = Timer()
    start = time.perf_counter()
    index = open_video(video, cache)
    check_damage(index, np.empty(0), None, allow_damaged)
    candidates = make_candidates(index, grid)
    timer.probe += time.perf_counter() - start

    extractors: list = list({encoder.id: encoder for encoder in encoders}.values())
    if scenes:
        extractors.append(ColorHistograms())
    if not extractors:
        return PreparedVideo(index, candidates, {}, None, timer.as_dict())

    rows = embed_candidates(index, candidates, extractors, cache, timer, progress=progress)
    kept = candidates
    for row in rows.values():
        kept = kept.restrict_to(row.candidates.indices)
    if len(kept) == 0:
        raise VideoError("no candidate frame of the video could be decoded")
    check_damage(index, candidates.indices, kept.indices, allow_damaged)

    features = {key: row.features_of(kept) for key, row in rows.items() if key != ColorHistograms.id}
    found_scenes = None
    if scenes:
        from framepick.video.scenes import detect_scenes

        start = time.perf_counter()
        found_scenes = detect_scenes(rows[ColorHistograms.id].features_of(kept).embeddings)
        timer.select += time.perf_counter() - start  # as select_frames counts scene detection
    return PreparedVideo(index, kept, features, found_scenes, timer.as_dict())


def chosen_frames(selection: Selection, index: VideoIndex | None = None) -> np.ndarray:
    """The chosen frames of ``selection`` at the video's resolution, [k,H,W,3] uint8 RGB in order.

    What goes to a model or to disk (the features were made from small copies). Every chosen frame
    must decode: a :class:`~framepick.errors.VideoError` names the first that do not. ``index``
    (the video's, when the caller holds it) spares a probe.
    """
    from framepick.errors import VideoError
    from framepick.video.decode import VideoDecoder

    if selection.video is None:
        raise InvalidArgumentError("the selection has no video to decode frames from")
    with VideoDecoder(selection.video.path, index=index) as decoder:
        decoded = decoder.get_frames(selection.indices)
    if len(decoded.indices) != len(selection.indices):
        missing = sorted(set(selection.indices.tolist()) - set(np.asarray(decoded.indices).tolist()))
        raise VideoError(f"{selection.video.path!r}: chosen frame(s) {missing[:5]} do not decode")
    return decoded.frames

