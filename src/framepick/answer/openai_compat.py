"""``openai:MODEL@URL``: an MLLM behind any OpenAI-compatible chat-completions server.

vLLM, SGLang, llama.cpp's server, ``transformers serve`` and hosted APIs all speak it. One
request per question: a user message whose parts are, per frame, a text label with its time and
the frame as a JPEG data URL, then the question block (:mod:`framepick.answer.prompt`).

How the answer is read, and recorded in :attr:`Answer.source`:

- ``logprobs``: the request asks for ``logprobs`` with ``top_logprobs``; when the reply carries
  them, option probabilities come from the answer token (:func:`~framepick.answer.reply.probs_from_logprobs`);
- ``parsed``: servers differ. Some ignore ``logprobs`` silently (``transformers serve`` 5.24 answers
  200 without the field), some reject it with a 400. The first is detected per reply; the second
  turns logprobs off for the rest of the run after one retry without them. Then the letter is
  read from the reply's text, and the answer has no probabilities.

Reliability: ``concurrency`` requests in flight (the caller runs that many threads; the client is
thread-safe), a ``timeout`` per request, retries with exponential backoff (and ``Retry-After``)
on 429, 5xx, timeouts and refused connections (a server never reached is given one retry: a wrong
URL should not cost a minute of backoff). A wrong key (401/403), an unknown model (404, with
the models the server does serve) or a server that answers something other than a chat
completion stop with a one-line :class:`~framepick.errors.AnswererError`.

The API key is read from an environment variable (``OPENAI_API_KEY`` unless ``api_key_env`` names
another) when the answerer is built; it is sent only in the ``Authorization`` header, and never
appears in :attr:`id`, logs, records or errors. A server on localhost usually needs none.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from framepick.answer.base import Answer, AnswererOptions, ChatModel
from framepick.answer.images import DEFAULT_MAX_SIDE, jpeg_data_urls
from framepick.answer.prompt import ImagePart, PromptTemplate, TextPart, build_parts, load_template
from framepick.answer.reply import parse_letter, probs_from_logprobs
from framepick.errors import AnswererError, InvalidArgumentError
from framepick.registry import register_answerer
from framepick.validation import check_float, check_int

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class OpenAIConfig:
    """One server and model, and how to talk to it. Only ``model`` and the prompt are part of the
    answerer's id: the URL and the others change where and how, not what, it answers."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = DEFAULT_KEY_ENV
    max_side: int = DEFAULT_MAX_SIDE
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 4
    backoff: float = 1.0
    """Seconds before the first retry; doubled (with jitter) for each next one."""
    top_logprobs: int = 20
    choice_max_tokens: int = 16
    """Room for "The answer is (B)." when a model ignores "letter only"."""
    open_max_tokens: int = 256

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise InvalidArgumentError("openai answerer needs a model name: openai:MODEL@http://HOST:PORT/v1")
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidArgumentError(f"openai answerer URL must start with http:// or https://, got {self.base_url!r}")
        for name in ("max_side", "concurrency", "top_logprobs", "choice_max_tokens", "open_max_tokens"):
            check_int(f"openai answerer {name}", getattr(self, name), low=1)
        check_float("openai answerer timeout", self.timeout, low=0.0, low_open=True)
        check_int("openai answerer retries", self.retries, low=0)
        check_float("openai answerer backoff", self.backoff, low=0.0)


def parse_openai_argument(argument: str | None) -> tuple[str, str]:
    """``MODEL@URL`` -> (model, url). Without ``@URL``: ``OPENAI_BASE_URL``, else the OpenAI API."""
    if not argument or not argument.strip():
        raise InvalidArgumentError("openai answerer needs a model: openai:MODEL@http://HOST:PORT/v1")
    model, sep, url = argument.strip().rpartition("@")
    if not sep or not url.startswith(("http://", "https://")):
        model, url = argument.strip(), os.environ.get("OPENAI_BASE_URL", DEFAULT_BASE_URL)
    return model.strip(), url.strip().rstrip("/")


