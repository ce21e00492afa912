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


def add_device_args(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--dtype``: where every torch model of the command runs (:mod:`framepick.device`)."""
    group = parser.add_argument_group("device")
    group.add_argument(
        "--device", metavar="DEV",
        help="cpu, cuda, cuda:N, mps or auto (default: $FRAMEPICK_DEVICE or auto = a GPU when torch sees one)",
    )
    group.add_argument("--dtype", metavar="T", help="local models' precision: auto (default), float32, float16, bfloat16")


def apply_device_args(args: argparse.Namespace) -> None:
    """Check ``--device``/``--dtype`` before any work and make the device the process's choice."""
    from framepick.device import DTYPES, use_device

    if args.dtype is not None and args.dtype.strip().lower() not in DTYPES:
        raise InvalidArgumentError(f"--dtype must be one of {', '.join(DTYPES)}, got {args.dtype!r}")
    if args.device is not None:
        use_device(args.device)


def add_answerer_args(parser: argparse.ArgumentParser, default: str = "offline") -> None:
    """Which answerer, and how it is run (:class:`~framepick.answer.base.AnswererOptions`)."""
    group = parser.add_argument_group("answerer")
    group.add_argument(
        "--answerer", default=default,
        help=f"offline (weak baseline, no MLLM), hf:HUB_ID_OR_DIR (a local transformers MLLM), or "
        f"openai:MODEL@http://HOST:PORT/v1 (vLLM, SGLang, a hosted API; key from $OPENAI_API_KEY) (default {default})",
    )
    group.add_argument("--prompt", metavar="NAME|FILE", help="prompt template: default, videomme, or a JSON file of fields")
    add_model_run_args(group)


def add_model_run_args(group: argparse._ActionsContainer) -> None:
    """How an MLLM is asked (frame size, requests in flight, API key), for every command that asks one;
    :func:`answerer_options_from_args` reads them."""
    group.add_argument("--max-side", type=int, metavar="PX", help="frames sent to the model are fitted to this side (default 768)")
    group.add_argument("--concurrency", type=int, metavar="N", help="requests in flight to a server (default 8)")
    group.add_argument("--api-key-env", metavar="NAME", help="environment variable holding the server's API key (default OPENAI_API_KEY)")


def answerer_options_from_args(args: argparse.Namespace):
    from framepick.answer.base import AnswererOptions

    for flag, value in (("--max-side", args.max_side), ("--concurrency", args.concurrency)):
        if value is not None and value < 1:
            raise InvalidArgumentError(f"{flag} must be a positive integer, got {value}")
    return AnswererOptions(
        device=getattr(args, "device", None),
        dtype=getattr(args, "dtype", None),
        prompt=getattr(args, "prompt", None),
        max_side=args.max_side,
        concurrency=args.concurrency,
        api_key_env=args.api_key_env,
    )
