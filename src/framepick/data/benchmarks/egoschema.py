"""EgoSchema (Mangalam et al. 2023): 5,031 five-option questions on 3-minute egocentric clips.

Format, as published by the authors (https://github.com/egoschema/EgoSchema):

- ``questions.json``: a JSON array, one object per question: ``q_uid`` (also the video's file
  name, ``videos/{q_uid}.mp4``), ``google_drive_id``, ``question``, ``option 0`` .. ``option 4``
  (read this way by the authors' ``benchmarking/*/run_*.py``).
- ``subset_answers.json``: ``{q_uid: correct option index 0-4}`` for the 500-question public
  subset only; the other answers are withheld (scored on Kaggle).

Answers come from ``subset_answers.json``: by default the one next to ``questions.json``, or the
file given as ``answers`` (``--answers`` on the command line). A row's own ``answer`` /
``correct_answer`` (index or letter) is used when present. Questions without a public answer are
skipped and counted, unless unanswered rows are asked for (then their answer is None).
lmms-eval's ``lmms-lab/egoschema`` rows (``video_idx``, ``question``, ``option`` = ["A. ...", ...],
``answer``) are read too. EgoSchema has no task types, length classes or time spans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from framepick.data.benchmarks._loader import BenchmarkLoader, Draft
from framepick.data.benchmarks._options import clean_options, letter_from_index, letter_from_letter
from framepick.data.benchmarks._readers import read_records, read_side_json, require_str
from framepick.data.benchmarks._report import LoadReport, RowError
from framepick.registry import register_benchmark

ANSWERS_FILE = "subset_answers.json"


@register_benchmark("egoschema")
class EgoSchema(BenchmarkLoader):
    """EgoSchema: questions.json + subset_answers.json (500 public answers); videos {q_uid}.mp4."""

    name = "egoschema"
    sources = (
        "https://github.com/egoschema/EgoSchema (questions.json, subset_answers.json, benchmarking/*/run_*.py)",
        "https://github.com/EvolvingLMMs-Lab/lmms-eval (lmms_eval/tasks/egoschema/utils.py)",
    )

    def __init__(self, *, answers: str | Path | None = None, **kwargs: Any) -> None:
        """``answers``: the ``{q_uid: index}`` file; default ``subset_answers.json`` beside the questions."""
        super().__init__(**kwargs)
        self.answers = None if answers is None else Path(answers)
        self._answer_map: dict[str, Any] = {}

    def _rows(self, path: Path, report: LoadReport) -> Iterator[tuple[str, Any]]:
        self._answer_map = self._read_answers(path)
        yield from read_records(path, report)

    def _read_answers(self, questions: Path) -> dict[str, Any]:
        return read_side_json(self.answers, questions.parent / ANSWERS_FILE, "answers", "{q_uid: option index}")

    def _parse(self, row: Any, where: str, report: LoadReport) -> Iterator[Draft]:
        if not isinstance(row, dict):
            raise RowError(f"a row must be an object, got {type(row).__name__}")
        uid = require_str(row, "q_uid", "video_idx")
        if isinstance(row.get("option"), list):
            options = clean_options(row["option"])
        else:
            raw = [row.get(f"option {i}") for i in range(26) if f"option {i}" in row]
            if not raw:
                raise RowError("missing fields 'option 0'..'option 4'")
            options = clean_options(raw)
        answer = row.get("correct_answer", row.get("answer"))
        if answer is None or answer == "":
            answer = self._answer_map.get(uid)
        letter = None
        if answer is not None and answer != "":
            if isinstance(answer, str) and not answer.strip().isdigit():
                letter = letter_from_letter(answer, len(options))
            else:
                letter = letter_from_index(answer, len(options))
        extra = {"q_uid": uid}
        if isinstance(row.get("google_drive_id"), str):
            extra["google_drive_id"] = row["google_drive_id"]
        yield Draft(
            where=where,
            id=f"egoschema:{uid}",
            video_names=(uid,),
            question=require_str(row, "question"),
            options=options,
            answer=letter,
            extra=extra,
            prefer_dirs=("videos",),
        )
