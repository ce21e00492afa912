"""The training loop: one question per step, read top to bottom.

For each step: take the next training episode (a seeded shuffle per epoch), then

- ``grpo`` (TSPO, ReFoCUS): sample a group of k-subsets from the current policy, reward each,
  turn rewards into group-relative advantages, and take ``updates_per_group`` clipped-ratio
  gradient steps on that group (plus an entropy bonus where the paper has one);
- ``reinforce`` (MSJoE): the same group, advantages = reward - group mean, one gradient step;
- ``bce`` (VideoITG): one supervised step on the episode's per-frame evidence labels.

The rewards' answers come from the offline matcher's cached table, or from a real MLLM asked
about every sampled subset through the answer cache (:mod:`framepick.train.subset_answers`). A
group whose answers failed trains nothing: the step is logged with ``skipped`` and its counts, and
the run goes on; too many failed answers in a row stop it with one line, after saving.

Every ``eval_every`` steps the policy picks frames deterministically for each validation episode;
the checkpoint with the best mean validation hit@k is the one ``--method NAME=OUT`` loads. The
full trainer state (weights, optimizer, sampler RNG, step) is saved alongside, so running the same
command again resumes, and Ctrl-C stops after saving a usable checkpoint.

Output folder: ``policy.json`` + ``policy.pt`` (the best checkpoint), ``state.pt`` (to resume),
``run.json`` (what was trained on what), ``metrics.jsonl`` (one row per step and per validation),
``curve.svg`` (reward and validation hit@k over steps).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from framepick.errors import FramepickError, InvalidArgumentError
from framepick.export import atomic_path, write_json, write_text
from framepick.jsonio import BadLine, iter_jsonl, read_json
from framepick.policies import build_policy, policy_class
from framepick.policies.base import Policy, SamplingPolicy
from framepick.policies.checkpoint import save_policy
from framepick.train.config import TrainConfig
from framepick.train.curve import write_curve
from framepick.train.episode_rewards import (
    GroupNotAnswered,
    group_rewards,
    selection_metrics,
)
from framepick.train.episodes import Episode
from framepick.train.grpo import (
    clipped_surrogate_loss,
    group_advantages,
    ratio_diagnostics,
    reinforce_loss,
    weighted_bce_loss,
)
from framepick.train.subset_answers import SubsetAnswers, subset_answers_for

if TYPE_CHECKING:
    from framepick.answer.base import Answerer

logger = logging.getLogger(__name__)

STATE_FILE = "state.pt"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "curve.svg"


@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    steps_done: int
    interrupted: bool
    best_step: int
    best_score: float | None
    """Mean validation hit@k of the saved checkpoint (None without validation episodes)."""
    train_seconds: float
    """Seconds spent in training steps in this invocation (validation and saving excluded)."""
    steps_this_run: int
    clip_fraction: float | None = None
    """GRPO: mean clip fraction over the run's steps (None for REINFORCE and BCE: no ratio)."""
    clipped_steps: int | None = None
    """GRPO: steps on which some sample's ratio left [1 - clip, 1 + clip]; 0 means the clip never bound."""
    approx_kl_max: float | None = None
    """GRPO: the largest approx KL of any step; inf or nan once the ratio overflowed (training diverged)."""
    answer_stats: dict[str, Any] | None = None
    """With an MLLM's rewards: model calls, answers from the cache, failed calls and skipped steps
    in this invocation (None for the offline table, which costs nothing)."""

    @property
    def updates_per_second(self) -> float:
        return self.steps_this_run / self.train_seconds if self.train_seconds > 0 else 0.0


