"""The needle-suite tables of a `framepick eval` run: text questions and picture queries apart.

Text questions are the ``needle-text`` rows asked with their question; picture queries are the
``needle-image`` rows asked with the picture. Each cell: percentage with its 95 % Wilson interval.

    python scripts/niah_tables.py runs/niah120-test
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from framepick.eval.metrics import wilson_interval
from framepick.eval.records import read_records
from framepick.spans import frames_in_spans, span_hits

ROWS = {"Text questions (needle-text rows, text query)": ("needle-text", "text"),
        "Picture queries (needle-image rows, picture query)": ("needle-image", "image")}


def cell(successes: int, n: int) -> str:
    low, high = wilson_interval(successes, n)
    return f"{100 * successes / n:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    args = parser.parse_args()
    records = read_records(args.run)
    for title, (task, mode) in ROWS.items():
        groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for r in records:
            if r.get("task_type") == task and r.get("query") == mode:
                groups[(r["method"], int(r["k"]))].append(r)
        if not groups:
            continue
        print(f"\n**{title}**\n")
        print("| method | k | n | accuracy % [95% CI] | hit@k % [95% CI] | in-span % |")
        print("|---|---|---|---|---|---|")
        for (method, k), rows in groups.items():
            n = len(rows)
            correct = sum(bool(r.get("correct")) for r in rows)
            times = [[f["timestamp"] for f in r["frames"]] for r in rows]
            hits = sum(any(span_hits(t, r["spans"])) for t, r in zip(times, rows))
            inside = [sum(frames_in_spans(t, r["spans"])) / max(1, len(t)) for t, r in zip(times, rows)]
            print(f"| {method} | {k} | {n} | {cell(correct, n)} | {cell(hits, n)} | {100 * sum(inside) / n:.1f} |")


if __name__ == "__main__":
    main()
