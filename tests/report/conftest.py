"""Fixtures for the report tests; the run directory is built by report_run.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_run import build_run_dir


@pytest.fixture
def run_dir(tmp_path: Path, segment_video: Path) -> Path:
    return build_run_dir(tmp_path, segment_video)
