"""``framepick scenes``: the K-frames scene segmentation of a video, as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from framepick.cli.checks import check_input_file, check_outputs
from framepick.cli.common import add_cache_args, add_grid_args, cache_from_args, finish_grid_args, progress_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "scenes",
        help="print the scene segmentation of a video",
        description="Cut VIDEO into scenes at large colour-histogram changes between consecutive "
        "candidate frames (K-frames, Sec 3.1) and print start/end seconds and frame indices as JSON.",
    )
    parser.add_argument("video", metavar="VIDEO", help="the video file")
    parser.add_argument("--min-scene-len", type=int, default=2, metavar="N", help="fewest candidates per scene (default 2)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the JSON here instead of stdout")
    add_grid_args(parser)
    add_cache_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick import api, export
    from framepick.errors import InvalidArgumentError

    finish_grid_args(args)
    if args.min_scene_len < 1:
        raise InvalidArgumentError(f"--min-scene-len must be at least 1, got {args.min_scene_len}")
    check_input_file(args.video, "VIDEO")
    check_outputs({"-o": args.output}, {"VIDEO": args.video})
    result = api.video_scenes(
        args.video,
        candidates=args.candidates,
        fps=args.fps,
        max_candidates=args.max_candidates,
        keyframes_only=args.keyframes,
        min_scene_len=args.min_scene_len,
        cache=cache_from_args(args),
        allow_damaged=args.allow_damaged,
        progress=progress_from_args(args),
    )
    text = json.dumps(result.to_dict(), indent=2) + "\n"
    if args.output:
        export.write_text(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0
