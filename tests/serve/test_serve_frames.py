"""FrameImages: the chosen frames' pictures, made once and kept within a byte budget."""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image
from videogen import decode_barcode

from framepick.errors import VideoError
from framepick.serve import FrameImages, VideoRoot
from framepick.video.decode import VideoDecoder
from framepick.video.probe import probe


@pytest.fixture()
def decodes(monkeypatch) -> list[list[int]]:
    """The frame lists each decode was asked for."""
    calls: list[list[int]] = []
    real = VideoDecoder.get_frames

    def counting(self, indices, *args, **kwargs):
        calls.append(list(np.asarray(indices).tolist()))
        return real(self, indices, *args, **kwargs)

    monkeypatch.setattr(VideoDecoder, "get_frames", counting)
    return calls


def picture(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))


def test_pictures_are_the_frames_asked_for_and_only_missing_ones_are_decoded(videos_root, decodes) -> None:
    video = VideoRoot(videos_root).locate("red.mp4")
    index = probe(video.path)
    images = FrameImages(160)
    first = images.data_urls(video, index, [5, 30, 61])
    assert [decode_barcode(picture(url)) for url in first.urls] == [5, 30, 61]
    assert first.kept == 0 and first.decode > 0 and decodes == [[5, 30, 61]]
    second = images.data_urls(video, index, [30, 44, 61])
    assert second.kept == 2 and decodes[-1] == [44] and second.urls[0] == first.urls[1]
    assert [decode_barcode(picture(url)) for url in second.urls] == [30, 44, 61]
    small = FrameImages(80).data_urls(video, index, [30])  # another size is another picture
    assert picture(small.urls[0]).shape == (48, 80, 3) and small.kept == 0


def test_requests_together_on_one_video_decode_its_frames_once(videos_root, decodes) -> None:
    video = VideoRoot(videos_root).locate("blue.mp4")
    index = probe(video.path)
    images = FrameImages(160)
    gate = threading.Barrier(8)

    def ask(_: int):
        gate.wait()
        return images.data_urls(video, index, [3, 20, 50, 70])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(ask, range(8)))
    assert decodes == [[3, 20, 50, 70]]
    assert sorted(r.kept for r in results) == [0] + [4] * 7


def test_the_budget_drops_the_least_recently_used_pictures(videos_root, decodes) -> None:
    video = VideoRoot(videos_root).locate("red.mp4")
    index = probe(video.path)
    one = len(FrameImages(160).data_urls(video, index, [10]).urls[0])
    images = FrameImages(160, max_bytes=int(one * 2.5))  # room for two pictures
    images.data_urls(video, index, [10])
    images.data_urls(video, index, [11])
    images.data_urls(video, index, [10])  # 10 is now the most recent
    images.data_urls(video, index, [12])  # 11 goes
    decodes.clear()
    assert images.data_urls(video, index, [10, 12]).kept == 2 and not decodes
    assert images.data_urls(video, index, [11]).kept == 0 and decodes == [[11]]
    nothing = FrameImages(160, max_bytes=0)
    nothing.data_urls(video, index, [10])
    assert nothing.data_urls(video, index, [10]).kept == 0


def test_a_chosen_frame_that_does_not_decode_is_a_video_error_naming_it(videos_root, monkeypatch) -> None:
    video = VideoRoot(videos_root).locate("red.mp4")
    real = VideoDecoder.get_frames

    def damaged(self, indices, *args, **kwargs):  # frame 30 fails, as in a damaged file
        decoded = real(self, indices, *args, **kwargs)
        keep = decoded.candidates.indices != 30
        return replace(decoded, frames=decoded.frames[keep], candidates=decoded.candidates.take(keep),
                       failed=np.array([30]))

    monkeypatch.setattr(VideoDecoder, "get_frames", damaged)
    with pytest.raises(VideoError, match=r"'red.mp4': chosen frame\(s\) \[30\] do not decode"):
        FrameImages(160).data_urls(video, probe(video.path), [5, 30, 61])
