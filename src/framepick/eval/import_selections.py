"""Published frame selections as an evaluation run (``framepick data import-selections``).

The authors of TSPO, VideoITG and BOLT publish the frames their method chose for every benchmark
question (layouts: :mod:`framepick.eval.published`, ``docs/published_selections.md``). This module
turns such a file into records of a framepick run, so ``framepick report`` puts the published
method beside framepick's own selections on the same questions, scored against the manifest's
evidence spans with the same metrics.

1. **Matching.** Each entry is matched to one manifest sample: first by the question id the file
   carries (the part of a manifest id after ``<benchmark>:``, as ``framepick data convert`` writes
   them, or the sample's ``extra`` ``question_id`` / ``id``), and an id match must agree with the
   entry's video when the entry names one; without an id match, by the video (file name up to its
   first dot) and the question text: the sample's question must occur in the entry's text (BOLT's
   and VideoITG's prompts hold it). Entries that match nothing, more than one sample, or a sample
   already taken are counted with their reason, never dropped silently.
2. **Converting.** The local video is indexed with framepick's prober (the feature cache keeps the
   index), and the entry's frames become source frame indices of that video: TSPO and VideoITG
   publish 0-based source indices at the native frame rate (decord's), taken as they are; BOLT
   publishes seconds, mapped as its lmms-eval reader does, ``round(t * fps)`` with NumPy's
   rounding. Indices past the last frame by at most one second's worth of frames (decord and
   PyAV can count a frame or two apart) are clipped to the last frame, as BOLT's reader clips, and
   counted; further out the entry does not belong to this video and the sample is skipped. A
   frame chosen twice (BOLT's inverse-transform sampling repeats frames) is kept once: the record
   lists distinct frames, in time order, with the budget ``k`` the file was made for. Each
   frame's timestamp is its presentation time from the index.
3. **Writing.** One record per (sample, k) with query ``text`` (every published selection was
   made from the text question). Fields an import cannot have are null: answer/correct (none of
   the three layouts carries the downstream model's answers), option_probs, timings (the report
   shows "—"), encoder/answerer, near_duplicates and ``frames_sent`` (framepick sent nothing; the
   authors' own evaluation fed the frames to its model); ``candidates`` is what the method chose from (TSPO: its 1 fps grid, VideoITG: the
   frames it scored, BOLT: its 1 fps feature rows). A new run folder is built aside and renamed
   into place; an existing one (a ``framepick eval`` run of the same manifest) gets the new
   records, its ``config.json`` lists the method, and ``imports.json`` says where each imported
   method came from. Records already there are skipped, so importing twice adds nothing. Nothing
   is written when nothing matched.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framepick.errors import FramepickError, InvalidArgumentError
from framepick.eval import records as rec
from framepick.eval.published import (
    DEFAULT_NAMES,
    PublishedEntry,
    read_published,
    video_stem,
)
from framepick.eval.runner import duration_bucket_for, parse_ks
from framepick.types import Sample

if TYPE_CHECKING:
    from framepick.video.probe import VideoIndex

logger = logging.getLogger(__name__)

IMPORTS_FILE = "imports.json"
QUERY = "text"


@dataclass
class ImportSummary:
    """What one import did; every entry of the file is in exactly one of its counts."""

    out_dir: Path
    method: str
    layout: str
    ks: tuple[int, ...]
    entries: int = 0
    imported: int = 0
    """Entries whose sample got its records (written now or already in the run)."""
    written: int = 0
    """Records appended by this call."""
    already_done: int = 0
    """Records already in the run (an earlier import of the same method), skipped."""
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    """(where in the file, why): entries that name no manifest sample, or more than one."""
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """(where, sample id): entries matching a sample that an earlier entry already matched."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(sample id, why): matched samples whose video is missing or does not fit the entry."""
    samples_without_entry: int = 0
    """Manifest samples that no entry matched."""
    clipped_frames: int = 0
    repeated_frames: int = 0

    def line(self) -> str:
        parts = [
            (f"{self.out_dir}: {self.method} ({self.layout}, k={','.join(map(str, self.ks))}): "
            f"{self.imported} of {self.entries} entries imported, {self.written} records written"),
        ]
        for count, text in (
            (self.already_done, "already in the run"),
            (len(self.unmatched), "unmatched"),
            (len(self.duplicates), "duplicate"),
            (len(self.skipped), "skipped (video missing or not matching)"),
            (self.samples_without_entry, "manifest samples without an entry"),
            (self.clipped_frames, "frames clipped to the video's end"),
            (self.repeated_frames, "repeated frames merged"),
        ):
            if count:
                parts.append(f"{count} {text}")
        return "; ".join(parts)


