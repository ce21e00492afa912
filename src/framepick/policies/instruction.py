"""VideoITG's instruction types and how each spreads the chosen frames (paper 002, Sec 3.2).

The paper sorts instructions into four types and samples frames differently for each:

- **semantic** (people, scenes, objects): diverse frames carrying the key visual clues;
- **motion** (movement type, speed, direction): frames at a fixed rate inside the localised segment;
- **semantic_motion**: fixed-rate sampling in the motion region while keeping semantically
  informative frames;
- **no_clue** (open-ended, vague): a small diverse set over the whole video.

:func:`classify_instruction` is the offline stand-in for the paper's LLM typing (prompts of its
Tables 9-10): keyword rules on the question text. A picture query (empty question) is semantic:
it asks for what something looks like.

The spreading functions are pure numpy on a relevance curve ``p`` [T] in [0,1] (the classifier's
sigmoid) and unit-row frame features [T,D]; each returns exactly ``min(k, T)`` distinct sorted
positions and breaks ties deterministically (earlier frame first unless said otherwise).
"""

from __future__ import annotations

import re

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.spacing import evenly_spaced

INSTRUCTION_TYPES = ("semantic", "motion", "semantic_motion", "no_clue")
"""The four instruction types of Sec 3.2, in the paper's order."""

INSTRUCTION_CHOICES = ("auto", *INSTRUCTION_TYPES)
"""What ``instruction`` may be, for the classifier and its selector alike: ``auto`` (type the
question with :func:`classify_instruction`) or a fixed type."""


def check_instruction(instruction: object) -> str:
    """``instruction`` if it is one of :data:`INSTRUCTION_CHOICES`, else a one-line error."""
    if not isinstance(instruction, str) or instruction not in INSTRUCTION_CHOICES:
        raise InvalidArgumentError(f"instruction must be one of {', '.join(INSTRUCTION_CHOICES)}, got {instruction!r}")
    return instruction

# Dynamic cues: movement, speed, direction, camera motion, and verbs of bodily action.
_MOTION_WORDS = (
    r"mov(e|es|ed|ing|ement|ements)",
    r"motions?",
    r"speeds?",
    r"fast(er|est)?",
    r"slow(er|est|ly)?",
    r"quick(er|est|ly)?",
    r"rapid(ly)?",
    r"accelerat(e|es|ed|ing|ion)",
    r"decelerat(e|es|ed|ing|ion)",
    r"directions?",
    r"towards?",
    r"away from",
    r"(counter|anti)?clockwise",
    r"(back|for|up|down|side)wards?",
    r"trajector(y|ies)",
    r"pan(s|ned|ning)?",
    r"zoom(s|ed|ing)?",
    r"tilt(s|ed|ing)?",
    r"jump(s|ed|ing)?",
    r"leap(s|ed|t|ing)?",
    r"run(s|ning)?",
    r"ran",
    r"turn(s|ed|ing)?",
    r"walk(s|ed|ing)?",
    r"throw(s|n|ing)?",
    r"threw",
    r"rotat(e|es|ed|ing|ion)",
    r"spin(s|ning)?",
    r"spun",
    r"roll(s|ed|ing)?",
    r"swing(s|ing)?",
    r"swung",
    r"fall(s|en|ing)?",
    r"fell",
    r"climb(s|ed|ing)?",
    r"danc(e|es|ed|ing)",
    r"kick(s|ed|ing)?",
    r"push(es|ed|ing)?",
    r"pull(s|ed|ing)?",
    r"lift(s|ed|ing)?",
    r"swim(s|ming)?",
    r"swam",
    r"fl(y|ies|ying|ew)",
    r"driv(e|es|ing|en)",
    r"drove",
    r"rid(e|es|ing)",
    r"rode",
    r"bounc(e|es|ed|ing)",
    r"slid(e|es|ing)?",
    r"shak(e|es|ing)",
    r"shook",
    r"wav(e|es|ed|ing)",
    r"chas(e|es|ed|ing)",
    r"catch(es|ing)?",
    r"caught",
)
# Appearance and identity cues: what/who/which/where, colours, clothing, materials, existence, counts.
_SEMANTIC_WORDS = (
    r"what",
    r"who(m|se)?",
    r"which",
    r"where",
    r"colou?rs?",
    r"colou?red",
    r"objects?",
    r"items?",
    r"wear(s|ing)?",
    r"wore",
    r"worn",
    r"cloth(es|ing)",
    r"made of",
    r"materials?",
    r"shapes?",
    r"hold(s|ing)?",
    r"held",
    r"brand",
    r"logo",
    r"text",
    r"written",
    r"says?",
    r"signs?",
    r"names?",
    r"kind of",
    r"type of",
    r"how many",
    r"numbers? of",
    r"count",
    r"is there",
    r"are there",
    r"was there",
    r"were there",
    r"exists?",
    r"appears?",
    r"visible",
    r"describe",
    r"looks? like",
    r"red|orange|yellow|green|blue|purple|pink|brown|black|white|gr[ae]y",
)
# Open-ended requests about the video as a whole ("Please describe the video in detail.").
_VAGUE_PATTERNS = (
    r"\b(describe|summari[sz]e|narrate|recap)\s+(the|this)\s+(whole\s+|entire\s+)?(video|clip|footage)\b",
    r"\b(summary|overview|description)\s+of\s+(the|this)\s+(whole\s+|entire\s+)?(video|clip|footage)\b",
    r"\bwhat\s+(happens|happened|is\s+happening|is\s+going\s+on|goes\s+on)\s+in\s+(the|this)\s+(video|clip|footage)\b",
    r"\bwhat\s+is\s+(the|this)\s+(video|clip)\s+(about|showing)\b",
    r"\btell\s+me\s+about\s+(the|this)\s+(video|clip)\b",
)


