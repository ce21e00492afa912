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


class UnknownNameError(FramepickError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
