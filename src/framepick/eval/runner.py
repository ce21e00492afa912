"""Evaluate frame-selection methods x budgets over samples, resumably (``framepick eval``).

For every sample and query mode the runner evaluates one query: the text question, the sample's
query picture, or by default (``auto``) the picture where the sample has one and the question
elsewhere, as the manifest format promises. A record's ``query`` says which was used (``text`` or
``image``), never ``auto``; ``config.json`` keeps the modes asked for. The runner:

1. prepares the video once (:func:`framepick.pipeline.prepare_video`): probe, decode the candidate
   grid, embed it with the selection encoder and the answerer's encoder, detect scenes; all of it
   comes from the feature cache after the first time, and the last few prepared videos stay in
   memory, so samples that share a video share the work;
2. embeds the query (each distinct question, option list and picture once per run) and writes its
   relevance curve and scenes to ``timelines.jsonl``;
3. for each method and budget k selects (:func:`framepick.api.select_prepared`, the same selection
   :func:`framepick.select_frames` makes), answers with the answerer, and appends one record to
   ``records.jsonl`` (format: :data:`framepick.eval.records.RECORD_KEYS`).

``timings_seconds`` in a record hold the time spent *for that record since the previous one*:
preparing a video and embedding a query are charged to the first record that needed them, so
summing a stage over records gives the run's total for that stage (a resumed run, or a second
question on a cached video, shows the small cost of cache hits instead of the first decode).

Resume: records and timelines already in the run folder are skipped, keyed by
(sample_id, method, k, query) and (sample_id, query); a torn last line from a kill is truncated
first (:mod:`framepick.eval.records`). A run folder whose ``config.json`` names another manifest,
answerer, encoder, candidate grid or seed is refused unless ``force_new``; other methods, budgets
or query modes are added to it.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from framepick.answer.base import Answerer, EmbeddingAnswerer
from framepick.answer.cache import AnswerCache
from framepick.errors import AnswererError, FramepickError, InvalidArgumentError
from framepick.eval import records as rec
from framepick.eval.aids import SelectionAids
from framepick.eval.answering import Answered, AnswerWindow, answer_selection
from framepick.eval.queries import QUERY_CHOICES, QueryEmbeddings, parse_query_modes, query_used
from framepick.reasoned_queries import warn_if_other_source
from framepick.select.spec import MethodSpec, parse_method_spec
from framepick.types import Sample, Selection

if TYPE_CHECKING:
    from framepick.encode.base import Encoder
    from framepick.encode.cache import FeatureCache
    from framepick.pipeline import PreparedVideo
    from framepick.clip_model import ClipPredictor
    from framepick.reasoned_queries import QueryReasoner
    from framepick.select.base import Selector
    from framepick.video.candidates import GridSpec

logger = logging.getLogger(__name__)

DEFAULT_METHODS = ("uniform", "topk", "aks", "bolt", "kframes", "mmr", "topk+dedup")
DEFAULT_KS = (8, 32)
MAX_FAILED_ANSWERS_IN_A_ROW = 8
"""This many failed answers in a row (at least twice the answers in flight) stop the run: the
server is down or refuses everything, and going on would only fail every remaining record."""

IDENTITY_KEYS = (
    "manifest", "benchmark", "answerer_id", "encoder_id", "grid", "seed", "oracle_clips", "clip_model", "query_model",
    "method_params",
)
"""What a resumed run must share with the folder: records made otherwise would not be comparable
(a kframes record with another clip model, an msjoe one with other query rows)."""

DURATION_BUCKETS = ((120.0, "0-2m"), (600.0, "2-10m"), (1800.0, "10-30m"), (3600.0, "30-60m"))
"""Upper bounds (seconds, exclusive) of the buckets given to samples that bring none; longer: '60m+'."""


def parse_method_specs(text: str | Sequence[str], params: Mapping[str, Any] | None = None) -> tuple[MethodSpec, ...]:
    """'uniform,topk,tspo=runs/ck' -> MethodSpecs (:func:`framepick.select.parse_method_spec` each);
    each selector is built once to check it exists. ``params`` (``eval --method-params``) maps a
    method's label as written (``bolt``, ``tspo=runs/ck``) to its parameters; a label that names
    none of the methods, or parameters that are not an object, are a one-line error."""
    from framepick.api import check_has_checkpoint

    items = text.split(",") if isinstance(text, str) else list(text)
    params = dict(params or {})
    specs: list[MethodSpec] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        spec = parse_method_spec(item, flag="--methods entry")
        if spec.label in params:
            own = params[spec.label]
            if not isinstance(own, Mapping):
                raise InvalidArgumentError(f"--method-params {spec.label!r} must be a JSON object, got {type(own).__name__}")
            spec = replace(spec, method_params=dict(own))
        # Unknown names and parameters, and a learned method without its checkpoint, fail here in one line.
        check_has_checkpoint(spec.build())
        if spec.label not in {s.label for s in specs}:
            specs.append(spec)
    if not specs:
        raise InvalidArgumentError("--methods is empty; give e.g. uniform,topk,aks,bolt,kframes")
    unknown = [label for label in params if label not in {s.label for s in specs}]
    if unknown:
        raise InvalidArgumentError(f"--method-params names {unknown[0]!r}, which is not one of --methods "
                                   f"({', '.join(s.label for s in specs)})")
    return tuple(specs)


def parse_ks(text: str | Iterable[int]) -> tuple[int, ...]:
    """'8,32' -> (8, 32): positive integers, duplicates dropped, order kept."""
    items = text.split(",") if isinstance(text, str) else list(text)
    ks: list[int] = []
    for item in items:
        if isinstance(item, str):
            item = item.strip()
            if not item:
                continue
            try:
                item = int(item)
            except ValueError:
                raise InvalidArgumentError(f"-k must be positive integers separated by commas, got {text!r}") from None
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 1:
            raise InvalidArgumentError(f"-k must be positive integers separated by commas, got {text!r}")
        if int(item) not in ks:
            ks.append(int(item))
    if not ks:
        raise InvalidArgumentError("-k is empty; give e.g. 8,32")
    return tuple(ks)


def selection_encoder_spec(encoder: str, modes: Sequence[str]) -> str:
    """The encoder spec an eval selects with: ``encoder``, with ``auto`` resolved for the query modes.

    By the modes, not the samples: the same command on more rows must pick the same encoder (a
    run folder resumes only with it); only ``--query image`` alone can do without text.
    """
    from framepick.encode import resolve_auto

    return resolve_auto(need_text=tuple(modes) != ("image",)) if encoder == "auto" else encoder


def duration_bucket_for(seconds: float | None) -> str | None:
    """The bucket of :data:`DURATION_BUCKETS` a duration falls in."""
    if seconds is None:
        return None
    for upper, name in DURATION_BUCKETS:
        if seconds < upper:
            return name
    return "60m+"


@dataclass
class EvalSummary:
    """What one call of :func:`run_eval` did."""

    out_dir: Path
    written: int = 0
    """Records appended by this call."""
    already_done: int = 0
    """Records found from an earlier (interrupted) run and skipped."""
    not_applicable: int = 0
    """(sample, query mode) pairs skipped because the sample has no query picture for 'image'."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(sample id, error) of samples whose video could not be used (they have no records) or
    whose answer failed for some record (those records are missing; a rerun asks again)."""
    answers_failed: int = 0
    """Records not written because the answerer failed on them (a timeout, a bad reply)."""
    answers_cached: int = 0
    """Records whose answer came from the answer cache instead of the model."""
    seconds: float = 0.0


class _PreparedCache:
    """The last few prepared videos, in memory, so consecutive samples of one video share them."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[str, PreparedVideo] = OrderedDict()

    def get(self, key: str, make: Callable[[], PreparedVideo]) -> tuple[PreparedVideo, bool]:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key], False
        value = make()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value, True


