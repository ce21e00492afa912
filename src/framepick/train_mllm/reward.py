"""GRPO's reward (paper 000, Sec. 3.3, Eq. 2): the policy's clips, k frames from them, a frozen answerer's verdict.

For one completion of the clip predictor on one sample:

1. the reply is read as key clips over the shown frames (:func:`framepick.select.clips_io.parse_clips_text`)
   and put on the candidate grid (:func:`framepick.clip_model.clips_on_candidates`), as at inference;
2. k frames are sampled from them with K-frames' any-k sampling (Appendix D.2; Focused by default:
   the paper's RL stage samples "exclusively from the predicted clips");
3. the frozen answerer (any framepick answerer spec that gives option probabilities: ``hf:...``, or a
   server returning logprobs) answers on those frames, through the answer cache
   (:func:`framepick.answer.cache.answer_with_cache`: the same frames of a sample are asked once);
4. R = tanh(log(p_correct / mean p_wrong) / tau) (:func:`framepick.rewards.log_ratio_reward`).

Choices the paper leaves open, made here:

- **An unreadable reply** (no clip parses, a clip outside the shown frames, no P1/P2 clip) earns
  -1, the lowest value Eq. 2 can approach: the format is part of what the policy must learn, and no
  fallback clips are made up for it. The share of such completions is logged (``unparsed``).
- **Uniform frames** (k evenly spaced candidates) are scored the same way once per sample and
  logged beside the reward (``reward_uniform``, ``gain_over_uniform``): Eq. 2 has no baseline term
  and Dr. GRPO's group mean (Eq. 3) already removes anything constant per question, so the uniform
  score is a yardstick, not part of R.
- An answerer that gives no option probabilities (a server without logprobs) is an error: Eq. 2
  is defined on probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from framepick.answer.base import Answerer
from framepick.answer.cache import AnswerCache, answer_with_cache
from framepick.clip_model import clips_on_candidates
from framepick.errors import AnswererError, InvalidArgumentError
from framepick.rewards import log_ratio_reward
from framepick.select.clips_io import parse_clips_text
from framepick.select.kframes_sampling import DEFAULT_PARAMS, SamplingParams, focused_sampling, hybrid_sampling
from framepick.spacing import evenly_spaced
from framepick.train_mllm.video_frames import SampleFrames
from framepick.types import option_position

UNPARSED_REWARD = -1.0
SAMPLING = {"focused": focused_sampling, "hybrid": hybrid_sampling}


@dataclass
class RewardStats:
    """Counts over the run, for the summary line."""

    completions: int = 0
    unparsed: int = 0
    rewards: list[float] = field(default_factory=list)
    uniform: dict[int, float] = field(default_factory=dict)


def completion_text(completion: Any) -> str:
    """TRL's completion (a string, or conversational ``[{"role": "assistant", "content": ...}]``) as text."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], Mapping):
        content = completion[-1].get("content", "")
        if isinstance(content, str):
            return content
        return "".join(part.get("text") or "" for part in content if isinstance(part, Mapping))
    return str(completion)


class ClipReward:
    """TRL reward function: one Eq. 2 value per completion; ``sample`` (a dataset column) names the frames."""

    __name__ = "kframes_eq2"

    def __init__(
        self,
        answerer: Answerer,
        frames: Mapping[int, SampleFrames],
        *,
        k: int,
        tau: float = 1.0,
        mode: str = "focused",
        params: SamplingParams = DEFAULT_PARAMS,
        cache: AnswerCache | None = None,
    ) -> None:
        if mode not in SAMPLING:
            raise InvalidArgumentError(f"--sampling must be one of {', '.join(SAMPLING)}, got {mode!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidArgumentError(f"--train-k must be a positive integer, got {k!r}")
        log_ratio_reward([0.5, 0.5], 0, tau)  # checks tau once, up front
        self.answerer = answerer
        self.frames = frames
        self.k, self.tau, self.mode, self.params = k, tau, mode, params
        self.cache = cache
        self.stats = RewardStats()

    # -- pieces, each testable alone ------------------------------------------------------------

    def positions(self, reply: str, frames: SampleFrames) -> np.ndarray | None:
        """Candidate positions of the k frames the reply's clips give; None when it gives no clip."""
        try:
            clips = parse_clips_text(reply, num_candidates=len(frames.shown))
        except InvalidArgumentError:
            return None
        if not clips:
            return None
        on_grid = clips_on_candidates(clips, frames.shown, frames.num_candidates)
        return SAMPLING[self.mode](on_grid, frames.num_candidates, self.k, self.params)

    def score(self, frames: SampleFrames, positions: np.ndarray) -> float:
        """Eq. 2 for the answerer's option probabilities on the candidates at ``positions``."""
        sample = frames.sample
        correct = option_position(sample.answer or "")
        if correct is None or len(sample.options) < 2:
            raise InvalidArgumentError(f"sample {sample.id!r}: GRPO needs a multiple-choice question with its answer")
        positions = np.asarray(positions, dtype=np.int64)
        answer, _ = answer_with_cache(
            self.answerer, self.cache, video_hash=frames.video_hash, indices=frames.indices[positions],
            frames=lambda: (frames.frames[positions], frames.timestamps[positions]),
            question=sample.question, options=sample.options,
        )
        if answer.option_probs is None:
            raise AnswererError(
                f"the reward answerer {self.answerer.id} gave no option probabilities ({answer.source}); Eq. 2 needs "
                "them: use an hf: model, or a server that returns logprobs"
            )
        return log_ratio_reward(answer.option_probs, correct, self.tau)

    def uniform(self, sample_key: int) -> float:
        """Eq. 2 on k evenly spaced candidates of the sample (the yardstick; computed once)."""
        if sample_key not in self.stats.uniform:
            frames = self.frames[sample_key]
            k = min(self.k, frames.num_candidates)
            positions = evenly_spaced(frames.num_candidates, k)
            self.stats.uniform[sample_key] = self.score(frames, positions)
        return self.stats.uniform[sample_key]

    def reward(self, completion: Any, sample_key: int) -> float:
        frames = self.frames[int(sample_key)]
        positions = self.positions(completion_text(completion), frames)
        self.stats.completions += 1
        if positions is None:
            self.stats.unparsed += 1
            value = UNPARSED_REWARD
        else:
            value = self.score(frames, positions)
        self.stats.rewards.append(value)
        return value

    # -- TRL's reward-function interface ---------------------------------------------------------

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        completion_ids: Any = None,
        sample: Sequence[int] | None = None,
        log_metric: Callable[[str, float], None] | None = None,
        **_: Any,
    ) -> list[float]:
        if sample is None or len(sample) != len(completions):
            raise InvalidArgumentError("the GRPO dataset must carry a 'sample' column, one per completion")
        unparsed_before = self.stats.unparsed
        values = [self.reward(c, s) for c, s in zip(completions, sample)]
        if log_metric is not None and values:
            uniform = [self.uniform(int(s)) for s in sample]
            log_metric("unparsed", (self.stats.unparsed - unparsed_before) / len(values))
            log_metric("reward_uniform", float(np.mean(uniform)))
            log_metric("gain_over_uniform", float(np.mean(values) - np.mean(uniform)))
        return values
