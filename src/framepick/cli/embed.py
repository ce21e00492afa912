"""``framepick embed``: decode and embed many videos into the feature cache, on this machine or on Ray."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from framepick.cli.checks import check_input_file, positive_int_arg
from framepick.cli.common import (
    add_cache_args,
    add_device_args,
    add_grid_args,
    apply_device_args,
    finish_grid_args,
    grid_from_args,
    progress_from_args,
)
from framepick.cli.ray_args import add_ray_args, ray_options_from_args
from framepick.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Decode and embed every video into the feature cache ahead of any question: its index, each
encoder's features of the candidate grid, and the colour histograms scene detection reads; the
same entries 'select', 'answer', 'eval' and 'train' read, so those commands on these videos (same
encoders, same grid) neither decode nor encode. Videos already cached are skipped: a rerun finishes
what an interrupted run left. A video that cannot be read or decoded is counted and listed at the
end (exit status 1); the others are embedded.

On one machine a thread decodes the next batch while the encoders embed the current one. With
--ray, Ray Data decodes as CPU tasks and encodes in actors that hold the models (docs/scale.md).
For an eval, give every encoder it uses: its --encoder and the answerer's (offline: 'offline')."""

MAX_FAILURES_LISTED = 10


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "embed",
        help="decode and embed many videos into the feature cache (one machine or Ray)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("videos", nargs="*", metavar="VIDEO_OR_FOLDER", help="video files, or folders searched for videos")
    parser.add_argument("--manifest", metavar="FILE", help="the videos of a JSONL manifest (see 'framepick data')")
    parser.add_argument(
        "--encoder", action="append", metavar="SPEC",
        help="encoder to embed with, repeatable (see 'framepick encoders'; default auto)",
    )
    parser.add_argument(
        "--batch-size", type=positive_int_arg, metavar="N",
        help="frames decoded and embedded at a time; memory follows it, not the video's length (default 64)",
    )
    parser.add_argument(
        "--sequential", action="store_true", help="decode, then encode, one after the other (no overlap; for comparison)"
    )
    add_ray_args(parser)
    add_device_args(parser)
    add_grid_args(parser)
    add_cache_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.embed.spec import EmbedSpec
    from framepick.encode.resolve import canonical_spec
    from framepick.video.batches import DEFAULT_BATCH_FRAMES

    finish_grid_args(args)
    if args.no_cache:
        raise InvalidArgumentError("embed writes the feature cache; --no-cache leaves it nothing to do")
    if args.ray is not None and args.sequential:
        raise InvalidArgumentError("--sequential is the one-machine baseline; it does not go with --ray")
    check_input_file(args.manifest, "--manifest")
    options = ray_options_from_args(args) if args.ray is not None else None
    apply_device_args(args)
    videos = collect_videos(args.videos, args.manifest)
    cache = _writable_cache(args.cache_dir)
    spec = EmbedSpec(
        grid=grid_from_args(args),
        # Resolved here, so every worker loads what this process keys the entries by (auto could
        # resolve differently on a worker with other models on disk).
        encoders=tuple(dict.fromkeys(canonical_spec(name) for name in (args.encoder or ["auto"]))),
        allow_damaged=args.allow_damaged,
        batch_size=args.batch_size or DEFAULT_BATCH_FRAMES,
        device=args.device,
    )
    progress = progress_from_args(args)
    if options is not None:
        from framepick.embed.on_ray import embed_on_ray

        summary = embed_on_ray(videos, spec, cache, options, progress=progress)
    else:
        from framepick.embed.local import embed_videos

        summary = embed_videos(videos, spec, cache, overlap=not args.sequential, progress=progress)
    print(f"{cache.root}: {summary.line()}", file=sys.stderr)
    for video, reason in summary.failed[:MAX_FAILURES_LISTED]:
        print(f"  failed: {video}: {reason}", file=sys.stderr)
    if len(summary.failed) > MAX_FAILURES_LISTED:
        print(f"  ... and {len(summary.failed) - MAX_FAILURES_LISTED} more failed", file=sys.stderr)
    return 1 if summary.failed else 0


def collect_videos(paths: list[str], manifest: str | None) -> list[str]:
    """The videos to embed, in order, each once: files as given, folders searched, a manifest's videos.

    A manifest row whose video is missing is kept, so the run counts it as failed (it would fail
    the eval too); its malformed rows are warned about.
    """
    from framepick.data.benchmarks import VIDEO_EXTENSIONS

    found: list[str] = []
    if manifest is not None:
        from framepick.data.manifest import read_manifest

        report = read_manifest(manifest)
        if report.malformed:
            logger.warning("%s: %d malformed rows skipped (first: line %d: %s)", manifest, len(report.malformed), *report.malformed[0])
        found += [sample.video for sample in report.samples] + [video for _, video in report.missing_videos]
    for path in paths:
        folder = Path(path)
        if folder.is_dir():
            inside = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
            if not inside:
                logger.warning("%s: no video files (%s) in this folder", path, ", ".join(VIDEO_EXTENSIONS))
            found += inside
        else:
            found.append(path)  # a missing file fails in the run, counted with the others
    videos = list(dict.fromkeys(str(Path(video).resolve()) for video in found))
    if not videos:
        raise InvalidArgumentError("no videos to embed: give video files, folders of videos, or --manifest FILE")
    return videos


def _writable_cache(folder: str | None):
    """The feature cache, checked writable now: an embed that cannot write would do all its work for nothing."""
    import numpy as np

    from framepick.encode.cache import FeatureCache

    cache = FeatureCache(folder)
    key = "framepick-embed-write-check"
    cache.put(key, {"ok": np.zeros(1, dtype=np.uint8)})  # warns (once) and returns when it cannot write
    if key not in cache:
        raise InvalidArgumentError(f"the feature cache {str(cache.root)!r} cannot be written; choose another --cache-dir")
    cache.delete(key)
    return cache
