"""The evaluation report: one self-contained HTML page and a Markdown summary of a run directory.

The page needs nothing but itself: plots are inline SVG, thumbnails are base64 JPEGs inside a
``<style>`` block (each distinct frame once), there is no script, stylesheet, font or any other
link to fetch. All text from the run (sample ids, method names, reasons) is HTML-escaped.

>>> write_report("runs/videomme", html_path="report.html", markdown_path="report.md")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import io
import logging
import math
import os
from dataclasses import dataclass, fields
from html import escape
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from framepick.eval import plots
from framepick.eval.run_reader import RunData, read_manifest_samples, read_run
from framepick.export import write_text
from framepick.types import Sample

logger = logging.getLogger(__name__)

DEFAULT_MAX_SAMPLES = 20
THUMB_SHORT_SIDE = 72
MAX_THUMBS_PER_ROW = 16


@dataclass
class ReportPaths:
    html: Path
    markdown: Path | None


# -- the one adapter to framepick.eval.metrics ------------------------------------------------------


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table; a metric is None when no record could measure it.

    The definitions are :mod:`framepick.eval.metrics`' (accuracy over answered records with a 95%
    Wilson interval; hit@k, in-span fraction and span recall over records with evidence spans).
    """

    method: str
    k: int
    query: str
    n: int
    answered: int = 0
    accuracy: float | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    with_spans: int = 0
    hit_at_k: float | None = None
    hit_low: float | None = None
    hit_high: float | None = None
    in_span: float | None = None
    span_recall: float | None = None
    near_dup_pairs: float | None = None
    near_dup_share: float | None = None
    select_ms: float | None = None
    frames_sent: float | None = None


def summary_rows(records: Sequence[Mapping[str, Any]]) -> list[SummaryRow]:
    """The summary table's rows, from :func:`framepick.eval.metrics.summarize` (the one place that calls it)."""
    from framepick.eval.metrics import summarize

    names = {f.name for f in fields(SummaryRow)}
    rows = [SummaryRow(**{key: value for key, value in row.items() if key in names}) for row in summarize(records)]
    return _ordered(rows, records)


def breakdown_tables(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str], list[list[str]]]]:
    """Accuracy per task type and per duration bucket: (title, header, rows) for each that has labels."""
    from framepick.eval.metrics import compute_metrics

    groups = compute_metrics(records)
    tables = []
    for attribute, title in (("by_task_type", "Accuracy by task type"), ("by_duration_bucket", "Accuracy by duration bucket")):
        labels = sorted({label for g in groups for label in getattr(g, attribute)})
        if not labels:
            continue
        body = []
        for g in sorted(groups, key=lambda g: ({"text": 0, "image": 1}.get(g.query, 2), g.query)):
            cells = [g.method, str(g.k), g.query]
            for label in labels:
                p = getattr(g, attribute).get(label)
                cells.append("—" if p is None or not p.n else f"{100 * p.value:.1f}% ({p.successes}/{p.n})")
            body.append(cells)
        tables.append((title, ["method", "k", "query", *labels], body))
    return tables


def _ordered(rows: list[SummaryRow], records: Sequence[Mapping[str, Any]]) -> list[SummaryRow]:
    method_order: dict[str, int] = {}
    for record in records:
        method_order.setdefault(str(record.get("method")), len(method_order))
    query_order = {"text": 0, "image": 1}
    return sorted(rows, key=lambda r: (query_order.get(r.query, 2), r.query, method_order.get(r.method, 99), r.k))


# -- formatting -------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def format_accuracy(row: SummaryRow) -> str:
    if row.accuracy is None:
        return "—"
    if row.accuracy_low is None or row.accuracy_high is None:
        return _pct(row.accuracy)
    return f"{100 * row.accuracy:.1f}% [{100 * row.accuracy_low:.1f}, {100 * row.accuracy_high:.1f}]"


