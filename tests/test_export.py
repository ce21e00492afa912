"""``framepick.export``'s atomic writes: the old file or the new one, never half of one, no leftovers."""

from __future__ import annotations

import json
import os
import stat

import pytest

from framepick import export
from framepick.export import OutputError, atomic_path, write_json, write_text


def test_atomic_path_replaces_the_file_only_when_the_block_succeeds(tmp_path) -> None:
    target = tmp_path / "state.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of the n")
        raise RuntimeError("killed half way")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]  # the temporary file is gone

    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target  # beside it: the move is one rename
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the block ends
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.bin"]


def test_atomic_path_gives_the_mode_a_plain_open_would(tmp_path) -> None:
    mask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644  # not mkstemp's 0600


def test_a_missing_folder_is_a_one_line_output_error(tmp_path) -> None:
    with pytest.raises(OutputError, match="does not exist"), atomic_path(tmp_path / "no" / "a.json"):
        pass
    with pytest.raises(OutputError, match="does not exist"):
        write_json(tmp_path / "no" / "a.json", {})


def test_write_json_is_indented_with_a_final_newline_and_keeps_or_sorts_keys(tmp_path) -> None:
    path = tmp_path / "run.json"
    write_json(path, {"b": 1, "a": [1, 2]})
    assert path.read_text() == '{\n  "b": 1,\n  "a": [\n    1,\n    2\n  ]\n}\n'
    write_json(path, {"b": 1, "a": 2}, sort_keys=True)
    assert list(json.loads(path.read_text())) == ["a", "b"]


def test_a_failed_json_write_leaves_the_old_file_and_nothing_staged(tmp_path, monkeypatch) -> None:
    path = tmp_path / "run.json"
    write_json(path, {"v": 1})
    with pytest.raises(TypeError):
        write_json(path, {"v": object()})  # not JSON: fails before anything is staged
    assert json.loads(path.read_text()) == {"v": 1}

    def no_rename(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export.os, "replace", no_rename)
    with pytest.raises(OutputError, match="No space left on device"):
        write_json(path, {"v": 2})
    with pytest.raises(OSError), atomic_path(path) as tmp:
        tmp.write_text("{}")
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_write_text_is_utf8(tmp_path) -> None:
    write_text(tmp_path / "a.md", "é\n")
    assert (tmp_path / "a.md").read_bytes() == "é\n".encode("utf-8")


def test_staged_folder_appears_whole_or_not_at_all(tmp_path) -> None:
    import os

    from framepick.export import StagedOutputs

    run = tmp_path / "run"
    with StagedOutputs() as staged:
        staged.write_folder(run, {"a.json": "{}\n", "b.jsonl": ""})
    assert sorted(p.name for p in run.iterdir()) == ["a.json", "b.jsonl"]
    mask = os.umask(0)
    os.umask(mask)
    assert (run.stat().st_mode & 0o777) == 0o777 & ~mask  # not mkdtemp's 0700
    (run / "other.txt").write_text("kept")
    with StagedOutputs() as staged:
        staged.write_folder(run, {"a.json": '{"new": 1}\n'})
    assert (run / "a.json").read_text() == '{"new": 1}\n' and (run / "other.txt").read_text() == "kept"
    try:
        with StagedOutputs() as staged:
            staged.write_folder(tmp_path / "never", {"a.json": "{}"})
            raise RuntimeError("failed half way")
    except RuntimeError:
        pass
    assert not (tmp_path / "never").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".never")]
