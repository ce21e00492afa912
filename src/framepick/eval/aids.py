"""What the papers' MLLM stages and labels hand a selector during an evaluation.

Some methods read more than the query and the candidates:

- ``msjoe`` reads query rows: the option texts offline, or an MLLM's reasoned queries
  (``eval --query-model``, :class:`framepick.reasoned_queries.QueryReasoner`);
- ``kframes`` reads key clips: its own similarity clips offline, an MLLM clip predictor's
  (``eval --clip-model``, :class:`framepick.clip_model.ClipPredictor`), or the sample's PeakClips
  labels (``eval --oracle-clips``, ``extra.key_clips``), which measure its sampling alone;
- ``videoitg`` with ``instruction=auto`` spreads frames by the question's instruction type: the
  type an LLM gave the sample (``extra.instruction_type``, ``framepick data vidthinker --llm``)
  where the manifest has one, else the keyword rules (:func:`framepick.policies.instruction.classify_instruction`).

:class:`SelectionAids` asks each of these once per sample and query mode (every method and budget
of that sample shares the answer) and says in the selection's ``params`` where the rows or clips
came from, so a fallback is never silent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.types import Clip, Query, Sample, question_with_options

if TYPE_CHECKING:
    from framepick.clip_model import ClipPrediction, ClipPredictor
    from framepick.encode.base import Encoder
    from framepick.eval.queries import QueryEmbeddings
    from framepick.pipeline import PreparedVideo
    from framepick.reasoned_queries import QueryReasoner, QueryRows
    from framepick.select.base import Selector

logger = logging.getLogger(__name__)


@dataclass
class Aid:
    """What one selection gets besides the query: option rows, key clips, what to say, time spent."""

    option_embeddings: np.ndarray | None = None
    clips: tuple[Clip, ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    selector: Selector | None = None
    """The selector to use instead of the run's, for this sample (a labelled instruction type)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Time spent for this aid, by record timing key (``encode``, ``decode``, ``select``)."""


class SelectionAids:
    """The per-sample extras of a run; :meth:`start` each sample and mode, then :meth:`for_selector`."""

    def __init__(
        self,
        encoder: Encoder,
        embedded: QueryEmbeddings,
        *,
        query_reasoner: QueryReasoner | None = None,
        clip_predictor: ClipPredictor | None = None,
        oracle_clips: bool = False,
    ) -> None:
        if clip_predictor is not None and oracle_clips:
            raise InvalidArgumentError("--clip-model and --oracle-clips both give kframes its clips; choose one")
        self.encoder = encoder
        self.embedded = embedded
        self.query_reasoner = query_reasoner
        self.clip_predictor = clip_predictor
        self.oracle_clips = oracle_clips
        self._sample: Sample | None = None
        self._prepared: PreparedVideo | None = None
        self._query = Query()
        self._rows: tuple[QueryRows, np.ndarray] | None = None
        self._predicted: ClipPrediction | None = None
        self._labelled: tuple[Clip, ...] | None = None

    def describe(self) -> dict[str, Any]:
        """What ``config.json`` records about the aids; empty without any, so earlier runs resume."""
        said: dict[str, Any] = {}
        if self.query_reasoner is not None:
            said["query_model"] = self.query_reasoner.describe()
        if self.clip_predictor is not None:
            said["clip_model"] = self.clip_predictor.describe()
        if self.oracle_clips:
            said["oracle_clips"] = True
        return said

    def start(self, sample: Sample, prepared: PreparedVideo, query: Query) -> None:
        """Forget the previous sample's answers; nothing is asked until a selector needs it."""
        self._sample, self._prepared, self._query = sample, prepared, query
        self._rows = self._predicted = self._labelled = None

    def for_selector(self, selector: Selector) -> Aid:
        aid = Aid()
        if "options" in selector.needs:
            self._option_rows(aid)
        if selector.name == "kframes":
            self._key_clips(aid)
        if selector.name == "videoitg" and getattr(selector, "instruction", None) == "auto":
            self._instruction(selector, aid)
        return aid

    def _instruction(self, selector: Selector, aid: Aid) -> None:
        from framepick.policies.instruction import INSTRUCTION_TYPES

        labelled = self._sample.extra.get("instruction_type")
        if not self._query.text or labelled not in INSTRUCTION_TYPES:
            return  # the keyword rules, as without labels (a picture query is semantic)
        aid.selector = replace(selector, instruction=labelled)  # the checkpoint is read once per process
        aid.params["instruction_source"] = "labels"

    def _option_rows(self, aid: Aid) -> None:
        query = self._query
        start = time.perf_counter()
        if self.query_reasoner is None or not query.text:
            aid.option_embeddings = self.embedded.options(query)
        else:
            if self._rows is None:
                rows = self.query_reasoner.rows(query.text, query.options, self._prepared)
                if rows.fallback:
                    logger.warning("sample %s: %s; option-derived queries used", self._sample.id, rows.fallback)
                self._rows = (rows, self.query_reasoner.embed(self.encoder, rows, query.text, query.options))
            aid.option_embeddings = self._rows[1]
            aid.params.update(self._rows[0].params(self.query_reasoner.model.id))
        aid.seconds["encode"] = time.perf_counter() - start

    def _key_clips(self, aid: Aid) -> None:
        if self.oracle_clips:
            if self._labelled is None:
                self._labelled = _labelled_clips(self._sample, self._prepared)
            aid.clips = self._labelled or None
            aid.params["clip_source"] = "labels" if self._labelled else "similarity"
        elif self.clip_predictor is not None and self._query.text:
            if self._predicted is None:
                # The question as the clip model was trained to read it: with its lettered options.
                text = question_with_options(self._query.text, self._query.options)
                self._predicted, decode, model = self.clip_predictor.predict(self._prepared, text)
                if self._predicted.fallback:
                    logger.warning("sample %s: %s; similarity clips used", self._sample.id, self._predicted.fallback)
                aid.seconds.update(decode=decode, select=model)  # charged once, to the first record
            aid.clips = self._predicted.clips or None
            aid.params.update(self._predicted.params(self.clip_predictor.model.id))


def _labelled_clips(sample: Sample, prepared: PreparedVideo) -> tuple[Clip, ...]:
    """The sample's PeakClips key clips on the prepared candidates; () when it has none (or they are malformed)."""
    from framepick.data.key_clips import key_clips_on, read_key_clips

    try:
        return key_clips_on(prepared.candidates, read_key_clips(sample.extra))
    except InvalidArgumentError as exc:
        logger.warning("sample %s: its key_clips are unusable (%s); kframes' similarity clips used", sample.id, exc)
        return ()
