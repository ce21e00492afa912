"""``framepick eval``: run methods x budgets over a manifest (or a benchmark), resumably."""

from __future__ import annotations

import argparse
import sys

from framepick.cli.common import (
    add_answerer_args,
    add_cache_args,
    add_device_args,
    answerer_options_from_args,
    apply_device_args,
    add_grid_args,
    cache_from_args,
    finish_grid_args,
    grid_from_args,
    json_object_arg,
    progress_from_args,
)
from framepick.cli.checks import (
    check_input_dir,
    check_input_file,
    check_input_path,
    check_outputs,
    seed_arg,
)
from framepick.cli.ray_args import add_ray_args, ray_options_from_args
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Select frames with every method at every budget k for every sample, answer each question from the
selected frames, and write one JSON line per (sample, method, k, query) to OUT/records.jsonl, the
per-sample relevance curves and scenes to OUT/timelines.jsonl and the run's settings to
OUT/config.json; then print a summary table. Each video is decoded and embedded once per encoder
(and cached). An interrupted run, even by kill -9, resumes where it stopped when run again with
the same --out.

With --ray the videos are first decoded and embedded on a Ray cluster ('framepick embed --ray');
the records are then written here, from the cache, so the run stays resumable (docs/scale.md).

The 'offline' answerer is a weak baseline (option texts matched against frames in the encoder's
space), there to make accuracy computable without an MLLM; do not read its accuracy as an MLLM's."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval",
        help="evaluate methods x budgets over a manifest",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", metavar="FILE", help="samples as a JSONL manifest (see 'framepick data')")
    source.add_argument(
        "--benchmark",
        metavar="NAME",
        help="samples straight from a benchmark's official annotations (with --annotations and --videos; "
        "see 'framepick data convert')",
    )
    parser.add_argument("--annotations", metavar="FILE", help="with --benchmark: the official annotation file")
    parser.add_argument("--videos", metavar="DIR", help="with --benchmark: the folder holding its videos")
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder (created; resumed if it exists)")
    parser.add_argument(
        "--methods",
        default="uniform,topk,aks,bolt,kframes,mmr,topk+dedup",
        metavar="LIST",
        help="comma-separated methods, NAME or NAME=CHECKPOINT_DIR (default uniform,topk,aks,bolt,kframes,mmr,topk+dedup)",
    )
    parser.add_argument(
        "--method-params",
        metavar="JSON",
        help='methods\' parameters as a JSON object keyed by the method as written in --methods, e.g. '
        '\'{"bolt": {"power": 2.5}}\'; part of the run\'s identity (a resumed run gives the same)',
    )
    parser.add_argument("-k", default="8,32", metavar="LIST", help="comma-separated frame budgets (default 8,32)")
    parser.add_argument("--encoder", default="auto", help="selection encoder (see 'framepick encoders'; default auto: "
                        "the encoder a learned method was trained on, else the best one on disk)")
    parser.add_argument(
        "--query",
        choices=("auto", "text", "image", "both"),
        default="auto",
        help="what selection looks for: auto (default) the sample's query picture where it has one, as the "
        "manifest format says, else its question; text the question always; image the picture (samples "
        "without one are skipped); both text and image. Records say which was used",
    )
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed for any randomness (default 0)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N samples")
    parser.add_argument("--force-new", action="store_true", help="discard the run already in --out and start over")
    parser.add_argument("--query-model", metavar="SPEC", help="an MLLM (hf:..., openai:...) writes the query rows "
                        "msjoe reads (paper 004) instead of the option texts; records say which were used")
    parser.add_argument("--query-frames", type=int, default=8, metavar="N",
                        help="frames the --query-model previews, evenly spaced (default 8; 0: the question alone)")
    parser.add_argument("--oracle-clips", action="store_true",
                        help="kframes samples from each sample's labelled key clips (extra.key_clips, 'framepick data "
                        "peakclips'): its sampling alone; records' clip_source says labels or similarity")
    parser.add_argument("--clip-model", metavar="SPEC", help="an MLLM (hf:..., openai:...) names kframes' key clips "
                        "(paper 000, Fig. 14), once per question; records' clip_source says mllm or similarity")
    parser.add_argument("--clip-frames", type=int, default=64, metavar="N",
                        help="frames the --clip-model is shown, evenly spaced over the candidates (default 64; "
                        "the paper shows 256)")
    add_answerer_args(parser)
    add_device_args(parser)
    add_grid_args(parser)
    add_cache_args(parser)
    add_ray_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.eval import compute_metrics, format_table, read_records, run_eval
    from framepick.eval.queries import parse_query_modes
    from framepick.eval.runner import parse_ks, parse_method_specs

    finish_grid_args(args)
    if args.limit is not None and args.limit < 1:
        raise InvalidArgumentError(f"--limit must be a positive integer, got {args.limit}")
    _check_paths(args)
    if args.ray is not None and args.no_cache:
        raise InvalidArgumentError("--ray embeds into the feature cache for the run to read; it does not go with --no-cache")
    ray_options = ray_options_from_args(args) if args.ray is not None else None
    apply_device_args(args)
    # argument errors before anything loads
    methods = parse_method_specs(args.methods, json_object_arg(args.method_params, "--method-params"))
    ks = parse_ks(args.k)
    args.encoder = method_encoder(args.encoder, methods)
    modes = parse_query_modes(args.query)
    grid = grid_from_args(args)
    if args.clip_model and args.oracle_clips:  # before any model loads
        raise InvalidArgumentError("--clip-model and --oracle-clips both give kframes its clips; choose one")
    if args.benchmark is not None and not (args.annotations and args.videos):
        raise InvalidArgumentError("--benchmark needs --annotations FILE and --videos DIR")
    if args.manifest is not None and (args.annotations or args.videos):
        raise InvalidArgumentError("--annotations and --videos go with --benchmark, not --manifest")
    samples = load_samples(args.manifest, args.benchmark, args.annotations, args.videos)
    if args.limit is not None:
        samples = samples[: args.limit]
    if not samples:
        raise InvalidArgumentError("no usable samples to evaluate")
    from framepick.answer import load_answerer

    answerer = load_answerer(args.answerer, answerer_options_from_args(args))
    reasoner = None
    if args.query_model:
        from framepick.reasoned_queries import QueryReasoner

        reasoner = QueryReasoner.load(args.query_model, answerer_options_from_args(args), preview=args.query_frames,
                                      cache=cache_from_args(args))
    predictor = None
    if args.clip_model:
        from framepick.clip_model import ClipPredictor

        predictor = ClipPredictor.load(args.clip_model, answerer_options_from_args(args), shown=args.clip_frames,
                                       cache=cache_from_args(args))
    if ray_options is not None:
        _embed_on_ray(args, samples, answerer, modes, grid, ray_options)
    summary = run_eval(
        samples,
        args.out,
        methods=methods,
        ks=ks,
        answerer=answerer,
        encoder=args.encoder,
        queries=modes,
        grid=grid,
        cache=cache_from_args(args),
        seed=args.seed,
        allow_damaged=args.allow_damaged,
        progress=progress_from_args(args),
        force_new=args.force_new,
        manifest=args.manifest,
        benchmark=args.benchmark,
        query_reasoner=reasoner,
        oracle_clips=args.oracle_clips,
        clip_predictor=predictor,
    )
    print(format_table(compute_metrics(read_records(summary.out_dir))))
    notes = [f"{summary.written} records written, {summary.already_done} already done, in {summary.seconds:.1f} s"]
    if summary.not_applicable:
        notes.append(f"{summary.not_applicable} sample(s) without a query picture skipped for --query image")
    if summary.answers_cached:
        notes.append(f"{summary.answers_cached} answers from the answer cache")
    if summary.answers_failed:
        notes.append(f"{summary.answers_failed} record(s) not written because the answerer failed (a rerun asks again)")
    if reasoner is not None and reasoner.asked:
        notes.append(f"query model: {reasoner.asked - reasoner.fallbacks} of {reasoner.asked} question(s) reasoned, "
                     f"{reasoner.fallbacks} fell back to the option texts")
    if predictor is not None and predictor.asked:
        notes.append(f"clip model: {predictor.asked - predictor.fallbacks} of {predictor.asked} question(s) given "
                     f"its clips, {predictor.fallbacks} fell back to similarity clips")
    if summary.failed:
        notes.append(f"{len(summary.failed)} sample(s) failed (first: {summary.failed[0][0]}: {summary.failed[0][1]})")
    print(f"{summary.out_dir}: " + "; ".join(notes), file=sys.stderr)
    return 1 if summary.failed else 0