def _fixed(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


TABLE_HEADER = ("method", "k", "query", "n", "accuracy [95% CI]", "hit@k", "in-span", "span recall", "near-dup pairs", "select ms", "frames sent")


def table_cells(row: SummaryRow) -> list[str]:
    return [
        row.method, str(row.k), row.query, str(row.n), format_accuracy(row), _pct(row.hit_at_k),
        _pct(row.in_span), _pct(row.span_recall), _near_dups(row), _fixed(row.select_ms, 2),
        _fixed(row.frames_sent, 1),
    ]


def _near_dups(row: SummaryRow) -> str:
    if row.near_dup_pairs is None:
        return "—"
    share = "" if row.near_dup_share is None else f" ({_pct(row.near_dup_share)})"
    return f"{row.near_dup_pairs:.2f}{share}"


def markdown_summary(run: RunData, rows: Sequence[SummaryRow]) -> str:
    """A GitHub-flavoured Markdown table of the summary (cells escaped for pipes)."""
    title = f"# framepick evaluation: {run.path.name}\n\n"
    meta = _meta_line(run)
    lines = [title + (meta + "\n\n" if meta else ""), "| " + " | ".join(TABLE_HEADER) + " |\n"]
    lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(TABLE_HEADER))) + "|\n")
    for row in rows:
        lines.append("| " + " | ".join(_md(c) for c in table_cells(row)) + " |\n")
    for title, header, body in breakdown_tables(run.records):
        lines.append(f"\n## {title}\n\n| " + " | ".join(_md(h) for h in header) + " |\n")
        lines.append("|" + "|".join("---" if i < 3 else "---:" for i in range(len(header))) + "|\n")
        lines.extend("| " + " | ".join(_md(c) for c in cells) + " |\n" for cells in body)
    lines.append(
        "\naccuracy: correct / answered with a 95% Wilson interval; hit@k: share of questions with at "
        "least one chosen frame inside an evidence span; in-span: share of chosen frames inside a span; "
        "span recall: share of spans holding a chosen frame; "
        "near-dup pairs: mean consecutive chosen frames whose features are near-duplicates (share of "
        "neighbour pairs).\n"
    )
    return "".join(lines)


def _md(cell: str) -> str:
    return " ".join(str(cell).split()).replace("|", "\\|")


def _meta_line(run: RunData) -> str:
    config = run.config
    parts = []
    for key in ("manifest", "encoder", "answerer", "candidates", "version"):
        if config.get(key) not in (None, ""):
            parts.append(f"{key}: {config[key]}")
    parts.append(f"{len(run.sample_ids)} samples, {len(run.records)} records")
    return "; ".join(str(p) for p in parts)


# -- HTML -------------------------------------------------------------------------------------------

CSS = """
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px;color:#1a1a1a;font-size:14px;max-width:1160px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:3px}
h3{font-size:15px;margin:20px 0 4px}.meta{color:#555;margin:2px 0 10px}.note{color:#8a5a00;background:#fff6e0;padding:4px 8px;display:inline-block}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #d0d0d0;padding:3px 8px;text-align:right}
th{background:#f1f3f6}td.l,th.l{text-align:left}tr:nth-child(even) td{background:#fafbfc}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg text{font-family:inherit}
svg .title{font-size:14px;font-weight:bold}svg .tick{font-size:11px;fill:#444}svg .axis{font-size:12px;fill:#333}
svg .legend{font-size:12px}svg .grid{stroke:#e3e3e3}svg .vgrid{stroke:#000;stroke-opacity:.08}svg .frame{fill:none;stroke:#999}
svg .rowlabel{font-size:11px;fill:#222}svg .small{font-size:10px;fill:#555}svg .cliptext{font-size:9px;fill:#fff}
.sample{margin-bottom:26px}.thumbs{margin:2px 0 2px 0;display:flex;align-items:center;gap:3px;flex-wrap:nowrap;overflow-x:auto}
.thumbs .who{flex:0 0 auto}
.thumbs .who{width:164px;font-size:11px;text-align:right;padding-right:6px;color:#333}
.th{display:inline-block;background-size:cover;border:2px solid #bbb;position:relative}
.th.in{border-color:#E6B800}.th span{position:absolute;left:0;bottom:0;font-size:9px;background:rgba(0,0,0,.6);color:#fff;padding:0 2px}
.legendline{font-size:12px;color:#333}.small{font-size:11px;color:#555}.sw{display:inline-block;width:12px;height:10px;margin:0 3px 0 10px;vertical-align:middle}
"""


