"""The SFT examples: stage 1's grounding tasks (paper 000, Fig. 11-13) and stage 2's key clips (Fig. 14).

Every example is one user turn and one assistant reply, in TRL's conversational prompt-completion
form. The user turn is the video as :func:`framepick.clip_model.prompt_parts` shows it (per shown
frame ``Frame n:`` and the frame with n drawn on it: the paper's textual and visual temporal
prompts), which stands where the paper's prompts write ``<video>``, then the task's text. One
``{"type": "image"}`` placeholder per frame, in order; the images come with the row from the
sample's :class:`~framepick.train_mllm.shown_video.ShownVideo` (key ``frames``).

Stage 2 (``sft2``): the Fig. 14 instruction and the query (question and options), reply = the
sample's PeakClips key clips (``extra.key_clips``, seconds) over the shown frames
(:mod:`.targets`). A sample without key clips is skipped and counted.

Stage 1 (``sft1``), what framepick's data can supervise (the paper builds all three from PeakClips'
captions and relevance scores):

- ``caption_to_scene`` (Fig. 11) and ``scene_to_caption`` (Fig. 12), from the scene captions that
  ``framepick data peakclips`` keeps (``extra.peakclips.scenes[*].caption``, seconds); rows without
  them give neither task.
- ``relevance`` (Fig. 13), from what is known about a clip's relevance: with PeakClips scenes, every
  scene, tagged from the MLLM's 1-5 score (5 -> P1 ... 1 -> P5: Fig. 13's scale read against Fig. 8's
  scores; ``llm_score``, the score its reason explains, not the similarity-refined one) with its
  reason; without them, each key clip (``extra.key_clips``: its P1/P2 tag and reason). Each evidence
  span (``spans``) adds P1 with the reason "The segment shows the evidence the question asks about.",
  and, only where evidence spans exist (needle data: everything outside the needle is unrelated
  haystack by construction), one clip as long (in shown frames) as the first span's, centred in the
  longest run of shown frames outside every span and key clip, tagged P5 "The segment is
  irrelevant to the question.".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from framepick.answer.prompt import TextPart
from framepick.clip_model import prompt_parts
from framepick.data.key_clips import read_key_clips
from framepick.errors import InvalidArgumentError
from framepick.train_mllm.targets import (
    clip_line,
    clips_on_shown,
    read_scenes,
    relevance_tag,
    render_reply,
    shown_span,
)
from framepick.train_mllm.shown_video import ShownVideo
from framepick.train_mllm.video_frames import SampleFrames, query_text

SFT1_TASKS = ("caption_to_scene", "scene_to_caption", "relevance")

CAPTION_TO_SCENE = (
    "Given the following detailed account, identify the precise start and end frames in the video where these "
    "events occur. Your response must be in the format <time>frames start-end</time>. Description: '{description}'"
)
"""Fig. 11, word for word after ``<video>``."""
SCENE_TO_CAPTION = (
    "Analyze the video segment from <time>frames {start_idx}-{end_idx}</time>. Provide a detailed, objective "
    "narrative of the events, describe the visual composition, and transcribe all visible on-screen text."
)
"""Fig. 12, word for word after ``<video>``."""
RELEVANCE = (
    'You are a Video Analyst. For the question: "{question}", please evaluate the relevance of the video segment '
    "<time>frames {start_idx}-{end_idx}</time>.\n"
    "Your task is to provide a relevance tag and a brief reason based on the following scale:\n"
    "- P1 = The segment directly answers the question.\n"
    "- P2 = The segment strongly supports answering the question.\n"
    "- P3 = The segment provides useful context but not direct evidence.\n"
    "- P4 = The segment is weakly or tangentially related.\n"
    "- P5 = The segment is irrelevant.\n"
    "Return your analysis in the format: <time>frames {start_idx}-{end_idx}, P<score_tag>,</time><reason>reason</reason>"
)
"""Fig. 13, word for word after ``<video>``."""
EVIDENCE_REASON = "The segment shows the evidence the question asks about."
IRRELEVANT_REASON = "The segment is irrelevant to the question."


@dataclass
class BuiltExamples:
    """The examples of one stage, and what was made and skipped."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    per_task: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(sample id, reason) for each sample that gave no example."""
    videos: dict[int, ShownVideo] = field(default_factory=dict)


def example(shown: ShownVideo, key: int, sample_id: str, prompt_text: str, reply: str, task: str) -> dict[str, Any]:
    """One prompt-completion row for TRL's vision-language collator (its images come with ``frames``)."""
    return {
        "prompt": shown.prompt(prompt_text),
        "completion": [{"role": "assistant", "content": [{"type": "text", "text": reply}]}],
        "frames": key,
        "task": task,
        "sample_id": sample_id,
    }


def key_clip_instruction(question: str) -> str:
    """The text after the frames in stage 2 and GRPO: exactly what clip_model asks at inference."""
    last = prompt_parts(np.zeros((0, 1, 1, 3), dtype=np.uint8), question)[-1]
    assert isinstance(last, TextPart)
    return last.text