def train_policy(
    method: str,
    train_episodes: Sequence[Episode],
    val_episodes: Sequence[Episode],
    out_dir: str | Path,
    *,
    config: TrainConfig,
    answerer: Answerer | SubsetAnswers,
    encoder_id: str,
    encoder_spec: str | None = None,
    policy_config: dict[str, Any] | None = None,
    progress: bool = False,
    query_source: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``method``'s policy on ``train_episodes``; resume if ``out_dir`` holds the same run.

    ``answerer`` is the one the episodes were built for (:func:`build_episodes`): the offline
    matcher (its answer tables), an MLLM (asked without an answer cache), or a
    :class:`~framepick.train.subset_answers.SubsetAnswers` (``ModelAnswers`` with the answer cache).
    ``encoder_spec`` (e.g. ``offline``) is stored in the checkpoint so that ``select`` with
    ``--encoder auto`` loads the encoder the policy was trained on. ``query_source``
    (:meth:`framepick.reasoned_queries.QueryReasoner.describe`) says the episodes' query rows are an
    MLLM's reasoned queries; it goes into the run and the checkpoint, so select can warn on a mismatch.
    """
    from tqdm import tqdm

    if not train_episodes:
        raise InvalidArgumentError("no training episodes: the manifest gave no usable samples")
    if config.objective != "bce" and not issubclass(policy_class(method), SamplingPolicy):
        raise InvalidArgumentError(
            f"{method} is trained with supervision (objective bce); it cannot sample subsets for {config.objective}"
        )
    dim = int(train_episodes[0].frames.shape[1])
    answers = subset_answers_for(answerer)
    counts_before = answers.counts.copy()  # what this invocation asks, its validations included
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = {
        "method": method,
        "train_config": config.to_dict(),
        "policy_config": {"dim": dim, **(policy_config or {})},
        "encoder_id": encoder_id,
        "answerer_id": answers.id,
        **({"rewards_from": "model"} if answers.kind == "model" else {}),  # the offline table: as before
        "train_episodes": _fingerprint(train_episodes),
        "val_episodes": _fingerprint(val_episodes),
        **(query_source or {}),  # absent for the option rows: a run without a query model is as before
    }
    torch.manual_seed(config.seed)
    policy = build_policy(method, **run["policy_config"])
    optimizer = torch.optim.AdamW(policy.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    start_step, best = 0, {"step": -1, "score": None}
    if (out / STATE_FILE).is_file():
        start_step, best = _resume(out, run, policy, optimizer, generator)
        logger.info("resuming %s at step %d of %d", out, start_step, config.steps)
    write_json(out / RUN_FILE, run, sort_keys=True)
    metrics = _MetricsLog(out / METRICS_FILE, keep_through=start_step if start_step else -1)

    def checkpoint_meta(step: int, score: float | None) -> dict[str, Any]:
        return {"trained_steps": step, "val_score": score, "train_config": config.to_dict(), "encoder": encoder_spec,
                **(query_source or {})}

    def validate(step: int) -> None:
        if not val_episodes:
            save_policy(out, policy, encoder_id=encoder_id, extra=checkpoint_meta(step, None))
            best.update(step=step)
            return
        row = {"split": "val", "step": step, **evaluate(policy, val_episodes, config.eval_ks, answers)}
        metrics.append(row)
        score = float(np.mean([row[f"hit@{k}"] for k in config.eval_ks]))
        if best["score"] is None or score > best["score"]:
            best.update(step=step, score=score)
            save_policy(out, policy, encoder_id=encoder_id, extra=checkpoint_meta(step, score))

    def save_stopped(why: str) -> None:
        """A run cut short keeps what it trained: the state to resume from, a policy, the curve."""
        _save_state(out, step, policy, optimizer, generator, best)
        if not (out / "policy.json").is_file():
            save_policy(out, policy, encoder_id=encoder_id, extra=checkpoint_meta(step, None))
        write_curve(out / CURVE_FILE, metrics.rows, title=f"{method} training ({why})")

    if start_step == 0:
        validate(0)  # the untrained policy: the curve's first point, and a checkpoint from the start
    step, train_seconds, interrupted, diverged, skipped = start_step, 0.0, False, False, 0

    def answer_stats() -> dict[str, Any] | None:
        if answers.kind != "model":
            return None
        return {"answerer_id": answers.id, **answers.counts.since(counts_before), "skipped_steps": skipped}
    bar = tqdm(total=config.steps, initial=start_step, desc=f"train {method}", unit="step", disable=not progress)
    try:
        while step < config.steps:
            episode = train_episodes[_episode_index(step, len(train_episodes), config.seed)]
            started = time.perf_counter()
            row = train_step(policy, optimizer, generator, episode, step, config, answers)
            train_seconds += time.perf_counter() - started
            step += 1
            # Cumulative over this invocation's training time, like cleanrl's steps per second.
            row["updates_per_s"] = (step - start_step) / train_seconds if train_seconds > 0 else 0.0
            metrics.append({"split": "train", "step": step, "episode": episode.id, **row})
            if "skipped" in row:
                skipped += 1
                logger.warning("step %d (%s): no update: %s", step, episode.id, row["skipped"])
            if not np.isfinite(row.get("approx_kl", 0.0)) and not diverged:
                diverged = True
                logger.warning("step %d: the GRPO ratio overflowed (approx KL %s): training has diverged", step, row["approx_kl"])
            bar.update(1)
            bar.set_postfix_str(_progress_text(row), refresh=False)
            if step % config.eval_every == 0 or step == config.steps:
                logger.info("step %d/%d: %s, %.1f updates/s", step, config.steps, _progress_text(row), row["updates_per_s"])
                validate(step)
                _save_state(out, step, policy, optimizer, generator, best)
                write_curve(out / CURVE_FILE, metrics.rows, title=f"{method} training")
    except KeyboardInterrupt:
        interrupted = True
        logger.warning("interrupted at step %d of %d; saving", step, config.steps)
        save_stopped("interrupted")
    except FramepickError:
        # The answerer is down (too many failed answers in a row) or cannot give what the reward
        # needs: keep what was trained, so the same command resumes here.
        save_stopped("stopped")
        raise
    finally:
        bar.close()
        metrics.close()
        if answer_stats() is not None:
            write_json(out / RUN_FILE, {**run, "answer_stats": answer_stats()}, sort_keys=True)
    return TrainResult(
        out_dir=out, steps_done=step, interrupted=interrupted, best_step=int(best["step"]),
        best_score=best["score"], train_seconds=train_seconds, steps_this_run=step - start_step,
        answer_stats=answer_stats(), **_ratio_summary(metrics.rows),
    )


def train_step(
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    episode: Episode,
    step: int,
    config: TrainConfig,
    answerer: Answerer | SubsetAnswers,
) -> dict[str, Any]:
    """One optimisation step on one episode; returns what the metrics log records for it.

    ``bce`` trains any policy; ``grpo`` and ``reinforce`` need a :class:`SamplingPolicy`. With an
    MLLM's answers the row also counts the step's model calls, cached answers and failed calls; a
    group with a failed answer takes no gradient step and its row says ``skipped`` (why).
    """
    obs = episode.observation()
    policy.train()
    if config.objective == "bce":
        labels = torch.as_tensor(episode.bce_targets, dtype=torch.float32)
        loss = weighted_bce_loss(policy.frame_scores(obs), labels)
        _apply(optimizer, policy, loss, config.grad_clip)
        return {"loss": float(loss.detach())}
    if not isinstance(policy, SamplingPolicy):  # train_policy refuses this before the first step
        raise InvalidArgumentError(f"{policy.method} cannot sample subsets for {config.objective}")

    temperature = config.temperature_at(step)
    if temperature is not None:
        policy.set_temperature(temperature)
    with torch.no_grad():
        actions = policy.sample(obs, config.k, config.group_size, generator)
        old_log_prob, _ = policy.log_prob(obs, actions)
    answers = subset_answers_for(answerer)
    before = answers.counts.copy()
    try:
        parts = group_rewards(episode, [a.tolist() for a in actions], config, answers)
    except GroupNotAnswered as exc:
        skipped = {"skipped": str(exc), **answers.counts.since(before)}
        return skipped if temperature is None else {**skipped, "temperature": temperature}
    costs = answers.counts.since(before) if answers.kind == "model" else {}
    rewards = torch.tensor([p["reward"] for p in parts], dtype=torch.float32)
    if config.objective == "grpo":
        advantages = group_advantages(rewards)
    clip_fractions: list[float] = []
    for _ in range(config.updates_per_group):
        log_prob, entropy = policy.log_prob(obs, actions)
        if config.objective == "grpo":
            loss = clipped_surrogate_loss(log_prob, old_log_prob, advantages, config.clip)
            # Before this update's step, as cleanrl measures: the first update is on-policy (0, 0).
            approx_kl, clip_fraction = ratio_diagnostics(log_prob, old_log_prob, config.clip)
            clip_fractions.append(clip_fraction)
        else:
            loss = reinforce_loss(log_prob, rewards)
        loss = loss - config.entropy_coef * entropy.mean()
        _apply(optimizer, policy, loss, config.grad_clip)
    row = {
        "loss": float(loss.detach()),
        "reward_mean": float(rewards.mean()),
        "reward_std": float(rewards.std(unbiased=False)),
        "entropy": float(entropy.detach().mean()),
    }
    if config.objective == "grpo":
        row["approx_kl"] = approx_kl  # at the last update, the furthest from the sampling policy
        row["clip_fraction"] = float(np.mean(clip_fractions))  # over the updates, as cleanrl
    for name in ("hit", "temporal", "accuracy", "margin"):
        values = [p[name] for p in parts if name in p]
        if values:
            row[f"{name}_mean"] = float(np.mean(values))
    if temperature is not None:
        row["temperature"] = temperature
    row.update(costs)
    return row


def _progress_text(row: dict[str, Any]) -> str:
    """The progress bar's summary of one step: reward (or loss), and the ratio diagnostics for GRPO."""
    if "skipped" in row:
        return "skipped (answers failed)"
    text = f"reward {row['reward_mean']:.3f}" if "reward_mean" in row else f"loss {row['loss']:.3f}"
    if "clip_fraction" in row:
        text += f", approx KL {row['approx_kl']:.2g}, clip fraction {row['clip_fraction']:.3f}"
    return text


def _ratio_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """TrainResult's clip fields from the run's train rows; empty when no row has a ratio."""
    fractions = [r["clip_fraction"] for r in rows if r.get("split") == "train" and "clip_fraction" in r]
    if not fractions:
        return {}
    return {
        "clip_fraction": float(np.mean(fractions)),
        "clipped_steps": sum(1 for f in fractions if f > 0),
        "approx_kl_max": _nan_max([float(r["approx_kl"]) for r in rows if r.get("split") == "train" and "approx_kl" in r]),
    }


def _nan_max(values: Sequence[float]) -> float:
    """max() that returns nan when any value is nan (the builtin's answer depends on the order)."""
    return float("nan") if any(np.isnan(values)) else max(values)


def evaluate(
    policy: Policy, episodes: Sequence[Episode], ks: Sequence[int], answerer: Answerer | SubsetAnswers
) -> dict[str, float]:
    """Mean hit@k, in-span fraction and accuracy of the policy's deterministic choices.

    An episode's budgets are answered together; a failed answer leaves that accuracy out (counted
    in ``answer_failures``, present only when some failed).
    """
    answers = subset_answers_for(answerer)
    policy.eval()
    totals: dict[str, list[float]] = {}
    failures = 0
    with torch.no_grad():
        for episode in episodes:
            obs = episode.observation()
            chosen = [policy.select(obs, k).tolist() for k in ks]
            for k, positions, answer in zip(ks, chosen, answers.answer(episode, chosen)):
                failed = isinstance(answer, FramepickError)
                failures += failed
                for name, value in selection_metrics(episode, positions, None if failed else answer).items():
                    totals.setdefault(f"{name}@{k}", []).append(value)
    result = {name: float(np.mean(values)) for name, values in totals.items()}
    if failures:
        result["answer_failures"] = failures
    return result


def _apply(optimizer: torch.optim.Optimizer, policy: Policy, loss: torch.Tensor, grad_clip: float) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.parameters(), grad_clip)
    optimizer.step()


