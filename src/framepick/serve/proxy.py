"""What the proxy does with a request, apart from HTTP: locate, pick, rewrite, forward, relay.

:meth:`Proxy.chat` is the one interesting path. A chat request with a ``video_url`` part:

1. the URL is checked against the videos root (or fetched, with ``--allow-remote``);
2. ``k`` frames are picked for the question (:class:`~framepick.serve.picker.FramePicker`);
3. the video part becomes the frames, labelled with their times, as JPEGs
   (:class:`~framepick.serve.frames.FrameImages`, :func:`~framepick.serve.rewrite.with_frames`);
4. the request goes upstream; the reply comes back with an extension field ``"framepick"``:
   the chosen frames' indices and times, the method, ``k``, and where the time went. A streamed
   reply carries it in its first event.

Everything else (a chat request without a video, ``/models``, any other ``/v1`` path) is relayed
as it came, the ``framepick`` field aside. Every failure is an :class:`ApiError`; a video the
server cannot use is a 400 naming the part of the request it came from.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from framepick.answer.prompt import PromptTemplate
from framepick.errors import FramepickError, one_line
from framepick.serve.api_errors import UPSTREAM, ApiError, bad_request
from framepick.serve.paths import LocalVideo, RemoteVideo, VideoRoot, local_file
from framepick.serve.frames import FrameImages
from framepick.serve.picker import FramePicker, Picked
from framepick.serve.remote import RemoteVideos
from framepick.serve.rewrite import EXTENSION, VideoAsk, find_video, frame_content, with_frames, without_extension
from framepick.serve.upstream import Upstream, UpstreamResponse


@dataclass
class Outcome:
    """What goes back to the client: a whole body, or lines relayed as they arrive."""

    status: int
    body: bytes = b""
    lines: Relay | None = None
    content_type: str = "application/json"


class Proxy:
    def __init__(
        self,
        picker: FramePicker,
        root: VideoRoot,
        upstream: Upstream,
        *,
        template: PromptTemplate,
        images: FrameImages,
        remote: RemoteVideos | None = None,
    ) -> None:
        self.picker = picker
        self.root = root
        self.upstream = upstream
        self.template = template
        self.images = images
        self.remote = remote

    def chat(self, raw: bytes, log: dict[str, Any]) -> Outcome:
        """Answer a chat request; ``log`` gets the fields of its log line as they are known (a
        stream fills in ``upstream`` when it ends)."""
        body = _json_object(raw)
        ask = find_video(body)
        if ask is None:
            # Passed on as it came: the client's bytes, unless there is our field to drop.
            forwarded = json.dumps(without_extension(body)).encode() if EXTENSION in body else raw
            return self.forward("POST", "/chat/completions", forwarded, log, stream=bool(body.get("stream")))
        log["video"] = ask.url
        video = self._locate(ask, log)
        picked = self._pick(video, ask, log)
        selection = picked.selection
        try:
            pictures = self.images.data_urls(video, picked.index, selection.indices.tolist())
        except (FramepickError, OSError) as exc:
            raise self._video_error(exc, video, ask) from None
        log.update(kept=pictures.kept, decode=pictures.decode, images=pictures.images)
        start = time.perf_counter()
        frames = frame_content(self.template, pictures.urls, selection.timestamps.tolist())
        payload = json.dumps(with_frames(body, ask, frames)).encode()
        log["body"] = time.perf_counter() - start
        extension = _extension(ask, picked, log)

        sent = self._send("POST", "/chat/completions", payload, log, stream=bool(body.get("stream")), extension=extension)
        if isinstance(sent, Outcome):  # a stream, or an upstream error
            return sent
        _, reply, _ = sent
        try:
            completion = json.loads(reply)
        except (json.JSONDecodeError, UnicodeDecodeError):
            completion = None
        if not isinstance(completion, dict):
            snippet = self.upstream.redact(repr(reply[:80]))
            raise ApiError(502, f"the upstream model server answered something that is not a JSON object: {snippet}", type=UPSTREAM)
        extension["timings"]["upstream"] = round(log["upstream"], 4)
        completion[EXTENSION] = extension
        return Outcome(200, json.dumps(completion).encode())

    def forward(self, method: str, path: str, raw: bytes | None, log: dict[str, Any], *, stream: bool = False) -> Outcome:
        """Relay a request the proxy has nothing to add to: status and body as the upstream sent
        them (errors scrubbed of the key, an upstream refusing the key turned into a 502)."""
        sent = self._send(method, path, raw, log, stream=stream)
        if isinstance(sent, Outcome):
            return sent
        status, reply, content_type = sent
        return Outcome(status, reply, content_type=content_type)

    def _send(
        self, method: str, path: str, payload: bytes | None, log: dict[str, Any], *, stream: bool,
        extension: dict[str, Any] | None = None,
    ) -> Outcome | tuple[int, bytes, str]:
        """One upstream call: a stream relayed as it comes (``extension`` in its first event), an
        upstream error as the proxy's error reply, else (status, body, content type) to finish."""
        start = time.perf_counter()
        response = self.upstream.request(method, path, payload, stream=stream)
        if response.is_stream:
            lines = Relay(response, self.upstream, lambda: _done(log, "upstream", start), extension)
            return Outcome(200, lines=lines, content_type=response.content_type)
        try:
            reply = response.read()
        finally:
            response.close()
        log["upstream"] = time.perf_counter() - start
        if response.status >= 300:
            status, error = self.upstream.error_reply(response.status, reply)
            return Outcome(status, error)
        return response.status, reply, response.content_type

    def _locate(self, ask: VideoAsk, log: dict[str, Any]) -> LocalVideo:
        try:
            where = self.root.locate(ask.url)
            if isinstance(where, RemoteVideo):
                if self.remote is None:  # the root allows remote URLs only when there is a fetcher
                    raise bad_request("remote video URLs are off on this server", ask.param)
                start = time.perf_counter()
                try:
                    return local_file(self.remote.fetch(where.url), where.url)
                finally:
                    log["fetch"] = time.perf_counter() - start
            return where
        except FramepickError as exc:
            raise bad_request(str(exc), ask.param) from None

    def _pick(self, video: LocalVideo, ask: VideoAsk, log: dict[str, Any]) -> Picked:
        try:
            picked = self.picker.pick(video, ask.question, ask.method, ask.k)
        except (FramepickError, OSError) as exc:
            raise self._video_error(exc, video, ask) from None
        log["method"] = picked.selection.method
        log["k"] = len(picked.selection.indices)
        log["prepared"] = "now" if picked.prepared_now else "reused"
        log.update(picked.timings)
        return picked


    @staticmethod
    def _video_error(exc: FramepickError | OSError, video: LocalVideo, ask: VideoAsk) -> ApiError:
        """A 400 for what went wrong with the video. The library names files by their resolved
        path; the client knows its own spelling, and the server's folders are not its business."""
        if isinstance(exc, FramepickError):
            message = str(exc)
        else:
            message = f"{video.shown!r} cannot be read: {one_line(exc, with_type=False, os_reason=True)}"
        return bad_request(message.replace(str(video.path), video.shown), ask.param)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"the request body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise bad_request(f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def _extension(ask: VideoAsk, picked: Picked, log: dict[str, Any]) -> dict[str, Any]:
    """The reply's ``framepick`` field: which frames the model saw, and how they were chosen."""
    selection = picked.selection
    return {
        "video": ask.url,
        "method": selection.method,
        "k": selection.k,
        "encoder": selection.encoder,
        "candidates": selection.num_candidates,
        "frames": [
            {"index": int(index), "timestamp": round(float(seconds), 4)}
            for index, seconds in zip(selection.indices, selection.timestamps, strict=True)
        ],
        "prepared": log["prepared"],
        "frames_kept": log["kept"],
        "timings": {name: round(log[name], 4) for name in ("fetch", "prepare", "select", "decode", "images", "body") if name in log},
    }


