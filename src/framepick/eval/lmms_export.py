"""Export one method's selections (one k, one query mode) for the public lmms-eval keyframe readers.

lmms-eval itself samples frames uniformly; the keyframe-selection papers that evaluate with it
feed their own per-question frames through a small patch to its model loaders. Two layouts are in
public use, and ``layout`` picks one:

``"bolt"`` (default), read by BOLT's lmms-eval fork (github.com/sming256/lmms-eval, the submodule
of github.com/sming256/BOLT; ``lmms_eval/models/simple/llava_onevision.py`` ``load_video`` /
``sample_frames``, ``lmms_eval/models/simple/qwen2_5_vl.py``, ``lmms_eval/models/chat/qwen2_5_vl.py``
and ``qwen3_vl.py``; written by BOLT's ``select_frames.py``), passed as the model argument
``frame_indices_json=FILE``::

    {"<video name>": [{"question_id": "...", "question": "...", "frames": [12.0, 40.5, ...]}, ...]}

  The video name is the file name up to its first dot (the reader's
  ``path.split("/")[-1].split(".")[0]``); the reader picks the entry whose ``question`` occurs in
  the prompt, so ``question`` is the sample's question text verbatim. ``frames`` are seconds; the
  reader turns them into frame indices as ``round(seconds * video_fps)``, sorts and clips them, and
  the LLaVA-OneVision loader asserts that there are exactly ``max_frames_num`` of them (run
  lmms-eval with ``nframes`` / ``max_frames_num`` equal to k).

``"aks"``, read by AKS's lmms-eval patch (github.com/ncTimTang/AKS: ``evaluation/llava_vid.py``
``load_video_index`` and ``datasets/videomme/utils.py`` read ``doc["frame_idx"]``; the list is the
file ``frame_select.py`` writes, e.g. ``selected_frames/videomme/blip/selected_frames.json``, which
``evaluation/change_score.py`` copies into the task's annotation file by position)::

    [[29, 58, 116, ...], [0, 29, ...], ...]

  One list of sorted source-video frame indices per question, in the manifest's order (the order
  of the benchmark annotation it was built from); every manifest sample must have a selection.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal, Mapping

from framepick.errors import InvalidArgumentError
from framepick.eval.run_reader import RunData, read_manifest_samples, read_run
from framepick.export import write_text

logger = logging.getLogger(__name__)

Layout = Literal["bolt", "aks"]
LAYOUTS = ("bolt", "aks")


def lmms_video_name(video_path: str) -> str:
    """The key lmms-eval's keyframe readers look a video up by: the file name up to its first dot."""
    return str(video_path).replace("\\", "/").split("/")[-1].split(".")[0]


def _pick_records(run: RunData, method: str, k: int, query: str) -> dict[str, Mapping[str, Any]]:
    methods = run.methods
    if method not in methods:
        raise InvalidArgumentError(f"method {method!r} is not in run {str(run.path)!r}; it has: {', '.join(methods)}")
    of_method = [r for r in run.records if str(r.get("method")) == method]
    ks = sorted({int(r.get("k") or 0) for r in of_method})
    if k not in ks:
        raise InvalidArgumentError(f"k={k} was not run for method {method!r}; it has k in {ks}")
    modes = sorted({str(r.get("query") or "text") for r in of_method if int(r.get("k") or 0) == k})
    if query != "auto" and query not in modes:
        raise InvalidArgumentError(f"query mode {query!r} was not run for {method!r} k={k}; it has: {', '.join(modes)}")
    picked: dict[str, Mapping[str, Any]] = {}
    for record in of_method:
        mode = str(record.get("query") or "text")
        if int(record.get("k") or 0) != k or (query != "auto" and mode != query):
            continue
        sample_id = str(record["sample_id"])
        # auto is eval's rule: a sample's picture where it has one (an image record exists only
        # for such samples), else its question; otherwise a later line (a resumed run) wins.
        if query == "auto" and mode == "text" and str(picked.get(sample_id, {}).get("query")) == "image":
            continue
        picked[sample_id] = record
    return picked


def _frame_indices(record: Mapping[str, Any]) -> list[int]:
    return sorted({int(f["index"]) for f in record.get("frames") or [] if f.get("index") is not None})


def _frame_seconds(record: Mapping[str, Any], sample_id: str) -> list[float]:
    frames = sorted((f for f in record.get("frames") or [] if f.get("index") is not None), key=lambda f: int(f["index"]))
    if any(f.get("timestamp") is None for f in frames):
        raise InvalidArgumentError(f"sample {sample_id!r}: frames without timestamps cannot be exported as seconds")
    return [round(float(f["timestamp"]), 3) for f in frames]


def build_lmms_eval(
    run_dir: str | Path,
    *,
    method: str,
    k: int,
    query: str = "auto",
    layout: Layout = "bolt",
    manifest: str | Path | None = None,
) -> Any:
    """The JSON object of the chosen layout (see the module docstring) for one method, k and query."""
    if layout not in LAYOUTS:
        raise InvalidArgumentError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    run = read_run(run_dir)
    picked = _pick_records(run, method, int(k), query)
    samples = read_manifest_samples(run, manifest)
    if manifest is not None and not samples:
        raise InvalidArgumentError(f"manifest {str(manifest)!r} is missing or holds no samples")
    if layout == "aks":
        order = list(samples) if samples else run.sample_ids
        missing = [sid for sid in order if sid not in picked]
        if missing:
            raise InvalidArgumentError(
                f"the aks layout is matched by position, but {len(missing)} sample(s) have no {method} k={k} "
                f"{query} selection (first: {missing[0]!r})"
            )
        return [_frame_indices(picked[sid]) for sid in order]

    if not samples:
        raise InvalidArgumentError(
            "the bolt layout needs each sample's question text and video, read from the run's manifest "
            f"({run.config.get('manifest')!r} not found); pass --manifest"
        )
    videos = {sid: row.get("video") for (sid, _), row in run.timelines.items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for sample_id in run.sample_ids:
        if sample_id not in picked:
            continue
        sample = samples.get(sample_id)
        if sample is None:
            raise InvalidArgumentError(f"sample {sample_id!r} of the run is not in the manifest")
        video = sample.video or videos.get(sample_id)
        entry = {
            "question_id": str(sample.extra.get("question_id", sample_id)) if sample.extra else sample_id,
            "question": sample.question,
            "frames": _frame_seconds(picked[sample_id], sample_id),
        }
        out.setdefault(lmms_video_name(video), []).append(entry)
    return out


def write_lmms_eval(out_path: str | Path, run_dir: str | Path, **options: Any) -> int:
    """Write :func:`build_lmms_eval` to ``out_path`` atomically; returns the number of questions."""
    data = build_lmms_eval(run_dir, **options)
    write_text(Path(out_path), json.dumps(data) + "\n")
    return len(data) if isinstance(data, list) else sum(len(v) for v in data.values())
