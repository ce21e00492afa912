"""``framepick train METHOD``: train a learned selector on a manifest, from cached features."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from framepick.cli.common import (
    add_answerer_args,
    add_device_args,
    apply_device_args,
    add_cache_args,
    add_grid_args,
    answerer_options_from_args,
    cache_from_args,
    finish_grid_args,
    grid_from_args,
    json_object_arg,
    progress_from_args,
)
from framepick.cli.checks import check_input_file, check_outputs, seed_arg
from framepick.cli.train_mllm import METHOD as MLLM_METHOD, add_mllm_args, run_mllm
from framepick.errors import InvalidArgumentError

class _Methods:
    """argparse ``choices`` that finds the learned methods only when a name is checked or listed.

    Finding them imports the policy modules (torch), which building the parser must not do.
    """

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self):
        return iter(self._names())

    @staticmethod
    def _names() -> list[str]:
        from framepick.policies import policy_methods

        return policy_methods() + [MLLM_METHOD]

DESCRIPTION = """\
Train a learned frame selector and write a checkpoint folder that
`framepick select VIDEO -q ... --method METHOD=OUT` and `framepick eval --methods METHOD=OUT` load.

  tspo      GRPO on TSPO's temporal agent, reward R_A + R_T, tau annealed 0.025 -> 0.01
  refocus   GRPO on ReFoCUS's autoregressive policy, margin reward, entropy bonus 0.002
  msjoe     REINFORCE (group-mean baseline) on MSJoE's U-Net sampler, difficulty-aware reward
  videoitg  BCE on per-frame evidence labels (VideoITG Variant C)
  kframes-mllm  K-frames' clip predictor, a whole MLLM on TRL: --stage sft1|sft2|grpo --model hf:...

Videos are decoded and embedded once (cached like `framepick eval`). With the default
--answerer offline, answers come from its cached option-to-frame table, so a step never touches a
video. With a real MLLM (--answerer hf:DIR or openai:MODEL@URL) every sampled subset is answered
by the model through the answer cache (G model calls per step at most; a subset asked before costs
nothing), its frames decoded only on a miss. Running the same command
again resumes from OUT/state.pt; Ctrl-C saves and stops. OUT/metrics.jsonl logs every step and
validation; OUT/curve.svg plots them. The checkpoint kept is the best on --val-manifest (hit@k)."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train", help="train a learned selector (tspo, refocus, msjoe, videoitg) from a manifest",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("method", choices=_Methods(), metavar="METHOD", help="which policy to train (one of the methods above)")
    parser.add_argument("--manifest", required=True, metavar="FILE", help="training samples (e.g. from 'framepick data split')")
    parser.add_argument("--val-manifest", metavar="FILE", help="validation samples: picks the checkpoint kept")
    parser.add_argument("--out", required=True, metavar="DIR", help="checkpoint folder (created; resumed if it holds this run)")
    parser.add_argument("--encoder", default="offline", help="frozen encoder the policy reads (default offline)")
    parser.add_argument("--steps", type=int, help="optimizer steps (default 300)")
    parser.add_argument("--group-size", type=int, help="subsets sampled per question (method default)")
    parser.add_argument("--train-k", type=int, dest="k", help="frames per sampled subset while training (method default)")
    parser.add_argument("--lr", type=float, help="learning rate (method default)")
    parser.add_argument("--temporal-weight", type=float, help="weight of R_T in the reward (method default)")
    parser.add_argument("--eval-every", type=int, help="validate and checkpoint every N steps (default 25)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seed for initialisation, sampling and order (default 0)")
    parser.add_argument("--policy-params", metavar="JSON", help='policy shape, e.g. \'{"window": 8}\'')
    parser.add_argument("--force-new", action="store_true", help="discard a run already in --out and start over")
    parser.add_argument("--frame-memory-mb", type=int, default=512, metavar="MB",
                        help="with an MLLM's rewards: decoded candidate frames kept in memory (default 512; 0: none)")
    parser.add_argument("--query-model", metavar="SPEC", help="msjoe: an MLLM (hf:..., openai:...) writes the query "
                        "rows the sampler reads (paper 004) instead of the option texts; the checkpoint records it")
    parser.add_argument("--query-frames", type=int, default=8, metavar="N",
                        help="frames the --query-model previews, evenly spaced (default 8; 0: the question alone)")
    add_answerer_args(parser)
    add_grid_args(parser)
    add_cache_args(parser)
    add_device_args(parser)
    add_mllm_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from framepick import api
    from framepick.answer import load_answerer
    from framepick.cli.eval import load_samples
    from framepick.encode import load_encoder
    from framepick.train.config import default_train_config
    from framepick.train.episodes import build_episodes
    from framepick.train.loop import train_policy

    if args.method == MLLM_METHOD:
        return run_mllm(args)
    finish_grid_args(args)
    config = default_train_config(
        args.method, steps=args.steps, group_size=args.group_size, k=args.k, lr=args.lr,
        temporal_weight=args.temporal_weight, eval_every=args.eval_every, seed=args.seed,
    )
    policy_params = _policy_params(args.policy_params)
    from framepick.answer import parse_answerer_spec

    if config.objective == "bce" and parse_answerer_spec(args.answerer)[0] != "offline":  # before a model loads
        raise InvalidArgumentError(
            f"--answerer {args.answerer} makes rewards; {args.method} trains on labels, without rewards: use the default offline"
        )
    out = Path(args.out)
    _check_paths(args, out)
    apply_device_args(args)
    if args.force_new and out.exists():
        _clear_run(out)
    grid = grid_from_args(args)
    encoder = load_encoder(args.encoder)
    if args.frame_memory_mb < 0:
        raise InvalidArgumentError(f"--frame-memory-mb must be 0 or more, got {args.frame_memory_mb}")
    answerer = load_answerer(args.answerer, answerer_options_from_args(args))
    store = api.feature_cache(cache_from_args(args))
    answers = _reward_answers(answerer, store, config, args)
    reasoner = _query_reasoner(args)
    progress = progress_from_args(args)

    def episodes(manifest: str):
        samples = load_samples(manifest, None)
        if not samples:
            raise InvalidArgumentError(f"{manifest!r} has no usable samples")
        made, skipped = build_episodes(samples, encoder=encoder, answerer=answerer, grid=grid, cache=store,
                                       allow_damaged=args.allow_damaged, progress=progress, query_reasoner=reasoner)
        if skipped:
            print(f"framepick: warning: {len(skipped)} sample(s) of {manifest} skipped "
                  f"(first: {skipped[0][0]}: {skipped[0][1]})", file=sys.stderr)
        return made

    train_episodes = episodes(args.manifest)
    val_episodes = episodes(args.val_manifest) if args.val_manifest else []
    result = train_policy(
        args.method, train_episodes, val_episodes, out, config=config, answerer=answers,
        encoder_id=encoder.id, encoder_spec=args.encoder, policy_config=policy_params, progress=progress,
        query_source=None if reasoner is None else reasoner.describe(),
    )
    if reasoner is not None:
        print(f"framepick: query model: {reasoner.asked - reasoner.fallbacks} of {reasoner.asked} question(s) "
              f"reasoned, {reasoner.fallbacks} fell back to the option texts", file=sys.stderr)
    best = "" if result.best_score is None else f", best val hit@k {result.best_score:.3f} at step {result.best_step}"
    clip = "" if result.clip_fraction is None else (
        f", clip fraction {result.clip_fraction:.3f} (clip touched on {result.clipped_steps}/{result.steps_done} steps, "
        f"max approx KL {result.approx_kl_max:.2g})"
    )
    stats = result.answer_stats
    costs = "" if stats is None else (
        f", rewards from {stats['answerer_id']}: {stats['answers_asked']} model calls, {stats['answers_cached']} "
        f"cached, {stats['answer_failures']} failed, {stats['skipped_steps']} step(s) skipped"
    )
    line = (f"{args.method}: {result.steps_done}/{config.steps} steps, {len(train_episodes)} train / "
            f"{len(val_episodes)} val episodes, {result.updates_per_second:.1f} updates/s{clip}{costs}{best}; "
            f"checkpoint {out}")
    if result.interrupted:
        print(f"{line}\nframepick: interrupted; run the same command to resume", file=sys.stderr)
        return 130
    print(line)
    return 0


