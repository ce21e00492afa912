"""LVBench (Wang et al. 2024): 1,549 questions on 103 videos of about an hour each.

Format, as published by the authors: ``video_info.meta.jsonl`` (Hugging Face ``THUDM/LVBench``,
read by https://github.com/THUDM/LVBench ``lvbench/metrics/compute_accuracy.py`` and
``scripts/save_video_txt.py``). One JSON object per line and per video:

- ``key``: the YouTube id; the authors' download script fetches ``youtube.com/watch?v={key}``, so
  videos are expected as ``{key}.mp4`` (or another extension) under the root or one folder below.
- ``type``: the video's category (kept in ``extra``), ``video_info``: ``duration_minutes``, ``fps``,
  ``resolution`` (the duration becomes ``duration_seconds``).
- ``qa``: a list of questions, each with ``uid`` (unique over the benchmark), ``question`` (the
  question, then one line per option: "(A) ...", "(B) ...", ...), ``answer`` (a letter),
  ``question_type`` (a list of capabilities: "entity recognition", "event understanding",
  "key information retrieval", "temporal grounding", "reasoning", "summarization") and
  ``time_reference`` ("mm:ss-mm:ss", the moment the answer rests on).

The options are split out of the question text (and their "(A) " prefixes dropped). The first
``question_type`` is the task type; the full list is kept in ``extra["question_types"]`` because
the official metric counts a question once per listed capability. ``time_reference`` becomes
``spans`` in seconds (minutes may exceed 59; "h:mm:ss" and several spans separated by "," are read
too); one that does not parse leaves the sample without spans and adds a report warning. LVBench
has no length classes, so ``duration_bucket`` stays empty.

The option split and the ``time_reference`` reading were checked against a VideoMind fork's
LVBench loader (https://github.com/cn-ryh/VideoMind, ``videomind/dataset/sub_classes/lvbench.py``);
no published grammar for ``time_reference`` was found, hence the lenient parser.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from framepick.data.benchmarks._loader import BenchmarkLoader, Draft
from framepick.data.benchmarks._options import clean_options, letter_from_letter
from framepick.data.benchmarks._readers import optional_float, read_records, require_str
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.data.benchmarks._times import parse_time_spans
from framepick.registry import register_benchmark

_OPTION_LINE = re.compile(r"^\s*\(([A-Za-z])\)\s*(.*)$")


@register_benchmark("lvbench")
class LVBench(BenchmarkLoader):
    """LVBench: video_info.meta.jsonl (per-video qa lists, time_reference spans); videos {key}.mp4."""

    name = "lvbench"
    sources = (
        "https://huggingface.co/datasets/THUDM/LVBench (video_info.meta.jsonl)",
        "https://github.com/THUDM/LVBench (lvbench/metrics/compute_accuracy.py, scripts/save_video_txt.py)",
        "https://github.com/cn-ryh/VideoMind (videomind/dataset/sub_classes/lvbench.py)",
    )

    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        for where, video in read_records(path, report):
            if not isinstance(video, dict):
                report.malformed.append((where, f"a line must be an object, got {type(video).__name__}"))
                continue
            qa = video.get("qa")
            if not isinstance(qa, list):
                report.malformed.append((where, "missing or non-list field 'qa'"))
                continue
            for number, question in enumerate(qa):
                yield f"{where} qa {number}", (video, question)

    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator[Draft]:
        video, qa = row
        if not isinstance(qa, dict):
            raise RowError(f"a qa entry must be an object, got {type(qa).__name__}")
        key = require_str(video, "key")
        question, options = split_question(require_str(qa, "question"))
        answer = qa.get("answer")
        letter = None if answer is None or answer == "" else letter_from_letter(answer, len(options))
        types = qa.get("question_type")
        if isinstance(types, str):
            types = [types]
        types = [t for t in types if isinstance(t, str) and t] if isinstance(types, list) else []
        spans: tuple[tuple[float, float], ...] = ()
        reference = qa.get("time_reference")
        if isinstance(reference, str) and reference.strip():
            try:
                spans = parse_time_spans(reference)
            except ValueError as exc:
                report.warnings.append((where, f"time_reference not used: {exc}"))
        elif reference not in (None, ""):
            report.warnings.append((where, f"time_reference {reference!r} is not a string"))
        info = video.get("video_info") if isinstance(video.get("video_info"), dict) else {}
        minutes = optional_float(info.get("duration_minutes"))
        extra: dict[str, Any] = {"key": key, "uid": require_str(qa, "uid")}
        if types:
            extra["question_types"] = types
        if isinstance(reference, str):
            extra["time_reference"] = reference
        if isinstance(video.get("type"), str):
            extra["video_type"] = video["type"]
        yield Draft(
            where=where,
            id=f"lvbench:{extra['uid']}",
            video_names=(key,),
            question=question,
            options=options,
            answer=letter,
            spans=spans,
            duration_seconds=None if minutes is None else minutes * 60.0,
            task_type=types[0] if types else None,
            extra=extra,
        )


def split_question(text: str) -> tuple[str, tuple[str, ...]]:
    """LVBench's "question\\n(A) ...\\n(B) ..." as (question, options without their prefixes).

    Options must run A, B, C, ... in order; a line that starts no option continues the one
    before it (or the question, before the first option).
    """
    question_lines: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        match = _OPTION_LINE.match(line)
        if match and match.group(1).upper() == chr(ord("A") + len(options)):
            options.append(match.group(2).strip())
        elif options:
            options[-1] = f"{options[-1]} {line.strip()}".strip()
        else:
            question_lines.append(line)
    question = "\n".join(question_lines).strip()
    if not question:
        raise RowError("question text holds no question before its options")
    if len(options) < 2:
        raise RowError("question text holds fewer than 2 options '(A) ...', '(B) ...'")
    return question, clean_options(options)
