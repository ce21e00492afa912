"""Time every training-free selector on 1,024 candidates against numpy's argsort of the scores.

    python benchmarks/bench_select.py [--runs 200] [--candidates 1024] [--k 8 32 64]

Each selector sees random scores (and, for kframes, ~32 random scenes); the median wall time of
``select`` over ``--runs`` calls is printed with its ratio to ``np.argsort(scores)`` measured in
the same run, so numbers from different machines can be compared by ratio. Target: < 5 ms each.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np

from framepick.registry import selectors
from framepick.select import load_selector
from framepick.select.base import SelectorInput
from framepick.types import Scene

TRAINING_FREE = ("uniform", "topk", "aks", "bolt", "kframes")


def median_seconds(call: Callable[[], object], runs: int) -> float:
    call()  # warm caches and lazy imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def random_inputs(total: int, seed: int) -> SelectorInput:
    rng = np.random.default_rng(seed)
    # Smooth, CLIP-like similarity drift plus noise, so AKS and kframes see structure.
    scores = 0.2 + 0.02 * np.cumsum(rng.normal(size=total)) / np.sqrt(total) + 0.01 * rng.normal(size=total)
    cuts = np.sort(rng.choice(np.arange(1, total), size=31, replace=False))
    bounds = [0, *cuts.tolist(), total]
    scenes = tuple(Scene(a, b - 1) for a, b in zip(bounds[:-1], bounds[1:]))
    return SelectorInput(num_candidates=total, scores=scores, scenes=scenes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=1024)
    parser.add_argument("--k", type=int, nargs="+", default=[8, 32, 64])
    args = parser.parse_args()

    inputs = random_inputs(args.candidates, seed=0)
    scores = np.asarray(inputs.scores)
    baseline = median_seconds(lambda: np.argsort(scores), args.runs)
    print(f"{args.candidates} candidates, median of {args.runs} runs; baseline np.argsort(scores) = {baseline * 1e6:.1f} us")
    print(f"{'selector':<10} {'k':>4} {'median ms':>10} {'x argsort':>10} {'< 5 ms':>7}")
    for name in TRAINING_FREE:
        if name not in selectors:
            continue
        selector = load_selector(name)
        for k in args.k:
            rng = np.random.default_rng(0)
            seconds = median_seconds(lambda: selector.select(inputs, k, rng), args.runs)
            ok = "yes" if seconds < 5e-3 else "NO"
            print(f"{name:<10} {k:>4} {seconds * 1e3:>10.3f} {seconds / baseline:>10.1f} {ok:>7}")


if __name__ == "__main__":
    main()
