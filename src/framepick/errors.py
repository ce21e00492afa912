"""Errors that framepick raises on bad input.

Every error a user can cause is a :class:`FramepickError`; its message is one line that names the
problem (the parameter or file, what was expected and what was received). The CLI prints that line
and exits non-zero; anything else escaping the library is a bug and is reported as such.
"""

from __future__ import annotations


class FramepickError(Exception):
    """Base class of all errors caused by the user's input or environment."""

    exit_code: int = 2


class InvalidArgumentError(FramepickError, ValueError):
    """A parameter has a value outside its allowed set or range."""


class VideoError(FramepickError):
    """A video file is missing, unreadable, has no video stream, or decodes to nothing."""


class ModelError(FramepickError):
    """A model (encoder weights, checkpoint) cannot be found or loaded."""


class AnswererError(FramepickError):
    """An MLLM backend failed: a server unreachable or refusing the key, a reply that names no
    option, a model without what answering needs (a processor, a chat template, an image input)."""


class UnknownNameError(FramepickError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def one_line(error: BaseException, *, with_type: bool = True, os_reason: bool = False, limit: int = 300) -> str:
    """``error`` as one line, for a framepick message built around a library's exception.

    The first non-blank line of the message with its whitespace collapsed (a library's later lines
    are hints and tracebacks, not the reason), cut to ``limit`` characters with ``...``; the type
    name alone when the message is empty. The two choices callers differ on are keywords:

    - ``with_type`` prefixes the type name (``OSError: ...``): a loader's ``ValueError: bad
      magic`` needs it to make sense, while an OS or FFmpeg reason reads better without;
    - ``os_reason`` prefers ``strerror`` (``No such file or directory``) over ``str()``, which
      repeats the errno and the path: for callers that name the file in their own words.
    """
    reason = getattr(error, "strerror", None) if os_reason else None
    lines = [" ".join(line.split()) for line in str(reason or error).splitlines() if line.strip()]
    name = type(error).__name__
    if not lines:
        text = name
    else:
        text = f"{name}: {lines[0]}" if with_type else lines[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."
