"""Frame selectors. Importing this package registers every selector it holds.

``load_selector("aks", t1=0.7)`` builds one by name; ``framepick.registry.selectors`` lists them.
``load_selector("kframes", dedup=True)`` (or ``"kframes+dedup"``) adds the near-duplicate guard
(:mod:`framepick.select.dedup`) to any of them. A method as a user spells it (``NAME=CKPT_DIR``
too) is parsed by :func:`parse_method_spec`, once, at the CLI or API edge.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from framepick.errors import InvalidArgumentError
from framepick.registry import selectors


def _import_every_selector_module() -> None:
    """Import every public module of this package, so each selector file registers itself.

    A new method is its file alone (``select/NAME.py``, plus ``policies/NAME.py`` for a learned
    one): no list here to keep in step. Every module is torch-free (a learned selector loads its
    policy, and torch, only when it selects), so this stays cheap.
    """
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_import_every_selector_module()

from framepick.select.base import Selector, SelectorInput, SelectorOutput, check_k
from framepick.select.learned import LearnedSelector
from framepick.select.spec import MethodSpec, parse_method_spec
from framepick.select.dedup import (
    GUARD_SUFFIX,
    NEAR_DUPLICATE_THRESHOLD,
    NearDuplicateGuard,
    check_threshold,
    drop_near_duplicates,
    near_duplicate_neighbour_pairs,
)
from framepick.select.clips_io import (
    clips_to_json,
    load_clips,
    parse_clips,
    parse_clips_json,
    parse_clips_text,
    read_clips,
)
from framepick.select.kframes_sampling import (
    SamplingParams,
    allocate_frames,
    focused_sampling,
    hybrid_sampling,
    hybrid_split,
    merge_clips,
)


def load_selector(name: str, **params: object) -> Selector:
    """The selector registered as ``name``, built with ``params`` (validated by the selector).

    Unknown names raise :class:`framepick.errors.UnknownNameError` listing the registered ones;
    unknown parameters raise :class:`InvalidArgumentError` listing the accepted ones.

    Every selector also takes ``dedup``: ``True`` (threshold
    :data:`~framepick.select.dedup.NEAR_DUPLICATE_THRESHOLD`), a cosine threshold in (0, 1], or
    ``False``/``None`` (off, the default); ``NAME+dedup`` is ``NAME`` with ``dedup=True``. Off, the
    selector is returned as registered, so the paper methods behave exactly as published.
    """
    params = dict(params)
    if isinstance(name, str) and name.endswith(GUARD_SUFFIX):
        name = name[: -len(GUARD_SUFFIX)]
        params.setdefault("dedup", True)
    dedup = params.pop("dedup", None)
    if dedup is not None and dedup is not False:
        return with_dedup(load_selector(name, **params), dedup)
    factory = selectors.get(name)
    if dataclasses.is_dataclass(factory):
        accepted = [f.name for f in dataclasses.fields(factory)]
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise InvalidArgumentError(
                f"selector {name!r} has no parameter {', '.join(map(repr, unknown))}; "
                f"accepted: {', '.join([*accepted, 'dedup'])}"
            )
    return factory(**params)


def with_dedup(selector: Selector, dedup: bool | float | None) -> Selector:
    """``selector`` behind the near-duplicate guard (``True``: the default threshold, or a cosine
    threshold in (0, 1]); ``False``/``None``: ``selector`` unguarded. An existing guard is replaced."""
    inner = selector.inner if isinstance(selector, NearDuplicateGuard) else selector
    if dedup is None or dedup is False:
        return inner
    threshold = NEAR_DUPLICATE_THRESHOLD if dedup is True else check_threshold(dedup)
    return NearDuplicateGuard(inner, threshold)


def method_label(selector: Selector) -> str:
    """How a built selector is named in a :class:`~framepick.types.Selection`: its registered
    name, with ``+dedup`` behind the near-duplicate guard (``load_selector`` reads it back)."""
    if isinstance(selector, NearDuplicateGuard):
        return method_label(selector.inner) + GUARD_SUFFIX
    return selector.name


def learned_part(selector: Selector) -> LearnedSelector | None:
    """The trained-policy selector in ``selector`` (itself, or the one behind a guard), else None."""
    if isinstance(selector, NearDuplicateGuard):
        return learned_part(selector.inner)
    return selector if isinstance(selector, LearnedSelector) else None


__all__ = [
    "GUARD_SUFFIX",
    "LearnedSelector",
    "MethodSpec",
    "NEAR_DUPLICATE_THRESHOLD",
    "NearDuplicateGuard",
    "check_threshold",
    "drop_near_duplicates",
    "near_duplicate_neighbour_pairs",
    "Selector",
    "SelectorInput",
    "SelectorOutput",
    "SamplingParams",
    "allocate_frames",
    "check_k",
    "clips_to_json",
    "focused_sampling",
    "hybrid_sampling",
    "hybrid_split",
    "load_clips",
    "learned_part",
    "load_selector",
    "method_label",
    "merge_clips",
    "parse_clips",
    "parse_clips_json",
    "parse_clips_text",
    "parse_method_spec",
    "read_clips",
    "with_dedup",
]
