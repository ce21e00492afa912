"""What one ``framepick train kframes-mllm`` run is: its settings, its output folder, its record.

The output folder is written whole or not at all: the stage trains into a hidden sibling folder
(``.OUT.partial-PID``) that is renamed to ``OUT`` only once the model, the processor and the
run's record are in it. ``OUT`` must not exist yet, or be an empty folder.

Beside the model files the folder holds ``kframes_mllm.json`` (the stage, its settings, the
example counts, the loss of every logged step) and ``metrics.jsonl`` (TRL's log lines).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from framepick.errors import InvalidArgumentError
from framepick.export import write_json, write_text
from framepick.validation import check_int, check_number

RECORD_FILE = "kframes_mllm.json"
METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class RunSettings:
    """The settings every stage shares (the CLI's flags; defaults for one GPU and Qwen2.5-VL-3B/7B)."""

    steps: int = 100
    lr: float = 1e-5
    batch_size: int = 1
    """SFT: examples per device per step; GRPO: prompts per optimizer step (each with ``group_size`` completions)."""
    grad_accum: int = 1
    seed: int = 0
    candidates: int = 256
    shown: int = 64
    max_side: int = 336
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass (TRL's default: a 7B model's frames need it)."""
    progress: bool = False

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "candidates", "shown"):
            check_int(f"--{name.replace('_', '-')}", getattr(self, name), low=1)
        check_int("--max-side", self.max_side, low=16)  # here, once: not per sample as a skip reason
        check_number("--lr", self.lr, low=0.0, low_open=True)


@dataclass(frozen=True)
class GrpoSettings:
    """GRPO's own settings (paper 000, Sec. 3.3; TRL's GRPOConfig names in the comments)."""

    group_size: int = 8
    """G rollouts per question (``num_generations``)."""
    k: int = 8
    """Frames sampled from the predicted clips for the answerer."""
    tau: float = 1.0
    """Eq. 2's temperature (the paper gives none)."""
    sampling: str = "focused"
    max_completion_tokens: int = 256
    temperature: float = 1.0
    beta: float = 0.0
    """KL weight to the reference policy; Eq. 4 has no KL term, so 0 (TRL's default too)."""
    epsilon: float = 0.2
    """Eq. 4's clip range."""

    def __post_init__(self) -> None:
        check_int("--group-size", self.group_size, low=2)
        check_int("--train-k", self.k, low=1)
        check_int("--max-completion-tokens", self.max_completion_tokens, low=1)
        check_number("--tau", self.tau, low=0.0, low_open=True)
        check_number("--temperature", self.temperature, low=0.0, low_open=True)
        check_number("--beta", self.beta, low=0.0)
        check_number("--epsilon", self.epsilon, low=0.0, low_open=True)


def check_out(out: Path) -> None:
    """``OUT`` is new, or an empty folder; its parent exists."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidArgumentError(f"--out {str(out)!r} already exists and is not an empty folder; choose a new one")
    if not out.parent.is_dir():
        raise InvalidArgumentError(f"--out {str(out)!r}: its folder {str(out.parent)!r} does not exist")


class StagingFolder:
    """A hidden sibling of ``out`` to train into; :meth:`publish` renames it to ``out``, else it is removed."""

    def __init__(self, out: Path) -> None:
        check_out(out)
        self.out = out
        self.path = out.parent / f".{out.name}.partial-{os.getpid()}"
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir()
        self.trainer_dir = self.path / "_trainer"
        """TRL's ``output_dir`` (nothing is saved there; removed before publishing)."""

    def publish(self) -> None:
        shutil.rmtree(self.trainer_dir, ignore_errors=True)
        if self.out.is_dir():
            self.out.rmdir()  # empty, checked at the start
        os.replace(self.path, self.out)

    def __enter__(self) -> "StagingFolder":
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None:
            shutil.rmtree(self.path, ignore_errors=True)


def write_record(folder: Path, record: dict[str, Any], log_history: list[dict[str, Any]]) -> None:
    """``kframes_mllm.json`` and ``metrics.jsonl`` in ``folder`` (written whole)."""
    write_text(folder / METRICS_FILE, "".join(json.dumps(row) + "\n" for row in log_history))
    write_json(folder / RECORD_FILE, record)


def losses(log_history: list[dict[str, Any]]) -> list[float]:
    """The training loss of every logged step."""
    return [float(row["loss"]) for row in log_history if "loss" in row]


def settings_dict(*parts: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(asdict(part))
    return merged