# -- matching ---------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(str(text).split())


class SampleMatcher:
    """Finds the manifest sample a published entry is about (the rules: the module docstring)."""

    def __init__(self, samples: Sequence[Sample]) -> None:
        self._by_id: dict[str, list[Sample]] = {}
        self._by_video: dict[str, list[Sample]] = {}
        for sample in samples:
            names = {sample.id, sample.id.split(":", 1)[-1]}
            for key in ("question_id", "id"):
                value = sample.extra.get(key) if sample.extra else None
                if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                    names.add(str(value).strip())
            for name in names:
                self._by_id.setdefault(name, []).append(sample)
            self._by_video.setdefault(video_stem(sample.video), []).append(sample)

    def match(self, entry: PublishedEntry) -> tuple[Sample | None, str]:
        """(sample, "") or (None, why not)."""
        for qid in entry.ids:
            found = list({s.id: s for s in self._by_id.get(qid, [])}.values())
            if entry.video is not None and len(found) > 1:
                found = [s for s in found if video_stem(s.video) == entry.video]
            if len(found) == 1:
                sample = found[0]
                if entry.video is not None and video_stem(sample.video) != entry.video:
                    return None, (
                        f"id {qid!r} is sample {sample.id!r}, whose video is {video_stem(sample.video)!r}, "
                        f"not the entry's {entry.video!r}"
                    )
                return sample, ""
            if len(found) > 1:
                return None, f"id {qid!r} names {len(found)} samples ({', '.join(s.id for s in found[:3])})"
        ids = f"id {', '.join(map(repr, entry.ids))} is in no manifest sample" if entry.ids else "no question id"
        if entry.video is None and entry.text is None and not entry.ids:
            return None, "the entry names no question id, video or question (VideoITG's doc_id-only frame indices? import its results.jsonl)"
        if entry.video is None or entry.text is None:
            return None, f"{ids}, and the entry names no video and question to match by"
        text = _norm(entry.text)
        on_video = self._by_video.get(entry.video, [])
        if not on_video:
            return None, f"{ids}, and no manifest sample has the video {entry.video!r}"
        found = [s for s in on_video if _norm(s.question) and _norm(s.question) in text]
        if len(found) > 1:  # a short question inside a longer one: the exact one wins
            exact = [s for s in found if _norm(s.question) == text]
            found = exact or found
        if len(found) == 1:
            return found[0], ""
        if not found:
            return None, f"none of the {len(on_video)} manifest questions on video {entry.video!r} occurs in the entry's text"
        return None, f"{len(found)} manifest questions on video {entry.video!r} occur in the entry's text"


# -- converting -------------------------------------------------------------------------------------


class EntryDoesNotFit(FramepickError):
    """The entry's frames lie outside the local video (another cut of it, or another video)."""


@dataclass(frozen=True)
class Converted:
    indices: tuple[int, ...]
    """Distinct source frame indices, increasing."""
    scores: tuple[float | None, ...]
    clipped: int = 0
    repeated: int = 0


