"""``framepick data convert``: a benchmark's official annotation files to a framepick manifest.

Every later command (eval, train, the other data tools) reads manifests only, so each benchmark's
format is parsed once, here. The run never stops at a bad row: malformed rows and rows whose
video is missing are counted and summarised in one line on stderr (details with ``-v`` or
``--report``). It fails, with one line, only when the annotations cannot be read or yield no
sample at all.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger("framepick.cli.data_convert")

BENCHMARKS = ("videomme", "longvideobench", "mlvu", "lvbench", "egoschema", "nextqa")
EXAMPLES_SHOWN = 5


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "convert",
        help="turn a benchmark's official annotations into a manifest",
        description="Read the official annotation file(s) of a benchmark, find each question's video "
        "under --videos, and write one manifest line per question (options without their 'A.' "
        "prefixes, the answer as a letter, evidence spans in seconds where the benchmark gives them). "
        "Formats and sources: docs/benchmarks.md.",
    )
    parser.add_argument("--benchmark", required=True, choices=BENCHMARKS, help="which benchmark's format")
    parser.add_argument(
        "--annotations",
        required=True,
        metavar="FILE",
        help="the official annotation file (for mlvu also the folder of its task JSON files)",
    )
    parser.add_argument(
        "--videos", required=True, metavar="DIR", help="folder holding the videos (searched one level deep)"
    )
    parser.add_argument(
        "--out", required=True, metavar="MANIFEST", help="manifest to write (JSON Lines, written atomically)"
    )
    parser.add_argument(
        "--allow-missing-videos",
        action="store_true",
        help="keep questions whose video is not found yet, pointing at where it should be "
        "(default: drop and count them, so the manifest only holds questions that can run)",
    )
    parser.add_argument(
        "--include-unanswered",
        action="store_true",
        help="keep questions without a public answer (answer null), e.g. EgoSchema beyond its "
        "500-question subset or LongVideoBench's test set (default: skip and count them)",
    )
    parser.add_argument(
        "--answers", metavar="FILE", help="egoschema: answers file (default: subset_answers.json beside --annotations)"
    )
    parser.add_argument(
        "--video-map", metavar="FILE", help="nextqa: video map (default: map_vid_vidorID.json beside --annotations)"
    )
    parser.add_argument("--report", metavar="FILE", help="also write every skipped row and its reason here, as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.data.benchmarks import load_benchmark
    from framepick.data.manifest import write_manifest
    from framepick.errors import InvalidArgumentError
    from framepick.export import write_text

    params: dict[str, object] = {
        "require_videos": not args.allow_missing_videos,
        "include_unanswered": args.include_unanswered,
    }
    for option, key, owner in (("--answers", "answers", "egoschema"), ("--video-map", "video_map", "nextqa")):
        value = getattr(args, key)
        if value is not None:
            if args.benchmark != owner:
                raise InvalidArgumentError(f"{option} applies to --benchmark {owner} only, not {args.benchmark}")
            params[key] = value
    _check_paths(args)
    report = load_benchmark(args.benchmark, **params).load(args.annotations, args.videos)
    _log_examples(report)
    if args.report:
        write_text(Path(args.report), json.dumps(report.to_dict(), indent=2) + "\n")
    if not report.samples:
        raise InvalidArgumentError(f"{args.annotations!r} yielded no samples: {report.summary()}{_hint(report, args)}")
    write_manifest(args.out, report.samples)
    print(f"{args.out}: {report.summary()}", file=sys.stderr)
    return 0


def _check_paths(args: argparse.Namespace) -> None:
    from framepick.cli.checks import check_input_dir, check_input_file, check_input_path, check_outputs

    inputs = {"--annotations": args.annotations, "--answers": args.answers, "--video-map": args.video_map}
    check_input_path(args.annotations, "--annotations")  # mlvu's is a folder
    check_input_file(args.answers, "--answers")
    check_input_file(args.video_map, "--video-map")
    check_input_dir(args.videos, "--videos")
    check_outputs({"--out": args.out, "--report": args.report}, inputs)


def _log_examples(report) -> None:
    """A few reasons per category at INFO (shown with -v), so a bad conversion explains itself."""
    for label, items in (
        ("malformed", report.malformed),
        ("missing video", report.missing_videos),
        ("skipped", report.skipped),
        ("warning", report.warnings),
    ):
        for where, reason in items[:EXAMPLES_SHOWN]:
            logger.info("%s: %s: %s", label, where, reason)
        if len(items) > EXAMPLES_SHOWN:
            logger.info("... and %d more %s rows (see --report)", len(items) - EXAMPLES_SHOWN, label)


def _hint(report, args: argparse.Namespace) -> str:
    if report.missing_videos and not args.allow_missing_videos:
        where, name = report.missing_videos[0]
        return f"; e.g. {name!r} ({where}) is not under {args.videos!r}: check --videos, or pass --allow-missing-videos"
    if report.skipped and all(reason == "no public answer" for _, reason in report.skipped):
        return "; no question has a public answer: pass --include-unanswered to keep them" + (
            ", or --answers" if args.benchmark == "egoschema" else ""
        )
    if report.malformed:
        where, reason = report.malformed[0]
        return f"; first malformed row: {where}: {reason}"
    return ""
