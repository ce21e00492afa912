"""The learned selectors' torch modules: TSPO's temporal agent, ReFoCUS's autoregressive policy,
MSJoE's 1-D U-Net sampler and VideoITG's relevance classifier.

They import torch, so nothing here is imported by ``import framepick``; the registered selectors
in :mod:`framepick.select` load them when a checkpoint is used.

One learned method is one module here, ``framepick.policies.NAME``, whose
:class:`~framepick.policies.base.Policy` subclass is decorated with ``@register_policy("NAME")``
and declares its paper's training defaults (``train_defaults``), plus the thin selector file
``framepick/select/NAME.py``. There is no table to extend: the modules are found by looking.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, TypeVar

from framepick.errors import UnknownNameError

P = TypeVar("P", bound=type)

# method name -> Policy subclass, filled by @register_policy as the policy modules are imported.
_POLICIES: dict[str, type] = {}


def register_policy(method: str) -> Callable[[P], P]:
    """Class decorator: ``cls`` implements the learned method ``method`` (and its ``method`` is set)."""

    def decorator(cls: P) -> P:
        known = _POLICIES.get(method)
        if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"policy {method!r} is already registered by {known.__module__}.{known.__qualname__}")
        cls.method = method
        _POLICIES[method] = cls
        return cls

    return decorator


def _module_names() -> list[str]:
    """The modules of this package, found on disk without importing them (no torch)."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


def policy_methods() -> list[str]:
    """Every learned method a module here registers (imports them all, hence torch)."""
    for name in _module_names():
        importlib.import_module(f"{__name__}.{name}")
    return sorted(_POLICIES)


def policy_class(method: str):
    """The :class:`~framepick.policies.base.Policy` subclass that implements ``method``."""
    if method not in _POLICIES and method in _module_names():
        importlib.import_module(f"{__name__}.{method}")  # the usual place: framepick.policies.METHOD
    if method not in _POLICIES:
        known = policy_methods()  # perhaps registered from a module not named after it
        if method not in known:
            raise UnknownNameError(f"no learned policy named {method!r}; known: {', '.join(known)}")
    return _POLICIES[method]


def build_policy(method: str, **config_fields):
    """A freshly initialised policy for ``method`` with its config built from ``config_fields``."""
    cls = policy_class(method)
    return cls(cls.config_class.from_dict(dict(config_fields)))
