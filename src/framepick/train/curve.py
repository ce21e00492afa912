"""``curve.svg``: the training reward (moving average), GRPO's clip fraction and validation hit@k over steps.

A plain, dependency-free SVG so a training folder can be inspected in any browser.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from framepick.eval.plots import colour
from framepick.export import atomic_path


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (the first points average what exists so far)."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return data
    cumulative = np.concatenate([[0.0], np.cumsum(data)])
    ends = np.arange(1, data.size + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)


def write_curve(path: str | Path, rows: Sequence[dict[str, Any]], *, title: str, width: int = 640, height: int = 320) -> None:
    """Plot the train rows' reward (or loss), GRPO's clip fraction and the val rows' hit@k against step; atomic write."""
    train = [r for r in rows if r.get("split") == "train"]
    val = [r for r in rows if r.get("split") == "val"]
    series: list[tuple[str, list[float], list[float]]] = []
    key = "reward_mean" if any("reward_mean" in r for r in train) else "loss"
    if train:
        window = max(1, len(train) // 20)
        scored = [r for r in train if key in r]  # a step whose answers failed has no reward: no point
        smooth = moving_average([r[key] for r in scored], window)
        series.append((f"train {key.replace('_mean', '')} (avg of {window})", [r["step"] for r in scored], smooth.tolist()))
        clipped = [r for r in train if "clip_fraction" in r]  # GRPO only: does the ratio clip bind?
        if clipped:
            smooth = moving_average([r["clip_fraction"] for r in clipped], window)
            series.append((f"train clip fraction (avg of {window})", [r["step"] for r in clipped], smooth.tolist()))
    for name in sorted({n for r in val for n in r if n.startswith("hit@")}, key=lambda n: int(n[4:])):
        series.append((f"val {name}", [r["step"] for r in val], [r[name] for r in val]))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(_svg(title, series, width, height))


def _svg(title: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]], width: int, height: int) -> str:
    left, right, top, bottom = 52, 190, 28, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for _, sx, _ in series for x in sx] or [0, 1]
    ys = [y for _, _, sy in series for y in sy] or [0, 1]
    x_lo, x_hi = min(xs), max(max(xs), min(xs) + 1)
    y_lo, y_hi = min(0.0, min(ys)), max(1.0, max(ys))

    def px(x: float) -> float:
        return left + plot_w * (x - x_lo) / (x_hi - x_lo)

    def py(y: float) -> float:
        return top + plot_h * (1.0 - (y - y_lo) / (y_hi - y_lo))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<text x="{left}" y="16" font-size="13">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        value = y_lo + frac * (y_hi - y_lo)
        y = py(value)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:.2f}</text>')
    for frac in (0.0, 0.5, 1.0):
        value = x_lo + frac * (x_hi - x_lo)
        out.append(f'<text x="{px(value):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{value:.0f}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">step</text>')
    for i, (name, sx, sy) in enumerate(series):
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(sx, sy))
        out.append(f'<polyline fill="none" stroke="{colour(i)}" stroke-width="1.6" points="{points}"/>')
        ly = top + 14 + 16 * i
        out.append(f'<line x1="{left + plot_w + 10}" x2="{left + plot_w + 26}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour(i)}" stroke-width="2"/>')
        out.append(f'<text x="{left + plot_w + 30}" y="{ly}">{escape(name)}</text>')
    out.append("</svg>\n")
    return "\n".join(out)
