"""``framepick train kframes-mllm``: each stage a few steps on the tiny Qwen2-VL, end to end through the CLI.

Each stage must give a finite loss, change some weight, and write a folder that framepick's ``hf:``
answerer loads. GRPO's reward comes from a real answerer (the tiny model through ``hf:``): for the
group's rewards to differ (else every advantage is 0 and nothing moves), the policy first learns
the reply format in a short plain-torch warm-up on two different replies to the same prompt.
"""

from __future__ import annotations

import builtins
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from answer.tiny_mllm import build_tiny_mllm  # noqa: E402
from videogen import write_video  # noqa: E402

from framepick.cli.main import main  # noqa: E402

SHOWN, CANDIDATES, SIDE = 6, 12, 56


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("kframes_mllm")
    model = build_tiny_mllm(root / "tiny", "qwen2_vl")
    red_green = write_video(root / "a.mp4", [(2, (255, 0, 0)), (2, (0, 255, 0)), (2, (0, 0, 255))])
    bar = write_video(root / "b.mp4", [(3, (200, 200, 0)), (3, (0, 200, 200), "pattern")])
    rows = [
        {"id": "a", "video": str(red_green), "question": "What colour comes second?", "options": ["red", "green", "blue"],
         "answer": "B", "spans": [[2.0, 4.0]],
         "extra": {"key_clips": [{"start_seconds": 2.0, "end_seconds": 3.9, "priority": "P1", "score": 5.0, "reason": "green"}],
                   "peakclips": {"scenes": [
                       {"scene_id": 1, "start_seconds": 0.0, "end_seconds": 2.0, "caption": "A red screen.", "llm_score": 1,
                        "reason": "Red comes first."},
                       {"scene_id": 2, "start_seconds": 2.0, "end_seconds": 4.0, "caption": "A green screen.", "llm_score": 5,
                        "reason": "Green is second."}]}}},
        {"id": "b", "video": str(bar), "question": "Is there a moving bar?", "options": ["yes", "no"], "answer": "A",
         "extra": {"key_clips": [{"start_seconds": 3.0, "end_seconds": 6.0, "priority": "P1", "score": 5.0, "reason": "bar"}]}},
    ]
    manifest = root / "train.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root, Path(model), manifest


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def changed(before: dict, after: dict) -> int:
    return sum(not torch.equal(before[k], after[k]) for k in before)


