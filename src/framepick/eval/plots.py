"""Inline SVG for the HTML report: line charts with error bars and per-sample timeline strips.

Pure string builders (no plotting library, nothing fetched): every text that reaches the SVG goes
through :func:`html.escape`, so a sample id or method name cannot inject markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Sequence

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
P1_COLOUR, P2_COLOUR = "#D55E00", "#F5B97F"
SPAN_COLOUR = "#E6B800"
CORRECT, WRONG, UNKNOWN = "#1B7F3B", "#C0392B", "#555555"


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


@dataclass
class Series:
    """One line of a chart: a value (0..1 or None) and an optional [low, high] per x position."""

    label: str
    values: list[float | None]
    lows: list[float | None] = field(default_factory=list)
    highs: list[float | None] = field(default_factory=list)


def _num(value: float) -> str:
    return f"{value:.1f}"


def line_chart(
    title: str, x_labels: Sequence[str], series: Sequence[Series], *, y_label: str = "", width: int = 520, height: int = 300
) -> str:
    """A 0-100 % line chart over evenly spaced categorical x positions (the ks), with CI bars."""
    left, right, top, bottom = 52, 150, 30, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, len(x_labels))

    def x_at(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y_at(v: float) -> float:
        return top + plot_h * (1.0 - min(1.0, max(0.0, v)))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="18" class="title">{escape(title)}</text>',
    ]
    for tick in range(0, 101, 20):
        y = y_at(tick / 100)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_num(y)}" y2="{_num(y)}" class="grid"/>')
        out.append(f'<text x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" class="tick">{tick}%</text>')
    for i, label in enumerate(x_labels):
        out.append(f'<text x="{_num(x_at(i))}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">{escape(label)}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" class="axis">k (frames)</text>')
    if y_label:
        out.append(
            f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" class="axis">{escape(y_label)}</text>'
        )
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>')
    for s_i, s in enumerate(series):
        c = colour(s_i)
        # Offset each series a little sideways so error bars of close values stay readable.
        dx = (s_i - (len(series) - 1) / 2) * 4.0
        points = [(x_at(i) + dx, v) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_num(x)},{_num(y_at(v))}" for x, v in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        for i, v in enumerate(s.values):
            if v is None:
                continue
            x = x_at(i) + dx
            low = s.lows[i] if i < len(s.lows) else None
            high = s.highs[i] if i < len(s.highs) else None
            if low is not None and high is not None:
                y1, y2 = y_at(low), y_at(high)
                out.append(
                    f'<path d="M{_num(x)},{_num(y1)}V{_num(y2)}M{_num(x - 4)},{_num(y1)}H{_num(x + 4)}'
                    f'M{_num(x - 4)},{_num(y2)}H{_num(x + 4)}" stroke="{c}" stroke-width="1.2" fill="none"/>'
                )
            ci = "" if low is None or high is None else f" [{100 * low:.1f}, {100 * high:.1f}]"
            out.append(
                f'<circle cx="{_num(x)}" cy="{_num(y_at(v))}" r="3.5" fill="{c}">'
                f"<title>{escape(s.label)} k={escape(x_labels[i])}: {100 * v:.1f}%{ci}</title></circle>"
            )
        ly = top + 8 + 18 * s_i
        lx = left + plot_w + 12
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2.5"/>')
        out.append(f'<text x="{lx + 24}" y="{ly + 4}" class="legend">{escape(_clip_text(s.label, 18))}</text>')
    out.append("</svg>")
    return "".join(out)


@dataclass
class TickRow:
    """One method's chosen frames on a timeline strip."""

    label: str
    timestamps: list[float]
    colour: str = UNKNOWN
    tooltip: str = ""


@dataclass
class ClipBand:
    start: float
    end: float
    priority: str
    tooltip: str = ""


