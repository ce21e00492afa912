"""``framepick data peakclips``: K-frames' PeakClips key-clip labels from an MLLM (paper 000, Sec. 3.1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from framepick.cli.checks import check_input_file, check_outputs
from framepick.cli.common import (
    add_cache_args,
    add_device_args,
    add_grid_args,
    add_model_run_args,
    answerer_options_from_args,
    apply_device_args,
    cache_from_args,
    finish_grid_args,
    grid_from_args,
    progress_from_args,
)
from framepick.errors import InvalidArgumentError

DESCRIPTION = """\
PeakClips-style key clips (K-frames, paper 000, Sec. 3.1 and Appendix C): for each sample, the
video's scenes (histogram-difference cuts over the candidate grid) are captioned one by one by the
MLLM --llm (Fig. 7's prompt, from --caption-frames frames of each scene), then the same model
scores every scene's relevance to the question 1-5 with a reason (Fig. 8, strict JSON, given the
question, the gold answer and the captions). Each score is refined with the --encoder's
query-scene similarity: final = score + W * s, s the scene's mean similarity min-maxed over the
video's scenes onto [0, 1], W = --sim-weight. Scenes with final >= 4.9 are P1 key clips, those in
[4.3, 4.9) P2. Every sample is written to OUT with extra.key_clips (seconds) and extra.peakclips
(every scene's caption, scores and reason); a sample whose request fails or whose reply is not
the JSON asked for gets extra.peakclips_error instead, is counted, and the run goes on. Replies
are cached: a rerun asks the model nothing. Details and choices: docs/peakclips.md."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "peakclips",
        help="label key clips (P1/P2, seconds) with an MLLM: K-frames' PeakClips (paper 000)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--manifest", required=True, metavar="IN", help="the manifest to label")
    parser.add_argument("--out", required=True, metavar="OUT", help="the labelled manifest to write (JSONL)")
    parser.add_argument("--llm", required=True, metavar="SPEC",
                        help="the MLLM: hf:HUB_ID_OR_DIR or openai:MODEL@http://HOST:PORT/v1 (key from $OPENAI_API_KEY)")
    parser.add_argument("--encoder", default="auto", help="encoder of the query-scene similarity (needs text; default auto)")
    parser.add_argument("--sim-weight", type=float, default=1.0, metavar="W",
                        help="weight of the normalised similarity added to the model's score (default 1.0)")
    parser.add_argument("--caption-frames", type=int, default=8, metavar="N",
                        help="frames of each scene shown for its caption, evenly spaced (default 8)")
    parser.add_argument("--caption-tokens", type=int, default=512, metavar="N", help="longest caption reply (default 512 tokens)")
    parser.add_argument("--score-tokens", type=int, default=2048, metavar="N", help="longest score reply (default 2048 tokens)")
    add_model_run_args(parser.add_argument_group("MLLM"))  # no --prompt: PeakClips has its own prompts
    add_device_args(parser)
    add_grid_args(parser)
    add_cache_args(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import math

    from framepick.data.manifest import read_manifest
    from framepick.data.peakclips import label_manifest

    finish_grid_args(args)
    apply_device_args(args)
    for name in ("caption_frames", "caption_tokens", "score_tokens"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InvalidArgumentError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if not math.isfinite(args.sim_weight) or args.sim_weight < 0:
        raise InvalidArgumentError(f"--sim-weight must be a finite number >= 0, got {args.sim_weight}")
    out = Path(args.out)
    check_input_file(args.manifest, "--manifest")
    check_outputs({"--out": out}, {"--manifest": args.manifest})
    report = read_manifest(args.manifest)
    if report.malformed or report.missing_videos:
        print(f"framepick: warning: {report.summary()} (only the samples are labelled and written)", file=sys.stderr)
    options = answerer_options_from_args(args)
    progress = progress_from_args(args)

    def on_error(sample_id: str, reason: str) -> None:
        if progress:
            from tqdm import tqdm

            tqdm.write(f"framepick: sample {sample_id}: {reason}", file=sys.stderr)

    result = label_manifest(
        report.samples, out, args.llm, encoder=args.encoder, grid=grid_from_args(args), cache=cache_from_args(args),
        caption_frames=args.caption_frames, caption_tokens=args.caption_tokens, score_tokens=args.score_tokens,
        sim_weight=args.sim_weight, options=options, allow_damaged=args.allow_damaged, progress=progress,
        on_error=on_error,
    )
    for sample_id, reason in result.errors[:5]:
        print(f"framepick: sample {sample_id} failed: {reason}", file=sys.stderr)
    if len(result.errors) > 5:
        print(f"framepick: ... and {len(result.errors) - 5} more failed samples (extra.peakclips_error in {out})", file=sys.stderr)
    print(f"{result.summary()}; wrote {out} in {result.seconds:.1f} s")
    return 0
