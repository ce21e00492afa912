"""Errors as an OpenAI client expects them: ``{"error": {"message", "type", "param", "code"}}``.

Every failure the proxy answers, whatever caused it (a refused path, a video that does not decode,
an upstream that timed out, a bug), goes out in this shape with an HTTP status, so an OpenAI SDK
raises its usual ``BadRequestError`` / ``APIStatusError`` with our one-line message instead of a
parse error on an HTML page or a dropped connection.
"""

from __future__ import annotations

import json
from typing import Any

# What the OpenAI API calls its error types; clients branch on the status, people read the type.
INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
UPSTREAM = "upstream_error"
SERVER = "server_error"


class ApiError(Exception):
    """A request answered with ``status`` and an OpenAI-shaped error body."""

    def __init__(self, status: int, message: str, *, type: str = INVALID_REQUEST, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(str(message).split())  # one line, whatever it was built from
        self.type = type
        self.param = param

    def payload(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.status}}

    def body(self) -> bytes:
        return json.dumps(self.payload()).encode()


def bad_request(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param)
