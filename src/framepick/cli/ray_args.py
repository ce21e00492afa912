"""``--ray [ADDRESS]`` and the worker flags, shared by ``embed`` and ``eval``."""

from __future__ import annotations

import argparse

from framepick.cli.checks import positive_int_arg
from framepick.errors import InvalidArgumentError


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text!r}")
    return value


def add_ray_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Ray (pip install 'framepick[ray]'; docs/scale.md)")
    group.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS",
        help="decode as Ray tasks and encode in Ray actors; ADDRESS is what ray.init takes (auto, HOST:6379, "
        "ray://HOST:10001); without it a local cluster is started for the run. Every worker must see the videos "
        "at the same paths; the cache is written by this process only",
    )
    group.add_argument("--workers", type=positive_int_arg, default=1, metavar="N", help="encoder actors (default 1)")
    group.add_argument("--gpus-per-worker", type=_non_negative, default=0.0, metavar="G", help="GPUs per encoder actor (default 0)")
    group.add_argument(
        "--cpus-per-worker", type=_non_negative, default=1.0, metavar="C",
        help="CPUs per encoder actor (default 1; 0.5 lets two share a CPU)",
    )
    group.add_argument(
        "--num-cpus", type=positive_int_arg, metavar="N", help="CPUs of the local cluster started without ADDRESS (default all)"
    )


def ray_options_from_args(args: argparse.Namespace):
    """The :class:`~framepick.embed.on_ray.RayOptions` the flags describe (after checking Ray is installed)."""
    from framepick.embed.on_ray import RayOptions, import_ray

    import_ray()  # the one-line error naming the extra, before anything loads
    device = (getattr(args, "device", None) or "").strip().lower()
    if device.startswith("cuda") and not args.gpus_per_worker:
        raise InvalidArgumentError(
            f"--device {args.device} with --ray needs --gpus-per-worker: Ray shows an actor only the GPUs it was given"
        )
    return RayOptions(
        address=args.ray or None,
        workers=args.workers,
        gpus_per_worker=args.gpus_per_worker,
        cpus_per_worker=args.cpus_per_worker,
        num_cpus=args.num_cpus,
    )