def timeline_strip(
    duration: float,
    *,
    relevance_times: Sequence[float] = (),
    relevance: Sequence[float] = (),
    scenes: Sequence[Sequence[float]] = (),
    clips: Sequence[ClipBand] = (),
    spans: Sequence[Sequence[float]] = (),
    rows: Sequence[TickRow] = (),
    width: int = 1100,
    label: str = "",
) -> str:
    """The video's duration left to right: scenes, relevance curve, key clips, evidence, ticks."""
    left, right = 170, 12
    plot_w = width - left - right
    axis_h, band_h, clip_h, row_h = 20, 64, 12, 16
    band_top = axis_h
    clip_top = band_top + band_h + 4
    rows_top = clip_top + clip_h + 6
    height = rows_top + row_h * max(1, len(rows)) + 4
    duration = duration if duration and duration > 0 else 1.0

    def x_at(t: float) -> float:
        return left + plot_w * min(1.0, max(0.0, float(t) / duration))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label or "timeline")}">'
    ]
    for i, scene in enumerate(scenes):
        if len(scene) != 2:
            continue
        x1, x2 = x_at(scene[0]), x_at(scene[1])
        shade = "#ECEFF3" if i % 2 == 0 else "#D9DEE6"
        out.append(
            f'<rect x="{_num(x1)}" y="{band_top}" width="{_num(max(0.5, x2 - x1))}" height="{band_h}" fill="{shade}">'
            f"<title>scene {i + 1}: {scene[0]:.2f}-{scene[1]:.2f} s</title></rect>"
        )
    if not scenes:
        out.append(f'<rect x="{left}" y="{band_top}" width="{plot_w}" height="{band_h}" fill="#ECEFF3"/>')
    for s, e in [sp for sp in spans if len(sp) == 2]:
        x1, x2 = x_at(s), x_at(e)
        out.append(
            f'<rect x="{_num(x1)}" y="{band_top}" width="{_num(max(1.5, x2 - x1))}" height="{rows_top - band_top + row_h * max(1, len(rows))}" '
            f'fill="{SPAN_COLOUR}" fill-opacity="0.22" stroke="{SPAN_COLOUR}" stroke-width="1">'
            f"<title>evidence {s:.2f}-{e:.2f} s</title></rect>"
        )
    out.append(f'<text x="{left - 6}" y="{band_top + band_h / 2 + 4:.0f}" text-anchor="end" class="rowlabel">relevance</text>')
    finite = [(float(t), float(v)) for t, v in zip(relevance_times, relevance) if v is not None and math.isfinite(float(v))]
    if finite:
        lo = min(v for _, v in finite)
        hi = max(v for _, v in finite)
        scale = (hi - lo) or 1.0
        path = " ".join(
            f"{_num(x_at(t))},{_num(band_top + band_h - 4 - (band_h - 8) * (v - lo) / scale)}" for t, v in finite
        )
        out.append(f'<polyline points="{path}" fill="none" stroke="#1F3B73" stroke-width="1.4"/>')
        # The curve is min-max scaled to the band; its range sits in the margin, clear of the line.
        out.append(f'<text x="{left - 6}" y="{band_top + 10}" text-anchor="end" class="small">{hi:.3f}</text>')
        out.append(f'<text x="{left - 6}" y="{band_top + band_h - 2}" text-anchor="end" class="small">{lo:.3f}</text>')
    else:
        out.append(f'<text x="{left + 4}" y="{band_top + band_h / 2 + 4:.0f}" class="small">no relevance curve recorded</text>')
    out.append(f'<text x="{left - 6}" y="{clip_top + 10}" text-anchor="end" class="rowlabel">key clips</text>')
    for clip in clips:
        x1, x2 = x_at(clip.start), x_at(clip.end)
        fill = P1_COLOUR if clip.priority == "P1" else P2_COLOUR
        out.append(
            f'<rect x="{_num(x1)}" y="{clip_top}" width="{_num(max(2.0, x2 - x1))}" height="{clip_h}" fill="{fill}">'
            f"<title>{escape(clip.tooltip)}</title></rect>"
        )
        if x2 - x1 > 18:
            out.append(f'<text x="{_num(x1 + 2)}" y="{clip_top + 10}" class="cliptext">{escape(clip.priority)}</text>')
    for r_i, row in enumerate(rows):
        y = rows_top + row_h * r_i
        if r_i % 2:
            out.append(f'<rect x="{left}" y="{y}" width="{plot_w}" height="{row_h}" fill="#000" fill-opacity="0.035"/>')
        out.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" class="rowlabel">{escape(_clip_text(row.label, 26))}'
            f"<title>{escape(row.tooltip or row.label)}</title></text>"
        )
        ticks = "".join(f"M{_num(x_at(t))},{y + 2}V{y + row_h - 2}" for t in row.timestamps)
        if ticks:
            out.append(f'<path d="{ticks}" stroke="{row.colour}" stroke-width="2"/>')
    # Time axis last, so it sits on top.
    step = _nice_step(duration / 8)
    t = 0.0
    while t <= duration + 1e-9:
        x = x_at(t)
        out.append(f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{axis_h - 5}" y2="{height}" class="vgrid"/>')
        anchor = "start" if t == 0 else ("end" if x > left + plot_w - 20 else "middle")
        out.append(f'<text x="{_num(x)}" y="{axis_h - 8}" text-anchor="{anchor}" class="tick">{escape(_clock(t))}</text>')
        t += step
    out.append("</svg>")
    return "".join(out)


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            step = factor * magnitude
            break
    # Seconds read best on minute boundaries once the strip spans minutes.
    if step >= 60:
        step = 60 * max(1, round(step / 60))
    return float(step)


def _clock(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _clip_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
