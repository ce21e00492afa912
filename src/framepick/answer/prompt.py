"""Prompts as data: how frames, their times, a question and its options become an MLLM's input.

A :class:`PromptTemplate` is a handful of strings; :func:`build_parts` lays them out as an ordered
list of :class:`TextPart` and :class:`ImagePart` that every backend renders its own way (image
parts of an OpenAI chat message, images in a transformers chat template). Keeping the layout in
one place means the local and the served model see the same words, and the template's
:attr:`~PromptTemplate.id` keys the answer cache: change a word and no cached answer is reused.

The layout, chosen to match what the open models' own video evaluations send (lmms-eval's
Video-MME / MLVU / LongVideoBench tasks):

1. optionally a system message;
2. per frame, a label with its time (``"Frame 3 at 12.5s:"``), then the image. Times are the
   frames' true presentation times: after query-aware selection the gaps between frames are
   uneven, and a model told nothing would assume a uniform clip;
3. the question, then one line per option (``"A. a red car"``), then the instruction
   ("Answer with the option's letter from the given choices directly.");
4. with no options, the question and the open-ended instruction.

Named templates: ``default`` (the wording of lmms-eval's MLVU / LongVideoBench / LLaVA-Video
tasks, which the Qwen-VL, InternVL and LLaVA-OneVision model cards report with) and ``videomme``
(Video-MME's own instruction before the question and "The best answer is:" after the options). A
user's JSON file of fields (:func:`load_template`) overrides either.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import option_letter


@dataclass(frozen=True)
class PromptTemplate:
    """The words around the frames. Every field is part of :attr:`id`."""

    name: str = "default"
    system: str | None = None
    """A system message, or None for the model's own default."""
    frame_label: str = "Frame {number} at {seconds:.1f}s:"
    """Text before each frame: ``{number}`` counts from 1, ``{seconds}`` is its time."""
    frame_label_no_time: str = "Frame {number}:"
    """Used when the frames' times are unknown (pictures, not a video)."""
    question: str = "{question}"
    option_line: str = "{letter}. {option}"
    choice_instruction: str = "Answer with the option's letter from the given choices directly."
    open_instruction: str = "Answer the question briefly."

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and not isinstance(value, str):
                raise InvalidArgumentError(f"prompt field {f.name!r} must be a string, got {type(value).__name__}")
        for name, needed in (("question", "{question}"), ("option_line", "{option}")):
            if needed not in getattr(self, name):
                raise InvalidArgumentError(f"prompt field {name!r} must contain {needed}, got {getattr(self, name)!r}")
        try:  # a typo in a user's template fails here, not on the thousandth sample
            self.frame_label.format(number=1, seconds=0.0)
            self.frame_label_no_time.format(number=1)
            self.option_line.format(letter="A", option="x")
            self.question.format(question="q")
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidArgumentError(f"prompt template {self.name!r} has a bad placeholder: {exc!r}") from None

    @property
    def id(self) -> str:
        """``name@hash`` of every field: the answer cache's key for these words."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return f"{self.name}@{hashlib.sha256(blob).hexdigest()[:10]}"


TEMPLATES: dict[str, PromptTemplate] = {
    "default": PromptTemplate(),
    "videomme": PromptTemplate(
        name="videomme",
        question=(
            "Select the best answer to the following multiple-choice question based on the video. "
            "Respond with only the letter of the correct option.\n{question}"
        ),
        choice_instruction="The best answer is:",
    ),
}


def load_template(spec: str | Path) -> PromptTemplate:
    """A registered template by name, or a JSON file of :class:`PromptTemplate` fields (others default)."""
    if str(spec) in TEMPLATES:
        return TEMPLATES[str(spec)]
    path = Path(spec)
    if not path.is_file():
        raise InvalidArgumentError(
            f"prompt {str(spec)!r} is neither a template name ({', '.join(TEMPLATES)}) nor a JSON file"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgumentError(f"prompt file {str(path)!r} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"prompt file {str(path)!r} must hold a JSON object of template fields")
    known = {f.name for f in fields(PromptTemplate)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidArgumentError(f"prompt file {str(path)!r} has unknown fields {unknown}; known: {sorted(known)}")
    return replace(PromptTemplate(name=path.stem), **data)


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True, repr=False)
class ImagePart:
    """One frame, [H,W,3] uint8 RGB, and its time in seconds (None when unknown)."""

    image: np.ndarray
    seconds: float | None

    def __repr__(self) -> str:
        return f"ImagePart(shape={self.image.shape}, seconds={self.seconds})"


Part = Union[TextPart, ImagePart]


def build_parts(
    template: PromptTemplate,
    frames: np.ndarray,
    timestamps: Sequence[float] | None,
    question: str,
    options: Sequence[str],
) -> list[Part]:
    """The user turn as ordered parts: label + image per frame, then the question block.

    Frames are passed through one by one, in the order given: never resampled, never padded (a
    processor that pads an odd frame count by repeating the last one would show the model a frame
    that was not chosen).
    """
    parts = frame_parts(template, frames, timestamps)  # checks the frames first
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError("the question must be a non-empty string")
    return parts + [TextPart(question_block(template, question, options))]


def frame_parts(template: PromptTemplate, frames: np.ndarray, timestamps: Sequence[float] | None) -> list[Part]:
    """Label + image per frame, in the order given, without the question block: what
    :func:`build_parts` puts first."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InvalidArgumentError(f"frames must be [n,H,W,3] uint8 RGB, got {frames.shape} {frames.dtype}")
    if timestamps is not None and len(timestamps) != frames.shape[0]:
        raise InvalidArgumentError(f"{len(timestamps)} timestamps for {frames.shape[0]} frames")
    parts: list[Part] = []
    for i, frame in enumerate(frames):
        seconds = None if timestamps is None else float(timestamps[i])
        parts.append(TextPart(frame_label(template, i + 1, seconds)))
        parts.append(ImagePart(frame, seconds))
    return parts


def frame_label(template: PromptTemplate, number: int, seconds: float | None) -> str:
    """The text before frame ``number`` (from 1) shown at ``seconds`` (None: unknown)."""
    if seconds is None:
        return template.frame_label_no_time.format(number=number)
    return template.frame_label.format(number=number, seconds=float(seconds))


def question_block(template: PromptTemplate, question: str, options: Sequence[str]) -> str:
    """The text after the frames: question, lettered options, instruction."""
    lines = [template.question.format(question=question.strip())]
    for i, option in enumerate(options):
        lines.append(template.option_line.format(letter=option_letter(i), option=str(option).strip()))
    lines.append(template.choice_instruction if options else template.open_instruction)
    return "\n".join(line for line in lines if line)
