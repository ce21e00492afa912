"""Options and answers as the benchmarks write them: option prefixes, and answers given by index, letter or text."""

from __future__ import annotations

import re
from typing import Any, Sequence

from framepick.data.benchmarks._report import RowError
from framepick.types import option_letter, option_position

_PREFIX = re.compile(r"^\s*(?:\(\s*([A-Za-z])\s*\)|([A-Za-z])\s*[.):：])\s*")


def strip_option_prefix(text: str, position: int) -> str:
    """Drop a leading "A. ", "A) ", "A: " or "(A) " from an option, if its letter is the option's.

    Benchmarks differ: Video-MME writes "A. Apples.", LVBench "(A) ...", the rest give bare text.
    Options are stored bare so that every manifest reads the same and an answerer adds its own
    letters. The letter must match the option's position, so a bare option that merely starts
    with a letter and a full stop ("I. M. Pei designed it") is left alone unless it sits at "I".
    """
    match = _PREFIX.match(text)
    if match:
        letter = (match.group(1) or match.group(2)).upper()
        if letter == option_letter(position):
            return text[match.end() :].strip()
    return text.strip()


def clean_options(raw: Any, where: str = "options") -> tuple[str, ...]:
    """Validate a list of option strings (at least two, each non-empty) and strip their prefixes."""
    if not isinstance(raw, (list, tuple)):
        raise RowError(f"{where} must be a list of strings, got {type(raw).__name__}")
    options = []
    for position, option in enumerate(raw):
        if isinstance(option, (int, float)) and not isinstance(option, bool):
            option = str(option)  # MLVU count options are sometimes numbers
        if not isinstance(option, str) or not option.strip():
            raise RowError(f"option {position} is empty or not a string")
        options.append(strip_option_prefix(option, position))
    if len(options) < 2:
        raise RowError(f"need at least 2 options, got {len(options)}")
    if len(options) > 26:
        raise RowError(f"{len(options)} options is more than the 26 letters A-Z")
    return tuple(options)


def letter_from_index(value: Any, num_options: int) -> str:
    """A 0-based option index (int or digit string) as a letter; RowError when out of range."""
    if isinstance(value, bool):
        raise RowError(f"answer index must be an integer, got {value!r}")
    try:
        index = int(str(value).strip())
    except (TypeError, ValueError):
        raise RowError(f"answer index must be an integer, got {value!r}") from None
    if not 0 <= index < num_options:
        raise RowError(f"answer index {index} is outside the {num_options} options")
    return option_letter(index)


def letter_from_letter(value: Any, num_options: int) -> str:
    """A letter answer ("C", "(C)", "c.") normalised to "C"; RowError when not an option's letter."""
    position = option_position(str(value)) if isinstance(value, str) else None
    if position is None:
        raise RowError(f"answer {value!r} is not an option letter")
    if position >= num_options:
        raise RowError(f"answer {value!r} is outside the {num_options} options")
    return option_letter(position)


def letter_from_text(value: Any, options: Sequence[str]) -> str:
    """The letter of the option whose text is ``value`` (exact, then ignoring case and spacing)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"answer {value!r} is empty or not a string")
    for position, option in enumerate(options):
        if option == value.strip():
            return option_letter(position)
    wanted = _normalise(value)
    hits = [position for position, option in enumerate(options) if _normalise(option) == wanted]
    if len(hits) == 1:
        return option_letter(hits[0])
    raise RowError(f"answer {value.strip()[:60]!r} is not one of the options")


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".")
