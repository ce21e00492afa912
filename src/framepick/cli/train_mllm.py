"""``framepick train kframes-mllm --stage sft1|sft2|grpo``: train K-frames' clip predictor (a whole MLLM).

Shares ``framepick train``'s parser (``--manifest``, ``--out``, ``--steps``, ``--lr``, ``--seed``,
``--group-size``, ``--train-k``, ``--candidates``, ``--device``, ``--dtype``, the cache and progress
flags, and the answerer group: ``--max-side``, default 336 here, is the side frames are decoded at
for the clip model and the reward answerer alike) and adds its own group below; :mod:`framepick.cli.train` hands the run over here when the
method is ``kframes-mllm``. The work is :mod:`framepick.train_mllm`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from framepick.errors import InvalidArgumentError

METHOD = "kframes-mllm"
DEFAULT_MAX_SIDE = 336
DEFAULT_LR = {"sft1": 1e-5, "sft2": 1e-5, "grpo": 1e-6}
"""The paper gives no learning rates; these are the usual full fine-tuning rates for a 3B-7B VLM."""
FOREIGN_FLAGS = {"val_manifest": "--val-manifest", "temporal_weight": "--temporal-weight",
                 "policy_params": "--policy-params", "eval_every": "--eval-every", "fps": "--fps",
                 "max_candidates": "--max-candidates", "keyframes": "--keyframes", "query_model": "--query-model",
                 "force_new": "--force-new", "allow_damaged": "--allow-damaged"}
"""``framepick train`` flags that mean nothing to kframes-mllm: given, they are an error, not ignored."""


def add_mllm_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(f"{METHOD} (K-frames' clip predictor; needs pip install 'framepick[train-mllm]')")
    group.add_argument("--stage", choices=("sft1", "sft2", "grpo"), help="sft1 grounding tasks, sft2 key clips, grpo Eq. 2 reward")
    group.add_argument("--model", metavar="hf:PATH_OR_ID", help="the MLLM to train (e.g. hf:Qwen/Qwen2.5-VL-3B-Instruct, or the previous stage's --out)")
    group.add_argument("--reward-answerer", metavar="SPEC", help="grpo: the frozen answerer of Eq. 2 (hf:..., openai:... with logprobs)")
    group.add_argument("--shown", type=int, default=64, metavar="N", help="frames the clip model sees (default 64, as at inference)")
    try:  # framepick train's answerer group may have it already: then it is that flag, same meaning here
        group.add_argument("--max-side", type=int, metavar="PX", help=f"frames decoded at most this side (default {DEFAULT_MAX_SIDE})")
    except argparse.ArgumentError:
        pass
    group.add_argument("--batch-size", type=int, default=1, help="sft: examples per device per step (default 1)")
    group.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps (grpo: questions per step; default 1)")
    group.add_argument("--sft1-tasks", default="caption_to_scene,scene_to_caption,relevance", metavar="LIST",
                       help="sft1: which Fig. 11-13 tasks (default all three)")
    group.add_argument("--tau", type=float, default=1.0, help="grpo: Eq. 2 temperature (default 1.0)")
    group.add_argument("--sampling", choices=("focused", "hybrid"), default="focused", help="grpo: any-k sampling from the clips (default focused)")
    group.add_argument("--max-completion-tokens", type=int, default=256, help="grpo: reply budget (default 256)")
    group.add_argument("--temperature", type=float, default=1.0, help="grpo: sampling temperature of the rollouts (default 1.0)")
    group.add_argument("--beta", type=float, default=0.0, help="grpo: KL weight to the reference model (default 0: Eq. 4 has none)")
    group.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing", action="store_false",
                       help="keep activations instead of recomputing them (faster; small models or large GPUs)")


def run_mllm(args: argparse.Namespace) -> int:
    from framepick.cli.common import apply_device_args, cache_from_args, progress_from_args
    from framepick.cli.checks import check_input_file

    for name, flag in FOREIGN_FLAGS.items():
        if getattr(args, name, None) not in (None, False):
            raise InvalidArgumentError(f"{flag} does not apply to {METHOD}")
    if getattr(args, "answerer", "offline") != "offline":
        raise InvalidArgumentError(f"{METHOD} takes the answerer of its reward as --reward-answerer, not --answerer")
    if args.stage is None or args.model is None:
        raise InvalidArgumentError(f"{METHOD} needs --stage sft1|sft2|grpo and --model hf:PATH_OR_ID")
    if args.stage == "grpo" and not args.reward_answerer:
        raise InvalidArgumentError("--stage grpo needs --reward-answerer SPEC (the frozen answerer of Eq. 2)")
    if args.stage == "grpo" and args.batch_size != 1:  # it would be ignored: say so instead
        raise InvalidArgumentError("--batch-size is for the sft stages; grpo asks --group-size completions per "
                                   "question and --grad-accum questions per step")
    if args.stage != "grpo" and args.reward_answerer:
        raise InvalidArgumentError(f"--reward-answerer is for --stage grpo, not {args.stage}")
    from framepick.train_mllm.requirements import require_trl
    from framepick.train_mllm.run_config import GrpoSettings, RunSettings, check_out
    from framepick.train_mllm.model_io import model_source

    require_trl()  # before any work: one line naming the install command
    model_source(args.model)
    check_input_file(args.manifest, "--manifest")
    out = Path(args.out)
    check_out(out)
    tasks = tuple(t.strip() for t in args.sft1_tasks.split(",") if t.strip())
    from framepick.train_mllm.sft_data import SFT1_TASKS

    if not tasks or any(t not in SFT1_TASKS for t in tasks):
        raise InvalidArgumentError(f"--sft1-tasks must list some of {', '.join(SFT1_TASKS)}, got {args.sft1_tasks!r}")
    settings = RunSettings(
        steps=100 if args.steps is None else args.steps, lr=DEFAULT_LR[args.stage] if args.lr is None else args.lr,
        batch_size=args.batch_size, grad_accum=args.grad_accum, seed=args.seed, candidates=args.candidates or 256,
        shown=args.shown, max_side=DEFAULT_MAX_SIDE if args.max_side is None else args.max_side,
        gradient_checkpointing=args.gradient_checkpointing,
        progress=progress_from_args(args),
    )
    grpo = GrpoSettings(
        group_size=8 if args.group_size is None else args.group_size, k=8 if args.k is None else args.k, tau=args.tau,
        sampling=args.sampling, max_completion_tokens=args.max_completion_tokens, temperature=args.temperature,
        beta=args.beta,
    ) if args.stage == "grpo" else None
    apply_device_args(args)
    return _train(args, settings, grpo, tasks, out, cache_from_args(args))


def _train(args, settings, grpo, tasks, out: Path, cache_spec) -> int:
    from framepick import api
    from framepick.answer import AnswererOptions, load_answerer
    from framepick.answer.cache import AnswerCache
    from framepick.cli.eval import load_samples
    from framepick.device import resolve_device, resolve_dtype
    from framepick.train_mllm.model_io import load_policy
    from framepick.train_mllm.video_frames import decode_samples

    samples = load_samples(args.manifest, None)
    if not samples:
        raise InvalidArgumentError(f"{args.manifest!r} has no usable samples")
    store = api.feature_cache(cache_spec)
    answerer = None
    if grpo is not None:  # load the judge before hours of decoding: a bad spec fails at once
        options = AnswererOptions(
            device=args.device, dtype=args.dtype, prompt=getattr(args, "prompt", None), max_side=settings.max_side,
            concurrency=getattr(args, "concurrency", None), api_key_env=getattr(args, "api_key_env", None),
        )
        answerer = load_answerer(args.reward_answerer, options)
    device = resolve_device(args.device)
    policy = load_policy(args.model, resolve_dtype(args.dtype, device))
    frames, skipped = decode_samples(
        samples, candidates=settings.candidates, shown=settings.shown, max_side=settings.max_side,
        all_candidates=grpo is not None, cache=store, progress=settings.progress,
    )
    if grpo is None:
        from framepick.train_mllm.sft import run_sft

        result = run_sft(args.stage, policy, frames, out, settings, device=device, tasks=tasks, skipped=skipped)
        what = ", ".join(f"{n} {task}" for task, n in sorted(result.per_task.items()))
        tail = ""
    else:
        from framepick.train_mllm.grpo import run_grpo

        cache = None if store is None else AnswerCache(store)
        result = run_grpo(policy, frames, out, settings, grpo, answerer=answerer, device=device, cache=cache, skipped=skipped)
        what = f"{result.examples} questions"
        extra = result.extra
        tail = (f", mean reward {extra['mean_reward']:.3f} (uniform frames {extra['mean_uniform_reward']:.3f}), "
                f"{extra['unparsed']}/{extra['completions']} replies unparsed") if extra["mean_reward"] is not None else ""
    if result.skipped:
        first = result.skipped[0]
        print(f"framepick: warning: {len(result.skipped)} sample(s) skipped (first: {first[0]}: {first[1]})", file=sys.stderr)
    loss = "" if not result.losses else f", loss {result.losses[0]:.4g} -> {result.losses[-1]:.4g}"
    steps = f"{result.steps} step{'' if result.steps == 1 else 's'}"
    print(f"{METHOD} {args.stage}: {steps} on {what}{loss}{tail}, {result.seconds:.1f} s; model {out}")
    return 0