def build_html(
    run: RunData,
    rows: Sequence[SummaryRow],
    *,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    manifest: Mapping[str, Sample] | None = None,
) -> str:
    manifest = manifest or {}
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>framepick report: {escape(run.path.name)}</title><style>{CSS}</style>",
    ]
    body = [f"<h1>framepick evaluation: {escape(run.path.name)}</h1>", f'<p class="meta">{escape(_meta_line(run))}</p>']
    if run.skipped_lines:
        body.append(f'<p class="note">{run.skipped_lines} unreadable line(s) in the run files were skipped.</p>')
    body.append("<h2>Accuracy and hit@k versus k</h2>")
    body.append(_charts_html(rows))
    body.append("<h2>Summary</h2>")
    body.append(_table_html(rows))
    for title, header, table in breakdown_tables(run.records):
        body.append(f"<h3>{escape(title)}</h3>")
        body.append(_plain_table_html(header, table))
    thumb_css: list[str] = []
    body.append(_samples_html(run, max_samples, manifest, thumb_css))
    parts.append(f"<style>{''.join(thumb_css)}</style>" if thumb_css else "")
    parts.append("</head><body>")
    parts.extend(body)
    parts.append("</body></html>\n")
    return "".join(parts)


def _charts_html(rows: Sequence[SummaryRow]) -> str:
    out = ['<div class="charts">']
    ks = sorted({r.k for r in rows})
    queries = []
    for r in rows:
        if r.query not in queries:
            queries.append(r.query)
    for metric, label in (("accuracy", "accuracy"), ("hit_at_k", "hit@k")):
        for query in queries:
            series = []
            methods: list[str] = []
            for r in rows:
                if r.query == query and r.method not in methods:
                    methods.append(r.method)
            for method in methods:
                by_k = {r.k: r for r in rows if r.query == query and r.method == method}
                low_name, high_name = ("accuracy_low", "accuracy_high") if metric == "accuracy" else ("hit_low", "hit_high")
                series.append(
                    plots.Series(
                        label=method,
                        values=[getattr(by_k[k], metric) if k in by_k else None for k in ks],
                        lows=[getattr(by_k[k], low_name) if k in by_k else None for k in ks],
                        highs=[getattr(by_k[k], high_name) if k in by_k else None for k in ks],
                    )
                )
            title = f"{label} vs k ({query} query)"
            if all(v is None for s in series for v in s.values):
                out.append(f'<p class="note">{escape(title)}: not measured in this run.</p>')
                continue
            out.append(plots.line_chart(title, [str(k) for k in ks], series, y_label=label))
    out.append("</div>")
    return "".join(out)


