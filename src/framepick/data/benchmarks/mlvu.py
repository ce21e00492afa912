"""MLVU (Zhou et al. 2024): multi-task long video understanding, 3 minutes to 2 hours.

Format, as published by the authors (https://github.com/JUNJIE99/MLVU, ``data/*.json``, the same
files as Hugging Face ``MLVU/MVLU`` ``MLVU/json/``):

- The dev set is one JSON array per task: ``1_plotQA.json``, ``2_needle.json``, ``3_ego.json``,
  ``4_count.json``, ``5_order.json``, ``6_anomaly_reco.json``, ``7_topic_reasoning.json`` (multiple
  choice) and ``8_sub_scene.json``, ``9_summary.json`` (open-ended generation). A row holds
  ``video`` (file name), ``duration`` (seconds), ``question``, ``candidates`` (bare option texts),
  ``answer`` (the correct option's TEXT, not a letter) and ``question_type``. The authors'
  ``evaluation/multiple_choice_evaluation/choice_bench.py`` finds the letter by comparing
  ``answer`` with each candidate, and reads videos from one folder per task under ``video/``.
- The test set (``MLVU_Test``, read by ``evaluation_test/test_bench.py``) adds ``question_id``
  and has six options; its answers were released later.

``--annotations`` may be one task file or the folder holding them (every ``*.json`` in it, in name
order). Open-ended rows (no ``candidates``) are skipped and counted. Videos are looked for first
in a folder named after the task file ("2_needle/") or the task ("needle/", "findNeedle/"), at the
root or under ``video/``, then anywhere in the root or one level below. MLVU publishes no time spans, not even for the needle
task, so samples carry none; it has no length classes, so ``duration_bucket`` stays empty.

Dev rows have no id: a sample's id is ``mlvu:{task file stem}:{row index}``, stable for a given
release of the file; test rows use ``mlvu:{question_id}``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from framepick.data.benchmarks._loader import BenchmarkLoader, Draft
from framepick.data.benchmarks._options import clean_options, letter_from_letter, letter_from_text
from framepick.data.benchmarks._readers import optional_float, read_records, require_str
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.errors import InvalidArgumentError
from framepick.registry import register_benchmark


@register_benchmark("mlvu")
class MLVU(BenchmarkLoader):
    """MLVU: per-task JSON files (answer = option text) or their folder; videos per task folder."""

    name = "mlvu"
    accepts_directory = True
    sources = (
        "https://github.com/JUNJIE99/MLVU (data/*.json, "
        "evaluation/multiple_choice_evaluation/choice_bench.py, evaluation_test/test_bench.py)",
        "https://huggingface.co/datasets/MLVU/MVLU",
        "https://github.com/EvolvingLMMs-Lab/lmms-eval (lmms_eval/tasks/mlvu/utils.py)",
    )

    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        files = sorted(p for p in path.glob("*.json") if p.is_file()) if path.is_dir() else [path]
        if not files:
            raise InvalidArgumentError(f"annotations folder {str(path)!r} holds no MLVU *.json task files")
        for file in files:
            task_file = file.stem
            for where, row in read_records(file, report):
                yield f"{file.name} {where}", (task_file, where, row)

    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator[Draft]:
        task_file, position, data = row
        if not isinstance(data, dict):
            raise RowError(f"a row must be an object, got {type(data).__name__}")
        question = require_str(data, "question")
        if data.get("candidates") is None:
            report.skipped.append((where, "open-ended (no candidates)"))
            return
        options = clean_options(data["candidates"])
        answer = data.get("answer")
        letter = None
        if answer is not None and answer != "":
            try:
                letter = letter_from_text(answer, options)
            except RowError:
                # A letter ("B" / "(B)") is accepted too, for releases that give one.
                if not (isinstance(answer, str) and re.fullmatch(r"\(?[A-Za-z]\)?\.?", answer.strip())):
                    raise
                letter = letter_from_letter(answer, len(options))
        video = require_str(data, "video", "video_name")
        task = data.get("question_type") if isinstance(data.get("question_type"), str) else None
        task_short = re.sub(r"^\d+_", "", task_file)
        if "question_id" in data:
            sample_id = f"mlvu:{require_str(data, 'question_id')}"
        else:
            sample_id = f"mlvu:{task_file}:{position.split()[-1]}"
        extra = {"task_file": task_file}
        if "question_id" in data:
            extra["question_id"] = str(data["question_id"])
        yield Draft(
            where=where,
            id=sample_id,
            video_names=(video,),
            question=question,
            options=options,
            answer=letter,
            duration_seconds=optional_float(data.get("duration")),
            task_type=task or task_short,
            extra=extra,
            prefer_dirs=_task_folders(task_file, task_short, task),
        )


def _task_folders(*names: str | None) -> tuple[str, ...]:
    """Folders to try first: each task name, at the root and under ``video/`` (the HF layout)."""
    folders = [name for name in names if name]
    return tuple(dict.fromkeys(folders + [f"video/{name}" for name in folders]))