def method_encoder(encoder: str, methods) -> str:
    """``--encoder auto`` where a method brings its own encoder (``tspo=TSPO-0.4B``: the CLIP it was
    trained on, ``tspo=CKPT`` of ``framepick train``: the encoder it was trained with) means that
    encoder, as in ``framepick select``; methods that want different ones need ``--encoder``."""
    if encoder != "auto":
        return encoder
    wanted = {spec.label: own for spec in methods if (own := spec.build().auto_encoder())}
    if len(set(wanted.values())) > 1:
        listed = ", ".join(f"{label}: {own}" for label, own in wanted.items())
        raise InvalidArgumentError(f"--encoder auto: the methods were trained on different encoders ({listed}); "
                                   "evaluate them in separate runs, or name one with --encoder")
    return next(iter(wanted.values()), encoder)


def _embed_on_ray(args: argparse.Namespace, samples: list, answerer, modes, grid, options) -> None:
    """The run's videos decoded and embedded on Ray, with every encoder the run reads, into its cache.

    Only the cache is filled here: the records are written afterwards by the usual loop in this
    process, so they stay resumable whatever happens to a worker. A video that fails here is
    tried (and reported) again by that loop.
    """
    import logging

    from framepick.answer.base import EmbeddingAnswerer
    from framepick.embed.on_ray import embed_on_ray
    from framepick.embed.spec import EmbedSpec
    from framepick.encode.cache import FeatureCache
    from framepick.encode.resolve import canonical_spec, loaded_spec
    from framepick.eval.runner import selection_encoder_spec

    specs = [canonical_spec(selection_encoder_spec(args.encoder, modes))]
    if isinstance(answerer, EmbeddingAnswerer):
        spec = loaded_spec(answerer.encoder)
        if spec is None:
            logging.getLogger(__name__).warning(
                "the answerer's encoder %s was not loaded by a spec; the eval loop embeds its features here", answerer.encoder.id
            )
        else:
            specs.append(spec)
    embed_spec = EmbedSpec(
        grid, tuple(dict.fromkeys(specs)), allow_damaged=args.allow_damaged, device=args.device,
    )
    videos = list(dict.fromkeys(str(sample.video) for sample in samples))
    summary = embed_on_ray(videos, embed_spec, FeatureCache(args.cache_dir), options, progress=progress_from_args(args))
    print(f"embedded on Ray: {summary.line()}", file=sys.stderr)


