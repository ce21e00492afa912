"""``framepick.jsonio``: the one JSON / JSON Lines reader, and each caller's rule for a bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framepick.errors import InvalidArgumentError
from framepick.jsonio import BadLine, iter_jsonl, read_json

# What a kill -9 in the middle of an append leaves: two good rows, a blank line, a torn last one.
TORN = b'{"step": 1}\n\n{"step": 2}\n{"step": 3, "lo'


def _write(tmp_path: Path, data: bytes, name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_torn_last_line_is_marked_torn_and_the_rows_before_it_are_read(tmp_path) -> None:
    bad: list[BadLine] = []
    rows = list(iter_jsonl(_write(tmp_path, TORN), on_bad=bad.append))
    assert rows == [(1, {"step": 1}), (3, {"step": 2})]  # line numbers as an editor shows them
    assert len(bad) == 1 and bad[0].number == 4 and bad[0].torn and bad[0].where == "line 4"
    assert bad[0].reason.startswith("not JSON (")


def test_without_on_bad_a_bad_line_raises_naming_file_and_line(tmp_path) -> None:
    path = _write(tmp_path, TORN)
    with pytest.raises(InvalidArgumentError, match=r"rows\.jsonl' line 4 is not JSON \("):
        list(iter_jsonl(path))
    with pytest.raises(InvalidArgumentError, match=r"^manifest '.*rows\.jsonl' line 4 is not JSON"):
        list(iter_jsonl(path, what="manifest"))


def test_a_bad_line_before_the_end_is_damage_not_a_torn_write(tmp_path) -> None:
    bad: list[BadLine] = []
    path = _write(tmp_path, b'{"a": 1}\nnot json\n{"a": 3}\n\x00\x00\n')
    assert [row for _, row in iter_jsonl(path, on_bad=bad.append)] == [{"a": 1}, {"a": 3}]
    assert [(b.number, b.torn) for b in bad] == [(2, False), (4, False)]  # each ends in its newline


def test_a_complete_last_line_without_its_newline_is_a_row(tmp_path) -> None:
    assert list(iter_jsonl(_write(tmp_path, b'{"a": 1}\n{"a": 2}'))) == [(1, {"a": 1}), (2, {"a": 2})]


def test_objects_only_decides_whether_other_json_values_are_rows(tmp_path) -> None:
    path = _write(tmp_path, b'{"a": 1}\n[1, 2]\n7\n')
    bad: list[BadLine] = []
    assert [row for _, row in iter_jsonl(path, on_bad=bad.append)] == [{"a": 1}]
    assert [(b.number, b.reason) for b in bad] == [(2, "not a JSON object"), (3, "not a JSON object")]
    assert [row for _, row in iter_jsonl(path, objects_only=False)] == [{"a": 1}, [1, 2], 7]


def test_lines_split_on_newlines_only_never_inside_a_string(tmp_path) -> None:
    # ensure_ascii=False writes U+2028 raw; str.splitlines would cut the row in two there.
    text = "line\u2028separator\u0085next\x0cpage"
    data = (json.dumps({"q": text}, ensure_ascii=False) + "\r\n" + '{"q": 2}\r\n').encode("utf-8")
    assert [row for _, row in iter_jsonl(_write(tmp_path, data))] == [{"q": text}, {"q": 2}]


def test_a_byte_order_mark_is_ignored(tmp_path) -> None:
    path = _write(tmp_path, b'\xef\xbb\xbf{"a": 1}\n')
    assert list(iter_jsonl(path)) == [(1, {"a": 1})]
    assert read_json(_write(tmp_path, b'\xef\xbb\xbf{"a": 1}', "one.json")) == {"a": 1}


def test_a_file_that_is_not_utf8_or_not_there_is_one_line_naming_it(tmp_path) -> None:
    path = _write(tmp_path, b'{"a": 1}\n{"b": "\xff"}\n')
    with pytest.raises(InvalidArgumentError, match=r"^annotations '.*rows\.jsonl' cannot be read as UTF-8 text \("):
        list(iter_jsonl(path, what="annotations"))
    with pytest.raises(InvalidArgumentError, match=r"absent\.jsonl' cannot be read as UTF-8 text \(No such file"):
        list(iter_jsonl(tmp_path / "absent.jsonl"))
    with pytest.raises(InvalidArgumentError, match=r"absent\.json' cannot be read as UTF-8 text \(No such file"):
        read_json(tmp_path / "absent.json")


def test_read_json_names_the_file_and_the_line_of_bad_json(tmp_path) -> None:
    assert read_json(_write(tmp_path, b"[1, 2]\n", "list.json")) == [1, 2]
    path = _write(tmp_path, b'{\n  "a": 1,\n}\n', "bad.json")
    with pytest.raises(InvalidArgumentError, match=r"^library '.*bad\.json' is not valid JSON \(.* at line 3\)$"):
        read_json(path, what="library")


# -- each caller's rule for the same torn file, stated in one place ------------------------------


def test_evaluation_records_refuse_a_bad_line(tmp_path) -> None:
    from framepick.eval.records import read_jsonl

    with pytest.raises(InvalidArgumentError, match="line 4"):
        list(read_jsonl(_write(tmp_path, TORN)))  # the runner repairs a torn end before reading


def test_the_run_reader_counts_bad_lines_and_goes_on(tmp_path) -> None:
    from framepick.eval.run_reader import read_run

    record = {"sample_id": "a", "method": "topk", "k": 4, "query": "text", "frames": []}
    _write(tmp_path, (json.dumps(record) + "\n[1]\n" + json.dumps(record)[:20]).encode(), "records.jsonl")
    run = read_run(tmp_path)
    assert run.records == [record] and run.skipped_lines == 2


def test_benchmark_annotations_and_manifests_report_bad_lines_as_malformed_rows(tmp_path) -> None:
    from framepick.data.benchmarks._readers import read_jsonl
    from framepick.data.benchmarks._report import LoadReport
    from framepick.data.manifest import read_manifest

    report = LoadReport("b", "p")
    assert read_jsonl(_write(tmp_path, b'{"a": 1}\n[2]\n{"a"'), report) == [("line 1", {"a": 1}), ("line 2", [2])]
    assert [where for where, _ in report.malformed] == ["line 3"]

    row = {"id": "s1", "video": "v.mp4", "question": "what\u2028now?"}
    manifest = _write(tmp_path, (json.dumps(row, ensure_ascii=False) + '\n{"id": "s2", "vid').encode(), "m.jsonl")
    read = read_manifest(manifest, require_videos=False)
    assert [s.question for s in read.samples] == ["what\u2028now?"]
    assert [number for number, _ in read.malformed] == [2]


def test_the_training_metrics_log_drops_bad_lines(tmp_path) -> None:
    from framepick.train.loop import _MetricsLog

    path = _write(tmp_path, TORN, "metrics.jsonl")
    log = _MetricsLog(path, keep_through=2)
    log.close()
    assert log.rows == [{"step": 1}, {"step": 2}]
    assert path.read_text() == '{"step": 1}\n{"step": 2}\n'  # rewritten whole, without the torn line
