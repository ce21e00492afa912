"""Stage 3 (paper 000, Sec. 3.3, Eqs. 2-4): GRPO on TRL's ``GRPOTrainer``, Dr. GRPO advantages.

Each question's prompt is the Fig. 14 prompt over its shown frames, exactly as at inference
(:func:`framepick.clip_model.prompt_parts`); the policy writes ``group_size`` replies; each reply's
reward is Eq. 2 from a frozen answerer on k frames sampled from its clips (:class:`.reward.ClipReward`).

TRL settings that make this the paper's objective:

- ``scale_rewards="none"``: A_i = R_i - mean(R_group), no division by the group's std (Eq. 3, Dr. GRPO);
- ``loss_type="dr_grpo"``: token losses summed and divided by a constant (the completion budget)
  rather than by each reply's length (Eq. 4's 1/G sum over tokens; Dr. GRPO);
- ``epsilon``: Eq. 4's clip range; ``beta=0``: Eq. 4 has no KL term (``--beta`` adds one);
- ``num_generations`` = ``--group-size`` (G), one question per device batch, ``--grad-accum``
  questions per optimizer step.

Only multiple-choice samples with an answer are used (the paper runs RL "exclusively on
multiple-choice question-answering datasets"); the others are skipped and counted.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from framepick.answer.base import Answerer
from framepick.answer.cache import AnswerCache
from framepick.errors import InvalidArgumentError
from framepick.train_mllm.model_io import Policy, save_policy
from framepick.train_mllm.requirements import require_trl
from framepick.train_mllm.reward import ClipReward
from framepick.train_mllm.run_config import GrpoSettings, RunSettings, StagingFolder, losses, settings_dict, write_record
from framepick.train_mllm.sft import StageResult, record, train_quietly, trainer_args
from framepick.train_mllm.sft_data import key_clip_instruction
from framepick.train_mllm.shown_video import ShownVideo, dataset_with_images
from framepick.train_mllm.video_frames import SampleFrames, query_text
from framepick.types import option_position


def grpo_rows(
    frames: Sequence[SampleFrames],
) -> tuple[list[dict[str, Any]], dict[int, ShownVideo], list[tuple[str, str]]]:
    """One prompt row per usable sample (``sample`` = its key in the reward's frame table and in the
    shown videos, which give the row its images), and the samples skipped."""
    rows, videos, skipped = [], {}, []
    for key, sample_frames in enumerate(frames):
        sample = sample_frames.sample
        correct = option_position(sample.answer) if sample.answer else None
        if correct is None or len(sample.options) < 2:
            skipped.append((sample.id, "not a multiple-choice question with its answer"))
            continue
        videos[key] = ShownVideo.of(sample_frames)
        rows.append({"prompt": videos[key].prompt(key_clip_instruction(query_text(sample))), "sample": key})
    return rows, videos, skipped


def run_grpo(
    policy: Policy,
    frames: Sequence[SampleFrames],
    out: Path,
    settings: RunSettings,
    grpo: GrpoSettings,
    *,
    answerer: Answerer,
    device: Any,
    cache: AnswerCache | None = None,
    skipped: Sequence[tuple[str, str]] = (),
) -> StageResult:
    """Train ``policy`` with GRPO against ``answerer`` and write ``out``."""
    trl = require_trl()

    rows, videos, unusable = grpo_rows(frames)
    all_skipped = list(skipped) + unusable
    if not rows:
        first = f" (first: {all_skipped[0][0]}: {all_skipped[0][1]})" if all_skipped else ""
        raise InvalidArgumentError(f"grpo: no multiple-choice sample with an answer in the manifest{first}")
    reward = ClipReward(answerer, dict(enumerate(frames)), k=grpo.k, tau=grpo.tau, mode=grpo.sampling, cache=cache)
    dataset = dataset_with_images(rows, videos, "sample")
    start = time.perf_counter()
    with StagingFolder(out) as folder:
        args = trainer_args(
            trl.GRPOConfig, settings, folder, device,
            per_device_train_batch_size=grpo.group_size, num_generations=grpo.group_size,
            max_completion_length=grpo.max_completion_tokens, temperature=grpo.temperature,
            beta=grpo.beta, epsilon=grpo.epsilon, loss_type="dr_grpo", scale_rewards="none",
            remove_unused_columns=False,
        )
        trainer = trl.GRPOTrainer(
            model=policy.model, reward_funcs=reward, args=args, train_dataset=dataset, processing_class=policy.processor,
        )
        train_quietly(trainer, settings)
        save_policy(policy, trainer.model, folder.path)
        history = list(trainer.state.log_history)
        stats = reward.stats
        extra = {
            "completions": stats.completions, "unparsed": stats.unparsed,
            "mean_reward": None if not stats.rewards else sum(stats.rewards) / len(stats.rewards),
            "mean_uniform_reward": None if not stats.uniform else sum(stats.uniform.values()) / len(stats.uniform),
            "reward_answerer": answerer.id,
        }
        result = StageResult(
            stage="grpo", steps=int(trainer.state.global_step), examples=len(rows), per_task={"key_clips": len(rows)},
            skipped=all_skipped, losses=losses(history), seconds=time.perf_counter() - start, out=out, extra=extra,
        )
        write_record(folder.path, record(result, policy, settings_dict(settings, grpo), {}), history)
        folder.publish()
    return result
