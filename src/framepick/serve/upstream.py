"""The MLLM server behind the proxy: requests out, responses (whole or streamed) back.

:mod:`http.client`, not :mod:`urllib.request`: the proxy relays an error status and body as they
came (urllib raises on them) and a ``text/event-stream`` response line by line as it arrives. One
connection per request: the upstream sits on localhost or the LAN, where a connect costs well under
a millisecond against seconds of generation, and no pooled connection can go stale between
requests.

The upstream's key (read from an environment variable by the caller) goes only into the
``Authorization`` header; :meth:`Upstream.redact` scrubs it from any upstream text relayed to a
client or a log, in case an error message quotes it. Client-facing errors say "the upstream"
without its address; the log line says which.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.parse
from typing import Iterator

from framepick.errors import InvalidArgumentError
from framepick.serve.api_errors import UPSTREAM, ApiError

logger = logging.getLogger(__name__)

MAX_REPLY_BYTES = 64 << 20
"""A whole (non-streamed) reply larger than this is refused: a chat completion is kilobytes."""


class UpstreamResponse:
    """One upstream response: status, content type, and its body read whole or by lines."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse, upstream: "Upstream") -> None:
        self._connection = connection
        self._response = response
        self._upstream = upstream
        self.status = response.status
        self.content_type = response.getheader("Content-Type", "application/json")

    @property
    def is_stream(self) -> bool:
        return self.status == 200 and self.content_type.split(";")[0].strip() == "text/event-stream"

    def read(self) -> bytes:
        try:
            body = self._response.read(MAX_REPLY_BYTES + 1)
        except TimeoutError:  # socket.timeout too
            raise self._upstream.timed_out() from None
        except OSError as exc:
            raise self._upstream.unreachable(exc) from None
        if len(body) > MAX_REPLY_BYTES:
            raise ApiError(502, f"the upstream's reply is larger than {MAX_REPLY_BYTES >> 20} MB", type=UPSTREAM)
        return body

    def lines(self) -> Iterator[bytes]:
        """The body line by line, ends included, as the upstream sends it (for server-sent events).

        A timeout or a dropped connection mid-stream raises :class:`ApiError`: the status is
        already sent then, so the caller reports it as a last event."""
        while True:
            try:
                line = self._response.readline(1 << 20)
            except TimeoutError:  # socket.timeout too
                raise self._upstream.timed_out() from None
            except (OSError, http.client.HTTPException) as exc:
                raise self._upstream.unreachable(exc) from None
            if not line:
                return
            yield line

    def close(self) -> None:
        self._response.close()
        self._connection.close()


class Upstream:
    def __init__(self, base_url: str, key: str | None = None, timeout: float = 600.0) -> None:
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidArgumentError(f"--upstream must be http(s)://HOST:PORT/v1, got {base_url!r}")
        if parts.query or parts.fragment:
            raise InvalidArgumentError(f"--upstream {base_url!r} must not have a query or fragment")
        if not timeout > 0:
            raise InvalidArgumentError(f"the upstream timeout must be > 0 seconds, got {timeout}")
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/")
        self._key = key or None
        self.timeout = timeout

    def __repr__(self) -> str:  # never the key
        return f"Upstream({self.base_url!r}, key={'set' if self._key else 'none'}, timeout={self.timeout:g})"

    def request(self, method: str, path: str, body: bytes | None = None, *, stream: bool = False) -> UpstreamResponse:
        """Send ``method`` to the base URL + ``path`` (``/chat/completions``); the response's headers are in."""
        connection_type = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        connection = connection_type(self._host, self._port, timeout=self.timeout)
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        try:
            connection.request(method, self._path + path, body=body, headers=headers)
            response = connection.getresponse()
        except TimeoutError:  # socket.timeout too
            connection.close()
            raise self.timed_out() from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise self.unreachable(exc) from None
        return UpstreamResponse(connection, response, self)

    def redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def timed_out(self) -> ApiError:
        logger.warning("upstream %s did not answer within %g s", self.base_url, self.timeout)
        return ApiError(504, f"the upstream model server did not answer within {self.timeout:g} s", type=UPSTREAM)

    def unreachable(self, exc: BaseException) -> ApiError:
        reason = self.redact(" ".join(str(exc).split()) or type(exc).__name__)
        logger.warning("upstream %s failed: %s", self.base_url, reason)
        return ApiError(502, f"the upstream model server cannot be reached or dropped the connection ({reason})", type=UPSTREAM)

    def error_reply(self, status: int, body: bytes) -> tuple[int, bytes]:
        """The status and body a client gets for an upstream error: the upstream's own
        OpenAI-shaped error when it sent one (key scrubbed), else one wrapping what it said."""
        text = self.redact(body[:4000].decode("utf-8", "replace"))
        if status in (401, 403):
            # The client's token is the proxy's business; an upstream refusal is about the
            # operator's key, and passing the 401 on would make the client blame its own.
            logger.warning("upstream %s refused the key (HTTP %d)", self.base_url, status)
            error = ApiError(502, f"the upstream model server refused this proxy's key (HTTP {status}); "
                             "the operator sets it with --upstream-key-env", type=UPSTREAM)
            return error.status, error.body()
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), (dict, str)) and status >= 400:
            return status, json.dumps(parsed).encode()
        snippet = " ".join(text.split())[:200]
        # A 4xx is about the request: the client's to fix, so its status stays. Anything else
        # (a 5xx without an error body, a redirect) is the upstream failing: 502.
        relayed = status if 400 <= status < 500 else 502
        return relayed, ApiError(relayed, f"the upstream model server answered HTTP {status}: {snippet}", type=UPSTREAM).body()