class OpenAIAnswerer(ChatModel):
    """Answers through an OpenAI-compatible server's ``/chat/completions``."""

    def __init__(self, config: OpenAIConfig, template: PromptTemplate | None = None) -> None:
        self.config = config
        self.template = template or load_template("default")
        self.max_concurrency = config.concurrency
        self.max_side = config.max_side
        self._key = os.environ.get(config.api_key_env) or None
        self._logprobs = True  # until the server rejects them
        self._reached = False  # whether any request got through: a first refusal is a wrong URL
        self._lock = threading.Lock()
        # The model's name, the frame size and the words, not the URL: the same model behind
        # another port or host answers the same, and an evaluation resumed against it must keep
        # its records. Frames of another size are other pixels, so another --max-side is another
        # id (and other cache entries); the default size is left out of the id, which keeps the
        # ids, caches and run folders made before the size was part of it.
        size = "" if config.max_side == DEFAULT_MAX_SIDE else f":max{config.max_side}"
        self.id = f"openai:{config.model}{size}:{self.template.id}"

    # -- the Answerer interface ------------------------------------------------------------

    def answer(
        self,
        frames: np.ndarray,
        timestamps: Sequence[float] | None,
        question: str,
        options: Sequence[str],
    ) -> Answer:
        parts = build_parts(self.template, frames, timestamps, question, options)
        messages = self.messages(parts)
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.config.choice_max_tokens if options else self.config.open_max_tokens,
        }
        if options and self._logprobs:
            body |= {"logprobs": True, "top_logprobs": self.config.top_logprobs}
        reply = self._complete(body)
        text, content = _read_choice(reply, self.config)
        if not options:
            return Answer(letter=None, text=text, source=None)
        probs = probs_from_logprobs(content, len(options)) if content else None
        if probs is not None:
            return Answer.from_probs(probs, text=text, source="logprobs")
        return Answer(letter=parse_letter(text, options), text=text, source="parsed")

    def generate(self, parts: Sequence[TextPart | ImagePart], max_tokens: int) -> str:
        body = {"model": self.config.model, "messages": self.messages(list(parts)), "temperature": 0, "max_tokens": max_tokens}
        text, _ = _read_choice(self._complete(body), self.config)
        return text

    def messages(self, parts: list[TextPart | ImagePart]) -> list[dict[str, Any]]:
        """The chat messages for ``parts``: frames become JPEG data-URL image parts."""
        content = content_parts(parts, self.config.max_side)
        system = [{"role": "system", "content": self.template.system}] if self.template.system else []
        return system + [{"role": "user", "content": content}]

    # -- HTTP ----------------------------------------------------------------------------------

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return self._post("/chat/completions", body)
            except _HTTPStatus as exc:
                if exc.status == 400 and "logprobs" in body and "logprob" in exc.detail.lower():
                    with self._lock:
                        if self._logprobs:
                            logger.warning("%s rejects logprobs (%s); reading letters from replies", self.config.base_url, exc.detail)
                        self._logprobs = False
                    body = {k: v for k, v in body.items() if k not in ("logprobs", "top_logprobs")}
                    continue
                if exc.status in (401, 403):
                    raise AnswererError(
                        f"{self.config.base_url} refused the API key (HTTP {exc.status}); set it in "
                        f"${self.config.api_key_env}: {exc.detail}"
                    ) from None
                # 404 is the usual "no such model"; some servers (transformers serve pinned to one
                # model) say it with a 400 that names the model: asked of /models to be sure.
                if exc.status == 404 or (exc.status == 400 and "model" in exc.detail.lower() and not self._model_served()):
                    raise AnswererError(self._unknown_model_message(exc.status, exc.detail)) from None
                if exc.status not in RETRY_STATUSES or attempt >= self.config.retries:
                    raise AnswererError(
                        f"{self.config.base_url} answered HTTP {exc.status} after {attempt + 1} tries: {exc.detail}"
                    ) from None
                wait = exc.retry_after
            except _Unreachable as exc:
                # Never reached: a wrong URL or a server not started, said after one retry instead
                # of a minute of backoff. Reached before: a restart or a blip, worth every retry.
                if attempt >= (self.config.retries if self._reached else min(1, self.config.retries)):
                    raise AnswererError(
                        f"cannot reach {self.config.base_url} after {attempt + 1} tries ({exc}); is the server running?"
                    ) from None
                wait = None
            attempt += 1
            delay = wait if wait is not None else self.config.backoff * 2 ** (attempt - 1) * (0.5 + random.random())
            logger.info("retrying %s in %.1fs (try %d of %d)", self.config.base_url, delay, attempt + 1, self.config.retries + 1)
            time.sleep(delay)

    def _post(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.config.base_url + path, data=data, method="GET" if body is None else "POST")
        request.add_header("Content-Type", "application/json")
        if self._key:
            request.add_header("Authorization", f"Bearer {self._key}")
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                raw = response.read()
            self._reached = True
        except urllib.error.HTTPError as exc:
            self._reached = True
            raise _HTTPStatus(exc.code, _error_detail(exc), _retry_after(exc)) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Unreachable(str(reason) or type(reason).__name__) from None
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AnswererError(f"{self.config.base_url}{path} answered something that is not JSON: {raw[:120]!r}") from None
        if not isinstance(parsed, dict):
            raise AnswererError(f"{self.config.base_url}{path} answered {type(parsed).__name__}, not a JSON object")
        return parsed

    def served_models(self) -> list[str]:
        """The model ids the server lists at ``/models`` (empty when it lists none)."""
        listing = self._post("/models", None)
        return [str(m.get("id")) for m in listing.get("data", []) if isinstance(m, dict)]

    def _listed_models(self) -> list[str]:
        try:
            return self.served_models()
        except (AnswererError, _HTTPStatus, _Unreachable):
            return []

    def _model_served(self) -> bool:
        listed = self._listed_models()
        return not listed or self.config.model in listed  # a server that lists nothing gets the benefit of the doubt

    def _unknown_model_message(self, status: int, detail: str) -> str:
        served = self._listed_models()
        listing = f"; it serves: {', '.join(served)}" if served else ""
        return f"{self.config.base_url} does not serve model {self.config.model!r} (HTTP {status}: {detail}){listing}"


