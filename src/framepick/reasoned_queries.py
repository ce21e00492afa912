"""MSJoE's reasoned queries: an MLLM writes up to four visually grounded queries for a question.

Paper 004 (MSJoE): before any frame is chosen, the MLLM "reasons out several queries, which
describe diverse visual perspectives relevant to the question" (up to four); a frozen CLIP model
scores every candidate frame against each, and the 1-D U-Net sampler
(:mod:`framepick.policies.msjoe`) reads that queries x frames similarity matrix. Without a model,
framepick's rows are the option-derived texts (``"question option"``,
:func:`framepick.pipeline.embed_options`); with ``--query-model SPEC`` they are the model's queries.
The sampler's four order-free channels (question, max and mean over the rows, indicator) do not
change: only what the rows are.

Choices the paper (as we have it) leaves open, made here:

- **What the model sees.** The question, its options (when it has them: they name what must be
  told apart, which is what a frame must show), and ``preview`` frames (default 8) evenly spaced
  over the candidate grid. The paper ablates "preview frames", so its query reasoner looks at a
  few frames of the video before it writes queries: they let it name what the video shows (a
  kitchen, a lecture slide) rather than guess. ``preview=0`` asks from the text alone.
- **The prompt** (:data:`INSTRUCTION`) asks for a JSON list of at most four short strings, each
  something visible in one frame (objects, people, actions, places, on-screen text), phrased
  for an image-text retrieval model, from different visual perspectives.
- **The parser** (:func:`parse_queries`) is strict about content and tolerant about wrapping: a
  Markdown code fence and prose around the list are ignored, ``{"queries": [...]}`` is read too;
  anything that is not a list of non-empty strings of at most :data:`MAX_QUERY_CHARS` characters
  is refused. Repeats (ignoring case) are dropped; beyond four, the first four are kept.
- **When the reply cannot be used** (an unparseable or empty reply, a server error) the rows are
  the option-derived texts, exactly what ``msjoe`` reads without a model, and the selection's
  ``params`` say so: ``query_source`` is ``options`` and ``query_fallback`` the reason (with
  ``reasoned`` and ``None`` when the model's queries were used). Never silently.
- **The reply is cached** like an answer (framepick.answer.cache), keyed by the model's id and
  :data:`PROMPT_VERSION`, the question and the options, and, when frames are previewed, the
  video's content hash and the previewed frame indices: asking again costs no model call.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from framepick.answer.base import AnswererOptions, ChatModel
from framepick.answer.cache import AnswerCache, ChatReplies
from framepick.answer.prompt import ImagePart, Part, TextPart
from framepick.errors import FramepickError, InvalidArgumentError
from framepick.types import Query, Selection, option_letter

if TYPE_CHECKING:
    from framepick.encode.base import Encoder
    from framepick.pipeline import PreparedVideo
    from framepick.select.base import Selector

logger = logging.getLogger(__name__)

MAX_QUERIES = 4
"""The paper's "up to four" queries."""
MAX_QUERY_CHARS = 200
"""A longer "query" is prose, not a retrieval query: the reply is refused."""
DEFAULT_PREVIEW = 8
MAX_REPLY_TOKENS = 256
INSTRUCTION = (
    "Before answering a question about a long video, we must find the frames that matter. Write up to "
    f"{MAX_QUERIES} short search queries, each describing something that can be seen in a single frame of "
    "the video and helps answer the question (objects, people, actions, places, text on screen), each from "
    "a different visual perspective. An image-text retrieval model will match them against the frames. "
    'Reply with a JSON list of strings and nothing else, e.g. ["a man opening a red door", "a kitchen stove"].'
)
PROMPT_VERSION = "msjoe-queries-v1"
"""Names the prompt in the reply cache: change the words (or what the model sees), change this."""
QUERY_SOURCES = ("options", "reasoned")
"""What a checkpoint's and a selection's query rows were: the option-derived texts or an MLLM's queries."""

