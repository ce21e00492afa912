"""framepick: pick the K frames of a long video that a multimodal LLM needs for a question.

>>> import framepick
>>> selection = framepick.select_frames("video.mp4", "What does the chef add last?", k=8)
>>> selection.indices, selection.timestamps
>>> framepick.answer_question("video.mp4", "What does the chef add last?", ["salt", "oil"],
...     k=16, answerer="openai:Qwen/Qwen2.5-VL-7B-Instruct@http://localhost:8000/v1").answer

The names below load lazily, so ``import framepick`` stays fast and pulls in neither torch nor
PyAV until a function that needs them is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framepick.version import __version__

_EXPORTS = {
    "select_frames": "framepick.api",
    "select_from_scores": "framepick.api",
    "select_from_clips": "framepick.api",
    "select_from_features": "framepick.api",
    "video_scenes": "framepick.api",
    "list_methods": "framepick.api",
    "list_encoders": "framepick.api",
    "answer_question": "framepick.qa",
    "QAResult": "framepick.qa",
    "Selection": "framepick.types",
    "Candidates": "framepick.types",
    "Features": "framepick.types",
    "Query": "framepick.types",
    "Clip": "framepick.types",
    "Scene": "framepick.types",
    "VideoInfo": "framepick.types",
    "FramepickError": "framepick.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from framepick.api import (  # noqa: F401
        list_encoders,
        list_methods,
        select_frames,
        select_from_clips,
        select_from_features,
        select_from_scores,
        video_scenes,
    )
    from framepick.errors import FramepickError  # noqa: F401
    from framepick.qa import QAResult, answer_question  # noqa: F401
    from framepick.types import Candidates, Clip, Features, Query, Scene, Selection, VideoInfo  # noqa: F401


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'framepick' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
