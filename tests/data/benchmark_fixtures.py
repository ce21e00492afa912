"""Shared by the benchmark loader tests: where the fixture annotations are, and fake video trees.

The loaders only check that a video file exists (decoding is not their job), so the trees hold
empty files laid out the way each benchmark's archives unpack.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "benchmarks"

# benchmark -> files (relative to the videos root) that the fixture annotations should find.
VIDEO_TREES: dict[str, tuple[str, ...]] = {
    "videomme": ("data/fFjv93ACGo8.mp4", "data/LongMovie_1.MKV", "data/oneOption.mp4", "001.mp4", "002.mp4"),
    "longvideobench": ("videos/86CxyhFV9MI.mp4", "Zz9_short.webm"),
    "mlvu": ("2_needle/needle_32.mp4", "2_needle/needle_33.mp4", "video/count/count_126.mp4", "count_127.mp4"),
    "lvbench": ("vidAAAAAAAA.mp4", "downloads/vidBBBBBBBB.mkv"),
    "egoschema": (
        "videos/0074f737-11cb-497d-8d07-77c3a8127391.mp4",
        "videos/0a0b0c0d-0000-4000-8000-000000000003.mp4",
        "videos/0a0b0c0d-0000-4000-8000-000000000004.mp4",
    ),
    "nextqa": ("1006/4010069381.mp4", "1101/2925959064.mp4", "2574374895.avi", "2435100235.mp4"),
}


def make_video_tree(root: Path, benchmark: str) -> Path:
    for relative in VIDEO_TREES[benchmark]:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    return root
