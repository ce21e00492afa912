"""framepick report: the Markdown summary table."""

from __future__ import annotations

from pathlib import Path

from framepick.eval.report import write_report


def test_markdown_table_rows(run_dir: Path, tmp_path: Path) -> None:
    paths = write_report(run_dir, html_path=tmp_path / "r.html", markdown_path=tmp_path / "r.md")
    lines = paths.markdown.read_text(encoding="utf-8").split("\n## ")[0].splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == (
        "| method | k | query | n | accuracy [95% CI] | hit@k | in-span | span recall | near-dup pairs | select ms | frames sent |"
    )
    assert set(table[1].replace("|", "")) <= set("-:")
    assert len(table) == 2 + 8
    assert "| kframes | 2 | text | 3 | 66.7% [20.8, 93.9] | 100.0% | 100.0% | 100.0% | — | 4.20 | 2.0 |" in table
    assert "| uniform | 2 | image | 3 | 0.0% [0.0, 56.1] | 0.0% | 0.0% | 0.0% | — | 0.10 | 2.0 |" in table
    assert "3 samples, 24 records" in "\n".join(lines)


def test_markdown_shows_dash_when_unmeasured(run_dir: Path, tmp_path: Path) -> None:
    import json

    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    with (run_dir / "records.jsonl").open("w") as f:
        for record in records:
            record.update(correct=None, answer=None, spans=[])
            f.write(json.dumps(record) + "\n")
    paths = write_report(run_dir)
    row = next(line for line in paths.markdown.read_text().splitlines() if line.startswith("| kframes | 2 | text"))
    assert row == "| kframes | 2 | text | 3 | — | — | — | — | — | 4.20 | 2.0 |"
    html = paths.html.read_text()
    assert "accuracy vs k (text query): not measured in this run." in html


def test_markdown_breakdown_by_task_type_and_bucket(run_dir: Path) -> None:
    text = write_report(run_dir).markdown.read_text(encoding="utf-8")
    task = text.split("## Accuracy by task type")[1].split("##")[0]
    assert "| method | k | query | colour | other |" in task
    # kframes k=2 image: s1 right, EVIL wrong (colour), s3 not answered (other)
    assert "| kframes | 2 | image | 50.0% (1/2) | — |" in task
    assert "| uniform | 4 | text | 66.7% (2/3) |" in text.split("## Accuracy by duration bucket")[1]
