"""Typed registries: one per kind of extension point (selectors, encoders, answerers, benchmarks).

A registry maps a short name to a factory. Looking up an unknown name raises an error that lists
the registered names and the closest match, instead of a bare ``KeyError``.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Callable, Generic, Iterator, TypeVar

from framepick.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to factories for one kind of component."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; a name may be registered once."""

        def decorator(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self._unknown_message(name)) from None

    def _unknown_message(self, name: str) -> str:
        names = sorted(self._entries)
        message = f"unknown {self.kind} {name!r}; registered: {', '.join(names) or '(none)'}"
        close = difflib.get_close_matches(name, names, n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
        return message

    def names(self) -> list[str]:
        return sorted(self._entries)

    def summaries(self) -> dict[str, str]:
        """One line per entry: the first line of its docstring."""
        return {name: _first_line(obj) for name, obj in sorted(self._entries.items())}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)


def _first_line(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


selectors: Registry = Registry("selector")
encoders: Registry = Registry("encoder")
answerers: Registry = Registry("answerer")
benchmarks: Registry = Registry("benchmark")

register_selector = selectors.register
register_encoder = encoders.register
register_answerer = answerers.register
register_benchmark = benchmarks.register
