"""Does a method follow the query, or find the odd clip out? Re-ask each video another needle's query.

For every needle sample of a manifest, select frames with its own query and with the query of a
sample about a *different* needle clip (drawn with the seed from ``--pool``, default the manifest
itself), and compare hit@k on the video's own needle. A method that follows the query drops toward
the decoy rate when the query is swapped; one that finds "the real footage" keeps its hit@k.

- ``text``: needle-text rows; the swapped question comes with its own options (MSJoE reads them).
- ``image``: needle-image rows; the swapped query is the other needle's picture.

Methods are names or NAME=CKPT_DIR for learned selectors. Uses the feature cache of a previous
``framepick eval`` run, so it only embeds the queries.

    python scripts/niah_shuffle_control.py runs/niah30/manifest.jsonl --methods topk,aks,bolt,kframes -k 8,32
    python scripts/niah_shuffle_control.py runs/niah120/split/test.jsonl --pool runs/niah120/manifest.jsonl \\
        --methods topk,tspo=runs/ckpt/tspo --query text,image
"""

from __future__ import annotations

import argparse

import numpy as np

import framepick
from framepick.data.manifest import read_manifest
from framepick.eval.metrics import span_hits
from framepick.eval.runner import parse_method_specs

TASK = {"text": "needle-text", "image": "needle-image"}


def hit(selection, spans) -> bool:
    return any(span_hits(selection.timestamps, spans))


def swapped_partners(samples, pool, rng: np.random.Generator) -> list:
    """For each sample, a pool sample whose needle clip differs (so the swapped query is about something else)."""
    partners = []
    for sample in samples:
        others = [p for p in pool if p.extra.get("needle") != sample.extra.get("needle")]
        if not others:
            raise SystemExit(f"no pool sample has a needle other than {sample.extra.get('needle')!r}; pass a larger --pool")
        partners.append(others[int(rng.integers(len(others)))])
    return partners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest")
    parser.add_argument("--pool", help="manifest the swapped queries come from (default: the manifest)")
    parser.add_argument("--methods", default="topk,aks,bolt,kframes")
    parser.add_argument("-k", default="8,32")
    parser.add_argument("--query", default="text", help="text, image or text,image")
    parser.add_argument("--encoder", default="offline")
    parser.add_argument("--candidates", type=int, default=256)
    parser.add_argument("--fps", type=float, default=None)
    parser.add_argument("--max-candidates", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    manifest = read_manifest(args.manifest).samples
    pool_all = read_manifest(args.pool).samples if args.pool else manifest
    grid = dict(candidates=None if args.fps else args.candidates, fps=args.fps, max_candidates=args.max_candidates)
    specs = parse_method_specs(args.methods)
    ks = [int(v) for v in args.k.split(",")]
    print(f"grid {grid}; pool {args.pool or args.manifest}")
    print("| query | method | k | n | hit@k own query % | hit@k another needle's query % |")
    print("|---|---|---|---|---|---|")
    for mode in [m.strip() for m in args.query.split(",") if m.strip()]:
        samples = [s for s in manifest if s.task_type == TASK[mode]]
        pool = [s for s in pool_all if s.task_type == TASK[mode]]
        partners = swapped_partners(samples, pool, np.random.default_rng(args.seed))
        for spec in specs:
            for k in ks:
                own = swapped = 0
                for sample, partner in zip(samples, partners):
                    for source, is_own in ((sample, True), (partner, False)):
                        if mode == "text":
                            query = dict(question=source.question, options=source.options)
                        else:
                            query = dict(query_image=source.query_image)
                        selection = framepick.select_frames(
                            sample.video, k=k, method=spec.name, encoder=args.encoder,
                            method_params=spec.params, **query, **grid,
                        )
                        if hit(selection, sample.spans):
                            own += is_own
                            swapped += not is_own
                n = len(samples)
                print(f"| {mode} | {spec.label} | {k} | {n} | {100 * own / n:.1f} | {100 * swapped / n:.1f} |")


if __name__ == "__main__":
    main()
