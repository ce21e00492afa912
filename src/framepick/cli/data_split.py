"""``framepick data split``: train / val / test manifests with no video or needle source shared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from framepick.cli.checks import check_input_file, check_outputs, seed_arg
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
Split a manifest into train.jsonl, val.jsonl and test.jsonl in OUT. Whole groups of samples go to
one split: by the needle's source footage (default; all shots cut from one file are one group), by
needle clip, or by video. No video is ever in two splits. Deterministic for --seed; writes
groups.json (group -> split) next to the manifests."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "split", help="train/val/test manifests, disjoint by video and needle source",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--manifest", required=True, metavar="IN", help="the manifest to split")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for train/val/test.jsonl (created)")
    parser.add_argument("--by", choices=("source", "clip", "video"), default="source",
                        help="what no two splits may share besides videos (default source)")
    parser.add_argument("--fractions", default="0.6,0.2,0.2", metavar="T,V,E",
                        help="target shares of samples for train,val,test (default 0.6,0.2,0.2)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="shuffles the groups (default 0)")
    parser.add_argument("--library", metavar="FILE", help="clip library the suite was built from (default: shipped)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick.data.manifest import read_manifest, write_manifest
    from framepick.data.splits import split_samples
    from framepick.export import write_json

    out = Path(args.out)
    inputs = {"--manifest": args.manifest, "--library": args.library}
    check_input_file(args.manifest, "--manifest")
    check_input_file(args.library, "--library")
    check_outputs({"--out": out}, folders=("--out",))
    if out.is_dir():
        names = ("train.jsonl", "val.jsonl", "test.jsonl", "groups.json")
        check_outputs({f"--out file {name}": out / name for name in names}, inputs)
    try:
        fractions = [float(x) for x in args.fractions.split(",")]
    except ValueError:
        raise InvalidArgumentError(f"--fractions must be three numbers like 0.6,0.2,0.2, got {args.fractions!r}") from None
    report = read_manifest(args.manifest)
    if report.malformed or report.missing_videos:
        print(f"framepick: warning: {report.summary()}", file=sys.stderr)
    if not report.samples:
        raise InvalidArgumentError(f"{args.manifest!r} has no usable samples")
    splits = split_samples(report.samples, fractions=fractions, by=args.by, seed=args.seed, library=args.library)
    out.mkdir(parents=True, exist_ok=True)
    counts = []
    for name, samples in splits.as_dict().items():
        write_manifest(out / f"{name}.jsonl", samples)
        counts.append(f"{name} {len(samples)}")
    write_json(out / "groups.json", dict(sorted(splits.groups.items())))
    groups = {n: sorted(g for g, s in splits.groups.items() if s == n) for n in ("train", "val", "test")}
    print(f"{'; '.join(counts)} samples (split by {args.by}); wrote {out}")
    for name, members in groups.items():
        print(f"  {name}: {', '.join(members)}")
    return 0
