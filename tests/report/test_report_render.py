"""The HTML report renders in a real browser (headless Chromium), offline. Slow; needs chromium."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from framepick.eval.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH")
def test_report_screenshot(run_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    html = write_report(run_dir).html
    shot = tmp_path / "report.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1400,2400", html.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1400, 2400)
    # Something was drawn: the method colours of the charts (Okabe-Ito blue and orange) and the
    # red thumbnails of the s1 evidence are on the page, not just a blank or an error page.
    colours = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    assert (0, 114, 178) in colours and (230, 159, 0) in colours
    pixels = image.load()
    reds = sum(1 for x in range(0, 1400, 4) for y in range(0, 2400, 4) if pixels[x, y][0] > 190 and pixels[x, y][1] < 60)
    assert reds > 100
