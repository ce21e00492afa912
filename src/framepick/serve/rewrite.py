"""A chat request with a video, rewritten into one with the chosen frames.

:func:`find_video` reads a chat-completions body: the one ``video_url`` part of a user message
(``{"type": "video_url", "video_url": {"url": ...}}``, as vLLM and SGLang take it; a bare string
URL too), the question (the text parts of that same message), and the extension field
``"framepick": {"method": ..., "k": ...}``. :func:`with_frames` puts the chosen frames where the
video part was (:func:`frame_content`: per frame, its label with its time, then the frame as a
JPEG data-URL image part), in the words of :mod:`framepick.answer.prompt` that every answerer
uses, with the pictures of :mod:`framepick.serve.frames`. The client's own parts (the question, a system message, earlier turns) stay as
they were: framepick adds no instruction, the conversation is the client's.

The extension field is removed before the request goes upstream, with or without a video: a
strict server (the OpenAI API itself) refuses fields it does not know.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from framepick.answer.prompt import PromptTemplate, frame_label
from framepick.serve.api_errors import bad_request

EXTENSION = "framepick"
OVERRIDES = ("method", "k")


@dataclass(frozen=True)
class VideoAsk:
    """Where a request's video part is, what it names, the question, and the request's overrides."""

    message: int
    part: int
    url: str
    question: str
    method: str | None = None
    k: int | None = None

    @property
    def param(self) -> str:
        """The part's place in the request, as an OpenAI error's ``param`` names it."""
        return f"messages[{self.message}].content[{self.part}].video_url"


def find_video(body: Mapping[str, Any]) -> VideoAsk | None:
    """The request's video, or None when it has none (it then passes through as it is).

    A body malformed in ways that do not concern a video is left for the upstream to refuse in
    its own words; what framepick needs (one video, in a user message, with a text question, and
    a well-formed extension) is refused here with a 400 naming the part.
    """
    found: list[tuple[int, int, Any]] = []
    messages = body.get("messages")
    for m, message in enumerate(messages if isinstance(messages, list) else ()):
        content = message.get("content") if isinstance(message, dict) else None
        for p, part in enumerate(content if isinstance(content, list) else ()):
            if isinstance(part, dict) and (part.get("type") == "video_url" or "video_url" in part):
                found.append((m, p, part.get("video_url")))
    overrides = _overrides(body.get(EXTENSION))
    if not found:
        return None
    if len(found) > 1:
        places = ", ".join(f"messages[{m}].content[{p}]" for m, p, _ in found)
        raise bad_request(f"framepick serve takes one video_url per request; this one has {len(found)} ({places})", "messages")
    m, p, value = found[0]
    param = f"messages[{m}].content[{p}].video_url"
    message = messages[m]  # type: ignore[index]
    if message.get("role") != "user":
        raise bad_request(f"the video_url part must be in a user message, not a {message.get('role')!r} one", param)
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url.strip():
        raise bad_request('video_url must be {"url": "PATH or URL"}', param)
    texts = [
        part["text"] for part in message["content"]
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
    ]
    question = "\n".join(t.strip() for t in texts if t.strip())
    if not question:
        raise bad_request(
            "the message with the video_url needs a text part with the question: framepick selects frames for it",
            f"messages[{m}].content",
        )
    return VideoAsk(m, p, url.strip(), question, **overrides)


def _overrides(extension: object) -> dict[str, Any]:
    if extension is None:
        return {}
    if not isinstance(extension, dict):
        raise bad_request(f'"{EXTENSION}" must be an object such as {{"method": "aks", "k": 16}}', EXTENSION)
    unknown = sorted(set(extension) - set(OVERRIDES))
    if unknown:
        raise bad_request(f'"{EXTENSION}" has unknown field(s) {unknown}; known: {list(OVERRIDES)}', EXTENSION)
    method, k = extension.get("method"), extension.get("k")
    if method is not None and (not isinstance(method, str) or not method.strip()):
        raise bad_request(f'"{EXTENSION}.method" must name a method such as "aks", got {method!r}', f"{EXTENSION}.method")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise bad_request(f'"{EXTENSION}.k" must be a positive integer, got {k!r}', f"{EXTENSION}.k")
    return {"method": method, "k": k}


def without_extension(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as the upstream gets it when it holds no video: only the extension field removed."""
    return {key: value for key, value in body.items() if key != EXTENSION}


def frame_content(template: PromptTemplate, urls: Sequence[str], timestamps: Sequence[float]) -> list[dict[str, Any]]:
    """Per frame, its label (``Frame 3 at 12.5s:``) and its picture, as OpenAI content parts."""
    content: list[dict[str, Any]] = []
    for number, (url, seconds) in enumerate(zip(urls, timestamps, strict=True), start=1):
        content.append({"type": "text", "text": frame_label(template, number, seconds)})
        content.append({"type": "image_url", "image_url": {"url": url}})
    return content


def with_frames(body: Mapping[str, Any], ask: VideoAsk, frames: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``body`` with the video part replaced by ``frames`` (:func:`frame_content`), and no extension field.

    Only the message holding the video is copied; the rest of the body is shared, not duplicated
    (a long conversation with pictures in earlier turns stays one copy in memory).
    """
    out = without_extension(body)
    messages = list(out["messages"])
    message = copy.copy(messages[ask.message])
    content = list(message["content"])
    content[ask.part : ask.part + 1] = frames
    message["content"] = content
    messages[ask.message] = message
    out["messages"] = messages
    return out