def _check_paths(args: argparse.Namespace) -> None:
    """Inputs exist and are what they should be; the run folder can be made and holds no input."""
    from pathlib import Path

    from framepick.eval import records as rec

    check_input_file(args.manifest, "--manifest")
    check_input_path(args.annotations, "--annotations")  # mlvu's is a folder
    check_input_dir(args.videos, "--videos")
    out = Path(args.out)
    check_outputs({"--out": out}, folders=("--out",))
    if out.is_dir():  # a resumed run: its files must not be the manifest or the annotations
        inputs = {"--manifest": args.manifest, "--annotations": args.annotations}
        run_files = (rec.RECORDS_FILE, rec.TIMELINES_FILE, rec.CONFIG_FILE)
        check_outputs({f"--out file {name}": out / name for name in run_files}, inputs)


def load_samples(
    manifest: str | None, benchmark: str | None, annotations: str | None = None, videos: str | None = None
) -> list:
    """Samples from a manifest or a benchmark's annotations; skipped rows are reported as warnings."""
    import logging

    log = logging.getLogger("framepick.cli.eval")
    if manifest is not None:
        from framepick.data.manifest import read_manifest

        report = read_manifest(manifest)
        if report.malformed or report.missing_videos:
            log.warning(report.summary())
            for number, reason in (report.malformed + report.missing_videos)[:5]:
                log.warning("  line %d: %s", number, reason)
        return list(report.samples)
    from pathlib import Path

    from framepick.data.benchmarks import load_benchmark

    loaded = load_benchmark(str(benchmark)).load(Path(str(annotations)), Path(str(videos)))
    if loaded.malformed or loaded.missing_videos or loaded.skipped:
        log.warning(loaded.summary())
    return list(loaded.samples)