def _episode_index(step: int, count: int, seed: int) -> int:
    """Which episode trains step ``step``: a fresh seeded permutation each epoch, so resuming needs no state."""
    epoch, offset = divmod(step, count)
    return int(np.random.default_rng([seed, epoch]).permutation(count)[offset])


def _fingerprint(episodes: Sequence[Episode]) -> dict[str, Any]:
    digest = hashlib.blake2b(digest_size=8)
    for episode in episodes:
        digest.update(episode.id.encode())
        digest.update(str(episode.num_candidates).encode())
    return {"count": len(episodes), "ids_hash": digest.hexdigest()}


def _resume(
    out: Path, run: dict[str, Any], policy: Policy, optimizer: torch.optim.Optimizer, generator: torch.Generator
) -> tuple[int, dict[str, Any]]:
    try:
        previous = read_json(out / RUN_FILE)
    except InvalidArgumentError:  # missing or unreadable: not provably the same run
        previous = None
    mine = {**run, "train_config": {**run["train_config"], "steps": None}}
    if previous is not None:
        previous = {**previous, "train_config": {**previous.get("train_config", {}), "steps": None}}
        previous.pop("answer_stats", None)  # what the last invocation's answers cost, not what it trained
    if previous != mine:
        raise InvalidArgumentError(
            f"{str(out)!r} holds a different training run (method, options or data differ); "
            "use a new --out folder or --force-new"
        )
    state = torch.load(out / STATE_FILE, map_location="cpu", weights_only=False)
    policy.load_state_dict(state["policy"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"]), dict(state["best"])


def _save_state(
    out: Path,
    step: int,
    policy: Policy,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    best: dict[str, Any],
) -> None:
    state = {
        "step": step,
        "policy": policy.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "best": dict(best),
    }
    with atomic_path(out / STATE_FILE) as tmp:
        torch.save(state, tmp)


class _MetricsLog:
    """metrics.jsonl, cut back to the resumed step so a resumed curve has no duplicate steps."""

    def __init__(self, path: Path, keep_through: int) -> None:
        self.rows: list[dict[str, Any]] = []
        if path.is_file():
            # A bad line (torn by a kill, or damaged) is dropped, not fatal: the file is rewritten
            # from the rows kept, and a lost row is only a missing point on the curve.
            for _, row in iter_jsonl(path, on_bad=_drop):
                if int(row.get("step", 0)) <= keep_through:
                    self.rows.append(row)
        write_text(path, "".join(json.dumps(r) + "\n" for r in self.rows))
        self._file = path.open("a")

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _drop(bad: BadLine) -> None:
    """The metrics log's rule for a bad line: skip it silently."""
