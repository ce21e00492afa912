"""A small OpenAI-compatible HTTP server on localhost for protocol tests of the client.

It answers like vLLM documents (``choices[0].logprobs.content[i].top_logprobs``) or, per test,
like servers that misbehave: rejecting ``logprobs``, ignoring them, rate limiting, refusing the
key, not knowing the model, answering garbage. The real-server test (``transformers serve``) is in
test_openai_serve.py; this one pins down each branch of the client.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Behaviour:
    reply: str = "B"
    letter_probs: dict[str, float] = field(default_factory=lambda: {"B": 0.7, "A": 0.2, "C": 0.1})
    logprobs: str = "honour"  # honour | ignore | reject
    fail_first: list[int] = field(default_factory=list)  # statuses to answer before succeeding
    key: str | None = None
    models: tuple[str, ...] = ("tiny",)
    garbage: bool = False
    down_after: int | None = None  # answer this many chat requests, then 503 to every one
    reject_question: str | None = None  # a question whose requests get a 400 (a non-retryable failure)
    delay: float = 0.0  # seconds before answering a chat request (an upstream slower than a timeout)
    reply_for: Callable[[dict[str, Any]], str] | None = None  # the reply as a function of the request body (else `reply`)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _authorised(self) -> bool:
            if behaviour.key is None or self.headers.get("Authorization") == f"Bearer {behaviour.key}":
                return True
            self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return False

        def do_GET(self) -> None:
            if self.path.endswith("/models") and self._authorised():
                self._send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in behaviour.models]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            behaviour.requests.append(body)
            behaviour.headers.append(dict(self.headers))
            if not self._authorised():
                return
            if behaviour.delay:
                time.sleep(behaviour.delay)
            answered = sum(1 for r in behaviour.requests[:-1] if not r.get("_failed"))
            if behaviour.down_after is not None and answered >= behaviour.down_after:
                body["_failed"] = True
                self._send(503, {"error": {"message": "server going down"}}, {"Retry-After": "0"})
                return
            text = json.dumps(body["messages"])
            if behaviour.reject_question and behaviour.reject_question in text:
                body["_failed"] = True
                self._send(400, {"error": {"message": "this request is too long for the model"}})
                return
            if behaviour.fail_first:
                status = behaviour.fail_first.pop(0)
                self._send(status, {"error": {"message": f"try later ({status})"}}, {"Retry-After": "0"})
                return
            if body.get("model") not in behaviour.models:
                self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
                return
            if behaviour.logprobs == "reject" and body.get("logprobs"):
                self._send(400, {"error": {"message": "logprobs is not supported for this model"}})
                return
            if behaviour.garbage:
                self._send(200, b"<html>gateway</html>")
                return
            reply = behaviour.reply if behaviour.reply_for is None else behaviour.reply_for(body)
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
            if body.get("logprobs") and behaviour.logprobs == "honour":
                top = [{"token": t, "logprob": math.log(p)} for t, p in behaviour.letter_probs.items()]
                top = top[: body.get("top_logprobs", 5)]
                first = max(behaviour.letter_probs, key=behaviour.letter_probs.get)
                choice["logprobs"] = {"content": [{"token": first, "logprob": math.log(behaviour.letter_probs[first]), "top_logprobs": top}]}
            self._send(200, {"id": "x", "object": "chat.completion", "choices": [choice]})

    return Handler


class _Server(ThreadingHTTPServer):
    # A listen backlog for load tests: at the default 5, connections beyond it wait a whole second
    # for the SYN to be retried, and every p95 measured against this server is that second.
    request_queue_size = 128


class FakeServer:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._server = _Server(("127.0.0.1", 0), _handler(behaviour))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
