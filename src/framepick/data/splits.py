"""Train / validation / test splits that a policy cannot cheat across.

Samples are grouped, and whole groups go to one split, so no video and no needle clip is shared
between splits:

- ``source`` (default for needle suites): the needle's source footage (every shot cut from one
  file is one group: four shots of ``bikes.mp4`` look alike, so they stay together);
- ``clip``: the needle clip itself (one library entry);
- ``video``: the video file (for benchmarks, which have no needle).

The text and picture rows of one needle share the video and the clip, so they always land in the
same split. Groups are shuffled with the seed and dealt greedily to the split furthest below its
target share of samples, so the result is deterministic for a seed and close to the fractions.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Sample

SplitBy = Literal["source", "clip", "video"]
SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class Splits:
    train: tuple[Sample, ...]
    val: tuple[Sample, ...]
    test: tuple[Sample, ...]
    groups: dict[str, str]
    """group -> split name."""

    def as_dict(self) -> dict[str, tuple[Sample, ...]]:
        return {"train": self.train, "val": self.val, "test": self.test}


def needle_group(sample: Sample, by: SplitBy, clip_sources: dict[str, str]) -> str:
    """The group key of ``sample`` under ``by`` (falls back to the video for samples without a needle)."""
    video = str(Path(sample.video).resolve())
    needle = sample.extra.get("needle") if isinstance(sample.extra, dict) else None
    if by == "video" or not needle:
        return f"video:{video}"
    if by == "clip":
        return f"clip:{needle}"
    return f"source:{clip_sources.get(needle, needle)}"


def library_sources(library_path: str | Path | None = None) -> dict[str, str]:
    """clip id -> the source file it was cut from, for every entry of the clip library (default: shipped)."""
    from framepick.data.clip_library import load_library

    library = load_library(library_path)
    # Entries whose file is absent here still name their source; keep them so a split of a suite
    # made elsewhere (where opencv-doc is installed, say) groups them the same way.
    return {**{clip.id: clip.path for clip in library.skipped}, **{clip.id: clip.path for clip in library.clips}}


def split_samples(
    samples: Sequence[Sample],
    *,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    by: SplitBy = "source",
    seed: int = 0,
    group_of: Callable[[Sample], str] | None = None,
    library: str | Path | None = None,
) -> Splits:
    """Split ``samples`` into train/val/test by whole groups (see the module docstring)."""
    if len(fractions) != 3 or any(not math.isfinite(f) or f < 0 for f in fractions) or sum(fractions) <= 0:
        raise InvalidArgumentError(f"fractions must be three non-negative numbers (train, val, test), got {tuple(fractions)}")
    if by not in ("source", "clip", "video"):
        raise InvalidArgumentError(f"split by must be one of source, clip, video, got {by!r}")
    if group_of is None:
        sources = library_sources(library) if by == "source" else {}
        group_of = lambda s: needle_group(s, by, sources)  # noqa: E731
    # Every video's samples must share one group, or a video would straddle two splits.
    groups: OrderedDict[str, list[Sample]] = OrderedDict()
    video_group: dict[str, str] = {}
    for sample in samples:
        key = group_of(sample)
        video = str(Path(sample.video).resolve())
        first = video_group.setdefault(video, key)
        groups.setdefault(first, []).append(sample)
    if len(groups) < sum(1 for f in fractions if f > 0):
        raise InvalidArgumentError(
            f"only {len(groups)} group(s) of samples (split by {by}); need one per non-empty split"
        )
    target = np.asarray(fractions, dtype=np.float64) / float(sum(fractions))
    order = np.random.default_rng(seed).permutation(len(groups))
    names = list(groups)
    counts = np.zeros(3)
    assignment: dict[str, str] = {}
    total = len(samples)
    # Deal the largest groups first (in a seeded order among equals) so small groups fill the gaps.
    order = sorted(order.tolist(), key=lambda i: -len(groups[names[i]]))
    for position, i in enumerate(order):
        remaining = len(order) - position
        empty = [j for j in range(3) if target[j] > 0 and counts[j] == 0]
        if empty and remaining <= len(empty):
            choice = empty[0]  # keep every requested split non-empty
        else:
            deficit = target * total - counts
            deficit[target == 0] = -np.inf
            choice = int(np.argmax(deficit))
        assignment[names[i]] = SPLIT_NAMES[choice]
        counts[choice] += len(groups[names[i]])
    parts: dict[str, list[Sample]] = {name: [] for name in SPLIT_NAMES}
    for key, members in groups.items():
        parts[assignment[key]].extend(members)
    return Splits(tuple(parts["train"]), tuple(parts["val"]), tuple(parts["test"]), assignment)