def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(words) + r")\b")


_MOTION = _alternation(_MOTION_WORDS)
_SEMANTIC = _alternation(_SEMANTIC_WORDS)
_VAGUE = re.compile("|".join(_VAGUE_PATTERNS))
# "What direction ...", "which way ...": the interrogative asks about the motion, not about content.
_MOTION_QUESTION = re.compile(r"\b(?:what|which)\s+(?:direction|way|speed|pace)\b")


def classify_instruction(question: str) -> str:
    """The instruction type of ``question``: ``semantic``, ``motion``, ``semantic_motion`` or ``no_clue``.

    Rules, in order: an empty question (a picture query) is semantic; an open-ended request about
    the whole video ("describe the video", "what happens in the video") without a motion cue is
    no_clue; motion and semantic cues together are semantic_motion; then motion alone, then
    semantic. "What/which" asking about the motion itself ("what direction", "which way") is a
    motion cue, not a semantic one. A specific question with neither kind of cue is semantic: it
    names something to find, so diverse frames around the relevant content serve it best.
    """
    if not isinstance(question, str):
        raise InvalidArgumentError(f"question must be a string, got {type(question).__name__}")
    text = " ".join(question.lower().split())
    if not text:
        return "semantic"
    asks_motion = _MOTION_QUESTION.search(text) is not None
    motion = asks_motion or _MOTION.search(text) is not None
    if not motion and _VAGUE.search(text):
        return "no_clue"
    semantic = _SEMANTIC.search(_MOTION_QUESTION.sub(" ", text) if asks_motion else text) is not None
    if motion and semantic:
        return "semantic_motion"
    return "motion" if motion else "semantic"


def diverse_by_relevance(
    relevance: np.ndarray,
    features: np.ndarray,
    k: int,
    threshold: float = 0.9,
    *,
    pool: np.ndarray | None = None,
    chosen: np.ndarray | None = None,
) -> np.ndarray:
    """Semantic spreading: the most relevant frames, each unlike the ones already taken.

    Greedy from the most relevant frame down, skipping a frame whose feature cosine to an already
    chosen one exceeds ``threshold`` (the diversity test of the paper's Algorithm 1 applied to
    chosen keyframes); if fewer than ``min(k, T)`` survive, the most relevant skipped frames top
    the set up. ``pool`` (bool [T]) limits the diverse pass to some frames (the top-up may use any);
    ``chosen`` (positions) are frames already taken, which count for diversity and are returned too.
    Returns sorted positions: ``chosen`` plus up to ``k - len(chosen)`` new ones.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    total = relevance.shape[0]
    taken = np.zeros(total, dtype=bool)
    nearest = np.full(total, -np.inf)
    picks: list[int] = []

    def take(position: int) -> None:
        taken[position] = True
        picks.append(position)
        np.maximum(nearest, features @ features[position], out=nearest)

    for position in np.asarray(chosen if chosen is not None else [], dtype=np.int64):
        take(int(position))
    target = min(int(k), total)
    allowed = np.ones(total, dtype=bool) if pool is None else np.asarray(pool, dtype=bool)
    while len(picks) < target:
        eligible = allowed & ~taken & (nearest <= threshold)
        if not eligible.any():
            break
        take(int(np.argmax(np.where(eligible, relevance, -np.inf))))
    if len(picks) < target:
        rest = np.flatnonzero(~taken)
        order = rest[np.argsort(-relevance[rest], kind="stable")]
        picks.extend(int(p) for p in order[: target - len(picks)])
    return np.sort(np.asarray(picks, dtype=np.int64))


def relevant_span(relevance: np.ndarray, length: int, level: float = 0.5) -> tuple[int, int]:
    """[start, stop) of the motion segment: the run of frames with ``p >= level`` around the peak.

    The run always holds the most relevant frame (first one on ties), even when no frame reaches
    ``level``; a run shorter than ``length`` is widened one frame each side in turn (the other
    side only, at an end of the video) until it holds ``min(length, T)`` frames.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    total = relevance.shape[0]
    peak = int(np.argmax(relevance))
    start, stop = peak, peak + 1
    while start > 0 and relevance[start - 1] >= level:
        start -= 1
    while stop < total and relevance[stop] >= level:
        stop += 1
    want = min(int(length), total)
    left_turn = True
    while stop - start < want:
        if (left_turn and start > 0) or stop >= total:
            start -= 1
        else:
            stop += 1
        left_turn = not left_turn
    return start, stop


