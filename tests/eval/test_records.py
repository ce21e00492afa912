"""The run folder's JSONL files: durable appends and repairing a torn last line."""

from __future__ import annotations

import json

import pytest

from framepick.errors import InvalidArgumentError
from framepick.eval.records import JsonlAppender, read_jsonl, read_records, record_key, repair_jsonl


def test_appender_writes_one_line_per_row_and_appends(tmp_path):
    path = tmp_path / "r.jsonl"
    with JsonlAppender(path) as out:
        out.append({"a": 1})
    with JsonlAppender(path) as out:
        out.append({"a": 2, "text": "é"})
    assert path.read_text(encoding="utf-8").splitlines() == ['{"a": 1}', '{"a": 2, "text": "é"}']


def test_appender_refuses_nan(tmp_path):
    with JsonlAppender(tmp_path / "r.jsonl") as out, pytest.raises(ValueError):
        out.append({"x": float("nan")})


@pytest.mark.parametrize(
    "content, kept",
    [
        (b'{"a": 1}\n{"a": 2}\n{"a": 3, "b"', b'{"a": 1}\n{"a": 2}\n'),  # torn mid-line
        (b'{"a": 1}\n{"a": 2}\n', b'{"a": 1}\n{"a": 2}\n'),  # intact
        (b'{"a": 1', b""),  # the only line torn
        (b'{"a": 1}\n\x00\x00\x00\n', b'{"a": 1}\n'),  # a last line of zeros
        (b"", b""),
    ],
)
def test_repair_truncates_only_an_incomplete_last_line(tmp_path, content, kept):
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    removed = repair_jsonl(path)
    assert path.read_bytes() == kept
    assert removed == len(content) - len(kept)


def test_a_bad_line_in_the_middle_is_damage_not_a_torn_write(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"a": 3}\n')
    repair_jsonl(path)
    assert path.read_text().count("\n") == 3  # nothing removed: the end is intact
    with pytest.raises(InvalidArgumentError, match="line 2"):
        read_records(tmp_path)


def test_record_key_and_missing_run(tmp_path):
    row = {"sample_id": 7, "method": "topk", "k": "8", "query": "text"}
    assert record_key(row) == ("7", "topk", 8, "text")
    with pytest.raises(InvalidArgumentError, match="no evaluation records"):
        read_records(tmp_path)
    assert list(read_jsonl(tmp_path / "absent.jsonl")) == []
    (tmp_path / "records.jsonl").write_text(json.dumps(row) + "\n\n")
    assert read_records(tmp_path) == [row]
