"""What selection looks for in a sample: its question or its picture, embedded once per run.

``--query`` chooses: ``text`` (the question and its options), ``image`` (the sample's query
picture), ``both`` (each, as separate records) or ``auto`` (the picture where the sample has one,
as the manifest format says, else the question). Evaluation and training read samples the same
way through :func:`query_for_sample`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Query, Sample

if TYPE_CHECKING:
    from framepick.encode.base import Encoder

QUERY_MODES = ("text", "image")
"""The queries a record can have used."""
QUERY_CHOICES = ("auto", "text", "image", "both")
"""What ``--query`` accepts: ``auto`` (the default) is the picture where a sample has one, else the text."""


def parse_query_modes(mode: str) -> tuple[str, ...]:
    """'auto' | 'text' | 'image' | 'both' -> the query modes to evaluate."""
    if mode == "both":
        return QUERY_MODES
    if mode in QUERY_CHOICES:
        return (mode,)
    raise InvalidArgumentError(f"--query must be one of {', '.join(QUERY_CHOICES)}; got {mode!r}")


def query_used(sample: Sample, mode: str) -> str | None:
    """The query ``mode`` asks of ``sample`` ('text' or 'image'); None when it has no picture for 'image'.

    ``auto`` follows the manifest format: "when set, selection uses the picture instead of the
    question" (``framepick train`` builds its episodes the same way).
    """
    if mode == "auto":
        return "image" if sample.query_image else "text"
    if mode == "image" and not sample.query_image:
        return None
    return mode


def query_for_sample(sample: Sample, mode: str) -> Query:
    """The query a method gets for ``sample`` in query ``mode`` (``text``: question and options;
    ``image``: the picture; ``auto``: the picture where there is one, as :func:`query_used`)."""
    mode = query_used(sample, mode) or mode
    if mode == "image":
        from framepick.api import read_query_image

        return Query(image=read_query_image(Path(sample.query_image)))
    if not sample.question.strip():
        raise InvalidArgumentError(f"sample {sample.id!r} has an empty question")
    return Query(text=sample.question.strip(), options=sample.options)


class QueryEmbeddings:
    """Each distinct question, option list and query picture of a run, embedded once.

    Ten thousand rows asking one question of one video must not embed it ten thousand times. The
    embeddings are kept for the whole run, keyed by the encoder's id and the text (or the picture's
    resolved path); a row of [D] float32 per distinct query is small next to the features.
    """

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._queries: dict[tuple[str, str, str], np.ndarray] = {}
        self._options: dict[tuple[str, str, tuple[str, ...]], np.ndarray] = {}

    def query(self, sample: Sample, mode: str) -> tuple[Query, np.ndarray]:
        """The query ``sample`` asks in ``mode`` and its [Q,D] embedding.

        A picture already embedded is not read again: its query comes back without the pixels,
        which no selector reads once it has the embedding.
        """
        from framepick import pipeline

        if mode == "image":
            key = (self.encoder.id, "image", str(Path(sample.query_image).resolve()))
            if key in self._queries:
                return Query(), self._queries[key]
            query = query_for_sample(sample, mode)
        else:
            query = query_for_sample(sample, mode)
            key = (self.encoder.id, "text", query.text or "")
            if key in self._queries:
                return query, self._queries[key]
        self._queries[key] = pipeline.embed_query(self.encoder, query)
        return query, self._queries[key]

    def options(self, query: Query) -> np.ndarray | None:
        """[m,D] embeddings of the query's "question option" texts; None for a query without them."""
        from framepick import pipeline

        if not (query.text and query.text.strip() and query.options):
            return None
        key = (self.encoder.id, query.text, tuple(query.options))
        if key not in self._options:
            self._options[key] = pipeline.embed_options(self.encoder, query.text, query.options)
        return self._options[key]
