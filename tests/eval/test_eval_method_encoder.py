"""``framepick eval --encoder auto`` with a method that brings its encoder: that encoder, as in ``select``."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from policies.tspo_folder import build_tspo_folder  # noqa: E402

from framepick.cli.main import main  # noqa: E402
from framepick.errors import InvalidArgumentError  # noqa: E402
from framepick.eval import parse_method_specs, read_records  # noqa: E402
from framepick.cli.eval import method_encoder  # noqa: E402


@pytest.fixture(scope="module")
def tspo(tmp_path_factory):
    return build_tspo_folder(tmp_path_factory.mktemp("tspo") / "TSPO-tiny")


def test_auto_means_the_tspo_release_clip(tspo, segment_video, tmp_path, capsys):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "s1", "video": str(segment_video), "question": "What is red?",
                                    "options": ["a ball", "a wall"], "answer": "A"}) + "\n")
    out = tmp_path / "run"
    code = main(["eval", "--manifest", str(manifest), "--out", str(out), "--methods", f"uniform,tspo={tspo}", "-k", "4",
                 "--candidates", "24", "--encoder", "auto", "--quiet", "--cache-dir", str(tmp_path / "cache")])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["encoder"] == f"clip:{tspo}" and config["encoder_id"].startswith("clip:")
    assert {r["method"] for r in read_records(out)} == {"uniform", f"tspo={tspo}"}


def test_methods_without_their_own_encoder_leave_auto_alone(tspo):
    assert method_encoder("auto", parse_method_specs("uniform,bolt")) == "auto"
    assert method_encoder("offline", parse_method_specs(f"uniform,tspo={tspo}")) == "offline"  # named: kept
    assert method_encoder("auto", parse_method_specs(f"tspo={tspo},tspo-release={tspo}")) == f"clip:{tspo}"


def test_methods_trained_on_different_encoders_need_one_named(tspo, tmp_path):
    import shutil

    other = shutil.copytree(tspo, tmp_path / "TSPO-other")
    with pytest.raises(InvalidArgumentError, match="trained on different encoders .*name one with --encoder"):
        method_encoder("auto", parse_method_specs(f"tspo={tspo},tspo={other}"))
