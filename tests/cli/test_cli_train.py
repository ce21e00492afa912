"""`framepick train` end to end on a real-footage needle video, then the checkpoint in select and eval."""

from __future__ import annotations

import json

import pytest

from framepick.cli.main import main

from eval.needle_video import NEEDLE_QUESTION, NEEDLE_SPAN, eval_cache, needle_row, needle_videos, write_manifest_rows  # noqa: F401


@pytest.fixture(scope="module")
def manifests(needle_videos, tmp_path_factory):
    root = tmp_path_factory.mktemp("train-manifests")
    train = write_manifest_rows(root / "train.jsonl", [needle_row("t0", needle_videos["needle"], NEEDLE_SPAN)])
    val = write_manifest_rows(root / "val.jsonl", [needle_row("v0", needle_videos["needle"], NEEDLE_SPAN)])
    return train, val


def train_args(manifests, out, cache, *extra):
    train, val = manifests
    return ["train", "tspo", "--manifest", str(train), "--val-manifest", str(val), "--out", str(out),
            "--candidates", "32", "--cache-dir", str(cache), "--quiet", *extra]


def test_train_then_select_and_eval_with_the_checkpoint(manifests, needle_videos, eval_cache, tmp_path, capsys) -> None:
    out = tmp_path / "ckpt"
    assert main(train_args(manifests, out, eval_cache, "--steps", "4", "--eval-every", "2")) == 0
    printed = capsys.readouterr().out
    assert "tspo: 4/4 steps, 1 train / 1 val episodes" in printed
    meta = json.loads((out / "policy.json").read_text())
    assert meta["method"] == "tspo" and meta["encoder_id"].startswith("offline")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "train"] == [1, 2, 3, 4]
    assert [r["step"] for r in rows if r["split"] == "val"] == [0, 2, 4]

    # Running the same command again is a resume with nothing left to do.
    assert main(train_args(manifests, out, eval_cache, "--steps", "4", "--eval-every", "2")) == 0
    assert "4/4 steps" in capsys.readouterr().out

    code = main(["select", str(needle_videos["needle"]), "-q", NEEDLE_QUESTION, "-k", "4", "--candidates", "32",
                 "--method", f"tspo={out}", "--encoder", "offline", "--cache-dir", str(eval_cache), "--quiet"])
    assert code == 0
    selection = json.loads(capsys.readouterr().out)
    assert selection["method"] == "tspo" and len(selection["frames"]) == 4
    assert selection["params"]["checkpoint"] == str(out)
    assert meta["encoder"] == "offline"
    # --encoder auto means the encoder the checkpoint was trained on.
    assert main(["select", str(needle_videos["needle"]), "-q", NEEDLE_QUESTION, "-k", "4", "--candidates", "32",
                 "--method", f"tspo={out}", "--cache-dir", str(eval_cache), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == selection["frames"]

    run_dir = tmp_path / "run"
    code = main(["eval", "--manifest", str(manifests[1]), "--methods", f"topk,tspo={out}", "-k", "4",
                 "--candidates", "32", "--encoder", "offline", "--out", str(run_dir), "--cache-dir", str(eval_cache), "--quiet"])
    assert code == 0
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert sorted(r["method"] for r in records) == ["topk", f"tspo={out}"]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--steps", "0"], "steps must be an integer in [1, inf], got 0"),
        (["--policy-params", "{"], "--policy-params is not valid JSON"),
        (["--policy-params", '{"dim": 3}'], "--policy-params cannot set dim"),
        (["--policy-params", '{"windw": 3}'], "TSPOConfig has no field 'windw'"),
        (["--lr", "-1"], "lr must be > 0"),
    ],
)
def test_bad_training_arguments_are_one_line(manifests, eval_cache, tmp_path, capsys, extra, message) -> None:
    assert main(train_args(manifests, tmp_path / "ckpt", eval_cache, *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_select_with_a_missing_or_foreign_checkpoint_is_one_line(needle_videos, eval_cache, tmp_path, capsys) -> None:
    base = ["select", str(needle_videos["needle"]), "-q", NEEDLE_QUESTION, "-k", "4", "--candidates", "32",
            "--encoder", "offline", "--cache-dir", str(eval_cache), "--quiet"]
    assert main([*base, "--method", f"tspo={tmp_path / 'nowhere'}"]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main([*base, "--method", "tspo"]) == 2
    assert "needs a checkpoint: --method tspo=CKPT_DIR" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "policy.json").write_text('{"method": "tspo", "config": {"dim": 384}, "encoder_id": "x"}')
    (corrupt / "policy.pt").write_bytes(b"not a torch file")
    assert main([*base, "--method", f"tspo={corrupt}"]) == 2
    err = capsys.readouterr().err
    assert "cannot load checkpoint" in err and len(err.strip().splitlines()) == 1
