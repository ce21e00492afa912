"""Helpers for the proxy's tests: videos under a root, an in-process proxy on localhost, a client."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from videogen import BARCODE_ROWS, BLUE, GREY, RED, write_video

from framepick.answer.prompt import load_template
from framepick.encode.base import Encoder, l2_normalize
from framepick.serve import FrameImages, FramePicker, Proxy, ProxyServer, RemoteVideos, ServerSettings, Upstream, VideoRoot

QUESTION = "When is the screen red?"


class ColourEncoder(Encoder):
    """Frames as their mean colour, questions as the colour words they name: a toy whose relevance
    is known, so a test can tell that the question chose the frames (the offline encoder cannot
    see a solid colour in a generated video)."""

    id = "test-colour-v1"
    dim = 4
    has_text = True
    input_size = 32
    WORDS = {"red": (1.0, -1.0, -1.0), "blue": (-1.0, -1.0, 1.0)}

    def encode_images(self, frames: np.ndarray, *, progress: bool = False) -> np.ndarray:
        body = frames[:, frames.shape[1] * BARCODE_ROWS // 96 + 2 :]  # below the bar code
        colour = body.reshape(len(frames), -1, 3).mean(axis=1) - 128.0
        # The constant 4th axis keeps grey frames (colour ~0) from pointing anywhere in particular.
        return l2_normalize(np.concatenate([colour, np.full((len(frames), 1), 40.0)], axis=1))

    def encode_text(self, texts) -> np.ndarray:
        rows = []
        for text in texts:
            words = [self.WORDS[w] for w in self.WORDS if w in text.lower()] or [(0.0, 0.0, 0.0)]
            rows.append([*np.sum(words, axis=0), 0.0])
        return l2_normalize(np.asarray(rows) + 1e-6)


def make_videos(root: Path) -> dict[str, Path]:
    """Three good videos (8 s at 10 fps, 160x96, each frame's index in a bar code) and two bad ones."""
    root.mkdir(parents=True, exist_ok=True)
    made = {
        "red.mp4": write_video(root / "red.mp4", [(3, GREY, "pattern"), (2, RED), (3, GREY, "pattern")]),
        "blue.mp4": write_video(root / "blue.mp4", [(4, GREY, "pattern"), (4, BLUE)]),
        "talks/both.mp4": write_video(root / "talks" / "both.mp4", [(2, RED), (4, GREY, "pattern"), (2, BLUE)]),
    }
    (root / "notavideo.mp4").write_bytes(b"this is not a video " * 500)
    whole = made["red.mp4"].read_bytes()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) // 3])
    return made


def chat_body(url: str, question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    content = [{"type": "video_url", "video_url": {"url": url}}, {"type": "text", "text": question}]
    return {"model": extra.pop("model", "tiny"), "messages": [{"role": "user", "content": content}], **extra}


def make_proxy(picker: FramePicker, root: Path | None, upstream_url: str, *, key: str | None = None,
               timeout: float = 30.0, remote: RemoteVideos | None = None, images: FrameImages | None = None) -> Proxy:
    """A proxy sending frames at 160 px (the test videos' own width: the pictures are not resized)."""
    return Proxy(
        picker, VideoRoot(root, allow_remote=remote is not None), Upstream(upstream_url, key, timeout),
        template=load_template("default"), images=images or FrameImages(160), remote=remote,
    )


@contextlib.contextmanager
def serving(proxy: Proxy, **settings: Any) -> Iterator[ProxyServer]:
    """The proxy on a free localhost port, in this process, until the block ends."""
    server = ProxyServer(proxy, ServerSettings(host="127.0.0.1", port=0, **settings))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def call(url: str, body: Any = None, *, method: str | None = None, headers: dict[str, str] | None = None,
         timeout: float = 60.0, raw: bytes | None = None) -> tuple[int, Any]:
    """(status, parsed JSON or the raw bytes when not JSON) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method or ("GET" if data is None else "POST"))
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload
