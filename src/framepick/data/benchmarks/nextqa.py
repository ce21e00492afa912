"""NExT-QA (Xiao et al. 2021), multiple choice: causal / temporal / descriptive questions on VidOR videos.

Format, as published by the authors (https://github.com/doc-doc/NExT-QA, ``dataset/nextqa/``):

- ``train.csv`` / ``val.csv`` / ``test.csv`` with the header
  ``video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4``: ``answer`` is the
  0-based index of the correct option among ``a0`` .. ``a4``; ``qid`` numbers the questions of one
  video, so a question is ``{video}_{qid}`` (as in the authors' ``eval_mc.py``); ``type`` is
  CW / CH (causal why / how), TN / TC / TP (temporal next / current / previous), DC / DL / DO
  (descriptive count / location / other).
- ``map_vid_vidorID.json``: ``{video: "0101/2909445186"}``, the video's path (without extension)
  in the released ``NExTVideo`` folder.

The map is read from beside the CSV unless given (``video_map`` / ``--video-map``); without one,
a video is looked for as ``{video}.mp4`` in the root or one folder below (lmms-eval's flat
``NExTVideo/{video}.mp4`` copy is found this way too). The task type is the
``type`` code, with TP folded into TN as ``eval_mc.py`` does (the original code stays in
``extra["type"]``). ``frame_count``, ``width`` and ``height`` are kept in ``extra``; the CSV gives
no frame rate, so ``duration_seconds`` stays empty. NExT-QA has no length classes or time spans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from framepick.data.benchmarks._loader import BenchmarkLoader, Draft
from framepick.data.benchmarks._options import clean_options, letter_from_index
from framepick.data.benchmarks._readers import read_csv, read_side_json, require_str
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.registry import register_benchmark

MAP_FILE = "map_vid_vidorID.json"
COLUMNS = ("video", "question", "answer", "qid", "type", "a0", "a1")


@register_benchmark("nextqa")
class NExTQA(BenchmarkLoader):
    """NExT-QA multiple choice: {train,val,test}.csv (answer = index) + map_vid_vidorID.json."""

    name = "nextqa"
    sources = (
        "https://github.com/doc-doc/NExT-QA (dataset/nextqa/*.csv, map_vid_vidorID.json, eval_mc.py)",
        "https://github.com/EvolvingLMMs-Lab/lmms-eval (lmms_eval/tasks/nextqa/utils.py)",
    )

    def __init__(self, *, video_map: str | Path | None = None, **kwargs: Any) -> None:
        """``video_map``: the ``{video: relative path}`` file; default ``map_vid_vidorID.json`` beside the CSV."""
        super().__init__(**kwargs)
        self.video_map = None if video_map is None else Path(video_map)
        self._map: dict[str, str] = {}

    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        self._map = self._read_map(path)
        yield from read_csv(path, COLUMNS)

    def _read_map(self, csv_path: Path) -> dict[str, str]:
        found = read_side_json(self.video_map, csv_path.parent / MAP_FILE, "video map", "{video: path}")
        return {key: str(value) for key, value in found.items()}

    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator[Draft]:
        if row.get(None):  # csv.DictReader files surplus cells under None
            raise RowError(f"{len(row[None])} more cells than the header has columns")
        video = require_str(row, "video")
        qid = require_str(row, "qid")
        raw = [row.get(f"a{i}") for i in range(26) if f"a{i}" in row]
        while raw and (raw[-1] is None or not str(raw[-1]).strip()):
            raw.pop()  # a CSV with fewer options leaves trailing cells empty
        options = clean_options(raw)
        answer = row.get("answer")
        letter = None if answer is None or not str(answer).strip() else letter_from_index(answer, len(options))
        code = (row.get("type") or "").strip() or None
        names = [self._map[video]] if video in self._map else []
        names.append(video)
        extra: dict[str, Any] = {"video": video, "qid": qid}
        if code:
            extra["type"] = code
        for key in ("frame_count", "width", "height"):
            value = (row.get(key) or "").strip()
            if value.isdigit():
                extra[key] = int(value)
        yield Draft(
            where=where,
            id=f"nextqa:{video}_{qid}",
            video_names=tuple(dict.fromkeys(names)),
            question=require_str(row, "question"),
            options=options,
            answer=letter,
            task_type="TN" if code == "TP" else code,
            extra=extra,
        )
