"""One-call entry points: a video and a question in, a :class:`Selection` out.

These are what the CLI calls, so Python users and the command line get the same objects. The
composable pieces underneath live in :mod:`framepick.pipeline`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Candidates, Clip, Query, Selection, VideoScenes, as_float_scores

if TYPE_CHECKING:  # the modules below load on use: importing framepick stays cheap
    from framepick.encode.base import Encoder
    from framepick.pipeline import PreparedVideo
    from framepick.select.base import Selector, SelectorOutput
    from framepick.video.candidates import GridSpec

logger = logging.getLogger(__name__)

DEFAULT_METHOD = "topk+dedup"
"""The method ``select_frames`` and ``framepick select`` use unless told: top-k retrieval with the
near-duplicate guard, chosen from needle-suite measurements (README, "Why this default")."""


def select_frames(
    video: str | Path,
    question: str | None = None,
    k: int = 8,
    *,
    method: str | Selector = DEFAULT_METHOD,
    encoder: str = "auto",
    query_image: str | Path | np.ndarray | None = None,
    options: Sequence[str] = (),
    candidates: int | None = 256,
    fps: float | None = None,
    max_candidates: int | None = None,
    keyframes_only: bool = False,
    seed: int = 0,
    method_params: Mapping[str, Any] | None = None,
    dedup: bool | float = False,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
    progress: bool = False,
    verify_chosen: bool = True,
) -> Selection:
    """Pick ``k`` frames of ``video`` for ``question`` (and/or ``query_image``) with ``method``.

    ``method`` is a name (``"aks"``, ``"topk+dedup"``; see :func:`list_methods`) with its
    ``method_params``, or a :class:`~framepick.select.base.Selector` already built (e.g. by
    :func:`framepick.select.load_selector`), which then takes no ``method_params``. Either way the
    selector is built once and the video prepared once.

    ``candidates`` frames on a uniform grid (or one every ``1/fps`` seconds, at most
    ``max_candidates``; or only keyframes) are decoded once, embedded once per encoder and cached;
    a later call on the same video and grid reuses them. ``encoder="auto"`` picks the best encoder
    whose weights are on disk. ``seed`` makes any randomness reproducible. A damaged or
    truncated video raises :class:`~framepick.errors.VideoError` unless ``allow_damaged``.
    ``dedup`` (``True`` or a cosine threshold) turns on the near-duplicate guard
    (:mod:`framepick.select.dedup`) for any method: no two chosen frames near-copies.
    A method that decodes nothing (``uniform``) decodes its chosen frames small to prove they
    exist; ``verify_chosen=False`` skips that for a caller that decodes them right after anyway
    and calls again with ``True`` if any fails (the CLI's ``--frames-dir``: one decode, not two).
    """
    from framepick import pipeline
    from framepick.select.base import check_k

    k = check_k(k)
    # Bad names and parameters fail before any decoding.
    name, selector = _selector(method, method_params, dedup)
    check_has_checkpoint(selector)
    query = _make_query(question, options, query_image)
    if selector.query_aware and query.is_empty:
        raise InvalidArgumentError(
            f"method {name!r} picks frames for a query: give a non-empty question or a query image"
        )
    grid = _grid(candidates, fps, max_candidates, keyframes_only)
    if encoder == "auto":
        # Trained weights only understand the features they were trained on: auto means those.
        encoder = selector.auto_encoder() or encoder
    encoder_obj = _load_encoder(encoder, query) if selector.needs & {"scores", "features"} else None
    prepared = pipeline.prepare_video(
        video,
        grid,
        [] if encoder_obj is None else [encoder_obj],
        scenes="scenes" in selector.needs,
        cache=feature_cache(cache),
        allow_damaged=allow_damaged,
        progress=progress,
    )

    def pick(on: pipeline.PreparedVideo) -> Selection:
        return _select_prepared(on, k, name, selector, encoder=encoder_obj, query=query, seed=seed)

    selection = pick(prepared)
    timings = _add_timings(prepared.timings, selection.timings)
    if verify_chosen and not prepared.features and prepared.scenes is None:
        # Nothing was decoded, so nothing proved the chosen frames exist: check just those.
        decodable, seconds = _decodable_candidates(prepared, selection.indices, allow_damaged)
        timings["decode"] += seconds
        if decodable is not None:
            selection = pick(decodable)
            timings = _add_timings(timings, selection.timings)

    params = dict(selection.params)
    if isinstance(query_image, (str, Path)):
        params["query_image"] = str(query_image)
    return replace(selection, params=params, timings=timings)


def check_has_checkpoint(selector: Selector) -> None:
    """A learned selector without weights fails now, by name, not after the video is prepared."""
    from framepick.select import learned_part

    learned = learned_part(selector)
    if learned is not None and learned.checkpoint is None:
        learned.load()  # raises the error that says how to give or train a checkpoint


def _selector(
    method: str | Selector, method_params: Mapping[str, Any] | None, dedup: bool | float = False
) -> tuple[str, Selector]:
    """(the method's name in the selection, the selector): a name is built with its parameters, a
    built selector is taken as it is (``dedup`` may still guard it)."""
    from framepick.select import Selector, method_label, parse_method_spec, with_dedup

    if isinstance(method, Selector):
        if method_params:
            raise InvalidArgumentError(
                f"method_params {', '.join(map(repr, method_params))} cannot change the selector object "
                f"given as method ({method!r}); build it with them: load_selector(name, **params)"
            )
        return method_label(method), method if dedup is False else with_dedup(method, dedup)
    if dedup is not False:
        method_params = {**dict(method_params or {}), "dedup": dedup}
    spec = parse_method_spec(method, method_params, flag="method")  # NAME=CHECKPOINT as on the command line
    return spec.name, spec.build()


def _add_timings(*parts: Mapping[str, float]) -> dict[str, float]:
    total: dict[str, float] = {}
    for part in parts:
        for stage, seconds in part.items():
            total[stage] = total.get(stage, 0.0) + seconds
    return total


def _decodable_candidates(
    prepared: PreparedVideo, chosen: np.ndarray, allow: bool
) -> tuple[PreparedVideo | None, float]:
    """For a method that decoded nothing: decode its chosen frames (tiny) to prove they exist.

    Returns ``(None, seconds)`` when they all decode. Otherwise the video is damaged: an error,
    or with ``allow`` every candidate is checked once and the candidates that decode come back,
    for the method to pick again among them.
    """
    from framepick import pipeline
    from framepick.video.decode import VideoDecoder

    candidates = prepared.candidates
    with VideoDecoder(prepared.index.info.path, index=prepared.index) as decoder:
        start = time.perf_counter()
        failed = decoder.get_frames(chosen, short_side=32).failed
        if failed.size and not allow:
            pipeline.check_damage(prepared.index, candidates.indices, np.setdiff1d(candidates.indices, failed), allow)
        survivors = decoder.get_frames(candidates, short_side=32).candidates if failed.size else None
        seconds = time.perf_counter() - start
    if survivors is None:
        return None, seconds
    pipeline.check_damage(prepared.index, candidates.indices, survivors.indices, allow)
    return replace(prepared, candidates=survivors), seconds


def select_prepared(
    prepared: PreparedVideo,
    k: int,
    *,
    method: str | Selector = DEFAULT_METHOD,
    encoder: Encoder | None = None,
    query: Query | None = None,
    query_embedding: np.ndarray | None = None,
    option_embeddings: np.ndarray | None = None,
    seed: int = 0,
    method_params: Mapping[str, Any] | None = None,
    clips: Sequence[Clip] | None = None,
) -> Selection:
    """:func:`select_frames` on a :class:`~framepick.pipeline.PreparedVideo`: no probe, decode or embed.

    For evaluations that ask many questions with many methods and budgets of one video. ``encoder``
    (a loaded :class:`~framepick.encode.base.Encoder`) names the prepared features the method uses
    and embeds ``query`` unless ``query_embedding`` ([Q,D], from :func:`pipeline.embed_query`) is
    given; likewise its options unless ``option_embeddings`` ([m,D], from
    :func:`pipeline.embed_options`) are, so a caller asking many budgets embeds each text once.
    Given the same inputs, the selection equals :func:`select_frames`' (timings aside: they
    hold only the query embedding, as ``encode``, and the selection). ``method`` is a name with
    ``method_params`` or a built :class:`~framepick.select.base.Selector`; a caller selecting many
    times builds it once and passes the object. ``clips`` are key clips over the candidates for
    methods that take them (``kframes``: a clip predictor's output, e.g. :mod:`framepick.clip_model`).
    """
    from framepick.select.base import check_k

    k = check_k(k)
    name, selector = _selector(method, method_params)
    return _select_prepared(
        prepared, k, name, selector, encoder=encoder, query=query, query_embedding=query_embedding,
        option_embeddings=option_embeddings, seed=seed, clips=clips,
    )


def _select_prepared(
    prepared: PreparedVideo,
    k: int,
    name: str,
    selector: Selector,
    *,
    encoder: Encoder | None,
    query: Query | None,
    query_embedding: np.ndarray | None = None,
    option_embeddings: np.ndarray | None = None,
    seed: int,
    clips: Sequence[Clip] | None = None,
) -> Selection:
    """The one place a selector runs on a prepared video (``k`` already checked); ``name`` names
    the method in the selection and in errors."""
    from framepick import pipeline
    from framepick.select.base import SelectorInput

    query = query if query is not None else Query()
    if selector.query_aware and query.is_empty and query_embedding is None:
        raise InvalidArgumentError(
            f"method {name!r} picks frames for a query: give a non-empty question or a query image"
        )
    timer = pipeline.Timer()
    given_options, option_embeddings = option_embeddings, None
    scores = scenes = features = None
    if selector.needs & {"scores", "features"}:
        if encoder is None or encoder.id not in prepared.features:
            have = ", ".join(sorted(prepared.features)) or "none"
            raise InvalidArgumentError(
                f"method {name!r} needs features of the encoder it is given; the prepared video has: {have}"
            )
        features = prepared.features[encoder.id]
        if query_embedding is None and not query.is_empty:
            start = time.perf_counter()
            query_embedding = pipeline.embed_query(encoder, query)
            timer.encode += time.perf_counter() - start
        if query_embedding is not None:
            scores = pipeline.relevance(features, query_embedding)
        # Rows given are used as given (msjoe's reasoned queries need no options: framepick.reasoned_queries).
        has_options = bool(query.options and query.text and query.text.strip())
        if "options" in selector.needs and (given_options is not None or has_options):
            option_embeddings = given_options
            if option_embeddings is None:
                start = time.perf_counter()
                option_embeddings = pipeline.embed_options(encoder, query.text, query.options)
                timer.encode += time.perf_counter() - start
    else:
        query_embedding = None  # as select_frames: a method that needs no features gets no query
    if "scenes" in selector.needs:
        if prepared.scenes is None:
            raise InvalidArgumentError(f"method {name!r} needs scenes; prepare the video with scenes=True")
        scenes = prepared.scenes
    inputs = SelectorInput(
        num_candidates=prepared.num_candidates,
        scores=scores,
        scenes=scenes,
        features=features,
        query_embedding=query_embedding,
        candidates=prepared.candidates,
        option_embeddings=option_embeddings,
        question=query.text,
        clips=None if clips is None else tuple(clips),
    )
    start = time.perf_counter()
    output = selector.select(inputs, k, np.random.default_rng(seed))
    timer.select += time.perf_counter() - start
    return _to_selection(
        output,
        prepared.candidates,
        k=k,
        method=name,
        encoder=None if features is None else encoder.id,
        question=query.text,
        params={**selector.params(), "grid": prepared.grid, "seed": seed},
        timings=timer.as_dict(),
    )


def select_from_scores(
    scores: Sequence[float] | np.ndarray,
    k: int,
    *,
    method: str | Selector = "topk",
    seed: int = 0,
    method_params: Mapping[str, Any] | None = None,
) -> Selection:
    """Run a score-based method (a name, or a built selector) on your own scores (one per
    candidate); no video needed.

    The selection's ``indices`` are positions in ``scores``.
    """
    from framepick.select.base import SelectorInput, check_k

    k = check_k(k)
    name, selector = _selector(method, method_params)
    extra = selector.needs - {"scores"}
    if extra:
        raise InvalidArgumentError(
            f"method {name!r} needs {', '.join(sorted(extra))}, which a score list does not give; "
            "use it on a video, or pick a score-based method (uniform, topk, aks, bolt)"
        )
    values = as_float_scores(scores)
    start = time.perf_counter()
    output = selector.select(SelectorInput(num_candidates=len(values), scores=values), k, np.random.default_rng(seed))
    elapsed = time.perf_counter() - start
    return _to_selection(
        output,
        Candidates(np.arange(len(values)), None),  # no video: the candidates are the score positions
        k=k,
        method=name,
        encoder=None,
        question=None,
        params={**selector.params(), "seed": seed},
        timings={"probe": 0.0, "decode": 0.0, "encode": 0.0, "select": elapsed},
        scores_by_position=values,
    )


def select_from_features(
    frames: np.ndarray,
    query: np.ndarray | None,
    k: int,
    *,
    method: str | Selector = DEFAULT_METHOD,
    timestamps: np.ndarray | Sequence[float] | None = None,
    options: np.ndarray | None = None,
    question: str | None = None,
    seed: int = 0,
    method_params: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> Selection:
    """Run any method on your own embeddings: ``frames`` [T,D], ``query`` [D] or [Q,D]; no video.

    Rows may have any norm (they are L2-normalised; their norms are kept for models trained on
    raw features). ``index`` and ``position`` in the selection are rows; ``timestamps`` [T] give
    the rows' times. ``options`` [m,D] are option embeddings for option-aware methods, ``question``
    the question's words for methods that read them. What each method does without a video, scenes
    for ``kframes`` included: :mod:`framepick.own_features`. ``names`` says what errors call the
    arrays (``{"frames": "--features F.npy"}``; default: the argument names).
    """
    from framepick.own_features import selector_input
    from framepick.select.base import check_k
    from framepick.types import GIVEN_ENCODER_ID

    k = check_k(k)
    name, selector = _selector(method, method_params)
    check_has_checkpoint(selector)
    inputs = selector_input(
        selector, name, frames, query, timestamps=timestamps, options=options, question=question, names=dict(names or {})
    )
    start = time.perf_counter()
    output = selector.select(inputs, k, np.random.default_rng(seed))
    elapsed = time.perf_counter() - start
    return _to_selection(
        output, inputs.candidates, k=k, method=name, encoder=GIVEN_ENCODER_ID, question=inputs.question,
        params={**selector.params(), "seed": seed},
        timings={"probe": 0.0, "decode": 0.0, "encode": 0.0, "select": elapsed},
    )


def select_from_clips(
    clips: Sequence[Clip],
    num_candidates: int,
    k: int,
    *,
    mode: str = "auto",
    seed: int = 0,
    method_params: Mapping[str, Any] | None = None,
) -> Selection:
    """K-frames any-k sampling on key clips you already have (e.g. a K-frames model's output).

    Clip ranges are candidate positions in ``0 .. num_candidates - 1``; so are the selection's
    ``indices``.
    """
    from framepick.select import load_selector
    from framepick.select.base import SelectorInput, check_k

    k = check_k(k)
    if isinstance(num_candidates, bool) or not isinstance(num_candidates, (int, np.integer)) or num_candidates < 1:
        raise InvalidArgumentError(f"num_candidates must be a positive integer, got {num_candidates!r}")
    if not clips:
        raise InvalidArgumentError("no key clips given: need at least one clip")
    for clip in clips:
        if clip.end_index >= num_candidates:
            raise InvalidArgumentError(
                f"clip [{clip.start_index}, {clip.end_index}] lies outside the {num_candidates} candidates "
                f"(positions 0-{num_candidates - 1})"
            )
    selector = load_selector("kframes", mode=mode, **dict(method_params or {}))
    start = time.perf_counter()
    output = selector.select(
        SelectorInput(num_candidates=int(num_candidates), clips=tuple(clips)), k, np.random.default_rng(seed)
    )
    elapsed = time.perf_counter() - start
    return _to_selection(
        output,
        Candidates(np.arange(int(num_candidates)), None),  # no video: the candidates are clip positions
        k=k,
        method="kframes",
        encoder=None,
        question=None,
        params={**selector.params(), "seed": seed},
        timings={"probe": 0.0, "decode": 0.0, "encode": 0.0, "select": elapsed},
    )


def video_scenes(
    video: str | Path,
    *,
    candidates: int | None = 256,
    fps: float | None = None,
    max_candidates: int | None = None,
    keyframes_only: bool = False,
    min_scene_len: int = 2,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
    progress: bool = False,
) -> VideoScenes:
    """K-frames scene segmentation (histogram differences) over the video's candidate grid."""
    from framepick import pipeline
    from framepick.video.scenes import detect_scenes

    grid = _grid(candidates, fps, max_candidates, keyframes_only)
    store = feature_cache(cache)
    index = pipeline.open_video(video, store)
    pipeline.check_damage(index, np.empty(0), None, allow_damaged)
    grid_candidates = pipeline.make_candidates(index, grid)
    histograms = pipeline.ColorHistograms()
    rows = pipeline.embed_candidates(
        index, grid_candidates, [histograms], store, pipeline.Timer(), progress=progress
    )[histograms.id]
    pipeline.check_damage(index, grid_candidates.indices, rows.candidates.indices, allow_damaged)
    scenes = detect_scenes(rows.features.embeddings, min_scene_len=min_scene_len)
    return VideoScenes(rows.candidates, scenes)


def list_methods() -> dict[str, str]:
    """Registered selection methods and their one-line summaries."""
    import framepick.select  # noqa: F401 - registers the selectors
    from framepick.registry import selectors

    return selectors.summaries()


def list_encoders() -> dict[str, str]:
    """Registered encoders and their one-line summaries."""
    import framepick.encode  # noqa: F401 - registers the encoders
    from framepick.registry import encoders

    return encoders.summaries()


# ---------------------------------------------------------------------------------------------


def _make_query(question: str | None, options: Sequence[str], query_image: str | Path | np.ndarray | None) -> Query:
    if question is not None and not isinstance(question, str):
        raise InvalidArgumentError(f"question must be a string, got {type(question).__name__}")
    image = None
    if query_image is not None:
        image = query_image if isinstance(query_image, np.ndarray) else read_query_image(Path(query_image))
    text = question.strip() if question and question.strip() else None
    return Query(text=text, options=tuple(options), image=image)


MAX_QUERY_IMAGE_PIXELS = 50_000_000
"""A query picture is shrunk to the encoder's input (a few hundred pixels a side); one larger than
50 megapixels (e.g. 7000 x 7000) is refused before it is decoded, since decoding it alone would take
gigabytes (PIL's own bomb limit, 179 megapixels, would only warn below it)."""


def read_query_image(path: Path) -> np.ndarray:
    """The picture at ``path`` as ``[H,W,3] uint8`` RGB, or a one-line error naming the file."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise InvalidArgumentError(f"query image {str(path)!r} does not exist or is not a file")
    try:
        with Image.open(path) as image:  # reads the header only: the size is known before decoding
            width, height = image.size
            if width * height > MAX_QUERY_IMAGE_PIXELS:
                raise InvalidArgumentError(
                    f"query image {str(path)!r} is {width}x{height} pixels; at most "
                    f"{MAX_QUERY_IMAGE_PIXELS // 1_000_000} megapixels are accepted: shrink it first"
                )
            return np.array(image.convert("RGB"), dtype=np.uint8)  # writable: torch warns on read-only arrays
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise InvalidArgumentError(f"query image {str(path)!r} is not a readable picture ({exc})") from None


def _grid(candidates: int | None, fps: float | None, max_candidates: int | None, keyframes_only: bool) -> GridSpec:
    from framepick.video.candidates import GridSpec

    if fps is not None:
        candidates = None
    return GridSpec(count=candidates, fps=fps, max_candidates=max_candidates, keyframes_only=keyframes_only)


def feature_cache(cache: bool | str | Path | None):
    """The :class:`~framepick.encode.cache.FeatureCache` a ``cache=`` argument names: False or None
    for none, True for the default folder, a path for that folder."""
    from framepick.encode.cache import FeatureCache

    if cache is False or cache is None:
        return None
    if cache is True:
        return FeatureCache()
    return FeatureCache(Path(cache))


def _load_encoder(spec: str, query: Query) -> Encoder:
    from framepick.encode import load_encoder, resolve_auto

    if spec == "auto":
        spec = resolve_auto(need_text=query.text is not None)
    encoder = load_encoder(spec)
    if query.text is not None and not encoder.has_text:
        raise InvalidArgumentError(
            f"encoder {encoder.id!r} cannot embed a text question; use a query image or a text encoder "
            "(offline, clip:..., siglip:...)"
        )
    return encoder


def _to_selection(
    output: SelectorOutput,
    candidates: Candidates,
    *,
    k: int,
    method: str,
    encoder: str | None,
    question: str | None,
    params: Mapping[str, Any],
    timings: Mapping[str, float],
    scores_by_position: np.ndarray | None = None,
) -> Selection:
    """The :class:`Selection` a selector's output makes of ``candidates``: positions mapped to
    source frame indices and times, clips too."""
    total = len(candidates)
    if k > total:
        # The contract is min(k, candidates) frames; say so, since fewer than asked can surprise.
        logger.warning(
            "k=%d is more than the %d candidates; returning all %d (raise --candidates or --fps for more)",
            k, total, total,
        )
    positions = output.positions
    scores = output.scores
    if scores is None and scores_by_position is not None:
        scores = scores_by_position[positions]
    chosen = candidates.take(positions)
    return Selection(
        indices=chosen.indices,
        positions=positions,
        timestamps=chosen.timestamps,
        scores=scores,
        method=method,
        k=k,
        num_candidates=total,
        clips=tuple(_clip_to_source(clip, candidates) for clip in output.clips),
        encoder=encoder,
        question=question,
        video=candidates.video,
        params=params,
        timings=timings,
    )


def _clip_to_source(clip: Clip, candidates: Candidates) -> Clip:
    """A clip in candidate positions (as selectors make them) in source frame indices and seconds."""
    times = candidates.timestamps
    return replace(
        clip,
        start_index=int(candidates.indices[clip.start_index]),
        end_index=int(candidates.indices[clip.end_index]),
        start_seconds=None if times is None else float(times[clip.start_index]),
        end_seconds=None if times is None else float(times[clip.end_index]),
    )
