"""Needle-in-a-haystack long videos with questions that need the needle (TSPO, paper 003).

:func:`synthesize_niah` builds ``count`` long videos (minutes up to an hour) and a manifest::

    out/manifest.jsonl          two rows per needle: a text question and an image query
    out/videos/niah-s0-00000-<plan hash>.mp4
    out/queries/niah-s0-00000-n0-<plan hash>.png
    out/segments/               normalised clips and filler, encoded once (or --cache-dir)

Each video is a segment-level shuffle of

- the **needle** (``needles`` of them): a contiguous part (55-80 %, whole GOPs) of a library clip
  that has question/answer pairs;
- ``decoys`` other real library clips, cut the same way, so that the needle is not the only real,
  unusual footage ("find the odd one out" does not solve the task without the query);
- generated **filler** pieces (drifting gradients, cloud textures, moving discs, waves) that fill
  the video to a random length between ``min_minutes`` and ``max_minutes``.

No two real clips of one library ``group`` share a video. Per needle the manifest gets

- ``needle-text``: one of the needle's qa questions (they name the scene, so decoys do not answer
  them); the wrong options are the qa pair's own wrong answers;
- ``needle-image``: ``query_image`` is a frame of the needle clip from the part that was *not*
  inserted (same scene, never a frame of the video); the question asks which description fits
  the scene; the wrong options are descriptions of library clips absent from the video (no clip of
  a group present in the video).

Both rows carry the same span: the needle's [start, end] seconds in the output video. ``extra``
records the needle and decoy clip ids (and where each real clip sits), so that splits can keep
videos and needle clips disjoint.

Everything is a function of (seed, video index, library, config): video ``i`` is the same whatever
``count`` is, and the same arguments give the same manifest and byte-identical videos. Files are
named by a hash of their plan and written atomically, so a second run reuses them and an
interrupted run leaves no partial file under a final name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from framepick.data.clip_library import ClipEntry, Library, load_library
from framepick.data.niah_assemble import Canonical, Piece, assemble, make_filler, normalise_clip, segment_key
from framepick.errors import FramepickError, InvalidArgumentError
from framepick.export import atomic_path
from framepick.data.niah_questions import MIN_OPTIONS, TASK_IMAGE, TASK_TEXT, add_questions
from framepick.types import Sample

logger = logging.getLogger(__name__)

__all__ = ["NiahConfig", "NiahResult", "VideoPlan", "synthesize_niah", "TASK_TEXT", "TASK_IMAGE", "Canonical"]



@dataclass(frozen=True)
class NiahConfig:
    """How the videos are made. Lengths are drawn per video, uniformly in [min, max] minutes."""

    min_minutes: float = 5.0
    max_minutes: float = 30.0
    needles: int = 1
    """Needle clips per video; each gets its own text and image rows."""
    decoys: int = 3
    """Other real clips per video, as unusual as the needle."""
    options: int = 5
    """Options per question (4-5; fewer wrong answers available means at least 4)."""
    needle_fraction: tuple[float, float] = (0.55, 0.8)
    """Share of a clip's GOPs that is inserted, drawn in this range (at least one GOP stays out)."""
    filler_count: int = 8
    """Distinct generated filler segments (kinds cycle: gradient, clouds, shapes, waves)."""
    filler_seconds: float = 20.0
    """Length of each filler segment; haystack pieces are cut from them on the filler GOP grid."""
    filler_piece_seconds: tuple[float, float] = (4.0, 20.0)
    """Length range of one haystack piece."""
    canonical: Canonical = field(default_factory=Canonical)

    def __post_init__(self) -> None:
        def bad(name: str, rule: str, value: object) -> InvalidArgumentError:
            return InvalidArgumentError(f"{name} must be {rule}; got {value!r}")

        for name in ("min_minutes", "max_minutes", "filler_seconds"):
            value = getattr(self, name)
            if not _real(value) or value <= 0:
                raise bad(name, "a positive number", value)
        if self.min_minutes > self.max_minutes:
            raise InvalidArgumentError(
                f"min_minutes ({self.min_minutes}) must not exceed max_minutes ({self.max_minutes})"
            )
        for name, low in (("needles", 1), ("decoys", 0), ("filler_count", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise bad(name, f"an integer >= {low}", value)
        if not isinstance(self.options, int) or not MIN_OPTIONS <= self.options <= 5:
            raise bad("options", "4 or 5", self.options)
        low, high = self.needle_fraction
        if not (0 < low <= high <= 1):
            raise bad("needle_fraction", "(low, high) with 0 < low <= high <= 1", self.needle_fraction)
        low, high = self.filler_piece_seconds
        if not (0 < low <= high):
            raise bad("filler_piece_seconds", "(low, high) with 0 < low <= high", self.filler_piece_seconds)


@dataclass(frozen=True)
class _Clip:
    """A usable library entry: its normalised segment's name and length in GOPs."""

    entry: ClipEntry
    key: str
    num_gops: int


@dataclass(frozen=True)
class _Placed:
    """A real clip in a video plan: which GOPs of its segment go in, and where they land."""

    clip: _Clip
    role: str  # "needle" | "decoy"
    first_gop: int
    num_gops: int
    start_frame: int = 0


@dataclass
class VideoPlan:
    """Everything about one video, decided before any file is written."""

    index: int
    stem: str
    pieces: list[tuple[str, int, int]]
    """(segment key, first frame, frames) in output order."""
    placed: list[_Placed]
    num_frames: int
    digest: str
    samples: list[dict] = field(default_factory=list)
    queries: list[tuple[_Placed, int, str]] = field(default_factory=list)
    """(needle, frame index in its segment, query PNG name) per needle."""


@dataclass
class NiahResult:
    """What :func:`synthesize_niah` made."""

    manifest: Path
    samples: list[Sample]
    videos: list[Path]
    written: int
    reused: int
    library: Library
    clips_used: int
    seconds: float
    """Wall-clock time of the call."""

    def summary(self) -> str:
        return (
            f"{len(self.videos)} videos ({self.written} written, {self.reused} reused), "
            f"{len(self.samples)} rows in {self.manifest}; {self.library.summary()}; "
            f"{self.clips_used} clips long enough"
        )


def synthesize_niah(
    out_dir: str | Path,
    count: int,
    seed: int = 0,
    *,
    library: str | Path | Library | None = None,
    config: NiahConfig | None = None,
    cache_dir: str | Path | None = None,
    manifest_name: str = "manifest.jsonl",
    progress: bool = False,
) -> NiahResult:
    """Build ``count`` needle-in-a-haystack videos under ``out_dir`` and write their manifest.

    ``library``: a clip library file or a loaded :class:`Library` (default: the shipped one).
    ``cache_dir``: where normalised segments live (default ``out_dir/segments``); share it between
    output folders to normalise each clip once. See the module docstring for what is made.
    """
    started = time.perf_counter()
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InvalidArgumentError(f"count must be an integer >= 1; got {count!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidArgumentError(f"seed must be an integer >= 0; got {seed!r}")
    config = config or NiahConfig()
    lib = library if isinstance(library, Library) else load_library(library)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"output folder {str(out)!r} is a file")
    segments = Path(cache_dir).expanduser() if cache_dir is not None else out / "segments"

    clips, dropped = _usable_clips(lib, config.canonical)
    _check_library(clips, dropped, lib, config)
    plans = [_plan_video(clips, config, seed, i) for i in range(count)]

    for folder in (out, out / "videos", out / "queries", segments):
        folder.mkdir(parents=True, exist_ok=True)
    by_key = {clip.key: clip for clip in clips}
    fillers = {_filler_key(k, config): k for k in range(config.filler_count)}
    written = reused = 0
    samples: list[Sample] = []
    videos: list[Path] = []
    bar = _bar(progress, count)
    try:
        for plan in plans:
            video = out / "videos" / f"{plan.stem}-{plan.digest}.mp4"
            if video.exists():
                reused += 1
                logger.info("reusing %s", video)
            else:
                paths = {key: _segment(key, by_key, fillers, segments, config) for key, _, _ in plan.pieces}
                pieces = [Piece(paths[key], first, n) for key, first, n in plan.pieces]
                assemble(pieces, video, config.canonical)
                written += 1
                logger.info("wrote %s (%.0f s)", video, plan.num_frames / config.canonical.fps)
            for needle, frame_index, name in plan.queries:
                png = out / "queries" / name
                if not png.exists():
                    _write_query(_segment(needle.clip.key, by_key, fillers, segments, config), frame_index, png)
            for row in plan.samples:
                query = row.pop("query_png", None)
                samples.append(Sample(video=str(video), query_image=None if query is None else str(out / "queries" / query), **row))
            videos.append(video)
            bar.update(1)
    finally:
        bar.close()
    manifest = out / manifest_name
    from framepick.data.manifest import write_manifest

    write_manifest(manifest, samples)
    return NiahResult(
        manifest=manifest, samples=samples, videos=videos, written=written, reused=reused,
        library=lib, clips_used=len(clips), seconds=time.perf_counter() - started,
    )


# -- library -> usable clips ---------------------------------------------------------------------


def _usable_clips(lib: Library, canonical: Canonical) -> tuple[list[_Clip], list[tuple[str, str]]]:
    """Entries long enough for one inserted GOP and one left out for the image query, and the
    (id, reason) of the present entries that are not."""
    from framepick.video.probe import probe

    gop_seconds = canonical.gop_frames / canonical.fps
    clips: list[_Clip] = []
    dropped: list[tuple[str, str]] = []
    for entry in lib.clips:
        try:
            index = probe(entry.file)
        except FramepickError as exc:
            logger.warning("clip %r skipped: %s", entry.id, exc)
            dropped.append((entry.id, str(exc)))
            continue
        end = index.info.duration_seconds if entry.end is None else min(entry.end, index.info.duration_seconds)
        num_gops = int(math.floor((end - entry.start) / gop_seconds + 1e-9))
        if num_gops < 2:
            why = f"{max(0.0, end - entry.start):.2f} s is shorter than 2 GOPs ({2 * gop_seconds:.2f} s)"
            logger.warning("clip %r skipped: %s", entry.id, why)
            dropped.append((entry.id, why))
            continue
        key = segment_key(
            "clip", canonical, source=index.info.content_hash, start=entry.start, frames=num_gops * canonical.gop_frames
        )
        clips.append(_Clip(entry=entry, key=key, num_gops=num_gops))
    return clips, dropped


def _check_library(clips: Sequence[_Clip], dropped: Sequence[tuple[str, str]], lib: Library, config: NiahConfig) -> None:
    """Fail before any work when the usable clips cannot make one video, saying what is missing.

    A video holds ``needles + decoys`` groups, and each picture question needs ``MIN_OPTIONS - 1``
    wrong descriptions from groups the video does not hold, so the library needs
    ``needles + decoys + MIN_OPTIONS - 1`` usable groups."""
    groups = {c.entry.group for c in clips}
    needle_groups = {c.entry.group for c in clips if c.entry.can_be_needle}
    need = config.needles + config.decoys + MIN_OPTIONS - 1
    if clips and len(needle_groups) >= config.needles and len(groups) >= need:
        return
    if not clips:
        problem = "the clip library has no usable clips"
    elif len(needle_groups) < config.needles:
        problem = (
            f"the clip library has {len(needle_groups)} usable group(s) of clips with 'qa' (needle candidates); "
            f"needles={config.needles} needs that many"
        )
    else:
        problem = (
            f"the clip library has {len(groups)} usable clip group(s); needles={config.needles} plus decoys={config.decoys} "
            f"plus {MIN_OPTIONS - 1} groups left out of each video for the picture questions' wrong options needs {need}"
        )
    unused = [(c.id, c.reason) for c in lib.skipped] + list(dropped)
    if unused:
        problem += f" ({len(unused)} of {len(lib.clips) + len(lib.skipped)} clips unusable: " + "; ".join(
            f"{name}: {why}" for name, why in unused
        ) + ")"
    hint = lib.install_hint()
    remedies = ([f"install the missing clips ({hint})"] if hint else []) + ["add clips to a library file (docs/niah.md)"]
    if config.decoys:
        remedies.append("lower --decoys")
    raise InvalidArgumentError(f"{problem}; {', or '.join(remedies)}")


# -- planning ------------------------------------------------------------------------------------


def _plan_video(clips: Sequence[_Clip], config: NiahConfig, seed: int, index: int) -> VideoPlan:
    canonical = config.canonical
    rng = np.random.default_rng([seed, index])
    target_frames = int(round(rng.uniform(config.min_minutes, config.max_minutes) * 60 * canonical.fps))

    used_groups: set[str] = set()
    needles = _pick(rng, [c for c in clips if c.entry.can_be_needle], config.needles, used_groups)
    decoys = _pick(rng, list(clips), config.decoys, used_groups)
    placed = [_cut(rng, clip, role, config) for role, group in (("needle", needles), ("decoy", decoys)) for clip in group]

    # Haystack pieces fill what the real clips leave, on the filler GOP grid.
    fgop = canonical.gop_frames
    filler_gops = max(1, int(round(config.filler_seconds * canonical.fps / fgop)))
    remaining = max(fgop, target_frames - sum(p.num_gops * canonical.gop_frames for p in placed))
    low, high = (max(1, int(round(s * canonical.fps / fgop))) for s in config.filler_piece_seconds)
    fillers: list[tuple[str, int, int]] = []
    while remaining > 0:
        gops = min(int(rng.integers(low, max(low, high) + 1)), filler_gops, max(1, -(-remaining // fgop)))
        k = int(rng.integers(config.filler_count))
        first = int(rng.integers(0, filler_gops - gops + 1))
        fillers.append((_filler_key(k, config), first * fgop, gops * fgop))
        remaining -= gops * fgop

    items: list[object] = [*placed, *fillers]
    order = rng.permutation(len(items))
    pieces: list[tuple[str, int, int]] = []
    final: list[_Placed] = []
    frame = 0
    for position in order:
        item = items[int(position)]
        if isinstance(item, _Placed):
            gop = canonical.gop_frames
            item = _Placed(item.clip, item.role, item.first_gop, item.num_gops, start_frame=frame)
            final.append(item)
            pieces.append((item.clip.key, item.first_gop * gop, item.num_gops * gop))
        else:
            pieces.append(item)  # type: ignore[arg-type]
        frame += pieces[-1][2]
    digest = hashlib.blake2b(
        json.dumps({"canonical": asdict(canonical), "pieces": pieces}).encode(), digest_size=5
    ).hexdigest()
    plan = VideoPlan(index=index, stem=f"niah-s{seed}-{index:05d}", pieces=pieces, placed=final, num_frames=frame, digest=digest)
    add_questions(plan, rng, clips, config, seed)
    return plan


def _pick(rng: np.random.Generator, pool: list[_Clip], n: int, used_groups: set[str]) -> list[_Clip]:
    chosen = []
    for position in rng.permutation(len(pool)):
        clip = pool[int(position)]
        if len(chosen) == n:
            break
        if clip.entry.group not in used_groups:
            chosen.append(clip)
            used_groups.add(clip.entry.group)
    if len(chosen) < n:  # _check_library makes this unreachable; kept so a future caller cannot loop silently
        raise InvalidArgumentError(
            f"the clip library has too few clip groups for {n} more clip(s) outside the {len(used_groups)} already used"
        )
    return chosen


def _cut(rng: np.random.Generator, clip: _Clip, role: str, config: NiahConfig) -> _Placed:
    low, high = config.needle_fraction
    gops = int(round(rng.uniform(low, high) * clip.num_gops))
    gops = min(max(gops, 1), clip.num_gops - 1)
    first = int(rng.integers(0, clip.num_gops - gops + 1))
    return _Placed(clip, role, first, gops)


# -- files ---------------------------------------------------------------------------------------


def _filler_key(index: int, config: NiahConfig) -> str:
    return segment_key("filler", config.canonical, index=index, seconds=config.filler_seconds)


def _filler_frames(config: NiahConfig) -> int:
    fgop = config.canonical.gop_frames
    return max(1, int(round(config.filler_seconds * config.canonical.fps / fgop))) * fgop


def _segment(key: str, clips: dict[str, _Clip], fillers: dict[str, int], folder: Path, config: NiahConfig) -> Path:
    """The normalised segment file for ``key``, made on first use."""
    if key in clips:
        clip = clips[key]
        target = folder / f"clip-{clip.entry.id}-{key}.mp4"
        if not target.exists():
            logger.info("normalising clip %r (%s)", clip.entry.id, clip.entry.file)
            normalise_clip(clip.entry.file, clip.entry.start, clip.num_gops * config.canonical.gop_frames, target, config.canonical)
        return target
    index = fillers[key]
    target = folder / f"filler-{index}-{key}.mp4"
    if not target.exists():
        logger.info("generating filler %d", index)
        make_filler(index, _filler_frames(config), target, config.canonical)
    return target


def _write_query(segment: Path, frame_index: int, target: Path) -> None:
    from PIL import Image

    from framepick.video.decode import VideoDecoder

    with VideoDecoder(segment) as decoder:
        frame = decoder.get_frames([frame_index]).frames[0]
    with atomic_path(target) as tmp:
        Image.fromarray(frame).save(tmp, format="PNG")


def _real(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(enabled: bool, total: int):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="niah videos", unit="video")
