"""Reading an MLLM's reply: the option letter it names, and option probabilities from logprobs.

Two paths, and an :class:`~framepick.answer.base.Answer` records which one gave it:

- ``logprobs``/``logits``: the model's distribution over the option letters at the position where
  it writes its answer. This is what margin rewards and calibrated accuracy need;
- ``parsed``: the letter read from the reply's text, when the backend gives no distribution (a
  server that ignores ``logprobs``, a hosted API that refuses it). Such an answer has no
  probabilities; it is never given made-up ones.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

import numpy as np

from framepick.errors import FramepickError
from framepick.types import option_letter

_PREFIXES = re.compile(
    r"^\s*(?:the\s+)?(?:best|correct|final)?\s*(?:answer|option|choice)\s*(?:is|:)?\s*[:\-]?\s*",
    re.IGNORECASE,
)
_LEADING_LETTER = re.compile(r"^[\(\[]?([A-Za-z])[\)\]]?(?=$|[\s.:,)\]])")
_ANSWER_IS = re.compile(r"\b(?:answer|option|choice)\s*(?:is|:)\s*[\(\[]?([A-Z])[\)\]]?(?=$|[\s.:,)\]])")


def parse_letter(reply: str | None, options: Sequence[str]) -> str | None:
    """The option letter a free-text reply names, or None when it names none unambiguously.

    Accepts what models write in practice: ``"B"``, ``"(B)"``, ``"B. a red car"``, ``"**B**"``,
    ``"The answer is B."``, ``"Answer: B"``, or the text of exactly one option. Only letters of the
    given options count: a reply of ``"I"`` to a four-option question is not option I.
    """
    if not reply or not options:
        return None
    valid = {option_letter(i) for i in range(len(options))}
    text = reply.strip().replace("*", "").replace("`", "").strip()
    stripped = _PREFIXES.sub("", text, count=1)
    for candidate in (stripped, text):
        match = _LEADING_LETTER.match(candidate)
        if match and match.group(1).upper() in valid:
            # A lowercase single word ("a red car") is not the letter "a": only accept a lowercase
            # letter when it stands alone.
            if match.group(1).isupper() or candidate.strip("()[]. ").lower() == match.group(1).lower():
                return match.group(1).upper()
    match = _ANSWER_IS.search(text)
    if match and match.group(1) in valid:
        return match.group(1)
    normalised = _normalise(text)
    exact = [i for i, option in enumerate(options) if _normalise(str(option)) == normalised]
    if len(exact) == 1:
        return option_letter(exact[0])
    contained = [i for i, option in enumerate(options) if _normalise(str(option)) and _normalise(str(option)) in normalised]
    if len(contained) == 1:
        return option_letter(contained[0])
    return None


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def letter_of_token(token: str) -> str | None:
    """``"B"``, ``" B"``, ``"(B"``, ``"B."`` -> ``"B"``; anything else -> None."""
    core = token.strip().strip("()[]*.:").strip()
    return core if len(core) == 1 and core.isalpha() and core.isupper() else None


def probs_from_logprobs(content: Sequence[Mapping[str, Any]], num_options: int) -> np.ndarray | None:
    """Option probabilities from an OpenAI-style ``choices[0].logprobs.content`` list, or None.

    The answer position is the first generated token that is itself an option letter (a reply may
    open with a space, a parenthesis or "The answer is"). At that position each ``top_logprobs``
    entry that is an option letter adds its probability to that letter (``"B"`` and ``" B"`` are
    the same answer). Letters outside the returned top-n share the probability mass the top-n left
    over, equally: the server says only that each is at most that much, and a zero would make a
    margin reward infinite. The result is renormalised over the options.
    """
    valid = [option_letter(i) for i in range(num_options)]
    for position in content or ():
        if not isinstance(position, Mapping) or letter_of_token(str(position.get("token", ""))) not in valid:
            continue
        top = position.get("top_logprobs") or [{"token": position["token"], "logprob": position.get("logprob")}]
        mass = dict.fromkeys(valid, 0.0)
        covered = 0.0
        for entry in top:
            logprob = entry.get("logprob") if isinstance(entry, Mapping) else None
            if not isinstance(logprob, (int, float)) or not math.isfinite(logprob):
                continue
            p = math.exp(min(float(logprob), 0.0))
            covered += p
            letter = letter_of_token(str(entry.get("token", "")))
            if letter in mass:
                mass[letter] += p
        missing = [letter for letter in valid if mass[letter] == 0.0]
        if missing:
            share = max(1.0 - covered, 0.0) / len(missing)
            for letter in missing:
                mass[letter] = max(share, 1e-12)
        probs = np.array([mass[letter] for letter in valid], dtype=np.float64)
        return probs / probs.sum()
    return None


def probs_from_letter_logits(logits: np.ndarray) -> np.ndarray:
    """Softmax over the option letters' next-token logits ([m] -> [m] probabilities)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


class ReplyError(FramepickError):
    """A model's free-text reply that is not in the form its prompt asked for: what the papers'
    stages' strict readers (PeakClips, VidThinker) raise, so a caller counts the sample, never guesses."""


def excerpt(text: str, limit: int = 80) -> str:
    """The start of a reply, on one line and quoted, for the error that refuses it."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")
