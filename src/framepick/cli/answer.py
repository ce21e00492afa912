"""``framepick answer``: choose K frames for a question and answer it with an MLLM."""

from __future__ import annotations

import argparse
import sys

from framepick.cli.checks import check_input_file, check_outputs, check_text, seed_arg
from framepick.cli.common import (
    add_answerer_args,
    add_cache_args,
    add_device_args,
    add_grid_args,
    answerer_options_from_args,
    apply_device_args,
    cache_from_args,
    finish_grid_args,
    json_object_arg,
    progress_from_args,
)
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Choose K frames of VIDEO for the question, show them to an MLLM with their timestamps, and print
JSON: the answer (a letter with one probability per option, or the model's text without options),
how it was read, the raw reply, timings, and the selection. Answers are cached: asking again costs
a selection, not a model call."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "answer", help="answer a question about a video with an MLLM", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", metavar="VIDEO", help="the video file")
    parser.add_argument("-q", "--question", required=True, help="the question")
    choices = parser.add_mutually_exclusive_group()
    choices.add_argument("--options", metavar="'A;B;...'", help="the answer options, separated by ';'")
    choices.add_argument("--option", action="append", metavar="TEXT", help="one answer option (repeatable; for texts with ';')")
    parser.add_argument("-k", type=int, default=16, help="how many frames the MLLM sees (default 16)")
    parser.add_argument("--method", help="selection method (see 'framepick methods'; default topk+dedup); NAME=CKPT_DIR for a learned one")
    parser.add_argument("--method-params", metavar="JSON", help="method hyper-parameters as a JSON object")
    parser.add_argument("--encoder", default="auto", help="feature encoder for the selection (default auto)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed for any randomness (default 0)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON here instead of stdout")
    add_answerer_args(parser)
    add_device_args(parser)
    add_grid_args(parser)
    add_cache_args(parser)
    parser.set_defaults(run=run)


def parse_options(args: argparse.Namespace) -> list[str]:
    """The options of ``--options 'a;b'`` or repeated ``--option``; none for an open question."""
    options = args.option or ([o.strip() for o in args.options.split(";")] if args.options is not None else [])
    if any(not o.strip() for o in options):
        raise InvalidArgumentError(f"an answer option is empty in {options!r}")
    if len(options) == 1:
        raise InvalidArgumentError("give at least 2 options, or none for an open answer")
    if len(options) > 26:
        raise InvalidArgumentError(f"at most 26 options (letters A-Z), got {len(options)}")
    for option in options:
        check_text(option, "--option")
    return options


def run(args: argparse.Namespace) -> int:
    from framepick.export import atomic_path
    from framepick.qa import answer_question
    from framepick.select.spec import parse_method_spec

    finish_grid_args(args)
    check_text(args.question, "--question")
    check_input_file(args.video, "VIDEO")
    check_outputs({"-o": args.output}, {"VIDEO": args.video})
    options = parse_options(args)
    apply_device_args(args)
    params = json_object_arg(args.method_params, "--method-params")
    method = None
    if args.method:  # NAME, NAME+dedup or NAME=CKPT_DIR, read as `select --method` reads it
        spec = parse_method_spec(args.method, params, flag="--method")
        method, params = spec.name, spec.params
    from framepick.answer import load_answerer

    answerer = load_answerer(args.answerer, answerer_options_from_args(args))
    result = answer_question(
        args.video, args.question, options, k=args.k, method=method or _default_method(), answerer=answerer,
        encoder=args.encoder, candidates=args.candidates, fps=args.fps, max_candidates=args.max_candidates,
        keyframes_only=args.keyframes, seed=args.seed, method_params=params, cache=cache_from_args(args),
        allow_damaged=args.allow_damaged, progress=progress_from_args(args),
    )
    import json

    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _default_method() -> str:
    from framepick.api import DEFAULT_METHOD  # importing api loads numpy and more: only when run

    return DEFAULT_METHOD