def _table_html(rows: Sequence[SummaryRow]) -> str:
    head = "".join(f'<th class="l">{escape(h)}</th>' if i < 3 else f"<th>{escape(h)}</th>" for i, h in enumerate(TABLE_HEADER))
    body = []
    for row in rows:
        cells = table_cells(row)
        body.append("<tr>" + "".join(f'<td class="l">{escape(c)}</td>' if i < 3 else f"<td>{escape(c)}</td>" for i, c in enumerate(cells)) + "</tr>")
    return f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _plain_table_html(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="l">{escape(text)}</{tag}>' if i < 3 else f"<{tag}>{escape(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="breakdown"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _samples_html(run: RunData, max_samples: int, manifest: Mapping[str, Sample], thumb_css: list[str]) -> str:
    ids = run.sample_ids
    shown = ids[:max_samples] if max_samples >= 0 else ids
    out = ["<h2>Per-sample timelines</h2>"]
    out.append(
        '<p class="legendline">Band: scenes (alternating grey) with the query-relevance curve;'
        f'<span class="sw" style="background:{plots.P1_COLOUR}"></span>P1 key clip'
        f'<span class="sw" style="background:{plots.P2_COLOUR}"></span>P2 key clip'
        f'<span class="sw" style="background:{plots.SPAN_COLOUR};opacity:.5"></span>evidence span;'
        f' ticks: chosen frames per method and k, <span style="color:{plots.CORRECT}">answered right</span>,'
        f' <span style="color:{plots.WRONG}">wrong</span>, <span style="color:{plots.UNKNOWN}">not answered</span>.</p>'
    )
    if len(shown) < len(ids):
        out.append(f'<p class="note">Showing the first {len(shown)} of {len(ids)} samples (--max-samples).</p>')
    by_sample: dict[str, list[Mapping[str, Any]]] = {}
    for record in run.records:
        by_sample.setdefault(str(record.get("sample_id")), []).append(record)
    for number, sample_id in enumerate(shown):
        out.append(_sample_html(run, sample_id, number, by_sample.get(sample_id, []), manifest.get(sample_id), thumb_css))
    return "".join(out)


def _sample_html(
    run: RunData,
    sample_id: str,
    number: int,
    records: list[Mapping[str, Any]],
    sample: Sample | None,
    thumb_css: list[str],
) -> str:
    first = records[0] if records else {}
    modes = [m for m in run.query_modes if any(str(r.get("query") or "text") == m for r in records)]
    timeline_any = next((run.timelines.get((sample_id, m)) for m in modes if (sample_id, m) in run.timelines), None) or {}
    video = timeline_any.get("video") or (sample.video if sample is not None else None)
    duration = _first_number(timeline_any.get("duration_seconds"), first.get("duration_seconds"))
    spans = timeline_any.get("spans") or first.get("spans") or []
    facts = [f"gold {first.get('gold')}" if first.get("gold") else None,
             f"task {first.get('task_type')}" if first.get("task_type") else None,
             f"bucket {first.get('duration_bucket')}" if first.get("duration_bucket") else None,
             f"{duration:.1f} s" if duration else None,
             "spans " + ", ".join(f"{s:.1f}-{e:.1f} s" for s, e in spans) if spans else None]
    out = [f'<div class="sample"><h3>{escape(sample_id)}</h3>']
    question = sample.question if sample is not None else None
    if question:
        out.append(f'<p class="meta">Q: {escape(question)}</p>')
    out.append(f'<p class="meta">{escape("; ".join(f for f in facts if f))}</p>')
    thumbs: dict[int, str] = {}
    thumb_note = ""
    if not video:
        thumb_note = "no video path recorded; thumbnails skipped"
    elif not os.path.isfile(str(video)):
        thumb_note = f"video {video} is missing; thumbnails skipped"
    else:
        wanted = sorted({int(f["index"]) for r in _thumb_records(records) for f in r.get("frames") or [] if f.get("index") is not None})
        thumbs, thumb_note = _thumbnails(str(video), wanted, f"s{number}", thumb_css)
    if thumb_note:
        out.append(f'<p class="note">{escape(thumb_note)}</p>')
    for mode in modes:
        mode_records = [r for r in records if str(r.get("query") or "text") == mode]
        timeline = run.timelines.get((sample_id, mode), {})
        out.append(_strip_for_mode(sample_id, mode, mode_records, timeline, duration, spans, run.methods))
        if thumbs:
            out.append(_thumb_rows(mode_records, thumbs, spans, run.methods))
    out.append("</div>")
    return "".join(out)


def _first_number(*values: Any) -> float:
    for value in values:
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            return float(value)
    return 0.0


def _strip_for_mode(
    sample_id: str, mode: str, records: list[Mapping[str, Any]], timeline: Mapping[str, Any], duration: float,
    spans: Sequence[Sequence[float]], methods: Sequence[str],
) -> str:
    method_rank = {m: i for i, m in enumerate(methods)}
    records = sorted(records, key=lambda r: (method_rank.get(str(r.get("method")), 99), int(r.get("k") or 0)))
    rows = []
    all_times: list[float] = []
    for record in records:
        times = [float(f["timestamp"]) for f in record.get("frames") or [] if f.get("timestamp") is not None]
        all_times.extend(times)
        correct = record.get("correct")
        answer = record.get("answer")
        mark = "" if correct is None else (" ✓" if correct else " ✗")
        label = f"{record.get('method')} k={record.get('k')}{mark}"
        tip = f"{record.get('method')} k={record.get('k')}: answer {answer if answer is not None else '—'}, {len(times)} frames"
        colour = plots.UNKNOWN if correct is None else (plots.CORRECT if correct else plots.WRONG)
        rows.append(plots.TickRow(label=label, timestamps=times, colour=colour, tooltip=tip))
    clips_source = next((r for r in records if r.get("clips")), None)
    clips = []
    if clips_source is not None:
        for clip in clips_source.get("clips") or []:
            if clip.get("start_seconds") is None or clip.get("end_seconds") is None:
                continue
            tip = f"{clip.get('priority')} {clip['start_seconds']:.2f}-{clip['end_seconds']:.2f} s"
            if clip.get("score") is not None:
                tip += f", score {clip['score']:.2f}"
            if clip.get("reason"):
                tip += f": {clip['reason']}"
            clips.append(plots.ClipBand(float(clip["start_seconds"]), float(clip["end_seconds"]), str(clip.get("priority")), tip))
    timestamps = timeline.get("timestamps") or []
    duration = duration or max(all_times + [float(t) for t in timestamps] + [1.0])
    label = f"{sample_id} ({mode} query)"
    strip = plots.timeline_strip(
        duration,
        relevance_times=timestamps,
        relevance=timeline.get("relevance") or [],
        scenes=timeline.get("scenes") or [],
        clips=clips,
        spans=spans,
        rows=rows,
        label=label,
    )
    return f'<div class="meta">{escape(mode)} query</div>{strip}'


def _thumb_records(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records whose frames get thumbnails: each method's smallest k, per query mode."""
    smallest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for record in records:
        key = (str(record.get("method")), str(record.get("query") or "text"))
        if key not in smallest or int(record.get("k") or 0) < int(smallest[key].get("k") or 0):
            smallest[key] = record
    return list(smallest.values())


def _thumbnails(video: str, indices: list[int], prefix: str, thumb_css: list[str]) -> tuple[dict[int, str], str]:
    """Decode small JPEGs once per distinct frame; CSS class per frame. Returns (index->class, note)."""
    if not indices:
        return {}, ""
    from PIL import Image

    from framepick.errors import FramepickError
    from framepick.video.decode import VideoDecoder

    try:
        with VideoDecoder(video) as decoder:
            n = decoder.index.num_frames
            in_range = [i for i in indices if 0 <= i < n]
            batch = decoder.get_frames(in_range, short_side=THUMB_SHORT_SIDE)
    except (FramepickError, OSError) as exc:
        logger.warning("thumbnails of %s skipped: %s", video, exc)
        return {}, f"could not decode {video}: {exc}; thumbnails skipped"
    classes: dict[int, str] = {}
    for frame, index in zip(batch.frames, batch.indices.tolist()):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=72)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        name = f"{prefix}f{index}"
        height, width = frame.shape[:2]
        thumb_css.append(f".{name}{{background-image:url(data:image/jpeg;base64,{data});width:{width}px;height:{height}px}}")
        classes[int(index)] = name
    note = ""
    missing = len(indices) - len(classes)
    if missing:
        note = f"{missing} chosen frame(s) could not be decoded from {video}"
    return classes, note


def _thumb_rows(records: list[Mapping[str, Any]], thumbs: Mapping[int, str], spans: Sequence[Sequence[float]], methods: Sequence[str]) -> str:
    rank = {m: i for i, m in enumerate(methods)}
    chosen = sorted(_thumb_records(records), key=lambda r: rank.get(str(r.get("method")), 99))
    out = []
    for record in chosen:
        frames = record.get("frames") or []
        cells = []
        for frame in frames[:MAX_THUMBS_PER_ROW]:
            index = frame.get("index")
            if index is None or int(index) not in thumbs:
                continue
            ts = frame.get("timestamp")
            inside = ts is not None and any(float(s) <= float(ts) <= float(e) for s, e in spans)
            when = "" if ts is None else f"{float(ts):.1f}s"
            cells.append(
                f'<span class="th {thumbs[int(index)]}{" in" if inside else ""}" title="frame {int(index)} at {escape(when)}">'
                f"<span>{escape(when)}</span></span>"
            )
        more = len(frames) - MAX_THUMBS_PER_ROW
        tail = f'<span class="small">+{more} more</span>' if more > 0 else ""
        who = f"{record.get('method')} k={record.get('k')}"
        out.append(f'<div class="thumbs"><span class="who">{escape(who)}</span>{"".join(cells)}{tail}</div>')
    return "".join(out)


# -- entry point --------------------------------------------------------------------------------------


def write_report(
    run_dir: str | Path,
    *,
    html_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    write_markdown: bool = True,
) -> ReportPaths:
    """Write the HTML report (default RUN_DIR/report.html) and Markdown summary (RUN_DIR/report.md).

    Raises :class:`framepick.errors.InvalidArgumentError` when the run directory has no records.
    """
    from framepick.errors import InvalidArgumentError

    if max_samples < 0:
        raise InvalidArgumentError(f"max_samples must be 0 or more, got {max_samples}")
    run = read_run(run_dir)
    rows = summary_rows(run.records)
    try:
        manifest = read_manifest_samples(run)
    except Exception as exc:  # noqa: BLE001 - the questions are a nicety; the report goes on without
        logger.warning("manifest %s unreadable (%s); questions are left out", run.config.get("manifest"), exc)
        manifest = {}
    html_out = Path(html_path) if html_path is not None else run.path / "report.html"
    write_text(html_out, build_html(run, rows, max_samples=max_samples, manifest=manifest))
    md_out = None
    if write_markdown:
        md_out = Path(markdown_path) if markdown_path is not None else run.path / "report.md"
        write_text(md_out, markdown_summary(run, rows))
    return ReportPaths(html=html_out, markdown=md_out)
