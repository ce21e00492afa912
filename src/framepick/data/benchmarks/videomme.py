"""Video-MME (Fu et al. 2024): 900 videos, 2,700 four-option questions, short/medium/long.

Format, as published by the authors:

- Hugging Face ``lmms-lab/Video-MME``, ``videomme/test-00000-of-00001.parquet`` (dataset card:
  https://huggingface.co/datasets/lmms-lab/Video-MME), one row per question with ``video_id``
  ("001"), ``duration`` ("short" | "medium" | "long"), ``domain``, ``sub_category``, ``url``,
  ``videoID`` (the YouTube id that names the file, ``data/{videoID}.mp4``), ``question_id``
  ("001-1"), ``task_type``, ``question``, ``options`` (["A. ...", "B. ...", ...]) and ``answer``
  ("A"). lmms-eval's ``tasks/videomme/utils.py`` reads the same fields and looks the video up as
  ``data/{videoID}.mp4`` (or ``.MP4`` / ``.mkv``).
- The authors' GitHub (https://github.com/BradyFU/Video-MME, ``evaluation/output_test_template.json``)
  uses a nested JSON form: one object per video (``video_id``, ``duration``, ``domain``,
  ``sub_category``) holding a ``questions`` list of (``question_id``, ``task_type``, ``question``,
  ``options``, ``answer``).

Both are read: a ``.parquet`` file, the rows as a
JSON array or JSON Lines (e.g. the parquet exported with ``datasets``' ``to_json``), and the
nested form. Video-MME gives no per-question time spans and no duration in seconds, only the
short/medium/long bucket, which becomes ``duration_bucket``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from framepick.data.benchmarks._loader import BenchmarkLoader, Draft
from framepick.data.benchmarks._options import clean_options, letter_from_letter
from framepick.data.benchmarks._readers import pick_extra, read_records, require_str
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.registry import register_benchmark

BUCKETS = ("short", "medium", "long")


@register_benchmark("videomme")
class VideoMME(BenchmarkLoader):
    """Video-MME: parquet / JSON rows or the nested per-video JSON; videos {videoID}.mp4."""

    name = "videomme"
    sources = (
        "https://huggingface.co/datasets/lmms-lab/Video-MME",
        "https://github.com/BradyFU/Video-MME (evaluation/output_test_template.json)",
        "https://github.com/EvolvingLMMs-Lab/lmms-eval (lmms_eval/tasks/videomme/utils.py)",
    )

    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        for where, row in read_records(path, report):
            if isinstance(row, dict) and isinstance(row.get("questions"), list):
                # Nested form: flatten, the video's fields going with each question.
                video = {k: v for k, v in row.items() if k != "questions"}
                for number, question in enumerate(row["questions"]):
                    merged = {**video, **question} if isinstance(question, dict) else question
                    yield f"{where} question {number}", merged
            else:
                yield where, row

    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator[Draft]:
        if not isinstance(row, dict):
            raise RowError(f"a row must be an object, got {type(row).__name__}")
        question_id = require_str(row, "question_id")
        options = clean_options(row.get("options"))
        answer = row.get("answer")
        letter = None if answer is None or answer == "" else letter_from_letter(answer, len(options))
        bucket = row.get("duration")
        if isinstance(bucket, str) and bucket.strip().lower() in BUCKETS:
            bucket = bucket.strip().lower()
        elif bucket is not None:
            report.warnings.append((where, f"duration {bucket!r} is not short/medium/long; bucket left empty"))
            bucket = None
        names = []
        for key in ("videoID", "video_id"):  # the file is named by videoID; the nested form has only video_id
            value = row.get(key)
            if isinstance(value, (str, int)) and str(value).strip():
                names.append(str(value).strip())
        if not names:
            raise RowError("missing field 'videoID' / 'video_id'")
        yield Draft(
            where=where,
            id=f"videomme:{question_id}",
            video_names=tuple(dict.fromkeys(names)),
            question=require_str(row, "question"),
            options=options,
            answer=letter,
            task_type=row.get("task_type") if isinstance(row.get("task_type"), str) else None,
            duration_bucket=bucket,
            extra=pick_extra(row, ("question_id", "video_id", "videoID", "domain", "sub_category", "url")),
            prefer_dirs=("data",),
        )