def sft2_examples(frames: SampleFrames, shown: ShownVideo, key: int = 0) -> list[dict[str, Any]]:
    """Stage 2: the Fig. 14 prompt and the PeakClips key clips as the reply (none: ``[]``)."""
    clips = read_key_clips(frames.sample.extra)
    if not clips:
        return []
    reply = render_reply(clips_on_shown(clips, frames.shown_times))
    return [example(shown, key, frames.sample.id, key_clip_instruction(query_text(frames.sample)), reply, "key_clips")]


def negative_clip(num_shown: int, taken: Sequence[tuple[int, int]], length: int) -> tuple[int, int] | None:
    """A clip of ``length`` shown frames (fewer if no stretch is that long) centred in the longest run of
    shown frames outside every ``taken`` clip; None when every shown frame is taken."""
    free = np.ones(num_shown, dtype=bool)
    for first, last in taken:
        free[first : last + 1] = False
    runs, start = [], None
    for i, is_free in enumerate(list(free) + [False]):
        if is_free and start is None:
            start = i
        elif not is_free and start is not None:
            runs.append((start, i - 1))
            start = None
    if not runs:
        return None
    a, b = max(runs, key=lambda run: (run[1] - run[0], -run[0]))
    size = min(max(1, length), b - a + 1)
    first = a + (b - a + 1 - size) // 2
    return first, first + size - 1


def sft1_examples(
    frames: SampleFrames, shown: ShownVideo, key: int = 0, tasks: Sequence[str] = SFT1_TASKS
) -> list[dict[str, Any]]:
    """Stage 1's examples for one sample (module docstring says which tasks come from what)."""
    unknown = [t for t in tasks if t not in SFT1_TASKS]
    if unknown:
        raise InvalidArgumentError(f"unknown SFT1 task(s) {', '.join(unknown)}; choose from {', '.join(SFT1_TASKS)}")
    sample, times = frames.sample, frames.shown_times
    rows: list[dict[str, Any]] = []

    def row(prompt: str, reply: str, task: str) -> dict[str, Any]:
        return example(shown, key, sample.id, prompt, reply, task)

    def relevance(first: int, last: int, tag: str, reason: str) -> dict[str, Any]:
        prompt = RELEVANCE.format(question=question, start_idx=first, end_idx=last)
        return row(prompt, clip_line(first, last, tag, reason), "relevance")

    scenes = read_scenes(sample.extra)
    for scene in scenes:
        if scene.caption is None:
            continue
        first, last = shown_span(scene.start_seconds, scene.end_seconds, times)
        if "caption_to_scene" in tasks:
            prompt = CAPTION_TO_SCENE.format(description=scene.caption)
            rows.append(row(prompt, clip_line(first, last), "caption_to_scene"))
        if "scene_to_caption" in tasks:
            prompt = SCENE_TO_CAPTION.format(start_idx=first, end_idx=last)
            rows.append(row(prompt, scene.caption, "scene_to_caption"))
    if "relevance" in tasks:
        question = query_text(sample)
        key_clips = read_key_clips(sample.extra)
        scored = [scene for scene in scenes if scene.llm_score is not None]
        if scored:  # every scene's own score and reason (the key clips come from these)
            for scene in scored:
                first, last = shown_span(scene.start_seconds, scene.end_seconds, times)
                rows.append(relevance(first, last, relevance_tag(scene.llm_score), scene.reason))
        else:
            for clip in clips_on_shown(key_clips, times):
                rows.append(relevance(clip.start, clip.end, clip.priority, clip.reason))
        for start, end in sample.spans:
            first, last = shown_span(start, end, times)
            rows.append(relevance(first, last, "P1", EVIDENCE_REASON))
        if sample.spans:
            taken = [shown_span(a, b, times) for a, b in sample.spans]
            taken += [shown_span(c.start_seconds, c.end_seconds, times) for c in key_clips]
            negative = negative_clip(len(times), taken, taken[0][1] - taken[0][0] + 1)
            if negative is not None:
                rows.append(relevance(negative[0], negative[1], "P5", IRRELEVANT_REASON))
    return rows


def build_examples(frames_list: Sequence[SampleFrames], stage: str, tasks: Sequence[str] = SFT1_TASKS) -> BuiltExamples:
    """Every example of ``stage`` (``sft1`` or ``sft2``) over the decoded samples; ``videos`` holds each
    sample's shown frames once, under the key its rows carry in ``frames``."""
    built = BuiltExamples()
    for key, frames in enumerate(frames_list):
        shown = ShownVideo.of(frames)
        try:
            rows = sft1_examples(frames, shown, key, tasks) if stage == "sft1" else sft2_examples(frames, shown, key)
        except InvalidArgumentError as error:  # a bad label: this sample is skipped and counted
            built.skipped.append((frames.sample.id, str(error)))
            continue
        if not rows:
            why = "no key clips (extra.key_clips)" if stage == "sft2" else "no PeakClips scenes, key clips or evidence spans"
            built.skipped.append((frames.sample.id, why))
            continue
        for row in rows:
            built.per_task[row["task"]] = built.per_task.get(row["task"], 0) + 1
        built.rows.extend(rows)
        built.videos[key] = shown
    return built
