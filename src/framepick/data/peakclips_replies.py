"""Reading PeakClips' model replies strictly: one JSON object in the shape its prompt asked for.

A reply is the JSON text alone, or one Markdown code fence holding it (```` ```json ... ``` ````,
what chat models add around JSON; text around the fence is ignored). Anything else is refused
with a :class:`ReplyError` naming what is wrong: a caption that is not one scene with a
non-empty description, a score outside 1-5 or not a whole number, a missing, repeated or unknown
``scene_id``, an empty reason. Refused replies are never repaired or guessed at: the sample is
counted as failed (:mod:`framepick.data.peakclips`), so a label is always what the model said.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from framepick.answer.reply import ReplyError, excerpt

_FENCE = re.compile(r"```[ \t]*(?:json)?[ \t]*\n(.*?)\n?[ \t]*```", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class SceneScore:
    """One scene's score as the model gave it (Fig. 8)."""

    scene_id: int
    score: int
    """The 1-5 relevance."""
    reason: str


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def reply_json(reply: str) -> dict[str, Any]:
    """The JSON object a reply holds (whole, or in one code fence), or a :class:`ReplyError`."""
    text = reply.strip()
    if not text:
        raise ReplyError("the reply is empty")
    candidates = [text]
    fences = _FENCE.findall(text)
    if len(fences) == 1:
        candidates.append(fences[0].strip())
    elif len(fences) > 1:
        raise ReplyError(f"the reply holds {len(fences)} code blocks, not one JSON object")
    for candidate in candidates:
        try:
            value = json.loads(candidate, parse_constant=_refuse_constant)
        except ValueError:
            continue
        if not isinstance(value, dict):
            raise ReplyError(f"the reply is JSON but a {type(value).__name__}, not an object")
        return value
    raise ReplyError(f"the reply is not JSON: {excerpt(text)}")


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse_caption(reply: str, scene_id: int) -> str:
    """The description of scene ``scene_id`` from a Fig. 7 reply: ``{"scenes": [{..."description"}]}``
    with exactly one scene; its ``id``, when given, must be ``scene_id``."""
    data = reply_json(reply)
    scenes = data.get("scenes")
    if not isinstance(scenes, list) or len(scenes) != 1 or not isinstance(scenes[0], dict):
        raise ReplyError("the caption reply must hold \"scenes\": a list of exactly one scene object")
    scene = scenes[0]
    if "id" in scene and _whole_number(scene["id"]) != scene_id:
        raise ReplyError(f"the caption reply describes scene {scene['id']!r}, not scene {scene_id}")
    description = scene.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ReplyError("the caption reply has no non-empty \"description\"")
    return description.strip()


def parse_scores(reply: str, scene_ids: Sequence[int]) -> dict[int, SceneScore]:
    """Every scene's score from a Fig. 8 reply: ``{"relevance_analysis": [{"scene_id",
    "relevance_score" (a whole number 1-5), "reason" (non-empty)}, ...]}``, one entry per scene."""
    data = reply_json(reply)
    entries = data.get("relevance_analysis")
    if not isinstance(entries, list):
        raise ReplyError("the score reply has no \"relevance_analysis\" list")
    wanted = set(scene_ids)
    scores: dict[int, SceneScore] = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ReplyError(f"relevance_analysis entry {number} is not an object")
        scene_id = _whole_number(entry.get("scene_id"))
        if scene_id is None or scene_id not in wanted:
            raise ReplyError(f"relevance_analysis entry {number} names scene_id {entry.get('scene_id')!r}, "
                             f"not one of 1-{max(wanted)}" if wanted else "no scene was asked about")
        if scene_id in scores:
            raise ReplyError(f"scene_id {scene_id} is scored twice")
        score = _whole_number(entry.get("relevance_score"))
        if score is None or not 1 <= score <= 5:
            raise ReplyError(f"scene {scene_id}'s relevance_score {entry.get('relevance_score')!r} is not a whole number 1-5")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ReplyError(f"scene {scene_id} has no reason")
        scores[scene_id] = SceneScore(scene_id, score, reason.strip())
    missing = sorted(wanted - set(scores))
    if missing:
        raise ReplyError(f"the score reply leaves out scene{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(map(str, missing[:5]))}{' ...' if len(missing) > 5 else ''}")
    return scores
