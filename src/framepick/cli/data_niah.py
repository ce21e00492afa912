"""``framepick data niah``: build needle-in-a-haystack long videos and their manifest."""

from __future__ import annotations

import argparse
import logging
import sys

from framepick.cli.checks import check_input_file, check_outputs, seed_arg
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Build COUNT long videos in which one or more 'needle' clips from a clip library sit among decoy
clips and generated filler, and write OUT/manifest.jsonl: per needle a text question and an image
query (a frame of the needle clip that the video does not contain), with the needle's time span.
Clips are normalised once (OUT/segments or --cache-dir) and videos are assembled by copying
packets; files already made by an earlier run with the same arguments are reused.
See docs/niah.md for the clip library format."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "niah",
        help="needle-in-a-haystack long videos with questions that need the needle",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if needed)")
    parser.add_argument("--count", type=int, default=10, metavar="N", help="how many videos (default 10)")
    parser.add_argument("--seed", type=seed_arg, default=0, metavar="S", help="seed; same seed and library, same output (default 0)")
    parser.add_argument("--min-minutes", type=float, default=5.0, metavar="M", help="shortest video length (default 5)")
    parser.add_argument("--max-minutes", type=float, default=30.0, metavar="M", help="longest video length (default 30)")
    parser.add_argument("--needles", type=int, default=1, metavar="N", help="needle clips per video (default 1)")
    parser.add_argument("--decoys", type=int, default=3, metavar="N", help="decoy real clips per video (default 3)")
    parser.add_argument("--options", type=int, default=5, choices=(4, 5), help="options per question (default 5)")
    parser.add_argument("--library", metavar="FILE", help="clip library JSON (default: the shipped library)")
    parser.add_argument("--cache-dir", metavar="DIR", help="normalised clip segments (default: OUT/segments)")
    bars = parser.add_mutually_exclusive_group()
    bars.add_argument("--progress", action="store_true", default=None, help="show a progress bar (default: when stderr is a terminal)")
    bars.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.cli.common import progress_from_args
    from framepick.data.clip_library import load_library
    from framepick.data.niah import NiahConfig, synthesize_niah

    if args.count < 1:
        raise InvalidArgumentError(f"--count must be at least 1; got {args.count}")
    if args.min_minutes > args.max_minutes:
        raise InvalidArgumentError(f"--min-minutes ({args.min_minutes}) must not exceed --max-minutes ({args.max_minutes})")
    if not args.min_minutes > 0:
        raise InvalidArgumentError(f"--min-minutes must be positive; got {args.min_minutes}")
    for flag, value, low in (("--needles", args.needles, 1), ("--decoys", args.decoys, 0)):
        if value < low:
            raise InvalidArgumentError(f"{flag} must be at least {low}; got {value}")
    check_input_file(args.library, "--library")
    check_outputs({"--out": args.out, "--cache-dir": args.cache_dir}, {"--library": args.library},
                  folders=("--out", "--cache-dir"))
    library = load_library(args.library)
    config = NiahConfig(
        min_minutes=args.min_minutes, max_minutes=args.max_minutes, needles=args.needles,
        decoys=args.decoys, options=args.options,
    )
    result = synthesize_niah(
        args.out, args.count, args.seed, library=library, config=config,
        cache_dir=args.cache_dir, progress=progress_from_args(args),
    )
    if library.skipped:
        # Without -v too: a suite built from fewer clips than the library lists must say so. (When
        # too few are left to build at all, the error itself names the skipped clips.)
        logging.getLogger("framepick.cli.data_niah").warning(
            "%d library clip(s) skipped: %s", len(library.skipped),
            "; ".join(f"{clip.id}: {clip.reason}" for clip in library.skipped),
        )
    if not args.quiet:
        print(f"framepick: niah: {result.summary()} ({result.seconds:.1f} s)", file=sys.stderr)
    print(result.manifest)
    return 0
