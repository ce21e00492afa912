"""What every video is embedded with: the grid, the encoders, and how to treat damage."""

from __future__ import annotations

from dataclasses import dataclass

from framepick.encode.base import Encoder
from framepick.errors import InvalidArgumentError
from framepick.pipeline import ColorHistograms
from framepick.video.batches import DEFAULT_BATCH_FRAMES
from framepick.video.candidates import GridSpec

Extractor = Encoder | ColorHistograms


@dataclass(frozen=True)
class EmbedSpec:
    """The settings a worker needs to make the entries of one video; small and picklable.

    ``encoders`` are encoder specs (``offline``, ``clip:ID``), loaded once per process by each
    worker. Colour histograms are always made too: scene detection (eval, ``kframes``) reads them.
    """

    grid: GridSpec
    encoders: tuple[str, ...]
    allow_damaged: bool = False
    batch_size: int = DEFAULT_BATCH_FRAMES
    device: str | None = None
    """``--device`` for the workers' encoders (None: their default, a GPU when torch sees one)."""

    def __post_init__(self) -> None:
        if not self.encoders:
            raise InvalidArgumentError("give at least one --encoder to embed with")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InvalidArgumentError(f"--batch-size must be a positive integer, got {self.batch_size!r}")


def load_extractors(spec: EmbedSpec) -> dict[str, Extractor]:
    """The spec's encoders (loaded once per process) and the colour histograms, by id."""
    from framepick.device import use_device
    from framepick.encode import load_encoder

    if spec.device is not None:
        use_device(spec.device)
    extractors: dict[str, Extractor] = {}
    for name in spec.encoders:
        encoder = load_encoder(name)
        extractors.setdefault(encoder.id, encoder)
    histograms = ColorHistograms()
    extractors[histograms.id] = histograms
    return extractors
