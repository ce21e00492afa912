"""``framepick eval --method-params JSON``: per-method parameters keyed by the method as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import framepick
from framepick.cli.main import main
from framepick.errors import InvalidArgumentError
from framepick.eval import parse_method_specs, read_records

QUESTION = "Which colour fills the screen: red or blue?"


def test_params_go_to_the_method_they_name():
    specs = parse_method_specs("uniform,bolt", {"bolt": {"power": 2.5}})
    assert [(s.label, dict(s.method_params)) for s in specs] == [("uniform", {}), ("bolt", {"power": 2.5})]
    assert specs[1].build().power == 2.5
    assert parse_method_specs("bolt")[0].build().power == 3.0  # BOLT's Video-MME default
    with pytest.raises(InvalidArgumentError, match="--method-params names 'aks', which is not one of --methods"):
        parse_method_specs("uniform,bolt", {"aks": {"t1": 0.5}})
    with pytest.raises(InvalidArgumentError, match="--method-params 'bolt' must be a JSON object, got float"):
        parse_method_specs("bolt", {"bolt": 2.5})
    with pytest.raises(InvalidArgumentError, match="power"):
        parse_method_specs("bolt", {"bolt": {"power": -1}})  # the selector's own check, in one line
    with pytest.raises(InvalidArgumentError, match="no parameter 'powr'"):
        parse_method_specs("bolt", {"bolt": {"powr": 2}})


def _manifest(folder: Path, video: Path) -> Path:
    row = {"id": "s1", "video": str(video), "question": QUESTION, "options": ["red", "blue", "grey"], "answer": "A"}
    path = folder / "m.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return path


def _eval(manifest: Path, out: Path, cache: Path, *extra: str) -> int:
    return main(["eval", "--manifest", str(manifest), "--out", str(out), "--methods", "uniform,bolt", "-k", "4,6",
                 "--candidates", "32", "--query", "text", "--quiet", "--cache-dir", str(cache), *extra])


def test_eval_selects_with_the_parameters_and_keeps_them_in_the_run(segment_video, tmp_path, capsys):
    manifest, cache = _manifest(tmp_path, segment_video), tmp_path / "cache"
    out = tmp_path / "run"
    assert _eval(manifest, out, cache, "--method-params", '{"bolt": {"power": 0.5}}') == 0, capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["method_params"] == {"bolt": {"power": 0.5}}
    records = read_records(out)
    assert sorted((r["method"], r["k"]) for r in records) == [("bolt", 4), ("bolt", 6), ("uniform", 4), ("uniform", 6)]
    for r in (r for r in records if r["method"] == "bolt"):
        expected = framepick.select_frames(segment_video, QUESTION, r["k"], method="bolt", method_params={"power": 0.5},
                                           candidates=32, cache=cache)
        assert [f["index"] for f in r["frames"]] == expected.indices.tolist()
    # The same run with the default power chooses otherwise on this video for some k: the parameter mattered.
    default = tmp_path / "default"
    assert _eval(manifest, default, cache) == 0
    assert "method_params" not in json.loads((default / "config.json").read_text())  # earlier runs' configs unchanged

    def bolt_frames(run):
        return {r["k"]: [f["index"] for f in r["frames"]] for r in read_records(run) if r["method"] == "bolt"}

    assert bolt_frames(out) != bolt_frames(default)
    # Resuming with other parameters would mix selections: refused in one line, nothing written.
    capsys.readouterr()
    before = (out / "records.jsonl").read_text()
    assert _eval(manifest, out, cache, "--method-params", '{"bolt": {"power": 2.5}}') == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "another method_params" in err[0] and "--force-new" in err[0]
    assert (out / "records.jsonl").read_text() == before
    assert _eval(manifest, out, cache, "--method-params", '{"bolt": {"power": 0.5}}') == 0  # the same: resumes


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{bolt", "--method-params is not valid JSON"),
        ('["bolt"]', "--method-params must be a JSON object, got list"),
        ('{"topk": {}}', "--method-params names 'topk', which is not one of --methods (uniform, bolt)"),
        ('{"bolt": {"powr": 1}}', "no parameter 'powr'"),
    ],
)
def test_bad_method_params_are_one_line_errors(segment_video, tmp_path, capsys, value, message):
    manifest = _manifest(tmp_path, segment_video)
    out = tmp_path / "run"
    assert _eval(manifest, out, tmp_path / "cache", "--method-params", value) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()