def convert_frames(entry: PublishedEntry, num_frames: int, fps: float, k: int | None = None) -> Converted:
    """The entry's frames (its first ``k`` when it is ranked) as distinct source frames of a video
    of ``num_frames`` frames at ``fps`` (rules: the module docstring)."""
    if num_frames < 1:
        raise EntryDoesNotFit("the video has no frames")
    values = entry.values[:k] if entry.ranked and k is not None else entry.values
    scores = entry.scores[: len(values)] if entry.scores is not None else (None,) * len(values)
    if entry.unit == "second":
        if not fps > 0:
            raise EntryDoesNotFit("the video has no frame rate to turn seconds into frames")
        raw = np.round(np.asarray(values, dtype=np.float64) * fps).astype(np.int64)
    else:
        raw = np.asarray(values, dtype=np.float64).astype(np.int64)
    last = num_frames - 1
    slack = max(1, round(fps)) if fps > 0 else 1
    beyond = raw[raw > last]
    if beyond.size and int(beyond.max()) > last + slack:
        unit = "second" if entry.unit == "second" else "frame"
        worst = max(v for v, r in zip(values, raw) if r == beyond.max())
        raise EntryDoesNotFit(
            f"{unit} {worst:g} is past the video's end ({num_frames} frames at {fps:.3f} fps): not this video?"
        )
    clipped = int(beyond.size)
    raw = np.minimum(raw, last)
    best: dict[int, float | None] = {}
    for index, score in zip(raw.tolist(), scores):
        if index not in best:  # ranked files list the best first; the first occurrence keeps its score
            best[index] = score
    order = sorted(best)
    return Converted(tuple(order), tuple(best[i] for i in order), clipped, len(raw) - len(best))


def candidate_count(layout: str, entry: PublishedEntry, num_frames: int, fps: float) -> int | None:
    """How many frames the published method chose from (see the module docstring)."""
    if layout == "videoitg":
        return len(entry.values)
    if not fps > 0:
        return None
    if layout == "tspo":  # their load_video: range(0, frames, round(avg_fps / 1))
        return len(range(0, num_frames, max(1, round(fps))))
    return max(1, int(num_frames / fps))  # BOLT's extract_feature: int(frames / fps * 1) rows


def _record(sample: Sample, method: str, k: int, converted: Converted, index: VideoIndex, candidates: int | None) -> dict[str, Any]:
    duration = float(index.info.duration_seconds)
    timestamps = index.frame_timestamps
    record = {
        "sample_id": sample.id,
        "method": method,
        "k": k,
        "query": QUERY,
        "encoder": None,
        "answerer": None,
        "candidates": candidates,
        "frames": [
            {"index": int(i), "timestamp": round(float(timestamps[i]), 6), "score": None if s is None else round(float(s), 6)}
            for i, s in zip(converted.indices, converted.scores)
        ],
        "clips": [],
        "answer": None,
        "correct": None,
        "option_probs": None,
        "gold": sample.answer,
        "spans": [list(span) for span in sample.spans],
        "duration_seconds": round(duration, 6),
        "task_type": sample.task_type,
        "duration_bucket": sample.duration_bucket or duration_bucket_for(duration),
        "timings_seconds": None,
        "frames_sent": None,
        "near_duplicates": None,
        "answer_source": None,
        "reply": None,
        "answer_cached": None,
    }
    rec.check_record(record)
    return record


# -- the import -------------------------------------------------------------------------------------


def resolve_ks(layout: str, entries: Sequence[PublishedEntry], ks: str | Sequence[int] | None) -> tuple[int, ...]:
    """The budgets to record: VideoITG's ranked lists are cut at each asked k (``-k`` needed); a
    TSPO or BOLT file holds one budget, its longest list, which ``-k`` may only restate or raise."""
    longest = max(len(e.values) for e in entries)
    if layout == "videoitg":
        if ks is None:
            raise InvalidArgumentError("--format videoitg ranks every scored frame: give the budgets with -k, e.g. -k 8,32")
        return parse_ks(ks)
    if ks is None:
        return (longest,)
    values = parse_ks(ks)
    if len(values) != 1 or values[0] < longest:
        raise InvalidArgumentError(
            f"a {layout} file holds one budget (its entries have up to {longest} frames, in no ranked order), "
            f"so -k can only be one value of at least {longest}, got {','.join(map(str, values))}"
        )
    return values