def train(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["train", "kframes-mllm", *args, "--candidates", str(CANDIDATES), "--shown", str(SHOWN),
                 "--max-side", str(SIDE), "--device", "cpu", "--no-cache", "--quiet",
                 "--no-gradient-checkpointing"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_trained(model: Path, out: Path, stage: str) -> dict:
    from framepick.answer import AnswererOptions, load_answerer

    record = json.loads((out / "kframes_mllm.json").read_text())
    assert record["stage"] == stage and record["losses"] and all(math.isfinite(x) for x in record["losses"])
    assert changed(weights(model), weights(out)) > 0
    answerer = load_answerer(f"hf:{out}", AnswererOptions(device="cpu"))
    frames = np.zeros((2, 56, 56, 3), dtype=np.uint8)
    assert sum(answerer.answer(frames, [0.0, 1.0], "Which?", ["a", "b"]).option_probs) == pytest.approx(1.0)
    assert not list(out.parent.glob(f".{out.name}.partial-*"))
    return record


def test_sft1_trains_the_grounding_tasks_and_writes_a_loadable_model(workspace, capsys):
    root, model, manifest = workspace
    out = root / "sft1"
    code, stdout, err = train(capsys, "--stage", "sft1", "--model", f"hf:{model}", "--manifest", str(manifest),
                              "--out", str(out), "--steps", "2", "--lr", "1e-3")
    assert code == 0, err
    record = check_trained(model, out, "sft1")
    # a: two captioned scenes (both caption tasks), their two scores, its span and a P5 clip; b: its key clip.
    assert record["per_task"] == {"caption_to_scene": 2, "scene_to_caption": 2, "relevance": 5}
    assert "kframes-mllm sft1: 2 steps" in stdout and "loss" in stdout


def test_sft2_trains_on_the_peakclips_targets(workspace, capsys):
    root, model, manifest = workspace
    out = root / "sft2"
    code, stdout, err = train(capsys, "--stage", "sft2", "--model", f"hf:{model}", "--manifest", str(manifest),
                              "--out", str(out), "--steps", "2", "--lr", "1e-3")
    assert code == 0, err
    assert check_trained(model, out, "sft2")["per_task"] == {"key_clips": 2}
    # Training again into the same folder is refused, the folder untouched.
    code, _, err = train(capsys, "--stage", "sft2", "--model", f"hf:{model}", "--manifest", str(manifest), "--out", str(out))
    assert code == 2 and "already exists" in err and len(err.strip().splitlines()) == 1


def teach_format(model: Path, manifest: Path, out: Path, steps: int = 80) -> None:
    """A policy that writes one of two clip replies for each prompt (so a group's rewards differ)."""
    from framepick.data.manifest import read_manifest
    from framepick.train_mllm.model_io import load_policy, save_policy
    from framepick.train_mllm.sft_data import key_clip_instruction
    from framepick.train_mllm.shown_video import ShownVideo
    from framepick.train_mllm.video_frames import decode_sample, query_text
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    torch.manual_seed(0)
    policy = load_policy(f"hf:{model}", torch.float32)
    rows = []
    for sample in read_manifest(manifest).samples:
        frames = decode_sample(sample, candidates=CANDIDATES, shown=SHOWN, max_side=SIDE, all_candidates=True)
        shown = ShownVideo.of(frames)
        prompt, images = shown.prompt(key_clip_instruction(query_text(sample))), shown.pil_images()
        for reply in ("<time>frames 0-1, P1,</time>", "<time>frames 3-5, P1,</time>"):
            rows.append({"prompt": prompt, "images": images,
                         "completion": [{"role": "assistant", "content": [{"type": "text", "text": reply}]}]})
    collate = DataCollatorForVisionLanguageModeling(policy.processor, completion_only_loss=True)
    optimizer = torch.optim.Adam(policy.model.parameters(), lr=3e-3)
    policy.model.train()
    batch = collate(rows)  # the same batch every step: collated once
    for _ in range(steps):
        loss = policy.model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    save_policy(policy, policy.model, out)


@pytest.mark.slow
def test_grpo_rewards_from_a_real_answerer_move_the_policy(workspace, capsys):
    """60-160 s on 2 shared CPU cores (the warm-up, then 2 GRPO steps of 4 rollouts)."""
    root, model, manifest = workspace
    taught = root / "taught"
    teach_format(model, manifest, taught)
    out = root / "grpo"
    code, stdout, err = train(capsys, "--stage", "grpo", "--model", f"hf:{taught}", "--manifest", str(manifest),
                              "--out", str(out), "--steps", "2", "--lr", "1e-3", "--group-size", "4", "--train-k", "3",
                              "--reward-answerer", f"hf:{model}", "--max-completion-tokens", "40", "--seed", "1",
                              "--temperature", "0.6")  # sharper: most rollouts are one of the two taught replies
    assert code == 0, err
    record = json.loads((out / "kframes_mllm.json").read_text())
    assert record["completions"] == 8 and record["unparsed"] < record["completions"]
    assert record["reward_answerer"].startswith(f"hf:{model}")
    assert -1.0 <= record["mean_reward"] <= 1.0 and math.isfinite(record["mean_uniform_reward"])
    assert record["settings"]["group_size"] == 4
    check_trained(taught, out, "grpo")
    assert "mean reward" in stdout and "uniform frames" in stdout


def test_grpo_needs_a_reward_answerer_and_sft_refuses_one(workspace, capsys):
    root, model, manifest = workspace
    common = ["--model", f"hf:{model}", "--manifest", str(manifest), "--out", str(root / "never")]
    code, _, err = train(capsys, "--stage", "grpo", *common)
    assert code == 2 and "--reward-answerer" in err
    code, _, err = train(capsys, "--stage", "sft1", "--reward-answerer", f"hf:{model}", *common)
    assert code == 2 and "--reward-answerer is for --stage grpo" in err
    code, _, err = train(capsys, "--stage", "sft1", "--model", "Qwen/Qwen2.5-VL-3B", "--manifest", str(manifest),
                         "--out", str(root / "never"))
    assert code == 2 and "--model must be hf:" in err
    code, _, err = train(capsys, "--stage", "grpo", "--answerer", f"hf:{model}", *common)
    assert code == 2 and "as --reward-answerer, not --answerer" in err
    code, _, err = train(capsys, "--stage", "sft1", "--val-manifest", str(manifest), *common)
    assert code == 2 and "--val-manifest does not apply to kframes-mllm" in err
    code, _, err = train(capsys, "--stage", "grpo", "--reward-answerer", f"hf:{model}", "--batch-size", "4", *common)
    assert code == 2 and "--batch-size is for the sft stages" in err
    assert not (root / "never").exists()


def test_without_trl_the_command_says_what_to_install(workspace, capsys, monkeypatch):
    root, model, manifest = workspace
    real_import = builtins.__import__

    def no_trl(name, *args, **kwargs):
        if name == "trl" or name.startswith("trl."):
            raise ImportError("No module named 'trl'", name="trl")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "trl", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_trl)
    code, _, err = train(capsys, "--stage", "sft2", "--model", f"hf:{model}", "--manifest", str(manifest),
                         "--out", str(root / "never"))
    assert code == 2 and err.strip() == (
        "framepick: error: framepick train kframes-mllm needs TRL, which is not installed (trl missing): "
        "pip install 'framepick[train-mllm]' (trl>=1.16,<1.17)"
    )


def test_an_unknown_sft1_task_is_refused_before_any_work(workspace, capsys):
    root, model, manifest = workspace
    code, _, err = train(capsys, "--stage", "sft1", "--model", f"hf:{model}", "--manifest", str(manifest),
                         "--out", str(root / "never"), "--sft1-tasks", "relevance,captions")
    assert code == 2 and "--sft1-tasks must list some of" in err and not (root / "never").exists()
