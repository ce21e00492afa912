"""Arguments shared by the subcommands that read a video: the candidate grid, cache, progress."""

from __future__ import annotations

import argparse
import sys

from framepick.cli.checks import candidates_arg, fps_arg
from framepick.errors import InvalidArgumentError

DEFAULT_CANDIDATES = 256


def add_grid_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("candidate grid")
    group.add_argument(
        "--candidates",
        type=candidates_arg,
        metavar="N",
        help=f"N candidate frames on a uniform grid (default {DEFAULT_CANDIDATES})",
    )
    group.add_argument("--fps", type=fps_arg, metavar="F", help="instead: one candidate every 1/F seconds")
    group.add_argument("--max-candidates", type=candidates_arg, metavar="N", help="with --fps or --keyframes: at most N candidates")
    group.add_argument("--keyframes", action="store_true", help="candidates are keyframes only (fast on long videos)")
    group.add_argument(
        "--allow-damaged", action="store_true", help="use the frames that decode from a damaged or truncated video"
    )


def finish_grid_args(args: argparse.Namespace) -> None:
    """Resolve the grid defaults, remembering whether --candidates was given explicitly, and check
    the grid the flags describe now, before any work (its errors name the flags)."""
    args.candidates_given = args.candidates is not None
    if args.fps is not None and args.candidates_given:
        raise InvalidArgumentError("give either --candidates or --fps, not both")
    if args.candidates is None and args.fps is None:
        args.candidates = DEFAULT_CANDIDATES
    grid_from_args(args)


def grid_from_args(args: argparse.Namespace):
    """The candidate grid the grid arguments describe (after :func:`finish_grid_args`)."""
    from framepick.video.candidates import GridSpec

    return GridSpec(
        count=None if args.fps is not None else args.candidates,
        fps=args.fps,
        max_candidates=args.max_candidates,
        keyframes_only=args.keyframes,
    )


def add_cache_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cache and progress")
    group.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    group.add_argument("--cache-dir", metavar="DIR", help="feature cache folder (default: $FRAMEPICK_CACHE_DIR or the user cache dir)")
    bars = group.add_mutually_exclusive_group()
    bars.add_argument("--progress", action="store_true", default=None, help="show progress bars (default: when stderr is a terminal)")
    bars.add_argument("--quiet", action="store_true", help="no progress bars")


def cache_from_args(args: argparse.Namespace):
    if args.no_cache:
        return False
    return args.cache_dir or True


def progress_from_args(args: argparse.Namespace) -> bool:
    if args.quiet:
        return False
    if args.progress:
        return True
    return sys.stderr.isatty()


def json_object_arg(text: str | None, flag: str) -> dict:
    """The JSON object given to ``flag`` (``{}`` when absent), or a one-line error naming the flag."""
    import json

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"{flag} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return value
