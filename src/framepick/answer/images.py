"""Frames as the pictures an MLLM is sent: downscaled to a maximum side, JPEG-encoded.

Pillow releases the GIL while it resizes and encodes, so the frames of one question are encoded
on a few threads: at k = 32 that is most of what a client spends per question outside the model.
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np

DEFAULT_MAX_SIDE = 768
"""Longer side of a frame sent to a server, in pixels. 768 keeps a 16:9 frame at 768x432: about
420 visual tokens in Qwen2.5-VL (28-pixel patches after merging), so 32 frames fit a 16k context;
raise it (``max_side``) for text-heavy frames."""
JPEG_QUALITY = 90
_ENCODE_THREADS = 4


def fit_within(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(height, width) scaled down, aspect kept, so the longer side is at most ``max_side``."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit_frame(frame: np.ndarray, max_side: int) -> np.ndarray:
    """One [H,W,3] uint8 RGB frame fitted to ``max_side`` exactly as :func:`encode_jpeg` and the
    local models fit it (bicubic, ``reducing_gap`` 3); the frame itself when it already fits, so
    fitting twice changes nothing."""
    from PIL import Image

    height, width = fit_within(frame.shape[0], frame.shape[1], max_side)
    if (height, width) == frame.shape[:2]:
        return frame
    image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
    return np.asarray(image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0))


def encode_jpeg(frame: np.ndarray, max_side: int = DEFAULT_MAX_SIDE, quality: int = JPEG_QUALITY) -> bytes:
    """One [H,W,3] uint8 RGB frame as JPEG bytes, downscaled to ``max_side``."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(frame), mode="RGB")
    height, width = fit_within(frame.shape[0], frame.shape[1], max_side)
    if (height, width) != frame.shape[:2]:
        image = image.resize((width, height), Image.Resampling.BICUBIC, reducing_gap=3.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def jpeg_data_urls(frames: np.ndarray, max_side: int = DEFAULT_MAX_SIDE) -> list[str]:
    """Each frame of [n,H,W,3] as a ``data:image/jpeg;base64,...`` URL, in order."""

    def one(frame: np.ndarray) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(frame, max_side)).decode("ascii")

    if len(frames) <= 2:
        return [one(frame) for frame in frames]
    with ThreadPoolExecutor(max_workers=min(_ENCODE_THREADS, len(frames))) as pool:
        return list(pool.map(one, frames))