def content_parts(parts: Sequence[TextPart | ImagePart], max_side: int = DEFAULT_MAX_SIDE) -> list[dict[str, Any]]:
    """``parts`` as the content parts of an OpenAI chat message: text parts, and frames as JPEG
    data-URL ``image_url`` parts fitted to ``max_side`` (encoded together, on a few threads)."""
    frames = [p.image for p in parts if isinstance(p, ImagePart)]
    urls = iter(jpeg_data_urls(np.stack(frames), max_side) if frames else [])
    return [
        {"type": "image_url", "image_url": {"url": next(urls)}} if isinstance(p, ImagePart)
        else {"type": "text", "text": p.text}
        for p in parts
    ]


def _read_choice(reply: dict[str, Any], config: OpenAIConfig) -> tuple[str, list[Any] | None]:
    """The reply's text and its logprobs content list (None when the server sent none)."""
    try:
        choice = reply["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise AnswererError(
            f"{config.base_url} answered without choices[0].message.content: {json.dumps(reply)[:160]}"
        ) from None
    if isinstance(text, list):  # some servers return content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return str(text or ""), content if isinstance(content, list) and content else None


class _HTTPStatus(Exception):
    def __init__(self, status: int, detail: str, retry_after: float | None) -> None:
        super().__init__(status, detail)
        self.status, self.detail, self.retry_after = status, detail, retry_after


class _Unreachable(Exception):
    pass


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read()[:2000].decode("utf-8", "replace")
    except OSError:
        return exc.reason if isinstance(exc.reason, str) else ""
    try:
        parsed = json.loads(raw)
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        message = error.get("message", error) if isinstance(error, dict) else error
        raw = message if isinstance(message, str) else json.dumps(message)
    except json.JSONDecodeError:
        pass
    return " ".join(raw.split())[:200]


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


@register_answerer("openai")
def make_openai_answerer(argument: str | None = None, options: AnswererOptions | None = None) -> OpenAIAnswerer:
    """An MLLM behind an OpenAI-compatible server: ``openai:MODEL@http://HOST:PORT/v1`` (key from $OPENAI_API_KEY)."""
    options = options or AnswererOptions()
    model, url = parse_openai_argument(argument)
    settings = {
        "max_side": options.max_side,
        "concurrency": options.concurrency,
        "timeout": options.timeout,
        "api_key_env": options.api_key_env,
    }
    config = OpenAIConfig(model=model, base_url=url, **{k: v for k, v in settings.items() if v is not None})
    template = load_template(options.prompt) if options.prompt else None
    return OpenAIAnswerer(config, template)
