"""A method as a user writes it, parsed in one place: ``NAME``, ``NAME+dedup``, ``NAME=CHECKPOINT_DIR``.

``framepick select --method`` and ``framepick eval --methods`` both call :func:`parse_method_spec`;
the result builds its :class:`~framepick.select.base.Selector` once (:meth:`MethodSpec.build`), and
from there on the object, not the name, travels. ``+dedup`` is read by
:func:`~framepick.select.load_selector` (the spec keeps it in :attr:`MethodSpec.name`), parameters
(e.g. ``--method-params`` JSON, already decoded) ride along in :attr:`MethodSpec.method_params`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from framepick.errors import InvalidArgumentError
from framepick.select.base import Selector


@dataclass(frozen=True)
class MethodSpec:
    """One method: a selector name (``+dedup`` allowed), an optional checkpoint, its parameters."""

    name: str
    """The selector's registered name, with ``+dedup`` when the near-duplicate guard is asked for."""
    checkpoint: str | None = None
    """A learned selector's trained folder (``NAME=CHECKPOINT_DIR``); passed as its ``checkpoint``."""
    method_params: Mapping[str, Any] = field(default_factory=dict)
    """Other hyper-parameters of the selector (``dedup`` included)."""

    @property
    def label(self) -> str:
        """The text as given, less its parameters: names the method in records, so two checkpoints
        of one selector stay apart."""
        return self.name if self.checkpoint is None else f"{self.name}={self.checkpoint}"

    @property
    def params(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~framepick.select.load_selector` (``method_params`` of
        :func:`framepick.select_frames`): the parameters and the checkpoint."""
        params = dict(self.method_params)
        if self.checkpoint is not None:
            params["checkpoint"] = self.checkpoint
        return params

    def build(self) -> Selector:
        """The selector; unknown names and parameters, or a checkpoint that is not one, fail here in one line."""
        from framepick.select import load_selector

        return load_selector(self.name, **self.params)


def parse_method_spec(
    text: str, params: Mapping[str, Any] | None = None, *, flag: str = "--method"
) -> MethodSpec:
    """``'tspo=runs/ck'`` -> ``MethodSpec('tspo', 'runs/ck')``; ``params`` are the method's other
    parameters (decoded JSON). ``flag`` names the argument in the one-line error for a bad spelling."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgumentError(f"{flag} must name a method such as 'topk', got {text!r}")
    if params is not None and not isinstance(params, Mapping):
        raise InvalidArgumentError(f"method parameters must be a mapping of names to values, got {type(params).__name__}")
    name, sep, checkpoint = text.strip().partition("=")
    name, checkpoint = name.strip(), checkpoint.strip()
    if not name or (sep and not checkpoint):
        raise InvalidArgumentError(f"{flag} {text!r} must be NAME, NAME+dedup or NAME=CHECKPOINT_DIR")
    return MethodSpec(name, checkpoint or None, dict(params or {}))
