"""One progress bar over videos for an embed run, with its counts (new, cached, failed) beside it."""

from __future__ import annotations

from typing import Any

from framepick.embed.summary import EmbedSummary


class VideoBar:
    """A tqdm bar advanced once per finished video; a no-op when disabled."""

    def __init__(self, enabled: bool, summary: EmbedSummary) -> None:
        self.summary = summary
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=summary.videos, desc="embed", unit="video")

    def finished(self, number: int, error: str | None) -> None:
        if self._bar is None:
            return
        s = self.summary
        self._bar.update(1)
        self._bar.set_postfix_str(f"{s.embedded} new, {s.cached} cached, {len(s.failed)} failed", refresh=False)

    def __enter__(self) -> VideoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

