"""Helpers for the embed tests: a manifest of real clips (plus a corrupt file), and proof that a
later command did no frame work."""

from __future__ import annotations

import json
from pathlib import Path

CLIPS = ("bigbuckbunny", "bikes", "carphone_distorted", "carphone_pristine")
OPTIONS = ["a rabbit", "bicycles", "a man in a car", "a bow tie"]


def write_manifest(folder: Path, videos: list[Path], *, corrupt: bool = False) -> Path:
    """One question per video; with ``corrupt`` a last row whose video is garbage with an MP4 header."""
    rows = [
        {"id": f"v{i}", "video": str(video), "question": "What is in the video?", "options": OPTIONS, "answer": "A"}
        for i, video in enumerate(videos)
    ]
    if corrupt:
        bad = folder / "corrupt.mp4"
        bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
        rows.append({"id": "corrupt", "video": str(bad), "question": "q?", "options": OPTIONS, "answer": "A"})
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return manifest


def sample_clips(sample_dir: Path) -> list[Path]:
    return [sample_dir / f"{name}.mp4" for name in CLIPS]


def forbid_frame_work(monkeypatch) -> None:
    """Any frame decoded or any frame embedded fails the test: the command must read the cache."""
    from framepick.encode.conse import ConseEncoder
    from framepick.pipeline import ColorHistograms
    from framepick.video.decode import VideoDecoder

    def fail(*args, **kwargs):
        raise AssertionError("frames were decoded or embedded, but the cache should have had them")

    monkeypatch.setattr(VideoDecoder, "get_frames", fail)
    monkeypatch.setattr(ConseEncoder, "encode_images", fail)
    monkeypatch.setattr(ColorHistograms, "encode_images", fail)


def read_records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines() if line.strip()]


def cache_names(root: Path) -> set[str]:
    """The entries of a feature cache folder (file names are hashes of the keys)."""
    return {str(p.relative_to(root)) for p in root.rglob("*.fpk")}


def video_entries(root: Path, videos: list[Path], extractor_ids: list[str], grid_key: str) -> dict:
    """(video name, extractor id) -> the arrays of its feature entry, for every one present."""
    from framepick.encode.cache import FeatureCache, feature_key
    from framepick.video.probe import content_hash

    cache = FeatureCache(root)
    found = {}
    for video in videos:
        for extractor_id in extractor_ids:
            arrays = cache.get(feature_key(content_hash(video), extractor_id, grid_key))
            if arrays is not None:
                found[(video.name, extractor_id)] = arrays
    return found
