"""``framepick select``: choose K frames of a video (or of your own scores or key clips)."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from framepick.cli.common import (
    add_cache_args,
    add_device_args,
    add_model_run_args,
    answerer_options_from_args,
    apply_device_args,
    add_grid_args,
    cache_from_args,
    finish_grid_args,
    json_object_arg,
    progress_from_args,
)
from framepick.cli.checks import check_input_file, check_outputs, check_text, seed_arg
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Choose K frames of VIDEO for a question and print them as JSON.
Without a video: --scores FILE runs a score-based method on one score per candidate,
--clips FILE --candidates N runs K-frames any-k sampling on key clips, and
--features FRAMES.npy --query-features QUERY.npy runs any method on your own embeddings
([T,D] and [D] or [Q,D], any norm: rows are L2-normalised; .npy or a one-array .npz); "index"
is then the row. Without pixels, kframes cuts scenes where consecutive rows differ."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "select",
        help="choose K frames for a question",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", nargs="?", metavar="VIDEO", help="the video file")
    parser.add_argument("-q", "--question", help="the question the frames must answer")
    parser.add_argument("--option", action="append", default=[], metavar="TEXT", help="an answer option (repeatable)")
    parser.add_argument("--query-image", metavar="PATH", help="find frames that look like this picture")
    parser.add_argument("-k", type=int, default=8, help="how many frames to choose (default 8)")
    parser.add_argument(
        "--method", help="selection method (see 'framepick methods'; default topk+dedup, or topk with --scores); "
        "a learned one as NAME=CKPT_DIR (from 'framepick train')"
    )
    parser.add_argument("--encoder", default="auto", help="feature encoder (see 'framepick encoders'; default auto)")
    parser.add_argument("--method-params", metavar="JSON", help='method hyper-parameters as a JSON object, e.g. \'{"alpha": 2}\'')
    parser.add_argument(
        "--dedup", action="store_true",
        help="near-duplicate guard, any method: no two chosen frames with feature cosine >= 0.95 "
        "(another threshold: --method-params '{\"dedup\": 0.9}')",
    )
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed for any randomness (default 0)")
    add_grid_args(parser)
    parser.add_argument("--scores", metavar="FILE", help="bring your own scores: .npy or a JSON list, one per candidate")
    parser.add_argument("--clips", metavar="FILE", help="bring your own key clips: JSON or K-frames text output")
    parser.add_argument(
        "--clip-index-base",
        type=int,
        choices=(0, 1),
        default=0,
        help="whether clip frame numbers in --clips count from 0 or 1 (default 0, as K-frames' prompts number frames)",
    )
    clip_model = parser.add_argument_group("K-frames with an MLLM clip predictor (paper 000)")
    clip_model.add_argument(
        "--clip-model", metavar="SPEC",
        help="with --method kframes: an MLLM (hf:HUB_ID_OR_DIR or openai:MODEL@URL) names the key clips; "
        "an unusable reply falls back to similarity clips, and the output says so",
    )
    clip_model.add_argument("--clip-frames", type=int, default=64, metavar="N",
                            help="frames the clip model is shown, evenly spaced over the candidates (default 64)")
    reasoned = parser.add_argument_group("MSJoE with reasoned queries (paper 004)")
    reasoned.add_argument(
        "--query-model", metavar="SPEC",
        help="with --method msjoe=CKPT: an MLLM (hf:HUB_ID_OR_DIR or openai:MODEL@URL) writes up to 4 visual "
        "queries, the rows msjoe reads; an unusable reply falls back to the option texts, and the output says so",
    )
    reasoned.add_argument("--query-frames", type=int, default=8, metavar="N",
                          help="frames the query model previews, evenly spaced (default 8; 0: the question alone)")
    # How the --clip-model or --query-model is asked (frame size, requests in flight, API key).
    add_model_run_args(parser.add_argument_group("the MLLM of --clip-model or --query-model"))
    own = parser.add_argument_group("your own embeddings (instead of VIDEO)")
    own.add_argument("--features", metavar="FRAMES.npy", help="[T,D] frame embeddings, one row per candidate")
    own.add_argument("--query-features", metavar="QUERY.npy", help="[D] or [Q,D] query embedding, in the frames' space")
    own.add_argument("--option-features", metavar="OPTIONS.npy", help="[m,D] option embeddings (option-aware methods: msjoe)")
    own.add_argument("--timestamps", metavar="TS.npy", help="[T] seconds of the rows (default: none)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON here instead of stdout")
    parser.add_argument("--frames-dir", metavar="DIR", help="write the chosen frames as JPEGs named by timestamp")
    parser.add_argument("--sheet", metavar="FILE.jpg", help="write one contact sheet of the chosen frames")
    add_cache_args(parser)
    add_device_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick import api
    from framepick.select.spec import parse_method_spec

    finish_grid_args(args)
    given = (("VIDEO", args.video), ("--scores", args.scores), ("--clips", args.clips), ("--features", args.features))
    sources = [name for name, value in given if value]
    if len(sources) != 1:
        raise InvalidArgumentError(
            "give exactly one of VIDEO, --scores FILE, --clips FILE or --features FILE"
            + (f" (got {' and '.join(sources)})" if sources else "")
        )
    _check_own_feature_flags(args)
    if args.video is None and args.clip_model:
        raise InvalidArgumentError("--clip-model looks at the video's frames; it needs a VIDEO")
    if args.query_model and (args.video is None or args.clip_model):
        raise InvalidArgumentError("--query-model goes with a VIDEO and --method msjoe=CKPT, not with "
                                   + ("--clip-model" if args.clip_model else sources[0]))
    if args.video is None and (args.frames_dir or args.sheet):
        raise InvalidArgumentError("--frames-dir and --sheet need a video")
    _check_paths_and_text(args)
    apply_device_args(args)
    params = _method_params(args.method_params)
    if args.dedup:
        params.setdefault("dedup", True)
    method = None
    if args.method:
        # NAME, NAME+dedup or NAME=CKPT_DIR, read as `eval --methods` reads its entries.
        spec = parse_method_spec(args.method, params, flag="--method")
        method, params = spec.name, spec.params

    frames = None
    if args.scores:
        if params.get("dedup") not in (None, False):
            raise InvalidArgumentError("--dedup compares frames' features; a score list has none (use it with a VIDEO)")
        scores = _read_scores(Path(args.scores))
        if args.candidates_given and args.candidates != len(scores):
            raise InvalidArgumentError(
                f"--candidates {args.candidates} does not match the {len(scores)} scores in {args.scores!r}"
            )
        selection = api.select_from_scores(
            scores, args.k, method=method or "topk", seed=args.seed, method_params=params
        )
    elif args.features:
        selection = _select_from_own_features(args, method or api.DEFAULT_METHOD, params)
    elif args.clips:
        from framepick.select.clips_io import read_clips

        if not args.candidates_given:
            raise InvalidArgumentError("--clips needs --candidates N: how many candidate frames the clips index")
        if method not in (None, "kframes"):
            raise InvalidArgumentError(f"--clips runs K-frames sampling; --method {method!r} cannot use clips")
        clips = read_clips(Path(args.clips), num_candidates=args.candidates, index_base=args.clip_index_base)
        mode = params.pop("mode", "auto")
        selection = api.select_from_clips(
            clips, args.candidates, args.k, mode=mode, seed=args.seed, method_params=params
        )
    elif args.clip_model:
        selection = _select_with_clip_model(args, method, params)
    elif args.query_model:
        selection = _select_with_query_model(args, method, params)
    else:
        if "checkpoint" in params:  # a checkpoint trained on reasoned queries warns here
            from framepick.reasoned_queries import warn_if_other_source

            warn_if_other_source(parse_method_spec(method, params).build(), "options")
        select = functools.partial(
            api.select_frames,
            args.video,
            args.question,
            args.k,
            method=method or api.DEFAULT_METHOD,
            encoder=args.encoder,
            query_image=args.query_image,
            options=args.option,
            candidates=args.candidates,
            fps=args.fps,
            max_candidates=args.max_candidates,
            keyframes_only=args.keyframes,
            seed=args.seed,
            method_params=params,
            cache=cache_from_args(args),
            allow_damaged=args.allow_damaged,
            progress=progress_from_args(args),
        )
        # --frames-dir / --sheet decode the chosen frames at full size anyway, which proves they
        # exist: skip the small proof decode of a method that decodes nothing (uniform) and redo
        # it, with the damage policy, only if a chosen frame fails. One decode instead of two.
        selection = select(verify_chosen=not (args.frames_dir or args.sheet))
        if args.frames_dir or args.sheet:
            frames, selection = _decode_chosen(selection)
            if frames is None:
                selection = select(verify_chosen=True)

    _write_outputs(args, selection, frames)
    return 0


def _select_with_clip_model(args: argparse.Namespace, method: str | None, params: dict):
    from framepick.clip_model import select_with_clip_model

    if method not in (None, "kframes") or params.get("dedup") not in (None, False):
        raise InvalidArgumentError(f"--clip-model predicts K-frames' key clips; it goes with --method kframes, not {args.method!r}")
    if not args.question or args.query_image:
        raise InvalidArgumentError("--clip-model needs a text question (-q) and no --query-image")
    if args.clip_frames < 1:
        raise InvalidArgumentError(f"--clip-frames must be a positive integer, got {args.clip_frames}")
    return select_with_clip_model(
        args.video, args.question, args.k, clip_model=args.clip_model, choices=args.option, shown=args.clip_frames,
        encoder=args.encoder, candidates=args.candidates, fps=args.fps, max_candidates=args.max_candidates,
        keyframes_only=args.keyframes, method_params=params,
        options=answerer_options_from_args(args), cache=cache_from_args(args),
        allow_damaged=args.allow_damaged, progress=progress_from_args(args),
    )


def _select_with_query_model(args: argparse.Namespace, method: str | None, params: dict):
    from framepick.reasoned_queries import select_with_reasoned_queries

    if method is None:
        raise InvalidArgumentError("--query-model writes the query rows msjoe reads; give --method msjoe=CKPT")
    if not args.question or args.query_image:
        raise InvalidArgumentError("--query-model needs a text question (-q) and no --query-image")
    if args.query_frames < 0:
        raise InvalidArgumentError(f"--query-frames must be an integer >= 0, got {args.query_frames}")
    return select_with_reasoned_queries(
        args.video, args.question, args.k, query_model=args.query_model, options=args.option,
        method=method, method_params=params,
        preview=args.query_frames, encoder=args.encoder, candidates=args.candidates, fps=args.fps,
        max_candidates=args.max_candidates, keyframes_only=args.keyframes, seed=args.seed,
        answerer_options=answerer_options_from_args(args), cache=cache_from_args(args),
        allow_damaged=args.allow_damaged, progress=progress_from_args(args),
    )


def _check_paths_and_text(args: argparse.Namespace) -> None:
    """Before any work: inputs exist and are files, no output overwrites an input, text is UTF-8."""
    check_text(args.question, "--question")
    for option in args.option:
        check_text(option, "--option")
    inputs = {
        "VIDEO": args.video, "--scores": args.scores, "--clips": args.clips, "--query-image": args.query_image,
        "--features": args.features, "--query-features": args.query_features,
        "--option-features": args.option_features, "--timestamps": args.timestamps,
    }
    for flag, path in inputs.items():
        check_input_file(path, flag)
    check_outputs({"-o": args.output, "--sheet": args.sheet, "--frames-dir": args.frames_dir}, inputs,
                  folders=("--frames-dir",))
    if args.sheet:
        from framepick.export import sheet_format

        sheet_format(Path(args.sheet))


def _check_own_feature_flags(args: argparse.Namespace) -> None:
    """The embedding flags go with --features, and the flags that need pixels or an encoder do not."""
    if not args.features:
        extra = [f for f, v in (("--query-features", args.query_features), ("--option-features", args.option_features),
                                ("--timestamps", args.timestamps)) if v]
        if extra:
            raise InvalidArgumentError(f"{', '.join(extra)} go with --features FRAMES.npy")
        return
    if args.query_image or args.option:
        flag = "--query-image" if args.query_image else "--option"
        raise InvalidArgumentError(
            f"{flag} needs an encoder, and --features has none: give the embedding (--query-features / --option-features)"
        )
    if args.encoder != "auto":
        raise InvalidArgumentError("--encoder embeds video frames; with --features the rows are already embeddings")
    if args.candidates_given:
        raise InvalidArgumentError("--candidates describes a video's grid; with --features every row is a candidate")


def _select_from_own_features(args: argparse.Namespace, method: str, params: dict):
    from framepick import api
    from framepick.own_features import read_array

    def array(flag: str, path: str | None):
        return None if path is None else read_array(Path(path), flag)

    frames = array("--features", args.features)
    names = {"frames": f"--features {args.features!r}", "query": f"--query-features {args.query_features!r}",
             "options": f"--option-features {args.option_features!r}", "timestamps": f"--timestamps {args.timestamps!r}"}
    if args.query_features is None:
        names["query"] = "--query-features QUERY.npy"
    return api.select_from_features(
        frames, array("--query-features", args.query_features), args.k, method=method,
        timestamps=array("--timestamps", args.timestamps), options=array("--option-features", args.option_features),
        question=args.question, seed=args.seed, method_params=params, names=names,
    )


def _write_outputs(args: argparse.Namespace, selection, frames=None) -> None:
    """Every result is computed and staged before any appears, so a failure leaves no output."""
    from framepick import export, pipeline

    with export.StagedOutputs() as out:
        if args.frames_dir or args.sheet:
            frames = pipeline.chosen_frames(selection) if frames is None else frames
            if args.sheet:
                out.write_contact_sheet(Path(args.sheet), frames, selection.indices, selection.timestamps)
            if args.frames_dir:
                out.write_frames_dir(Path(args.frames_dir), frames, selection.indices, selection.timestamps)
        text = selection.to_json() + "\n"
        if args.output:
            out.write_text(Path(args.output), text)
    if not args.output:
        sys.stdout.write(text)


def _decode_chosen(selection):
    """(frames, selection with the decode counted in its timings), or (None, selection) when a
    chosen frame does not decode."""
    import time
    from dataclasses import replace

    from framepick.errors import VideoError
    from framepick.pipeline import chosen_frames

    start = time.perf_counter()
    try:
        frames = chosen_frames(selection)
    except VideoError:
        return None, selection
    timings = dict(selection.timings)
    timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - start
    return frames, replace(selection, timings=timings)


def _method_params(text: str | None) -> dict:
    return json_object_arg(text, "--method-params")


def _read_scores(path: Path):
    import numpy as np

    from framepick.types import as_float_scores

    if path.suffix.lower() == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InvalidArgumentError(f"score file {str(path)!r} is not a readable .npy array ({exc})") from None
    else:
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidArgumentError(f"score file {str(path)!r} is neither .npy nor a JSON list ({exc})") from None
        if isinstance(values, dict) and "scores" in values:
            values = values["scores"]
    return as_float_scores(values, name=f"scores in {str(path)!r}")
