"""A tiny clip library of generated clips and a small canonical format, so NIAH tests run in seconds."""

from __future__ import annotations

import json
from pathlib import Path

from videogen import write_video

from framepick.data.niah import NiahConfig
from framepick.data.niah_assemble import Canonical

COLOURS = {
    "red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220),
    "yellow": (230, 220, 30), "cyan": (30, 210, 210), "magenta": (210, 30, 200), "orange": (240, 140, 20),
}


def small_config(**overrides) -> NiahConfig:
    canonical = Canonical(width=96, height=64, fps=10, gop_frames=4)
    values = dict(
        min_minutes=0.2, max_minutes=0.4, needles=1, decoys=2, filler_count=2, filler_seconds=4.0,
        filler_piece_seconds=(1.0, 3.0), canonical=canonical,
    )
    values.update(overrides)
    return NiahConfig(**values)


def write_library(folder: Path, names=tuple(COLOURS), seconds: float = 3.0) -> Path:
    """Clips of one moving-pattern colour each (barcoded frames), and a library describing them."""
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for name in names:
        write_video(folder / f"{name}.mp4", [(seconds, COLOURS[name], "pattern")], fps=10, size=(96, 64), gop=10)
        clips.append({
            "id": f"clip-{name}",
            "path": f"{name}.mp4",  # relative to the library file
            "description": f"A {name} screen with a light bar sweeping across it.",
            "qa": [{"question": f"What colour is the screen that the {name}-test bar sweeps over?",
                    "answer": name.capitalize(),
                    "wrong": [c.capitalize() for c in COLOURS if c != name][:4]}],
            "tags": ["synthetic", name],
        })
    path = folder / "library.json"
    path.write_text(json.dumps({"version": 1, "clips": clips}), encoding="utf-8")
    return path
