"""framepick report: the HTML page is self-contained, right, escaped, and survives missing pieces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_run import EVIL

from framepick.cli.main import main
from framepick.errors import InvalidArgumentError
from framepick.eval.report import summary_rows, write_report
from framepick.eval.metrics import summarize
from framepick.eval.run_reader import read_run


def _html(run_dir: Path, **options) -> str:
    paths = write_report(run_dir, **options)
    return paths.html.read_text(encoding="utf-8")


def test_page_is_self_contained(run_dir: Path) -> None:
    html = _html(run_dir)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", html, re.I)
    for forbidden in ("<script", "<link", "@import", "<iframe", "@font-face"):
        assert forbidden not in html.lower()
    # The only http(s) text left is the SVG namespace (a name, never fetched).
    leftovers = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert leftovers <= {"http://www.w3.org/2000/svg"}


def test_one_svg_chart_per_metric_and_query_mode(run_dir: Path) -> None:
    html = _html(run_dir)
    charts = re.findall(r'<svg[^>]*class="chart"[^>]*aria-label="([^"]*)"', html)
    assert sorted(charts) == sorted(
        ["accuracy vs k (text query)", "accuracy vs k (image query)", "hit@k vs k (text query)", "hit@k vs k (image query)"]
    )
    # 3 samples x 2 query modes: one timeline strip each
    assert html.count('class="strip"') == 6
    assert html.count("<svg") == html.count("</svg>") == 10


def test_summary_table_numbers(run_dir: Path) -> None:
    html = _html(run_dir)
    rows = re.findall(r"<tr>(.*?)</tr>", html.split('class="summary"')[1].split("</table>")[0])
    cells = [c for c in (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows) if c]  # header row: <th>
    by_key = {(c[0], c[1], c[2]): c[3:] for c in cells}
    assert len(by_key) == 8
    # kframes k=2 text: s1 and EVIL right, s3 wrong -> 2/3; its frames all inside the spans
    assert by_key[("kframes", "2", "text")] == ["3", "66.7% [20.8, 93.9]", "100.0%", "100.0%", "100.0%", "—", "4.20", "2.0"]
    # uniform k=4 text: one of four frames inside each of the two spanned samples
    assert by_key[("uniform", "4", "text")] == ["3", "66.7% [20.8, 93.9]", "100.0%", "25.0%", "100.0%", "—", "0.10", "4.0"]
    assert by_key[("uniform", "2", "text")][1:5] == ["33.3% [6.1, 79.2]", "0.0%", "0.0%", "0.0%"]
    # kframes k=4 text: s1 has 3 of 4 frames in the span, EVIL 4 of 4 -> 87.5 %
    assert by_key[("kframes", "4", "text")][3] == "87.5%"
    # image mode: s3 was not answered, so accuracy is over 2 answered records
    assert by_key[("kframes", "2", "image")][1] == "50.0% [9.5, 90.5]"
    # rows come text first, methods in config order, k ascending
    assert [tuple(c[:3]) for c in cells][:4] == [
        ("uniform", "2", "text"), ("uniform", "4", "text"), ("kframes", "2", "text"), ("kframes", "4", "text")
    ]


def test_sample_id_and_reasons_are_escaped(run_dir: Path) -> None:
    html = _html(run_dir)
    assert EVIL == "<script>alert(1)</script>"
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>scene</b>" not in html  # a clip reason, shown as a tooltip


def test_thumbnails_are_embedded_and_missing_video_is_noted(run_dir: Path) -> None:
    html = _html(run_dir)
    thumbs = re.findall(r"url\(data:image/jpeg;base64,([A-Za-z0-9+/=]+)\)", html)
    # s1 and EVIL share the video but each sample decodes its own distinct frames: uniform k=2
    # (7.5 s, 22.5 s) and kframes k=2 (two frames) per sample
    assert len(thumbs) == 8
    import base64
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(thumbs[0])))
    assert image.format == "JPEG" and min(image.size) == 72
    assert "missing.mp4 is missing; thumbnails skipped" in html


def test_max_samples_caps_timelines_with_a_note(run_dir: Path) -> None:
    html = _html(run_dir, max_samples=1)
    assert html.count('class="strip"') == 2
    assert "Showing the first 1 of 3 samples" in html


def test_report_without_timelines_or_manifest(run_dir: Path) -> None:
    (run_dir / "timelines.jsonl").unlink()
    config = json.loads((run_dir / "config.json").read_text())
    Path(config["manifest"]).unlink()
    html = _html(run_dir)
    assert "no relevance curve recorded" in html
    assert "no video path recorded; thumbnails skipped" in html
    assert html.count('class="strip"') == 6


def test_truncated_last_line_is_skipped(run_dir: Path) -> None:
    with (run_dir / "records.jsonl").open("a") as f:
        f.write('{"sample_id": "s9", "meth')
    html = _html(run_dir)
    assert "1 unreadable line(s)" in html
    assert len(read_run(run_dir).records) == 24


def test_cli_writes_both_files_atomically(run_dir: Path, tmp_path: Path, capsys) -> None:
    out, md = tmp_path / "r.html", tmp_path / "r.md"
    assert main(["report", str(run_dir), "--out", str(out), "--markdown", str(md), "--max-samples", "2"]) == 0
    assert capsys.readouterr().out.split() == [str(out), str(md)]
    assert out.read_text().startswith("<!DOCTYPE html>") and md.read_text().startswith("# framepick evaluation")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_cli_defaults_to_the_run_dir(run_dir: Path) -> None:
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()


@pytest.mark.parametrize("content", [None, "", "\n\n", "not json\n"])
def test_run_dir_without_records_is_a_one_line_error(tmp_path: Path, capsys, content: str | None) -> None:
    run = tmp_path / "run"
    run.mkdir()
    if content is not None:
        (run / "records.jsonl").write_text(content)
    with pytest.raises(InvalidArgumentError):
        write_report(run)
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framepick: error: ") and err.count("\n") == 1
    assert not (run / "report.html").exists()


def test_missing_run_dir_and_bad_max_samples(tmp_path: Path, capsys, run_dir: Path) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(run_dir), "--max-samples", "-1"]) == 2
    assert "--max-samples" in capsys.readouterr().err


def test_summary_rows_are_the_metrics_modules(run_dir: Path) -> None:
    records = read_run(run_dir).records
    rows = {(r.method, r.k, r.query): r for r in summary_rows(records)}
    theirs = {(m["method"], m["k"], m["query"]): m for m in summarize(records)}
    assert rows.keys() == theirs.keys() and len(rows) == 8
    for key, row in rows.items():
        for name in ("n", "accuracy", "accuracy_low", "accuracy_high", "hit_at_k", "in_span", "span_recall", "select_ms"):
            assert getattr(row, name) == theirs[key][name]
