"""The HTTP side of ``framepick serve``: the standard library's HTTP server, a bounded worker pool.

Why the standard library: framepick's base install has no web framework, and a proxy whose own
work per request is a selection, a decode and some JPEGs does not need one. ``http.server`` is
enough once three things are bounded, which are the ways a server facing a network dies:

- **workers**: ``workers`` threads serve connections; when all are busy the accept loop waits and
  further connections queue in the kernel's listen backlog (``ThreadingHTTPServer`` would start a
  thread per connection, without limit);
- **time**: a connection that sends nothing, or reads nothing, is dropped after ``client_timeout``
  seconds (a worker is never held by a silent client), and a request body must arrive whole
  within that time; the upstream has its own timeout. (The request line and headers are read
  with the same timeout per line, as ``http.server`` reads them: a client dripping a header line
  a minute holds a worker that long. Beyond a trusted network, put a reverse proxy in front.)
- **size**: a request body over ``max_body_bytes`` is refused with a 413 before it is read, and
  one without a ``Content-Length`` with a 411.

One request per connection (``Connection: close``): with a bounded pool, an idle keep-alive
connection would hold a worker doing nothing. OpenAI clients reconnect per request without fuss;
on localhost a connect costs tens of microseconds.

Routes: ``GET /health`` (no token needed: for load balancers), ``GET /v1/models`` (the upstream's
list), ``POST /v1/chat/completions`` (the proxy), any other ``/v1/...`` relayed as it is. With a
token (``--api-key-env``) every ``/v1`` request needs ``Authorization: Bearer TOKEN``. One log line
per request: method, path, status, the video and method, and the seconds of each stage.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable

from framepick.errors import one_line
from framepick.serve.api_errors import AUTHENTICATION, SERVER, ApiError
from framepick.serve.proxy import Outcome, Proxy

logger = logging.getLogger(__name__)

API_PREFIX = "/v1"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8001
    workers: int = 32
    """Connections served at once; beyond them, connections wait in the listen backlog."""
    client_timeout: float = 60.0
    """Seconds a client may take to send its request, or to read a chunk of the reply."""
    max_body_bytes: int = 64 << 20
    """Requests may carry images as data URLs (passed through), hence tens of megabytes."""
    token: str | None = None
    """The bearer token clients must send (None: no token asked for)."""


class ProxyServer(HTTPServer):
    """An :class:`HTTPServer` whose connections are served by a fixed pool of threads."""

    request_queue_size = 128  # the listen backlog: connections waiting for a free worker
    allow_reuse_address = True

    def __init__(self, proxy: Proxy, settings: ServerSettings) -> None:
        self.proxy = proxy
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.workers)
        self._closing = threading.Event()
        self._work: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []  # server_close() runs if binding fails below
        super().__init__((settings.host, settings.port), _Handler)
        # Daemon threads, not a ThreadPoolExecutor: the interpreter joins an executor's threads at
        # exit, so one request stuck on a slow upstream would keep a stopped server's process alive
        # for the whole upstream timeout. server_close() gives requests in flight a grace period.
        self._workers = [
            threading.Thread(target=self._worker, name=f"framepick-serve-{i}", daemon=True) for i in range(settings.workers)
        ]
        for worker in self._workers:
            worker.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    def process_request(self, request: Any, client_address: Any) -> None:
        # Called from the accept loop: wait for a free worker here, so no more than `workers`
        # connections are ever open inside the process. Checked every half second so that
        # shutdown() is not held up by a full pool.
        while not self._slots.acquire(timeout=0.5):
            if self._closing.is_set():
                self.shutdown_request(request)
                return
        self._work.put((request, client_address))

    def _worker(self) -> None:
        while (job := self._work.get()) is not None:
            request, client_address = job
            try:
                self.finish_request(request, client_address)
            except Exception:  # noqa: BLE001 - a broken connection must not kill the worker
                logger.debug("connection from %s failed", client_address, exc_info=True)
            finally:
                self.shutdown_request(request)
                self._slots.release()

    def shutdown(self) -> None:
        self._closing.set()
        super().shutdown()

    def server_close(self, grace: float = 10.0) -> None:
        """Stop listening, let requests in flight finish for up to ``grace`` seconds, stop the workers."""
        super().server_close()
        for _ in self._workers:
            self._work.put(None)
        deadline = time.monotonic() + grace
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    server: ProxyServer
    protocol_version = "HTTP/1.1"
    server_version = "framepick-serve"
    sys_version = ""  # no Python version in the Server header

    def setup(self) -> None:
        self.timeout = self.server.settings.client_timeout  # read by StreamRequestHandler.setup
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # one line per request is written by _log_request, with the timings

    @property
    def route(self) -> str:
        """The path without its query: what routes a request (a query never changes the route)."""
        return self.path.split("?", 1)[0]

    def do_GET(self) -> None:
        if self.route in ("/health", API_PREFIX + "/health"):
            self._respond(lambda log: Outcome(200, b'{"status": "ok"}'), needs_token=False)
        elif self.route.startswith(API_PREFIX + "/"):
            self._respond(lambda log: self.server.proxy.forward("GET", self._upstream_path(), None, log))
        else:
            self._respond(lambda log: _not_found(self.path), needs_token=False)

    def do_POST(self) -> None:
        if self.route == API_PREFIX + "/chat/completions":
            self._respond(lambda log: self.server.proxy.chat(self._body(), log))
        elif self.route.startswith(API_PREFIX + "/"):
            self._respond(self._forward_post)
        else:
            self._respond(lambda log: _not_found(self.path), needs_token=False)

    def _forward_post(self, log: dict[str, Any]) -> Outcome:
        raw = self._body()
        try:
            stream = bool(json.loads(raw).get("stream"))
        except (ValueError, AttributeError):
            stream = False  # not ours to judge: the upstream answers it
        return self.server.proxy.forward("POST", self._upstream_path(), raw, log, stream=stream)

    def _upstream_path(self) -> str:
        path = self.path[len(API_PREFIX):]
        route = self.route.lower()
        if ".." in route.split("/") or "%2e" in route or "%2f" in route or "\\" in route:
            raise ApiError(400, f"path {self.route!r} is not a plain API path")
        return path

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raise ApiError(411, "send the request with a Content-Length, not chunked")
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            raise ApiError(411, "the request needs a Content-Length header")
        size = int(length)
        if size > self.server.settings.max_body_bytes:
            raise ApiError(413, f"the request body is {size} bytes; this server takes at most {self.server.settings.max_body_bytes}")
        # The whole body within client_timeout, not each read: a client dripping a byte just
        # inside the socket's timeout would otherwise hold a worker for hours.
        deadline = time.monotonic() + self.server.settings.client_timeout
        chunks, received = [], 0
        while received < size:
            if time.monotonic() > deadline:
                raise ApiError(408, f"the request body did not arrive within {self.server.settings.client_timeout:g} s")
            chunk = self.rfile.read1(min(size - received, 1 << 20))
            if not chunk:
                raise ApiError(400, f"the connection closed after {received} of {size} body bytes")
            chunks.append(chunk)
            received += len(chunk)
        return b"".join(chunks)

    def _drain(self) -> None:
        """Read a small unread body before answering without it: closing a socket with unread
        data resets the connection, and the client could lose the answer saying why."""
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) <= 1 << 20:
            self.rfile.read(int(length))

    def _authorised(self) -> bool:
        token = self.server.settings.token
        if token is None:
            return True
        sent = self.headers.get("Authorization", "")
        scheme, _, value = sent.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())

    def _respond(self, work: Callable[[dict[str, Any]], Outcome], *, needs_token: bool = True) -> None:
        """Run ``work`` (it fills the log line's fields as it goes), write what it returns or the
        error it raised, and log one line."""
        start = time.perf_counter()
        log: dict[str, Any] = {}
        try:
            if needs_token and not self._authorised():
                self._drain()
                raise ApiError(401, "missing or wrong bearer token (Authorization: Bearer ...)", type=AUTHENTICATION)
            outcome = work(log)
        except ApiError as exc:
            outcome = Outcome(exc.status, exc.body())
            log["error"] = exc.message
        except Exception as exc:  # noqa: BLE001 - a bug answers 500 and the server stays up
            logger.exception("internal error on %s %s", self.command, self.path)
            error = ApiError(500, f"internal error: {one_line(exc)}", type=SERVER)
            outcome = Outcome(500, error.body())
            log["error"] = error.message
        try:
            self._write(outcome)
        except OSError as exc:  # the client went away: its loss, not the server's
            log["client"] = f"gone ({one_line(exc, with_type=False)})"
        finally:
            if outcome.lines is not None:
                outcome.lines.close()  # ends the upstream stream if the client left mid-way
        self._log_request(outcome.status, log, time.perf_counter() - start)

    def _write(self, outcome: Outcome) -> None:
        self.send_response(outcome.status)
        self.send_header("Content-Type", outcome.content_type)
        self.send_header("Connection", "close")
        if outcome.lines is None:
            self.send_header("Content-Length", str(len(outcome.body)))
            self.end_headers()
            self.wfile.write(outcome.body)
            return
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()  # no length: the stream ends when the connection closes
        for line in outcome.lines:
            self.wfile.write(line)
            if line in (b"\n", b"\r\n"):
                self.wfile.flush()  # an event is complete: the client sees it now
        self.wfile.flush()

    def _log_request(self, status: int, log: dict[str, Any], seconds: float) -> None:
        fields = "".join(f" {key}={_field(value)}" for key, value in log.items())
        logger.info("%s %s %d%s total=%.3fs", self.command, self.route, status, fields, seconds)


def _field(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}s"
    text = str(value)
    # A client's string (its video URL) is quoted when it could break the line or the terminal.
    return json.dumps(text) if not text or not text.isprintable() or " " in text else text


def _not_found(path: str) -> Outcome:
    error = ApiError(404, f"no route {path!r}: this server answers {API_PREFIX}/chat/completions, {API_PREFIX}/models and /health")
    return Outcome(404, error.body())
