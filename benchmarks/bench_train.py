"""Speed of the learned policies: a forward pass on 1,024 candidates, and trainer updates per second.

    python benchmarks/bench_train.py [--methods tspo,refocus,msjoe,videoitg] [--dim 384] [--runs 30]

forward  median wall time of ``policy.choose(obs, 32)`` (the positions and per-frame scores that
         ``--method NAME=CKPT`` computes per question) on 1,024 candidates of width ``--dim``, against
         the baseline measured in the same run: one ``[T,D] @ [D]`` similarity plus argsort, i.e.
         top-k retrieval. Target: < 20 ms each.
updates  trainer steps per second with group size 8 on 128 candidates (``train_step`` of
         :mod:`framepick.train.loop` with the method's default config, synthetic episodes, the
         offline answerer's arithmetic), with the ratio to TSPO's rate in the same run.

Inputs are random unit vectors (speed does not depend on content). Set ``--threads`` to pin
torch's thread count (default: torch's choice for this machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench_select import median_seconds  # benchmarks/ is on sys.path when a script here runs
from framepick.policies import build_policy
from framepick.policies.base import make_observation
from framepick.train.config import default_train_config
from framepick.train.loop import train_step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "train"))


def unit_rows(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    x = rng.normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bench_forward(methods: list[str], dim: int, candidates: int, runs: int) -> None:
    rng = np.random.default_rng(0)
    frames, query, options = unit_rows(rng, candidates, dim), unit_rows(rng, 1, dim), unit_rows(rng, 5, dim)
    obs = make_observation(frames, query, options, "What is the man wearing?")
    frames_t, query_t = obs.frames, obs.query

    def retrieval() -> None:
        torch.argsort(frames_t @ query_t, descending=True)[:32]

    base = median_seconds(retrieval, runs)
    print(f"forward pass on {candidates} candidates, D={dim} (median of {runs}); baseline top-k retrieval {base * 1e3:.2f} ms")
    print(f"{'method':10} {'params':>10} {'ms':>8} {'x retrieval':>12}  target < 20 ms")
    for method in methods:
        torch.manual_seed(0)
        policy = build_policy(method, dim=dim).eval()

        def forward() -> None:
            with torch.no_grad():
                policy.choose(obs, 32)

        seconds = median_seconds(forward, runs)
        verdict = "ok" if seconds < 0.020 else "OVER"
        print(f"{method:10} {policy.num_parameters():>10,} {seconds * 1e3:>8.2f} {seconds / base:>12.1f}  {verdict}")


def bench_updates(methods: list[str], dim: int, candidates: int, group: int, steps: int) -> None:
    from synthetic import answerer, make_episodes  # tests/train/synthetic.py: episodes with a known answer

    import synthetic

    synthetic.DIM = dim
    episodes = make_episodes(8, seed=0, total=candidates)
    judge = answerer()
    print(f"\ntrainer updates per second: group {group}, {candidates} candidates, D={dim}, {steps} steps each")
    print(f"{'method':10} {'objective':>10} {'train k':>8} {'updates/s':>10} {'x tspo':>8}")
    rates: dict[str, float] = {}
    for method in ["tspo"] + [m for m in methods if m != "tspo"]:
        torch.manual_seed(0)
        config = default_train_config(method, group_size=group, steps=steps)
        policy = build_policy(method, dim=dim)
        optimizer = torch.optim.AdamW(policy.parameters(), lr=config.lr)
        generator = torch.Generator().manual_seed(0)
        train_step(policy, optimizer, generator, episodes[0], 0, config, judge)  # warm-up
        start = time.perf_counter()
        for step in range(steps):
            train_step(policy, optimizer, generator, episodes[step % len(episodes)], step, config, judge)
        rates[method] = steps / (time.perf_counter() - start)
        if method in methods:
            print(f"{method:10} {config.objective:>10} {config.k:>8} {rates[method]:>10.1f} {rates[method] / rates['tspo']:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="tspo,refocus,msjoe,videoitg")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--candidates", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--train-candidates", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_forward(methods, args.dim, args.candidates, args.runs)
    bench_updates(methods, args.dim, args.train_candidates, args.group, args.steps)


if __name__ == "__main__":
    main()
