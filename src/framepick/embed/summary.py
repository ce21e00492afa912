"""What an embed run did: videos embedded, found cached, failed (and why), and where time went."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EmbedSummary:
    """Counts and stage times of one embed run; ``failed`` holds (video, one-line reason)."""

    videos: int = 0
    embedded: int = 0
    """Videos whose missing entries were made by this run."""
    cached: int = 0
    """Videos whose index and every entry were already cached: skipped."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    frames: int = 0
    """Frames decoded and embedded."""
    probe_seconds: float = 0.0
    decode_seconds: float = 0.0
    encode_seconds: float = 0.0
    """Stage times summed over videos; with overlap (or many workers) they add up to more than ``seconds``."""
    seconds: float = 0.0
    """Wall time of the run."""

    def line(self) -> str:
        """One line for the end of a run."""
        text = (
            f"{self.videos} videos: {self.embedded} embedded, {self.cached} already cached, {len(self.failed)} failed; "
            f"{self.frames} frames in {self.seconds:.1f} s (decode {self.decode_seconds:.1f} s, "
            f"encode {self.encode_seconds:.1f} s)"
        )
        return text
