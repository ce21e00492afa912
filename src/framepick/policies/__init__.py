"""The learned selectors' torch modules: TSPO's temporal agent, ReFoCUS's autoregressive policy,
MSJoE's 1-D U-Net sampler and VideoITG's relevance classifier.

They import torch, so nothing here is imported by ``import framepick``; the registered selectors
in :mod:`framepick.select` load them when a checkpoint is used.
"""

from __future__ import annotations

import importlib

from framepick.errors import UnknownNameError

# method name -> module defining the Policy subclass ``POLICY``; lazy so torch loads only on use.
POLICY_MODULES = {
    "tspo": "framepick.policies.tspo",
    "refocus": "framepick.policies.refocus",
    "msjoe": "framepick.policies.msjoe",
    "videoitg": "framepick.policies.videoitg",
}


def policy_class(method: str):
    """The :class:`~framepick.policies.base.Policy` subclass that implements ``method``."""
    if method not in POLICY_MODULES:
        raise UnknownNameError(f"no learned policy named {method!r}; known: {', '.join(sorted(POLICY_MODULES))}")
    return importlib.import_module(POLICY_MODULES[method]).POLICY


def build_policy(method: str, **config_fields):
    """A freshly initialised policy for ``method`` with its config built from ``config_fields``."""
    cls = policy_class(method)
    return cls(cls.config_class.from_dict(dict(config_fields)))