def import_selections(
    path: str | Path,
    layout: str,
    manifest: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    ks: str | Sequence[int] | None = None,
    cache: bool | str | Path = True,
    progress: bool = False,
) -> ImportSummary:
    """Import a published selections file into the run ``out_dir`` (rules: the module docstring).

    Everything is read, matched and converted before ``out_dir`` is touched; a file not in
    ``layout``, a manifest that cannot be read, or a run folder of another manifest raise
    :class:`~framepick.errors.InvalidArgumentError` with nothing written.
    """
    from tqdm import tqdm

    from framepick import __version__
    from framepick.api import feature_cache
    from framepick.data.manifest import read_manifest
    from framepick.pipeline import open_video

    entries = read_published(path, layout)
    method = (name if name is not None else DEFAULT_NAMES[layout]).strip()
    if not method or "," in method or "=" in method:
        raise InvalidArgumentError(f"--name must be a non-empty method name without ',' or '=', got {name!r}")
    k_values = resolve_ks(layout, entries, ks)
    manifest_path = Path(manifest).resolve()
    loaded = read_manifest(manifest_path, require_videos=False)
    if loaded.malformed:
        number, why = loaded.malformed[0]
        logger.warning("manifest %s: %d malformed row(s) left out (first: line %s: %s)", manifest, len(loaded.malformed), number, why)
    samples = loaded.samples
    if not samples:
        raise InvalidArgumentError(f"manifest {str(manifest)!r} holds no samples")
    out = Path(out_dir)
    old_config, done = _existing_run(out, manifest_path, method)

    summary = ImportSummary(out, method, layout, k_values, entries=len(entries))
    matcher = SampleMatcher(samples)
    taken: dict[str, str] = {}
    pairs: list[tuple[Sample, PublishedEntry]] = []
    for entry in entries:
        sample, why = matcher.match(entry)
        if sample is None:
            summary.unmatched.append((entry.where, why))
        elif sample.id in taken:
            summary.duplicates.append((entry.where, f"{sample.id} (already matched by {taken[sample.id]})"))
        else:
            taken[sample.id] = entry.where
            pairs.append((sample, entry))
    summary.samples_without_entry = len(samples) - len(pairs)

    store = feature_cache(cache)
    new_records: list[dict[str, Any]] = []
    for sample, entry in tqdm(pairs, desc="import", unit="question", disable=not progress):
        try:
            index = open_video(sample.video, store)
            fps = float(index.info.fps)
            candidates = candidate_count(layout, entry, index.num_frames, fps)
            converted = [(k, convert_frames(entry, index.num_frames, fps, k)) for k in k_values]
        except FramepickError as exc:
            summary.skipped.append((sample.id, f"{exc} ({entry.where})"))
            continue
        summary.imported += 1
        summary.clipped_frames += max(c.clipped for _, c in converted)
        summary.repeated_frames += max(c.repeated for _, c in converted)
        for k, frames in converted:
            if (sample.id, method, k, QUERY) in done:
                summary.already_done += 1
            else:
                new_records.append(_record(sample, method, k, frames, index, candidates))
    for label, items in (("unmatched", summary.unmatched), ("duplicate", summary.duplicates), ("skipped", summary.skipped)):
        for where, why in items[:5]:
            logger.info("%s: %s: %s", label, where, why)
    if not summary.imported:
        first = (summary.unmatched or summary.skipped or summary.duplicates or [("", "the file has no entries")])[0]
        raise InvalidArgumentError(
            f"no entry of {str(path)!r} could be imported ({len(summary.unmatched)} unmatched, "
            f"{len(summary.skipped)} skipped, {len(summary.duplicates)} duplicate; first: {first[0]}: {first[1]}); nothing written"
        )
    summary.written = len(new_records)
    provenance = {
        "method": method,
        "format": layout,
        "file": str(Path(path).resolve()),
        "sha256": _sha256(Path(path)),
        "ks": list(k_values),
        "entries": summary.entries,
        "imported": summary.imported,
        "unmatched": len(summary.unmatched),
        "duplicates": len(summary.duplicates),
        "skipped": len(summary.skipped),
        "framepick_version": __version__,
    }
    if new_records:
        _write(out, old_config, new_records, provenance, manifest_path, k_values, len(samples))
    return summary