_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*(.*?)```", re.DOTALL)


def parse_queries(text: str) -> tuple[str, ...]:
    """The queries in a model's reply; :class:`InvalidArgumentError` naming why when there are none.

    Reads a JSON list of strings (or ``{"queries": [...]}``), inside a code fence or prose or not;
    keeps the first :data:`MAX_QUERIES` distinct ones.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgumentError("the reply is empty")
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = min((i for i in (body.find("["), body.find("{")) if i >= 0), default=-1)
    if start < 0:
        raise InvalidArgumentError("the reply holds no JSON list")
    try:
        value, _ = json.JSONDecoder().raw_decode(body[start:])
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError(f"the reply is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if isinstance(value, dict):
        value = value.get("queries")
    if not isinstance(value, list):
        raise InvalidArgumentError("the reply is not a JSON list of strings")
    queries: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise InvalidArgumentError(f"the reply's list holds a {type(item).__name__}, not only strings")
        query = " ".join(item.split())
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidArgumentError(f"a query is {len(query)} characters long (at most {MAX_QUERY_CHARS})")
        if query and query.casefold() not in {q.casefold() for q in queries}:
            queries.append(query)
    if not queries:
        raise InvalidArgumentError("the reply's list holds no query")
    return tuple(queries[:MAX_QUERIES])


def prompt_parts(question: str, options: Sequence[str], frames: np.ndarray | None = None,
                 timestamps: Sequence[float] | None = None) -> list[Part]:
    """The user turn: the preview frames (each after a ``Frame n (t s):`` line), the instruction,
    the question and its lettered options."""
    parts: list[Part] = []
    if frames is not None and len(frames):
        parts.append(TextPart("Frames from the video, evenly spaced:"))
        for number, frame in enumerate(frames):
            when = "" if timestamps is None else f" ({float(timestamps[number]):.1f} s)"
            parts.append(TextPart(f"Frame {number}{when}:"))
            parts.append(ImagePart(np.ascontiguousarray(frame), None))
    lines = [INSTRUCTION, f"Question: {question.strip()}"]
    lines += [f"{option_letter(i)}. {str(option).strip()}" for i, option in enumerate(options)]
    parts.append(TextPart("\n".join(lines)))
    return parts


def preview_positions(num_candidates: int, preview: int) -> np.ndarray:
    """Candidate positions of the preview frames: ``preview`` evenly spaced (all when fewer)."""
    if preview <= 0 or num_candidates <= 0:
        return np.zeros(0, dtype=np.int64)
    if num_candidates <= preview:
        return np.arange(num_candidates, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, num_candidates - 1, preview)).astype(np.int64))


def option_texts(question: str, options: Sequence[str]) -> tuple[str, ...]:
    """The rows without a model: the "question option" texts :func:`framepick.pipeline.embed_options` embeds."""
    from framepick.pipeline import OPTION_QUERY_TEMPLATE

    return tuple(OPTION_QUERY_TEMPLATE.format(question=question.strip(), option=str(o).strip()) for o in options)


@dataclass(frozen=True)
class QueryRows:
    """The texts of the sampler's query rows, where they came from, and the model's raw reply."""

    texts: tuple[str, ...]
    source: str
    """``reasoned`` (the model's queries) or ``options`` (the option-derived texts: the fallback)."""
    fallback: str | None = None
    """Why the model's queries were not used; None when they were."""
    reply: str | None = None
    cached: bool = False
    previewed: int = 0

    def params(self, model_id: str) -> dict[str, Any]:
        """What a selection's ``params`` say about its query rows."""
        return {"query_model": model_id, "query_source": self.source, "query_fallback": self.fallback,
                "queries": list(self.texts), "query_reply_cached": self.cached, "query_frames_shown": self.previewed}


class QueryReasoner:
    """Asks ``model`` for a question's queries (through ``cache``) and embeds them as the sampler's rows."""

    def __init__(self, model: ChatModel, *, preview: int = DEFAULT_PREVIEW, cache: AnswerCache | None = None) -> None:
        from framepick.answer import load_chat_model

        model = load_chat_model(model, flag="--query-model")
        if isinstance(preview, bool) or not isinstance(preview, int) or preview < 0:
            raise InvalidArgumentError(f"--query-frames must be an integer >= 0, got {preview!r}")
        self.model = model
        self.preview = preview
        self.replies = ChatReplies(model, cache)
        self.fallbacks = 0
        self.asked = 0

    @classmethod
    def load(cls, spec: str | ChatModel, options: AnswererOptions | None = None, *, preview: int = DEFAULT_PREVIEW,
             cache: bool | str | Path | None = True) -> QueryReasoner:
        """From an answerer spec (``hf:...``, ``openai:...``) or a built model; ``cache`` as in ``select``."""
        from framepick.answer import load_chat_model
        from framepick.api import feature_cache

        model = load_chat_model(spec, options, flag="--query-model")
        store = feature_cache(cache)
        return cls(model, preview=preview, cache=None if store is None else AnswerCache(store))

    def describe(self) -> dict[str, Any]:
        """What a checkpoint or a run records about the query rows it was made with."""
        return {"query_source": "reasoned", "query_model": self.model.id, "query_prompt": PROMPT_VERSION,
                "query_frames": self.preview}

    def rows(self, question: str, options: Sequence[str] = (), prepared: PreparedVideo | None = None) -> QueryRows:
        """The query rows for ``question``: the model's queries, or the option texts and the reason.

        The preview frames are decoded only when the reply is not cached; the cache names them by
        the candidates asked for."""
        self.asked += 1
        texts = tuple(str(o) for o in options)
        video_hash, wanted = "", np.zeros(0, dtype=np.int64)
        if prepared is not None and self.preview:
            video_hash = prepared.index.info.content_hash
            wanted = prepared.candidates.take(preview_positions(prepared.num_candidates, self.preview)).indices
        shown = [len(wanted)]

        def parts() -> list[Part]:
            if prepared is None or not len(wanted):
                return prompt_parts(question, texts)
            frames, timestamps = _preview_frames(prepared, wanted)
            shown[0] = len(frames)
            return prompt_parts(question, texts, frames, timestamps)

        reason = None
        reply = None
        cached = False
        try:
            reply, cached = self.replies.ask(
                PROMPT_VERSION, parts, MAX_REPLY_TOKENS, video_hash=video_hash, indices=wanted.tolist(),
                text=question.strip(), options=texts,
            )
        except FramepickError as exc:  # a server error, or preview frames that would not decode: said
            reason = f"the query model failed: {exc}"
        if reason is None:
            try:
                queries = parse_queries(reply or "")
            except InvalidArgumentError as exc:
                reason = f"the query model's reply has no usable queries ({exc})"
            else:
                return QueryRows(queries, "reasoned", None, reply, cached, shown[0])
        self.fallbacks += 1
        return QueryRows(option_texts(question, texts), "options", reason, reply, cached, shown[0])

    @staticmethod
    def embed(encoder: Encoder, rows: QueryRows, question: str, options: Sequence[str]) -> np.ndarray:
        """[m,D] the rows in the frames' space; the fallback's exactly as ``msjoe`` embeds options without a model."""
        from framepick import pipeline

        if rows.source == "options":
            if not (question.strip() and options):
                return np.zeros((0, encoder.dim), dtype=np.float32)
            return pipeline.embed_options(encoder, question, options)
        return np.asarray(encoder.encode_text(list(rows.texts)), dtype=np.float32)


def _preview_frames(prepared: PreparedVideo, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames, seconds) of the preview candidates at source ``indices``: those that decode."""
    from framepick.video.decode import VideoDecoder

    with VideoDecoder(prepared.index.info.path, index=prepared.index) as decoder:
        decoded = decoder.get_frames(indices)
    kept = np.searchsorted(prepared.indices, decoded.indices)
    return decoded.frames, np.asarray(prepared.timestamps)[kept]


def select_with_reasoned_queries(
    video: str | Path,
    question: str,
    k: int,
    *,
    query_model: str | ChatModel | QueryReasoner,
    options: Sequence[str] = (),
    method: str | Selector = "msjoe",
    method_params: Mapping[str, Any] | None = None,
    preview: int = DEFAULT_PREVIEW,
    encoder: str = "auto",
    candidates: int | None = 256,
    fps: float | None = None,
    max_candidates: int | None = None,
    keyframes_only: bool = False,
    seed: int = 0,
    answerer_options: AnswererOptions | None = None,
    cache: bool | str | Path = True,
    allow_damaged: bool = False,
    progress: bool = False,
) -> Selection:
    """MSJoE with reasoned queries: ``framepick select --method msjoe=CKPT --query-model SPEC``.

    ``method`` is ``msjoe=CKPT`` (any method that reads option rows) or a built selector;
    ``query_model`` an answerer spec naming an MLLM (``hf:...``, ``openai:...``), a built
    :class:`~framepick.answer.base.ChatModel` or a :class:`QueryReasoner`. The selection's
    ``params`` say where the rows came from (``query_source``: ``reasoned`` or ``options``), why the
    model's were not used (``query_fallback``) and the rows' texts (``queries``).
    """
    from framepick import pipeline
    from framepick.api import check_has_checkpoint, feature_cache, select_prepared
    from framepick.encode import load_encoder, resolve_auto
    from framepick.select import parse_method_spec
    from framepick.select.base import Selector, check_k
    from framepick.video.candidates import GridSpec

    k = check_k(k)
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError("reasoned queries need a non-empty text question")
    selector = method if isinstance(method, Selector) else parse_method_spec(method, method_params, flag="--method").build()
    if "options" not in selector.needs:
        raise InvalidArgumentError(
            f"--query-model writes the query rows msjoe reads; method {selector.name!r} reads none (use --method msjoe=CKPT)"
        )
    check_has_checkpoint(selector)
    options = tuple(str(o) for o in options)
    reasoner = query_model if isinstance(query_model, QueryReasoner) else QueryReasoner.load(
        query_model, answerer_options, preview=preview, cache=cache)
    if encoder == "auto":
        encoder = selector.auto_encoder() or resolve_auto(need_text=True)
    encoder_obj = load_encoder(encoder)
    grid = GridSpec(count=None if fps is not None else candidates, fps=fps, max_candidates=max_candidates,
                    keyframes_only=keyframes_only)
    prepared = pipeline.prepare_video(video, grid, [encoder_obj], scenes="scenes" in selector.needs,
                                      cache=feature_cache(cache), allow_damaged=allow_damaged, progress=progress)
    start = time.perf_counter()
    rows = reasoner.rows(question, options, prepared)
    model_seconds = time.perf_counter() - start
    if rows.fallback:
        logger.warning("query model %s: %s; msjoe reads the option-derived queries", reasoner.model.id, rows.fallback)
    warn_if_other_source(selector, rows.source)
    start = time.perf_counter()
    embedded = reasoner.embed(encoder_obj, rows, question, options)
    encode_seconds = time.perf_counter() - start
    selection = select_prepared(
        prepared, k, method=selector, encoder=encoder_obj, query=Query(text=question.strip(), options=options),
        option_embeddings=embedded, seed=seed,
    )
    timings = {**prepared.timings}
    for stage, seconds in selection.timings.items():
        timings[stage] = timings.get(stage, 0.0) + seconds
    timings["encode"] = timings.get("encode", 0.0) + encode_seconds
    timings["query_model"] = model_seconds
    return replace(selection, params={**selection.params, **rows.params(reasoner.model.id)}, timings=timings)


def trained_query_source(selector: Selector) -> str | None:
    """The query source a learned selector's checkpoint was trained with (``options`` when it does
    not say), or None for a selector that reads no option rows."""
    from framepick.policies.checkpoint import read_meta
    from framepick.select import learned_part

    learned = learned_part(selector)
    if learned is None or "options" not in selector.needs or learned.checkpoint is None:
        return None
    return read_meta(learned.checkpoint).get("query_source") or "options"


def warn_if_other_source(selector: Selector, used: str) -> None:
    """One warning line when a checkpoint trained on one query source is used with the other."""
    from framepick.select import learned_part

    trained = trained_query_source(selector)
    if trained is not None and trained != used:
        learned = learned_part(selector)
        how = "--query-model" if trained == "reasoned" else "no --query-model"
        logger.warning(
            "%s checkpoint %s was trained on %s query rows and is used with %s ones; for the rows it learned, use %s",
            learned.name, learned.checkpoint, trained, used, how,
        )
