"""Frame selectors. Importing this package registers every selector it holds.

``load_selector("aks", t1=0.7)`` builds one by name; ``framepick.registry.selectors`` lists them.
``load_selector("kframes", dedup=True)`` (or ``"kframes+dedup"``) adds the near-duplicate guard
(:mod:`framepick.select.dedup`) to any of them.
"""

from __future__ import annotations

import dataclasses

from framepick.errors import InvalidArgumentError
from framepick.registry import selectors
from framepick.select import aks, bolt, kframes, mmr, topk, uniform  # noqa: F401  (registers them)
from framepick.select import msjoe, refocus, tspo, videoitg  # noqa: F401  (learned; torch loads only on use)
from framepick.select.base import Selector, SelectorInput, SelectorOutput, check_k
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
        threshold = NEAR_DUPLICATE_THRESHOLD if dedup is True else check_threshold(dedup)
        return NearDuplicateGuard(load_selector(name, **params), threshold)
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


__all__ = [
    "GUARD_SUFFIX",
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
    "load_selector",
    "merge_clips",
    "parse_clips",
    "parse_clips_json",
    "parse_clips_text",
    "read_clips",
]
