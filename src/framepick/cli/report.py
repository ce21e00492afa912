"""``framepick report``: a self-contained HTML page and a Markdown table from an eval run directory."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="write an HTML report and a Markdown summary of an evaluation run",
        description="Read RUN_DIR (written by 'framepick eval') and write one self-contained HTML page "
        "(accuracy and hit@k versus k with 95%% CIs, the summary table, per-sample timelines with "
        "thumbnails; no network needed to view it) and a Markdown summary table.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (holds records.jsonl)")
    parser.add_argument("--out", metavar="FILE.html", help="HTML output (default RUN_DIR/report.html)")
    parser.add_argument("--markdown", metavar="FILE.md", help="Markdown output (default RUN_DIR/report.md)")
    parser.add_argument(
        "--max-samples", type=int, default=20, metavar="N", help="per-sample timelines for the first N samples (default 20)"
    )
    parser.set_defaults(run=run)


def _check_paths(args: argparse.Namespace) -> None:
    from framepick.cli.checks import check_input_dir, check_outputs, run_dir_inputs

    check_input_dir(args.run_dir, "RUN_DIR")
    check_outputs({"--out": args.out, "--markdown": args.markdown}, run_dir_inputs(args.run_dir))


def run(args: argparse.Namespace) -> int:
    from framepick.errors import InvalidArgumentError
    from framepick.eval.report import write_report

    if args.max_samples < 0:
        raise InvalidArgumentError(f"--max-samples must be 0 or more, got {args.max_samples}")
    _check_paths(args)
    paths = write_report(args.run_dir, html_path=args.out, markdown_path=args.markdown, max_samples=args.max_samples)
    sys.stdout.write(f"{paths.html}\n")
    if paths.markdown is not None:
        sys.stdout.write(f"{paths.markdown}\n")
    return 0
