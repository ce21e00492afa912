"""The official OpenAI Python SDK against the proxy: "any OpenAI client gets better frames by
changing its base URL" taken literally. The extension goes in through ``extra_body`` and comes back
in the reply's extra fields; errors arrive as the SDK's own exceptions with our message."""

from __future__ import annotations

import pytest
from openai_fake import Behaviour, FakeServer
from serve_support import QUESTION, make_proxy, serving

openai = pytest.importorskip("openai")


def messages(url: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": url}}, {"type": "text", "text": QUESTION}]}]


def test_the_openai_sdk_talks_to_the_proxy(picker, videos_root) -> None:
    with FakeServer(Behaviour(reply="Red, at 4 s.")) as upstream:
        with serving(make_proxy(picker, videos_root, upstream.url), token="t0ken") as server:
            client = openai.OpenAI(base_url=server.url, api_key="t0ken", max_retries=0, timeout=60)
            reply = client.chat.completions.create(model="tiny", messages=messages("red.mp4"),
                                                   extra_body={"framepick": {"k": 2}})
            assert reply.choices[0].message.content == "Red, at 4 s."
            extension = reply.model_extra["framepick"]
            assert len(extension["frames"]) == 2 and all(3.0 <= f["timestamp"] < 5.0 for f in extension["frames"])
            assert [m.id for m in client.models.list()] == ["tiny"]

            with pytest.raises(openai.BadRequestError) as refused:
                client.chat.completions.create(model="tiny", messages=messages("../etc/passwd"))
            assert "contains '..'" in refused.value.message
            with pytest.raises(openai.AuthenticationError):
                openai.OpenAI(base_url=server.url, api_key="wrong", max_retries=0).models.list()
