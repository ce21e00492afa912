"""``framepick data vidthinker``: VideoITG's VidThinker labels from an (M)LLM (docs/vidthinker.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from framepick.cli.checks import check_input_file, check_outputs
from framepick.cli.common import (
    add_cache_args,
    add_device_args,
    add_model_run_args,
    answerer_options_from_args,
    apply_device_args,
    cache_from_args,
    progress_from_args,
)
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
VideoITG's VidThinker annotation (paper 002, Sec. 3.1): cut each video into 5 s clips, caption
each clip with the MLLM conditioned on the question and answer, let the LLM name the relevant
clips (the paper's Table 8 prompt), then ask the MLLM per frame of those clips whether it is
relevant. Writes OUT: the manifest with each sample's evidence spans, per-frame labels
(extra.frame_labels) and instruction type (extra.instruction_type, asked of the LLM), which
`framepick train videoitg --manifest OUT` trains on. A sample whose model call fails or whose
reply cannot be read keeps its row, with extra.vidthinker_error, and is counted. Replies are
cached: a rerun asks the model nothing."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "vidthinker",
        help="VideoITG's VidThinker: evidence spans and per-frame labels from an MLLM",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--manifest", required=True, metavar="IN", help="the manifest to label")
    parser.add_argument("--llm", required=True, metavar="SPEC",
                        help="the (M)LLM for every step: hf:HUB_ID_OR_DIR or openai:MODEL@http://HOST:PORT/v1")
    parser.add_argument("--out", required=True, metavar="OUT", help="the labelled manifest to write")
    parser.add_argument("--frames-per-clip", type=int, default=4, metavar="F",
                        help="frames sampled per 5 s clip, for its caption and the per-frame question (default 4)")
    add_model_run_args(parser.add_argument_group("the model"))  # no --prompt: VidThinker has its own prompts
    add_device_args(parser)
    add_cache_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.answer import load_chat_model
    from framepick.data.manifest import read_manifest
    from framepick.data.vidthinker import annotate_samples, write_result

    if args.frames_per_clip < 1:
        raise InvalidArgumentError(f"--frames-per-clip must be a positive integer, got {args.frames_per_clip}")
    apply_device_args(args)
    out = Path(args.out)
    check_input_file(args.manifest, "--manifest")
    check_outputs({"--out": out}, {"--manifest": args.manifest})
    report = read_manifest(args.manifest)
    if report.malformed or report.missing_videos:
        print(f"framepick: warning: {report.summary()}", file=sys.stderr)
    if not report.samples:
        raise InvalidArgumentError(f"--manifest {args.manifest} has no usable sample")
    model = load_chat_model(args.llm, answerer_options_from_args(args), flag="--llm")
    result = annotate_samples(
        report.samples, model, cache=cache_from_args(args), frames_per_clip=args.frames_per_clip,
        progress=progress_from_args(args),
    )
    write_result(result, out)  # each sample without labels was logged as a warning with its reason
    print(f"framepick: vidthinker: {result.summary()}; wrote {out} in {result.seconds:.1f} s")
    return 0
