"""``framepick data import-selections``: the frames a paper's authors published, as a framepick run.

TSPO's ``evaluation/jsons_idx/*.json``, VideoITG's grounding ``results.jsonl`` and BOLT's
keyframes JSON become records of an evaluation run (a new one, or the ``framepick eval`` run of
the same manifest), so ``framepick report`` compares them with framepick's own selections on the
same questions. Layouts and every choice: ``docs/published_selections.md``.
"""

from __future__ import annotations

import argparse
import logging
import sys

logger = logging.getLogger("framepick.cli.data_import")

DESCRIPTION = """\
Match every entry of a published selections FILE to a manifest sample (by question id, else by
video and question text), turn its frames into source frames of the local video (TSPO and
VideoITG publish 0-based native-rate frame indices, BOLT seconds), and write one record per
(sample, k) to OUT/records.jsonl with query 'text'. OUT may be a new folder or the 'framepick eval'
run of the same manifest: 'framepick report OUT' then shows the imported method beside the others
(hit@k, in-span and span recall against the manifest's evidence spans; no accuracy: the files
carry no answers of the downstream model). Unmatched entries and samples whose video is missing
are counted on stderr (-v lists examples); nothing is written when no entry could be imported."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    from framepick.cli.common import add_cache_args
    from framepick.eval.published import FORMATS

    parser = sub.add_parser(
        "import-selections",
        help="import the frame selections a paper published (TSPO, VideoITG, BOLT) as an eval run",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the published selections file")
    parser.add_argument("--format", required=True, choices=FORMATS, help="whose layout FILE is in")
    parser.add_argument("--manifest", required=True, metavar="M", help="the manifest of the questions (from 'framepick data convert')")
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder to create, or an eval run of the same manifest to add to")
    parser.add_argument(
        "--name", metavar="METHOD", help="method name in the run (default: tspo-published, videoitg-published, bolt-published)"
    )
    parser.add_argument(
        "-k", metavar="K[,K...]",
        help="videoitg: the budgets (the first k of each score-ordered list; required); tspo/bolt: the file's "
        "budget (default: its longest list)",
    )
    add_cache_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.cli.checks import check_input_file, check_outputs, check_text
    from framepick.cli.common import cache_from_args, progress_from_args
    from framepick.eval.import_selections import import_selections

    check_text(args.name, "--name")
    check_input_file(args.file, "FILE")
    check_input_file(args.manifest, "--manifest")
    check_outputs({"--out": args.out}, {"FILE": args.file, "--manifest": args.manifest}, folders=("--out",))
    summary = import_selections(
        args.file, args.format, args.manifest, args.out, name=args.name, ks=args.k,
        cache=cache_from_args(args), progress=progress_from_args(args),
    )
    print(summary.line(), file=sys.stderr)
    return 0
