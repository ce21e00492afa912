"""The questions of a needle-in-a-haystack video: a text row and an image row per needle.

See :mod:`framepick.data.niah` for what the rows mean; this module only builds them from a plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import option_letter

if TYPE_CHECKING:
    from framepick.data.niah import NiahConfig, VideoPlan, _Clip

TASK_TEXT = "needle-text"
TASK_IMAGE = "needle-image"
IMAGE_QUESTION = (
    "The picture is a frame from a scene that appears in this video (the video does not contain "
    "this exact frame). Which description fits that scene?"
)
MIN_OPTIONS = 4


def add_questions(
    plan: VideoPlan, rng: np.random.Generator, clips: Sequence[_Clip], config: NiahConfig, seed: int
) -> None:
    """Append the text and image rows of each needle to ``plan.samples`` (and its query frames)."""
    canonical = config.canonical
    fps, gop = canonical.fps, canonical.gop_frames
    present = {p.clip.entry.group for p in plan.placed}
    needles = [p for p in plan.placed if p.role == "needle"]
    layout = [
        {"clip": p.clip.entry.id, "role": p.role,
         "start_seconds": p.start_frame / fps, "end_seconds": (p.start_frame + p.num_gops * gop) / fps,
         "clip_part_seconds": [p.first_gop * gop / fps, (p.first_gop + p.num_gops) * gop / fps]}
        for p in plan.placed
    ]
    absent = [c for c in clips if c.entry.group not in present]
    for j, needle in enumerate(sorted(needles, key=lambda p: p.start_frame)):
        entry = needle.clip.entry
        span = ((needle.start_frame / fps, (needle.start_frame + needle.num_gops * gop) / fps),)
        extra = {
            "needle": entry.id,
            "needles": [p.clip.entry.id for p in needles],
            "decoys": [p.clip.entry.id for p in plan.placed if p.role == "decoy"],
            "seed": seed,
            "video_index": plan.index,
            "segments": layout,
        }
        # Text row: one of the needle's own questions, with its authored wrong answers.
        qa_index = int(rng.integers(len(entry.qa)))
        qa = entry.qa[qa_index]
        wrong = [qa.wrong[int(i)] for i in rng.choice(len(qa.wrong), size=min(config.options - 1, len(qa.wrong)), replace=False)]
        options, answer = _shuffled(rng, qa.answer, wrong)
        base = f"{plan.stem}-n{j}"
        plan.samples.append(dict(
            id=f"{base}-text", question=qa.question, options=options, answer=answer, spans=span,
            duration_seconds=plan.num_frames / fps, task_type=TASK_TEXT, source="niah",
            extra={**extra, "qa_index": qa_index},
        ))
        # Image row: a frame from the middle of the longer part of the clip that was left out.
        before, after = needle.first_gop, needle.clip.num_gops - needle.first_gop - needle.num_gops
        if after >= before:
            lo, hi = (needle.first_gop + needle.num_gops) * gop, needle.clip.num_gops * gop
        else:
            lo, hi = 0, needle.first_gop * gop
        query_frame = (lo + hi) // 2
        descriptions: list[tuple[str, str]] = []
        for position in rng.permutation(len(absent)):
            other = absent[int(position)].entry
            if other.description != entry.description and other.description not in {d for _, d in descriptions}:
                descriptions.append((other.id, other.description))
            if len(descriptions) == config.options - 1:
                break
        if len(descriptions) < MIN_OPTIONS - 1:
            raise InvalidArgumentError(
                f"the clip library leaves {len(descriptions)} distinct clip descriptions absent from video "
                f"{plan.index}; wrong options need {MIN_OPTIONS - 1}: add clips or lower decoys={config.decoys}"
            )
        options, answer = _shuffled(rng, entry.description, [d for _, d in descriptions])
        png = f"{base}-{plan.digest}.png"
        plan.samples.append(dict(
            id=f"{base}-image", question=IMAGE_QUESTION, options=options, answer=answer, spans=span,
            duration_seconds=plan.num_frames / fps, task_type=TASK_IMAGE, source="niah", query_png=png,
            extra={**extra, "query_frame_seconds": query_frame / fps, "wrong_option_clips": [i for i, _ in descriptions]},
        ))
        plan.queries.append((needle, query_frame, png))


def _shuffled(rng: np.random.Generator, correct: str, wrong: Sequence[str]) -> tuple[tuple[str, ...], str]:
    options = [correct, *wrong]
    order = [int(i) for i in rng.permutation(len(options))]
    shuffled = tuple(options[i] for i in order)
    return shuffled, option_letter(order.index(0))