def fixed_rate_in_span(relevance: np.ndarray, k: int, level: float = 0.5) -> np.ndarray:
    """Motion spreading: ``min(k, T)`` evenly spaced frames inside :func:`relevant_span`."""
    start, stop = relevant_span(relevance, k, level)
    return start + evenly_spaced(stop - start, k)


def span_and_diverse(
    relevance: np.ndarray, features: np.ndarray, k: int, threshold: float = 0.9, level: float = 0.5
) -> np.ndarray:
    """Semantic & motion spreading: half the frames fixed-rate in the span, half diverse elsewhere.

    ``ceil(k/2)`` frames go evenly over the motion span (widened to hold them); the other
    ``floor(k/2)`` are chosen as in :func:`diverse_by_relevance` among the frames outside that
    span, also unlike the span's frames; the top-up (by relevance, any frame) fills the set when
    the span covers nearly the whole video.
    """
    total = int(np.shape(relevance)[0])
    target = min(int(k), total)
    in_span = (target + 1) // 2
    start, stop = relevant_span(relevance, in_span, level)
    motion = start + evenly_spaced(stop - start, in_span)
    outside = np.ones(total, dtype=bool)
    outside[start:stop] = False
    return diverse_by_relevance(relevance, features, target, threshold, pool=outside, chosen=motion)


def farthest_point(features: np.ndarray, k: int, *, tie_tolerance: float = 1e-6) -> np.ndarray:
    """No-clue spreading: greedy farthest-point sampling on features, from the middle frame.

    Each step takes the frame least similar to its most similar chosen frame. Frames within
    ``tie_tolerance`` of that minimum are tied (a static video makes every frame a tie); the tie
    goes to the frame farthest in time from the chosen ones, then to the earlier frame, so
    identical frames still spread over the whole video instead of bunching at its start.
    """
    features = np.asarray(features)
    total = features.shape[0]
    target = min(int(k), total)
    times = np.arange(total)
    taken = np.zeros(total, dtype=bool)
    nearest = np.full(total, -np.inf)
    gap = np.full(total, np.inf)
    position = total // 2
    for _ in range(target):
        taken[position] = True
        np.maximum(nearest, features @ features[position], out=nearest)
        np.minimum(gap, np.abs(times - position), out=gap)
        if taken.all():
            break
        similarity = np.where(taken, np.inf, nearest)
        tied = similarity <= similarity.min() + tie_tolerance
        position = int(np.argmax(np.where(tied, gap, -1.0)))
    return np.flatnonzero(taken)


def spread_frames(
    instruction: str, relevance: np.ndarray, features: np.ndarray, k: int, threshold: float = 0.9
) -> np.ndarray:
    """``min(k, T)`` sorted distinct positions chosen the way ``instruction``'s type asks (Sec 3.2)."""
    if instruction == "semantic":
        return diverse_by_relevance(relevance, features, k, threshold)
    if instruction == "motion":
        return fixed_rate_in_span(relevance, k)
    if instruction == "semantic_motion":
        return span_and_diverse(relevance, features, k, threshold)
    if instruction == "no_clue":
        return farthest_point(features, k)
    raise InvalidArgumentError(f"instruction must be one of {', '.join(INSTRUCTION_TYPES)}, got {instruction!r}")
