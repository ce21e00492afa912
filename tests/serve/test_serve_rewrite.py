"""Reading a chat request's video and question, and putting the chosen frames where the video was."""

from __future__ import annotations

import numpy as np
import pytest

from framepick.answer.prompt import build_parts, load_template
from framepick.serve.api_errors import ApiError
from framepick.serve.rewrite import VideoAsk, find_video, frame_content, with_frames, without_extension


def chat(*content, role="user", **extra) -> dict:
    return {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": role, "content": list(content)}], **extra}


VIDEO = {"type": "video_url", "video_url": {"url": "talks/a.mp4"}}
QUESTION = {"type": "text", "text": "What is held up?"}


def test_the_video_the_question_and_the_overrides_are_read() -> None:
    ask = find_video(chat(VIDEO, QUESTION, {"type": "text", "text": "  Be precise. "}, framepick={"method": "topk", "k": 4}))
    assert ask == VideoAsk(1, 0, "talks/a.mp4", "What is held up?\nBe precise.", "topk", 4)
    assert ask.param == "messages[1].content[0].video_url"
    assert find_video(chat({"type": "video_url", "video_url": "b.mp4"}, QUESTION)).url == "b.mp4"  # a bare string too


def test_a_request_without_a_video_is_none_and_keeps_everything_but_the_extension() -> None:
    body = chat(QUESTION, {"type": "image_url", "image_url": {"url": "data:image/png;base64,xx"}}, framepick={"k": 3}, stream=True)
    assert find_video(body) is None
    assert without_extension(body) == {k: v for k, v in body.items() if k != "framepick"}
    assert find_video({"messages": "not a list"}) is None  # the upstream says what is wrong with it
    assert find_video({}) is None


@pytest.mark.parametrize(
    ("body", "words", "param"),
    [
        (chat(VIDEO, VIDEO, QUESTION), "one video_url per request; this one has 2", "messages"),
        (chat(VIDEO, QUESTION, role="assistant"), "must be in a user message", "messages[1].content[0].video_url"),
        (chat({"type": "video_url", "video_url": {"uri": "x"}}, QUESTION), 'video_url must be {"url"', "messages[1].content[0].video_url"),
        (chat({"type": "video_url", "video_url": {"url": "  "}}, QUESTION), 'video_url must be {"url"', "messages[1].content[0].video_url"),
        (chat(VIDEO), "needs a text part with the question", "messages[1].content"),
        (chat(VIDEO, {"type": "text", "text": "   "}), "needs a text part with the question", "messages[1].content"),
        (chat(VIDEO, QUESTION, framepick=[1]), "must be an object", "framepick"),
        (chat(VIDEO, QUESTION, framepick={"k": 4, "checkpoint": "/x"}), "unknown field(s) ['checkpoint']", "framepick"),
        (chat(VIDEO, QUESTION, framepick={"k": 0}), "positive integer, got 0", "framepick.k"),
        (chat(VIDEO, QUESTION, framepick={"k": True}), "positive integer, got True", "framepick.k"),
        (chat(VIDEO, QUESTION, framepick={"k": "8"}), "positive integer, got '8'", "framepick.k"),
        (chat(VIDEO, QUESTION, framepick={"method": ""}), "must name a method", "framepick.method"),
        (chat(VIDEO, QUESTION, framepick={"method": 3}), "must name a method", "framepick.method"),
    ],
)
def test_what_framepick_needs_is_refused_with_a_400_naming_the_part(body, words, param) -> None:
    with pytest.raises(ApiError) as info:
        find_video(body)
    assert info.value.status == 400 and words in info.value.message and info.value.param == param
    assert info.value.payload()["error"]["type"] == "invalid_request_error"


def test_the_frames_replace_the_video_part_labelled_as_the_answerers_label_them() -> None:
    body = chat({"type": "text", "text": "Watch:"}, VIDEO, QUESTION, framepick={"k": 2}, temperature=0)
    ask = find_video(body)
    template = load_template("default")
    frames = frame_content(template, ["data:image/jpeg;base64,AAAA", "data:image/jpeg;base64,BBBB"], [1.25, 97.0])
    out = with_frames(body, ask, frames)
    content = out["messages"][1]["content"]
    assert [part["type"] for part in content] == ["text", "text", "image_url", "text", "image_url", "text"]
    assert content[0]["text"] == "Watch:" and content[-1] == QUESTION
    # The answerers' words (answer/prompt.py's default template), with the frames' true times.
    assert [content[1]["text"], content[3]["text"]] == ["Frame 1 at 1.2s:", "Frame 2 at 97.0s:"]
    pictures = build_parts(template, np.zeros((2, 8, 8, 3), np.uint8), [1.25, 97.0], "q", [])
    assert [content[1]["text"], content[3]["text"]] == [pictures[0].text, pictures[2].text]  # as framepick answer says it
    assert content[4]["image_url"]["url"] == "data:image/jpeg;base64,BBBB"
    assert "framepick" not in out and out["temperature"] == 0 and out["messages"][0] == body["messages"][0]
    # The client's body is left as it was.
    assert body["messages"][1]["content"][1] == VIDEO and body["framepick"] == {"k": 2}