def _existing_run(out: Path, manifest: Path, method: str) -> tuple[dict[str, Any] | None, set]:
    """(the run's config or None for a new run, the record keys it holds); refuses another manifest's
    run, a folder that is not a run, and a method name that one of framepick's own runs used."""
    if out.exists() and not out.is_dir():
        raise InvalidArgumentError(f"--out {str(out)!r} exists and is not a folder")
    records_path = out / rec.RECORDS_FILE
    config = rec.read_json(out / rec.CONFIG_FILE) if out.is_dir() else None
    if config is None:
        if records_path.is_file() and records_path.stat().st_size:
            raise InvalidArgumentError(f"--out {str(out)!r} holds records but no config.json; use another --out")
        return None, set()
    recorded = config.get("manifest")
    if recorded is not None and Path(str(recorded)).resolve() != manifest:
        raise InvalidArgumentError(
            f"--out {str(out)!r} holds a run of another manifest ({recorded!r}, now {str(manifest)!r}); use another --out"
        )
    imported = {str(item.get("method")) for item in _read_imports(out)}
    if method in (config.get("methods") or []) and method not in imported:
        raise InvalidArgumentError(
            f"--out {str(out)!r} already has framepick's own method {method!r}; give the import another --name"
        )
    rec.repair_jsonl(records_path)
    return config, rec.keys_done(rec.read_jsonl(records_path))


def _read_imports(out: Path) -> list[dict[str, Any]]:
    from framepick import jsonio

    path = out / IMPORTS_FILE
    if not path.is_file():
        return []
    value = jsonio.read_json(path)
    if not isinstance(value, list):
        raise InvalidArgumentError(f"{str(path)!r} does not hold a JSON list")
    return [item for item in value if isinstance(item, dict)]


def _write(
    out: Path,
    old_config: dict[str, Any] | None,
    new_records: list[dict[str, Any]],
    provenance: dict[str, Any],
    manifest: Path,
    ks: tuple[int, ...],
    samples: int,
) -> None:
    import json

    from framepick import __version__
    from framepick.export import write_json

    if old_config is None:
        lines = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in new_records)
        config = {
            "manifest": str(manifest),
            "benchmark": None,
            "methods": [provenance["method"]],
            "ks": list(ks),
            "queries": [QUERY],
            "samples": samples,
            "imported_only": True,
            "framepick_version": __version__,
        }
        _write_new_run(out, {rec.CONFIG_FILE: json.dumps(config, indent=2) + "\n", rec.RECORDS_FILE: lines,
                             IMPORTS_FILE: json.dumps([provenance], indent=2) + "\n"})
        return
    config = dict(old_config)
    config["methods"] = list(dict.fromkeys([*(config.get("methods") or []), provenance["method"]]))
    config["ks"] = list(dict.fromkeys([*(config.get("ks") or []), *ks]))
    config["queries"] = list(dict.fromkeys([*(config.get("queries") or []), QUERY]))
    # Appended, as eval appends (its torn last line was cut when the run was read): a file swapped
    # in whole would leave an eval still writing into this folder writing into the old one, lost.
    # Records first, then the provenance, then the config: a kill between them leaves a run whose
    # rerun skips the records already there and is not mistaken for framepick's own method.
    with rec.JsonlAppender(out / rec.RECORDS_FILE) as records:
        for record in new_records:
            records.append(record)
    write_json(out / IMPORTS_FILE, [*_read_imports(out), provenance])
    write_json(out / rec.CONFIG_FILE, config)


def _write_new_run(out: Path, files: dict[str, str]) -> None:
    """Build the run in a folder beside ``out`` and rename it into place: all of it or nothing."""
    from framepick.export import StagedOutputs

    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidArgumentError(f"--out {str(out)!r} cannot be created ({exc.strerror or exc})") from None
    with StagedOutputs() as staged:
        staged.write_folder(out, files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
