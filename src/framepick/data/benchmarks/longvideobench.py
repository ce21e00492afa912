"""LongVideoBench (Wu et al. 2024): referring-reasoning questions on videos of 8 s to 1 h.

Format, as published by the authors:

- ``lvb_val.json`` / ``lvb_test_wo_gt.json`` in Hugging Face ``longvideobench/LongVideoBench``:
  a JSON array, one object per question, read by the authors' ``LongVideoBenchDataset``
  (https://github.com/longvideobench/LongVideoBench, ``longvideobench/longvideobench_dataset.py``):
  ``id``, ``video_path`` (file name under ``videos/``), ``question``, ``candidates`` (bare option
  texts), ``correct_choice`` (0-based index; absent in the test file), ``duration`` (seconds),
  ``subtitle_path``, ``starting_timestamp_for_subtitles``.
- The parquet / dataset-viewer form (https://huggingface.co/datasets/longvideobench/LongVideoBench-Meta
  card; lmms-eval ``tasks/longvideobench/utils.py``) has ``option0`` .. ``option4`` ("N/A" when
  unused) instead of ``candidates``, plus ``video_id``, ``duration_group`` (15 / 60 / 600 / 3600:
  the upper end of the length group in seconds), ``question_category`` and ``topic_category``.

Both are read (JSON array, JSON Lines, or parquet).
``duration_group`` becomes ``duration_bucket`` as its string ("600"), ``question_category`` the
task type. LongVideoBench's referred moments are given only in the question text, not as time
spans, so samples carry no spans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from framepick.data.benchmarks._loader import BenchmarkLoader, Draft
from framepick.data.benchmarks._options import clean_options, letter_from_index
from framepick.data.benchmarks._readers import optional_float, pick_extra, read_records, require_str
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.registry import register_benchmark

_UNUSED = {"N/A", "", None}


@register_benchmark("longvideobench")
class LongVideoBench(BenchmarkLoader):
    """LongVideoBench: lvb_val.json (candidates, correct_choice) or option0..4 rows; videos/{video_path}."""

    name = "longvideobench"
    sources = (
        "https://github.com/longvideobench/LongVideoBench (longvideobench/longvideobench_dataset.py)",
        "https://huggingface.co/datasets/longvideobench/LongVideoBench",
        "https://huggingface.co/datasets/longvideobench/LongVideoBench-Meta",
        "https://github.com/EvolvingLMMs-Lab/lmms-eval (lmms_eval/tasks/longvideobench/utils.py)",
    )

    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        yield from read_records(path, report)

    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator[Draft]:
        if not isinstance(row, dict):
            raise RowError(f"a row must be an object, got {type(row).__name__}")
        question_id = require_str(row, "id")
        if "candidates" in row:
            options = clean_options(row["candidates"])
        else:
            raw = [row.get(f"option{i}") for i in range(26) if f"option{i}" in row]
            if not raw:
                raise RowError("missing field 'candidates' (or 'option0'..'option4')")
            # Unused slots are "N/A"; they trail the real options, so indices stay valid.
            while raw and raw[-1] in _UNUSED:
                raw.pop()
            options = clean_options(raw)
        choice = row.get("correct_choice")
        answer = None if choice is None or choice == -1 else letter_from_index(choice, len(options))
        names = [row[key].strip() for key in ("video_path", "video_id") if isinstance(row.get(key), str) and row[key].strip()]
        if not names:
            raise RowError("missing field 'video_path' / 'video_id'")
        group = row.get("duration_group")
        category = row.get("question_category")
        yield Draft(
            where=where,
            id=f"longvideobench:{question_id}",
            video_names=tuple(dict.fromkeys(names)),
            question=require_str(row, "question"),
            options=options,
            answer=answer,
            duration_seconds=optional_float(row.get("duration")),
            task_type=category if isinstance(category, str) and category else None,
            duration_bucket=None if group is None or isinstance(group, bool) else str(group),
            extra=pick_extra(
                row,
                ("id", "video_id", "topic_category", "level", "subtitle_path", "starting_timestamp_for_subtitles"),
            ),
            prefer_dirs=("videos",),
        )
