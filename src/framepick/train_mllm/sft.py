"""Stages 1 and 2 (paper 000, Sec. 3.2, Eq. 1): supervised fine-tuning on TRL's ``SFTTrainer``.

The examples (:mod:`.sft_data`) are conversational prompt-completion rows whose frames come with
them (``images``, :mod:`.shown_video`); TRL's vision-language collator renders them with the model's chat template and
processor, and the loss is the completion's tokens only (Eq. 1: -log P(Y_gt | V, Q, I)).
Sequences are never truncated (``max_length=None``): cutting a prompt would cut image tokens from
their pixels; fewer ``--shown`` frames or a smaller ``--max-side`` make prompts shorter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from framepick.errors import InvalidArgumentError
from framepick.train_mllm.model_io import Policy, save_policy
from framepick.train_mllm.requirements import require_trl
from framepick.train_mllm.run_config import RunSettings, StagingFolder, losses, settings_dict, write_record
from framepick.train_mllm.sft_data import SFT1_TASKS, build_examples
from framepick.train_mllm.shown_video import dataset_with_images
from framepick.train_mllm.video_frames import SampleFrames


@dataclass(frozen=True)
class StageResult:
    """What a stage did: for the summary line and the tests."""

    stage: str
    steps: int
    examples: int
    per_task: dict[str, int]
    skipped: list[tuple[str, str]]
    losses: list[float]
    seconds: float
    out: Path
    extra: dict[str, Any]


def trainer_args(config_class: Any, settings: RunSettings, folder: StagingFolder, device: Any, **fields: Any) -> Any:
    """TRL's config for either trainer: our steps and batches, logging every step, no checkpoints."""
    import dataclasses

    # transformers 5 renamed gradient_checkpointing (the old name still works, with a FutureWarning
    # that library code must not print); older releases know only the old name.
    names = {field.name for field in dataclasses.fields(config_class)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    fields[checkpointing] = settings.gradient_checkpointing
    return config_class(
        output_dir=str(folder.trainer_dir),
        max_steps=settings.steps,
        per_device_train_batch_size=fields.pop("per_device_train_batch_size", settings.batch_size),
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.lr,
        seed=settings.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=str(device).startswith("cpu"),
        disable_tqdm=not settings.progress,
        dataloader_num_workers=0,
        **fields,
    )


def quiet_unless_progress(trainer: Any, settings: RunSettings) -> Any:
    """Without progress bars, the trainer prints no log dicts either (they go to metrics.jsonl)."""
    if not settings.progress:
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    return trainer


def train_quietly(trainer: Any, settings: RunSettings) -> None:
    """``trainer.train()`` without the deprecation notices TRL 1.16 triggers inside transformers 5
    (``is_gradient_checkpointing``): not actionable for a framepick user, and library code must not
    print them."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=r".*deprecated and will be removed in v6")
        quiet_unless_progress(trainer, settings).train()


def run_sft(
    stage: str,
    policy: Policy,
    frames: Sequence[SampleFrames],
    out: Path,
    settings: RunSettings,
    *,
    device: Any,
    tasks: Sequence[str] = SFT1_TASKS,
    skipped: Sequence[tuple[str, str]] = (),
) -> StageResult:
    """Train ``policy`` on ``stage``'s examples and write ``out`` (``stage`` is ``sft1`` or ``sft2``)."""
    if stage not in ("sft1", "sft2"):
        raise InvalidArgumentError(f"run_sft trains sft1 or sft2, not {stage!r}")
    trl = require_trl()

    built = build_examples(frames, stage, tasks)
    all_skipped = list(skipped) + built.skipped
    if not built.rows:
        first = f" (first: {all_skipped[0][0]}: {all_skipped[0][1]})" if all_skipped else ""
        raise InvalidArgumentError(f"{stage}: no training example could be made from the manifest{first}")
    dataset = dataset_with_images(built.rows, built.videos, "frames")
    start = time.perf_counter()
    with StagingFolder(out) as folder:
        args = trainer_args(trl.SFTConfig, settings, folder, device, max_length=None, remove_unused_columns=False)
        trainer = trl.SFTTrainer(model=policy.model, args=args, train_dataset=dataset, processing_class=policy.processor)
        train_quietly(trainer, settings)
        save_policy(policy, trainer.model, folder.path)
        history = list(trainer.state.log_history)
        result = StageResult(
            stage=stage, steps=int(trainer.state.global_step), examples=len(built.rows), per_task=dict(built.per_task),
            skipped=all_skipped, losses=losses(history), seconds=time.perf_counter() - start, out=out, extra={},
        )
        write_record(folder.path, record(result, policy, settings_dict(settings), {"tasks": list(tasks)}), history)
        folder.publish()
    return result


def record(result: StageResult, policy: Policy, settings: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """The run's ``kframes_mllm.json``."""
    from framepick.clip_model import PROMPT_VERSION
    from framepick.version import __version__

    return {
        "stage": result.stage, "model": f"hf:{policy.source}", "framepick": __version__, "prompt_version": PROMPT_VERSION,
        "steps": result.steps, "examples": result.examples, "per_task": result.per_task,
        "skipped": [{"sample": s, "reason": r} for s, r in result.skipped], "losses": result.losses,
        "seconds": round(result.seconds, 3), "settings": settings, **more, **result.extra,
    }
