"""``framepick export``: hand an evaluation run's selections to other tools (lmms-eval)."""

from __future__ import annotations

import argparse
import sys

from framepick.cli.checks import positive_int_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export",
        help="export a run's selected frames for another tool",
        description="Export the frames one method chose in an evaluation run, in another tool's layout.",
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", parser_class=type(parser))
    targets.required = True
    lmms = targets.add_parser(
        "lmms-eval",
        help="per-question frames as JSON for lmms-eval's keyframe readers",
        description="Write one method's per-question selected frames (one k, one query mode) as the JSON "
        "that lmms-eval keyframe integrations read: 'bolt' (default; {video: [{question_id, question, "
        "frames: seconds}]}, model argument frame_indices_json= of github.com/sming256/lmms-eval) or 'aks' "
        "(a list of frame-index lists in manifest order, github.com/ncTimTang/AKS). See docs/report.md.",
    )
    lmms.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (holds records.jsonl)")
    lmms.add_argument("--method", required=True, metavar="M", help="the method whose frames to export")
    lmms.add_argument("-k", type=positive_int_arg, required=True, metavar="K", help="the k to export")
    lmms.add_argument(
        "--query", choices=("auto", "text", "image"), default="auto",
        help="which selection per question: auto (default, as eval's default) the picture's where the "
        "question has one, else the text's; text or image that mode's only",
    )
    lmms.add_argument("--layout", choices=("bolt", "aks"), default="bolt", help="which reader's layout (default bolt)")
    lmms.add_argument("--manifest", metavar="FILE", help="the manifest (default: the one named in RUN_DIR/config.json)")
    lmms.add_argument("--out", required=True, metavar="FILE.json", help="where to write the JSON")
    lmms.set_defaults(run=run_lmms_eval)


def run_lmms_eval(args: argparse.Namespace) -> int:
    from framepick.cli.checks import check_input_dir, check_outputs, run_dir_inputs
    from framepick.eval.lmms_export import write_lmms_eval

    check_input_dir(args.run_dir, "RUN_DIR")  # --manifest is checked by the exporter, which also finds the default
    check_outputs({"--out": args.out}, {**run_dir_inputs(args.run_dir), "--manifest": args.manifest})

    count = write_lmms_eval(
        args.out, args.run_dir, method=args.method, k=args.k, query=args.query, layout=args.layout, manifest=args.manifest
    )
    sys.stdout.write(f"{args.out}: {count} questions\n")
    return 0
