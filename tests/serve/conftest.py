"""Fixtures of the proxy's tests: one videos root per run, a frame picker per test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from framepick.encode.cache import FeatureCache
from framepick.serve import FramePicker, PickSettings
from framepick.video.candidates import GridSpec


@pytest.fixture(scope="session")
def videos_root(tmp_path_factory) -> Path:
    from serve_support import make_videos

    root = tmp_path_factory.mktemp("served-videos")
    make_videos(root)
    return root


@pytest.fixture(scope="module")
def picker(tmp_path_factory) -> FramePicker:
    """topk, k = 4 of 32 candidates, the colour encoder; its own feature cache and prepared videos."""
    from serve_support import ColourEncoder

    cache = FeatureCache(tmp_path_factory.mktemp("serve-cache"))
    return FramePicker(PickSettings(method="topk", k=4, max_k=16, encoder=ColourEncoder(), grid=GridSpec(count=32), cache=cache))