def run_eval(
    samples: Sequence[Sample],
    out_dir: str | Path,
    *,
    methods: str | Sequence[str] | Sequence[MethodSpec] = DEFAULT_METHODS,
    ks: str | Sequence[int] = DEFAULT_KS,
    answerer: str | Answerer = "offline",
    encoder: str = "auto",
    queries: Sequence[str] = ("auto",),
    grid: GridSpec | None = None,
    cache: bool | str | Path = True,
    seed: int = 0,
    allow_damaged: bool = False,
    progress: bool = False,
    force_new: bool = False,
    manifest: str | Path | None = None,
    benchmark: str | None = None,
    query_reasoner: QueryReasoner | None = None,
    oracle_clips: bool = False,
    clip_predictor: ClipPredictor | None = None,
) -> EvalSummary:
    """Evaluate ``methods`` x ``ks`` x ``queries`` on ``samples``; write or extend the run in ``out_dir``.

    ``queries`` are modes of :data:`QUERY_CHOICES` (``both`` spelled out as text and image).
    Everything is checked before ``out_dir`` is touched; a run folder this call created is removed
    again when it fails before its first record.

    ``answerer`` is a spec (``"offline"``) or an :class:`~framepick.answer.base.Answerer`;
    ``encoder`` the selection encoder spec (``auto`` as in ``select``); ``grid`` a
    :class:`~framepick.video.candidates.GridSpec` (default: 256 uniform candidates). ``manifest``
    / ``benchmark`` name where the samples came from, for ``config.json`` and the resume check.
    ``query_reasoner`` (:class:`framepick.reasoned_queries.QueryReasoner`) writes the query rows of
    methods that read them (``msjoe``) instead of the option texts; records say which were used.
    ``oracle_clips``: ``kframes`` samples from each sample's labelled key clips
    (``extra["key_clips"]``, ``framepick data peakclips``), measuring its sampling alone; a sample
    without them gets kframes' similarity clips, and its records' ``clip_source`` says which.
    ``clip_predictor`` (:class:`framepick.clip_model.ClipPredictor`) gives ``kframes`` an MLLM's key
    clips, asked once per sample and query; records say where each selection's clips came from.
    """
    from framepick import __version__, api
    from framepick.answer import load_answerer
    from framepick.encode import load_encoder
    from framepick.video.candidates import GridSpec

    started = time.perf_counter()
    if not isinstance(methods, str) and methods and all(isinstance(m, MethodSpec) for m in methods):
        method_specs = tuple(methods)  # type: ignore[arg-type]
    else:
        method_specs = parse_method_specs(methods)  # type: ignore[arg-type]
    k_values = parse_ks(ks)
    queries = (queries,) if isinstance(queries, str) else queries
    modes = tuple(dict.fromkeys(m for mode in queries for m in parse_query_modes(mode)))
    if not modes:
        raise InvalidArgumentError(f"no query mode given; use one of {', '.join(QUERY_CHOICES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise InvalidArgumentError(f"seed must be an integer from 0 to 2**63-1, got {seed!r}")
    needs_text = any(query_used(sample, mode) == "text" for sample in samples for mode in modes)
    grid = grid if grid is not None else GridSpec(count=256)
    store = api.feature_cache(cache)

    if not isinstance(answerer, (str, Answerer)):
        raise InvalidArgumentError(
            f"answerer must be a spec such as 'offline' or an Answerer, got {type(answerer).__name__}"
        )
    answerer_spec = answerer if isinstance(answerer, str) else answerer.id
    answerer_obj = load_answerer(answerer) if isinstance(answerer, str) else answerer
    selection_encoder = load_encoder(selection_encoder_spec(encoder, modes))
    if needs_text and not selection_encoder.has_text:
        raise InvalidArgumentError(
            f"encoder {selection_encoder.id!r} cannot embed text questions, and --query {'/'.join(modes)} asks "
            "some samples by their text; use --query image or a text encoder"
        )
    # An answerer that answers from embeddings gets them prepared with the selection encoder's.
    extractors = [selection_encoder] + ([answerer_obj.encoder] if isinstance(answerer_obj, EmbeddingAnswerer) else [])

    out = Path(out_dir)
    config = {
        "manifest": None if manifest is None else str(Path(manifest).resolve()),
        "benchmark": benchmark,
        "methods": [m.label for m in method_specs],
        "ks": list(k_values),
        "answerer": answerer_spec,
        "answerer_id": answerer_obj.id,
        "encoder": encoder,
        "encoder_id": selection_encoder.id,
        "queries": list(modes),
        "candidates": grid.count,
        "grid": grid.key(),
        "seed": seed,
        "samples": len(samples),
        "framepick_version": __version__,
    }
    aids = SelectionAids(selection_encoder, QueryEmbeddings(selection_encoder), query_reasoner=query_reasoner,
                         clip_predictor=clip_predictor, oracle_clips=oracle_clips)
    config.update(aids.describe())  # absent without aids, so earlier runs resume
    method_params = {m.label: dict(m.method_params) for m in method_specs if m.method_params}
    if method_params:  # absent without, so earlier runs resume; a resumed run must give the same
        config["method_params"] = method_params
    created = not out.exists()
    try:
        _open_run_dir(out, config, force_new)
        return _run(
            samples, out, method_specs=method_specs, k_values=k_values, modes=modes, grid=grid, store=store,
            answerer_obj=answerer_obj, selection_encoder=selection_encoder, extractors=extractors, config=config,
            seed=seed, allow_damaged=allow_damaged, progress=progress, started=started,
            aids=aids,
        )
    except BaseException:
        if created:
            _remove_if_empty(out)
        raise


def _run(
    samples: Sequence[Sample],
    out: Path,
    *,
    method_specs: tuple[MethodSpec, ...],
    k_values: tuple[int, ...],
    modes: tuple[str, ...],
    grid: GridSpec,
    store: FeatureCache | None,
    answerer_obj: Answerer,
    selection_encoder: Encoder,
    extractors: list[Encoder],
    config: dict[str, Any],
    seed: int,
    allow_damaged: bool,
    progress: bool,
    started: float,
    aids: SelectionAids,
) -> EvalSummary:
    """The loop of :func:`run_eval` once every argument is checked and the run folder is open."""
    from framepick import api, pipeline

    records_path = out / rec.RECORDS_FILE
    timelines_path = out / rec.TIMELINES_FILE
    rec.repair_jsonl(records_path)
    rec.repair_jsonl(timelines_path)
    done = rec.keys_done(rec.read_jsonl(records_path))
    timelines_done = rec.keys_done(rec.read_jsonl(timelines_path), rec.timeline_key)

    summary = EvalSummary(out)
    work: list[tuple[Sample, str, list[tuple[MethodSpec, int]]]] = []
    for sample in samples:
        used = [query_used(sample, mode) for mode in modes]
        summary.not_applicable += used.count(None)
        for mode in dict.fromkeys(m for m in used if m is not None):  # auto + text ask one text query
            todo = []
            for spec in method_specs:
                for k in k_values:
                    if (sample.id, spec.label, k, mode) in done:
                        summary.already_done += 1
                    else:
                        todo.append((spec, k))
            if todo or (sample.id, mode) not in timelines_done:
                work.append((sample, mode, todo))

    from tqdm import tqdm

    bar = tqdm(total=sum(len(todo) for _, _, todo in work), desc="eval", unit="rec", disable=not progress)
    prepared_videos = _PreparedCache()
    embedded = aids.embedded
    selectors: dict[str, Selector] = {spec.label: spec.build() for spec in method_specs}  # once per run
    for selector in selectors.values():
        warn_if_other_source(selector, "options" if aids.query_reasoner is None else "reasoned")
    owed = dict.fromkeys(rec.TIMING_KEYS, 0.0)  # time spent for the next record to carry
    failed_ids: set[str] = set()
    # An MLLM's answers are cached (a rerun asks nothing twice); the offline matcher's cost less
    # than reading a cache entry.
    answer_cache = None if store is None or isinstance(answerer_obj, EmbeddingAnswerer) else AnswerCache(store)
    window = AnswerWindow(answerer_obj.max_concurrency)
    most_in_a_row = max(MAX_FAILED_ANSWERS_IN_A_ROW, 2 * window.size)
    failures_in_a_row = 0
    try:
        with rec.JsonlAppender(records_path) as records_out, rec.JsonlAppender(timelines_path) as timelines_out:

            def finish(sample: Sample, label: str, k: int, mode: str, selection: Selection, prepared: PreparedVideo,
                       timings: dict[str, float], result: Answered | Exception) -> None:
                nonlocal failures_in_a_row
                bar.update(1)
                if isinstance(result, FramepickError):  # a bad reply, a timeout: this record, not the run
                    failures_in_a_row += 1
                    summary.answers_failed += 1
                    logger.warning("sample %s (%s, k=%d): %s; no record, a rerun asks again", sample.id, label, k, result)
                    if sample.id not in {failed_id for failed_id, _ in summary.failed}:
                        summary.failed.append((sample.id, str(result)))
                    if failures_in_a_row >= most_in_a_row:
                        raise AnswererError(
                            f"{failures_in_a_row} answers in a row failed, the last: {result}; "
                            "the records so far are kept: rerun the same command to resume"
                        )
                    return
                if isinstance(result, Exception):
                    raise result
                failures_in_a_row = 0
                timings["decode"] += result.decode_seconds
                timings["answer"] += result.answer_seconds
                records_out.append(_record(
                    sample, label, k, mode, selection, result, prepared,
                    encoder_id=selection_encoder.id, answerer_id=config["answerer_id"], timings=timings,
                ))
                summary.written += 1
                summary.answers_cached += int(result.cached)

            for sample, mode, todo in work:
                if sample.id in failed_ids:
                    bar.update(len(todo))
                    continue
                bar.set_postfix_str(f"{sample.id} ({mode})", refresh=False)
                try:
                    prepared, fresh = prepared_videos.get(
                        str(Path(sample.video).resolve()),
                        lambda: pipeline.prepare_video(
                            sample.video, grid, extractors, scenes=True, cache=store,
                            allow_damaged=allow_damaged, progress=False,
                        ),
                    )
                    start = time.perf_counter()
                    query, query_embedding = embedded.query(sample, mode)
                    owed["encode"] += time.perf_counter() - start
                except FramepickError as exc:
                    logger.warning("sample %s: %s; skipped", sample.id, exc)
                    summary.failed.append((sample.id, str(exc)))
                    failed_ids.add(sample.id)
                    bar.update(len(todo))
                    continue
                if fresh:
                    for stage in ("probe", "decode", "encode", "select"):
                        owed[stage] += prepared.timings.get(stage, 0.0)

                if (sample.id, mode) not in timelines_done:
                    features = prepared.features[selection_encoder.id]
                    relevance = pipeline.relevance(features, query_embedding)
                    timelines_out.append(_timeline_row(sample, mode, prepared, relevance))
                    timelines_done.add((sample.id, mode))

                aids.start(sample, prepared, query)
                for spec, k in todo:
                    selector = selectors[spec.label]
                    aid = aids.for_selector(selector)
                    for key, seconds in aid.seconds.items():
                        owed[key] += seconds
                    selection = api.select_prepared(
                        prepared, k, method=aid.selector or selector, encoder=selection_encoder, query=query,
                        query_embedding=query_embedding, option_embeddings=aid.option_embeddings, seed=seed,
                        clips=aid.clips,
                    )
                    if aid.params:
                        selection = replace(selection, params={**selection.params, **aid.params})
                    owed["select"] += selection.timings.get("select", 0.0)
                    window.submit(
                        functools.partial(answer_selection, answerer_obj, prepared, selection, sample, answer_cache),
                        functools.partial(finish, sample, spec.label, k, mode, selection, prepared, owed),
                    )
                    owed = dict.fromkeys(rec.TIMING_KEYS, 0.0)
            window.drain()
    finally:
        window.close()
        bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _remove_if_empty(out: Path) -> None:
    """Undo a run folder that failed before holding anything but its config and empty files."""
    names = {rec.CONFIG_FILE, rec.RECORDS_FILE, rec.TIMELINES_FILE}
    try:
        entries = list(out.iterdir())
        if any(e.name not in names or (e.name != rec.CONFIG_FILE and e.stat().st_size) for e in entries):
            return
        for entry in entries:
            entry.unlink()
        out.rmdir()
    except OSError:  # best effort: the error being raised is the one to report
        pass


def _open_run_dir(out: Path, config: dict[str, Any], force_new: bool) -> None:
    """Create the run folder, or check that it holds the same run; write the merged config."""
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"--out {str(out)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgumentError(f"--out {str(out)!r} cannot be created ({exc.strerror or exc})") from None
    paths = [out / rec.CONFIG_FILE, out / rec.RECORDS_FILE, out / rec.TIMELINES_FILE]
    if force_new:
        for path in paths:
            path.unlink(missing_ok=True)
    old = rec.read_json(out / rec.CONFIG_FILE)
    if old is None and any(path.exists() and path.stat().st_size for path in paths[1:]):
        raise InvalidArgumentError(
            f"--out {str(out)!r} holds records but no config.json; use --force-new to start over, or another --out"
        )
    if old is not None:
        for key in IDENTITY_KEYS:
            # A folder of imported selections only (data import-selections) names no encoder, grid ...: this run does.
            if old.get(key) != config.get(key) and not (old.get("imported_only") and key not in old):
                raise InvalidArgumentError(
                    f"--out {str(out)!r} holds a run with another {key.removesuffix('_id')} "
                    f"({old.get(key)!r}, now {config.get(key)!r}); "
                    "use --force-new to start over, or another --out"
                )
        # Resuming may add methods, budgets or query modes: the config lists everything the folder holds.
        for key in ("methods", "ks", "queries"):
            config[key] = list(dict.fromkeys([*old.get(key, []), *config[key]]))
        config["samples"] = max(int(old.get("samples") or 0), config["samples"])
    rec.write_json_atomic(out / rec.CONFIG_FILE, config)


def _record(
    sample: Sample,
    label: str,
    k: int,
    mode: str,
    selection: Selection,
    answered: Answered,
    prepared: PreparedVideo,
    *,
    encoder_id: str,
    answerer_id: str,
    timings: dict[str, float],
) -> dict[str, Any]:
    data = selection.to_dict()
    answer = answered.answer
    letter = None if answer is None else answer.letter
    duration = prepared.index.info.duration_seconds
    record = {
        "sample_id": sample.id,
        "method": label,
        "k": k,
        "query": mode,
        "encoder": encoder_id,
        "answerer": answerer_id,
        "candidates": selection.num_candidates,
        "frames": [{"index": f["index"], "timestamp": f["timestamp"], "score": f["score"]} for f in data["frames"]],
        "clips": data["clips"],
        "answer": letter,
        # An answer that names no option is wrong, not missing: an MLLM that rambles must not
        # be scored on only the questions it answered cleanly.
        "correct": None if answer is None or sample.answer is None else letter == sample.answer,
        "option_probs": None if answer is None or answer.option_probs is None else [round(p, 6) for p in answer.option_probs],
        "gold": sample.answer,
        "spans": [list(span) for span in sample.spans],
        "duration_seconds": round(float(duration), 6),
        "task_type": sample.task_type,
        "duration_bucket": sample.duration_bucket or duration_bucket_for(duration),
        "timings_seconds": {key: round(float(timings.get(key, 0.0)), 6) for key in rec.TIMING_KEYS},
        "frames_sent": 0 if answer is None else len(selection),
        "near_duplicates": _near_duplicates(prepared, selection, encoder_id),
        "answer_source": None if answer is None else answer.source,
        "reply": None if answer is None else answer.text,
        "answer_cached": answered.cached,
    }
    if "query_source" in selection.params:  # msjoe with a query model: where its query rows came from
        record["query_source"] = selection.params["query_source"]
        record["query_fallback"] = selection.params["query_fallback"]
    if "clip_source" in selection.params:  # kframes: the model's, the labelled (oracle) or similarity clips
        record["clip_source"] = selection.params["clip_source"]
        if "clip_fallback" in selection.params:  # with a clip model: why its clips were not used
            record["clip_fallback"] = selection.params["clip_fallback"]
    if "instruction_source" in selection.params:  # videoitg spread by the sample's labelled instruction type
        record["instruction_source"] = selection.params["instruction_source"]
        record["instruction"] = selection.params.get("instruction")
    return record


def _near_duplicates(prepared: PreparedVideo, selection: Selection, encoder_id: str) -> int | None:
    """Near-duplicate neighbour pairs among the chosen frames, in the selection encoder's space."""
    from framepick.select.dedup import near_duplicate_neighbour_pairs

    features = prepared.features.get(encoder_id)
    if features is None:
        return None
    return near_duplicate_neighbour_pairs(features.embeddings[selection.positions])


def _timeline_row(sample: Sample, mode: str, prepared: PreparedVideo, relevance: np.ndarray) -> dict[str, Any]:
    timestamps = prepared.timestamps
    duration = float(prepared.index.info.duration_seconds)
    scenes = [[round(start, 6), round(end, 6)] for start, end in prepared.candidates.scene_seconds(prepared.scenes or ())]
    return {
        "sample_id": sample.id,
        "query": mode,
        "video": sample.video,
        "timestamps": [round(float(t), 6) for t in timestamps],
        "indices": [int(i) for i in prepared.indices],
        "relevance": [round(float(r), 6) for r in relevance],
        "scenes": scenes,
        "duration_seconds": round(duration, 6),
        "spans": [list(span) for span in sample.spans],
    }
