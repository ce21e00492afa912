"""Does a method follow the query, or find the odd clip out? Re-ask each video another's question.

For every needle-text sample of a manifest, select frames with its own question and with the
question of another sample whose needle is a different clip (a fixed derangement for the seed),
and compare hit@k. A method that follows the query drops toward the decoy rate when the question
is swapped; one that finds "the real footage" keeps its hit@k. Uses the feature cache of a
previous `framepick eval` run, so it only embeds the questions.

    python scripts/niah_shuffle_control.py runs/niah30/manifest.jsonl --methods topk,aks,bolt,kframes -k 8,32
"""

from __future__ import annotations

import argparse

import numpy as np

import framepick
from framepick.data.manifest import read_manifest


def hit(selection, spans) -> bool:
    return any(a <= t <= b for t in selection.timestamps for a, b in spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest")
    parser.add_argument("--methods", default="topk,aks,bolt,kframes")
    parser.add_argument("-k", default="8,32")
    parser.add_argument("--encoder", default="offline")
    parser.add_argument("--candidates", type=int, default=256)
    parser.add_argument("--fps", type=float, default=None)
    parser.add_argument("--max-candidates", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    samples = [s for s in read_manifest(args.manifest).samples if s.task_type == "needle-text"]
    rng = np.random.default_rng(args.seed)
    # A derangement that never gives a video a question about its own needle clip.
    while True:
        order = rng.permutation(len(samples))
        if all(samples[i].extra["needle"] != samples[j].extra["needle"] for i, j in enumerate(order)):
            break
    grid = dict(candidates=None if args.fps else args.candidates, fps=args.fps, max_candidates=args.max_candidates)
    print(f"{len(samples)} needle-text samples; grid {grid}")
    print("| method | k | hit@k own question % | hit@k another video's question % |")
    print("|---|---|---|---|")
    for method in args.methods.split(","):
        for k in (int(v) for v in args.k.split(",")):
            own = swapped = 0
            for i, sample in enumerate(samples):
                other = samples[order[i]].question
                for question, is_own in ((sample.question, True), (other, False)):
                    sel = framepick.select_frames(sample.video, question, k, method=method, encoder=args.encoder, **grid)
                    if hit(sel, sample.spans):
                        own += is_own
                        swapped += not is_own
            n = len(samples)
            print(f"| {method} | {k} | {100 * own / n:.1f} | {100 * swapped / n:.1f} |")


if __name__ == "__main__":
    main()