def _query_reasoner(args: argparse.Namespace):
    """The --query-model's reasoner, for a method whose policy reads query rows; None without one."""
    if not args.query_model:
        return None
    from framepick.policies import policy_class
    from framepick.reasoned_queries import QueryReasoner

    if not policy_class(args.method).uses_options:
        raise InvalidArgumentError(f"--query-model writes the query rows msjoe reads; {args.method} reads none")
    return QueryReasoner.load(args.query_model, answerer_options_from_args(args),
                              preview=args.query_frames, cache=cache_from_args(args))


def _reward_answers(answerer, store, config, args: argparse.Namespace):
    """What the rewards' answers come from: the offline matcher itself (its tables), or an MLLM
    asked through the answer cache in the feature cache's folder (none with --no-cache)."""
    from framepick.answer import OptionSimilarityAnswerer
    from framepick.answer.cache import AnswerCache
    from framepick.train.subset_answers import ModelAnswers

    if isinstance(answerer, OptionSimilarityAnswerer):
        return answerer
    if config.objective == "bce":
        raise InvalidArgumentError(
            f"--answerer {args.answerer} makes rewards; {args.method} trains on labels, without rewards: use the default offline"
        )
    return ModelAnswers(answerer, None if store is None else AnswerCache(store), memo_mb=args.frame_memory_mb)


def _check_paths(args: argparse.Namespace, out: Path) -> None:
    """Manifests are files; the checkpoint folder can be made and none of its files is a manifest."""
    from framepick.policies.checkpoint import META_FILE, WEIGHTS_FILE
    from framepick.train.loop import CURVE_FILE, METRICS_FILE, RUN_FILE, STATE_FILE

    inputs = {"--manifest": args.manifest, "--val-manifest": args.val_manifest}
    for flag, path in inputs.items():
        check_input_file(path, flag)
    check_outputs({"--out": out}, folders=("--out",))
    if out.is_dir():
        names = (STATE_FILE, RUN_FILE, METRICS_FILE, CURVE_FILE, META_FILE, WEIGHTS_FILE)
        check_outputs({f"--out file {name}": out / name for name in names}, inputs)


def _policy_params(text: str | None) -> dict:
    params = json_object_arg(text, "--policy-params")
    if "dim" in params:
        raise InvalidArgumentError("--policy-params cannot set dim: it is the encoder's width")
    return params


def _clear_run(out: Path) -> None:
    from framepick.policies.checkpoint import META_FILE, WEIGHTS_FILE
    from framepick.train.loop import CURVE_FILE, METRICS_FILE, RUN_FILE, STATE_FILE

    for name in (STATE_FILE, RUN_FILE, METRICS_FILE, CURVE_FILE, META_FILE, WEIGHTS_FILE):
        path = out / name
        if path.is_file():
            path.unlink()
    if not any(out.iterdir()):
        shutil.rmtree(out)
