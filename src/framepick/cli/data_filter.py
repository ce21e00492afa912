"""``framepick data filter``: keep the samples whose answer depends on the frames (ReFoCUS A.1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from framepick.cli.checks import check_input_file, check_outputs
from framepick.cli.common import (
    add_cache_args,
    add_grid_args,
    cache_from_args,
    finish_grid_args,
    grid_from_args,
    progress_from_args,
)
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Reward-variance filtering (ReFoCUS, Appendix A.1): for each sample, answer the question from 16
frame subsets (8 overlapping temporal windows and their 8 complements, --frames each, taken from
the candidate grid), compute the margin reward tanh((log p_correct - log p_best_wrong) / 2) of
each, and keep the sample when the variance of the 16 rewards exceeds --threshold. Writes the kept
samples as a manifest (OUT) and every sample's margins and variance as JSONL (--variances)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "filter",
        help="keep samples whose answer depends on the frames (reward variance, ReFoCUS A.1)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--manifest", required=True, metavar="IN", help="the manifest to filter")
    parser.add_argument("--out", required=True, metavar="OUT", help="the filtered manifest to write")
    parser.add_argument("--answerer", default="offline", help="answerer giving option probabilities (default offline)")
    parser.add_argument("--threshold", type=float, default=0.21, help="keep samples with variance above this (default 0.21)")
    parser.add_argument("--windows", type=int, default=8, help="temporal windows; as many complements (default 8)")
    parser.add_argument("--frames", type=int, default=32, help="frames sampled per window or complement (default 32)")
    parser.add_argument("--variances", metavar="FILE", help="per-sample variances JSONL (default: OUT with .variances.jsonl)")
    add_grid_args(parser)
    add_cache_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.data.filter import filter_manifest
    from framepick.data.manifest import read_manifest

    finish_grid_args(args)
    for name in ("windows", "frames"):
        if getattr(args, name) < 1:
            raise InvalidArgumentError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    out = Path(args.out)
    variances = Path(args.variances) if args.variances else out.with_name(out.stem + ".variances.jsonl")
    check_input_file(args.manifest, "--manifest")
    check_outputs({"--out": out, "--variances": variances}, {"--manifest": args.manifest})
    report = read_manifest(args.manifest)
    if report.malformed or report.missing_videos:
        print(f"framepick: warning: {report.summary()}", file=sys.stderr)
    grid = grid_from_args(args)
    result = filter_manifest(
        report.samples,
        out,
        variances,
        args.answerer,
        threshold=args.threshold,
        windows=args.windows,
        frames=args.frames,
        grid=grid,
        cache=cache_from_args(args),
        allow_damaged=args.allow_damaged,
        progress=progress_from_args(args),
    )
    print(f"{result.summary(args.threshold)}; wrote {out} and {variances} in {result.seconds:.1f} s")
    return 0