def _done(log: dict[str, Any], name: str, start: float) -> None:
    log[name] = time.perf_counter() - start


class Relay:
    """An upstream event stream, relayed line by line; :meth:`close` ends it, read or not.

    With ``extension``, the first JSON ``data:`` event gets the ``framepick`` field. A failure
    mid-stream becomes a last error event: the 200 is already sent, and an OpenAI client reads
    ``{"error": ...}`` from the stream.
    """

    def __init__(
        self, response: UpstreamResponse, upstream: Upstream, on_end: Callable[[], None],
        extension: dict[str, Any] | None = None,
    ) -> None:
        self._response = response
        self._upstream = upstream
        self._on_end: Callable[[], None] | None = on_end
        self._extension = extension

    def __iter__(self) -> Iterator[bytes]:
        try:
            for line in self._response.lines():
                if self._extension is not None and line.startswith(b"data:"):
                    line = self._add_extension(line)
                yield self._upstream.redact(line.decode("utf-8", "replace")).encode() if b"error" in line else line
        except ApiError as exc:
            yield b"data: " + exc.body() + b"\n\n"
        finally:
            self.close()

    def _add_extension(self, line: bytes) -> bytes:
        try:
            event = json.loads(line[5:])
        except (json.JSONDecodeError, UnicodeDecodeError):
            return line
        if not isinstance(event, dict):
            return line
        event[EXTENSION], self._extension = self._extension, None
        return b"data: " + json.dumps(event).encode() + b"\n"

    def close(self) -> None:
        self._response.close()
        if self._on_end is not None:
            self._on_end()
            self._on_end = None
