"""The proxy in process on localhost, in front of the fake OpenAI server (tests/openai_fake.py).

Each branch a real upstream cannot be made to take on demand: an upstream that is down, slow,
refusing the key, answering errors or garbage; plus what the proxy itself refuses (tokens, body
limits, paths) and what it passes through untouched.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import time

import numpy as np
import pytest
from openai_fake import Behaviour, FakeServer
from PIL import Image
from serve_support import QUESTION, call, chat_body, make_proxy, serving
from videogen import decode_barcode

from framepick.serve import FrameImages
from framepick.video.decode import VideoDecoder


@pytest.fixture()
def fake():
    with FakeServer(Behaviour(reply="The screen is red.")) as server:
        yield server


def sent_frames(request: dict) -> tuple[list[str], list[np.ndarray]]:
    """The labels and pictures the upstream got in the user message."""
    content = request["messages"][0]["content"]
    labels = [p["text"] for p in content if p["type"] == "text"]
    pictures = [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(p["image_url"]["url"].split(",", 1)[1]))).convert("RGB"))
        for p in content if p["type"] == "image_url"
    ]
    return labels, pictures


def test_a_video_request_is_answered_with_the_chosen_frames_sent_and_reported(picker, videos_root, fake, caplog) -> None:
    caplog.set_level(logging.INFO, logger="framepick.serve")
    with serving(make_proxy(picker, videos_root, fake.url)) as server:
        status, reply = call(server.url + "/chat/completions", chat_body("red.mp4", temperature=0))
    assert status == 200, reply
    assert reply["choices"][0]["message"]["content"] == "The screen is red."  # the upstream's reply, as it was
    extension = reply["framepick"]
    assert extension["video"] == "red.mp4" and extension["method"] == "topk" and extension["k"] == 4
    assert extension["candidates"] == 32 and extension["prepared"] in ("now", "reused")
    assert set(extension["timings"]) == {"prepare", "select", "decode", "images", "body", "upstream"}
    indices = [f["index"] for f in extension["frames"]]
    times = [f["timestamp"] for f in extension["frames"]]
    assert indices == sorted(indices) and len(indices) == 4
    # topk with the question about red: the red segment is 3-5 s.
    assert all(3.0 <= t < 5.0 for t in times), times

    upstream = fake.behaviour.requests[-1]
    assert "framepick" not in upstream and upstream["temperature"] == 0 and upstream["model"] == "tiny"
    assert "video_url" not in json.dumps(upstream)
    labels, pictures = sent_frames(upstream)
    assert labels == [f"Frame {i + 1} at {t:.1f}s:" for i, t in enumerate(times)] + [QUESTION]
    # The pictures are exactly the frames reported (each frame carries its index as a bar code).
    assert [decode_barcode(p) for p in pictures] == indices
    assert all(p.shape == (96, 160, 3) for p in pictures)
    with VideoDecoder(videos_root / "red.mp4") as decoder:
        assert decoder.index.frame_timestamps[indices].round(4).tolist() == times

    lines = [r.getMessage() for r in caplog.records if r.name == "framepick.serve.server"]
    assert len(lines) == 1
    assert lines[0].startswith("POST /v1/chat/completions 200 video=red.mp4 method=topk k=4 prepared=")
    for stage in ("prepare=", "select=", "kept=", "decode=", "images=", "upstream=", "total="):
        assert stage in lines[0]


def test_the_question_chooses_the_frames_and_pictures_are_kept_across_questions(picker, videos_root, fake) -> None:
    with serving(make_proxy(picker, videos_root, fake.url, images=FrameImages(160))) as server:
        red = call(server.url + "/chat/completions", chat_body("talks/both.mp4", "Where is it red?"))[1]["framepick"]
        blue = call(server.url + "/chat/completions", chat_body("talks/both.mp4", "Where is it blue?"))[1]["framepick"]
        again = call(server.url + "/chat/completions", chat_body("talks/both.mp4", "Red, where?"))[1]["framepick"]
    # both.mp4: red 0-2 s, grey 2-6 s, blue 6-8 s.
    assert all(f["timestamp"] < 2.0 for f in red["frames"]) and all(f["timestamp"] >= 6.0 for f in blue["frames"])
    assert red["frames_kept"] == 0 and blue["frames_kept"] == 0 and red["timings"]["decode"] > 0
    assert again["frames"] == red["frames"] and again["frames_kept"] == 4 and again["timings"]["decode"] == 0
    sent = [sent_frames(request)[1] for request in fake.behaviour.requests]
    assert all(np.array_equal(a, b) for a, b in zip(sent[0], sent[2], strict=True))  # the same pictures

    with serving(make_proxy(picker, videos_root, fake.url, images=FrameImages(160, max_bytes=0))) as server:
        for _ in range(2):
            extension = call(server.url + "/chat/completions", chat_body("talks/both.mp4", "Where is it red?"))[1]["framepick"]
            assert extension["frames_kept"] == 0  # no memory for pictures: decoded each time


def test_per_request_method_and_k(picker, videos_root, fake) -> None:
    with serving(make_proxy(picker, videos_root, fake.url)) as server:
        status, reply = call(server.url + "/chat/completions", chat_body("blue.mp4", framepick={"method": "uniform", "k": 2}))
        assert status == 200, reply
        assert reply["framepick"]["method"] == "uniform" and len(reply["framepick"]["frames"]) == 2
        assert len(sent_frames(fake.behaviour.requests[-1])[1]) == 2
        for extension, words in [
            ({"k": 17}, "above this server's limit of 16 frames"),
            ({"method": "nope"}, "nope"),
            ({"method": "topk=/etc"}, "names a checkpoint folder"),
            ({"method": "tspo"}, "checkpoint"),
        ]:
            status, reply = call(server.url + "/chat/completions", chat_body("blue.mp4", framepick=extension))
            assert status == 400 and words in reply["error"]["message"], (extension, reply)
            assert reply["error"]["param"] == "messages[0].content[0].video_url"


def test_requests_without_a_video_pass_through_unchanged(picker, videos_root, fake) -> None:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "seed": 7}
    with serving(make_proxy(picker, videos_root, fake.url)) as server:
        status, reply = call(server.url + "/chat/completions", body)
        assert status == 200 and "framepick" not in reply
        assert fake.behaviour.requests[-1] == body
        status, _ = call(server.url + "/chat/completions", {**body, "framepick": {"k": 3}})
        assert status == 200 and fake.behaviour.requests[-1] == body  # our field dropped, nothing else
        status, models = call(server.url + "/models")
        assert status == 200 and [m["id"] for m in models["data"]] == ["tiny"]
        status, health = call(server.url.removesuffix("/v1") + "/health")
        assert status == 200 and health == {"status": "ok"}
        status, reply = call(server.url + "/chat/completions", {**body, "model": "other"})
        assert status == 404 and "does not exist" in reply["error"]["message"]  # the upstream's own error


def test_a_bearer_token_guards_v1_but_not_health(picker, videos_root, fake) -> None:
    with serving(make_proxy(picker, videos_root, fake.url), token="s3cret") as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            status, reply = call(server.url + "/models", headers=headers)
            assert status == 401 and reply["error"]["type"] == "authentication_error"
            status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"), headers=headers)
            assert status == 401
        assert call(server.url + "/models", headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert call(server.url.removesuffix("/v1") + "/health")[0] == 200
    assert all(h.get("Authorization") is None for h in fake.behaviour.headers)  # the client's token stays here


def test_the_upstream_key_is_sent_there_and_never_shown(picker, videos_root, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="framepick")
    key = "sk-upstream-0123456789"
    with FakeServer(Behaviour(key=key)) as upstream:
        with serving(make_proxy(picker, videos_root, upstream.url, key=key)) as server:
            assert call(server.url + "/chat/completions", chat_body("red.mp4"))[0] == 200
            assert upstream.behaviour.headers[-1]["Authorization"] == f"Bearer {key}"
        with serving(make_proxy(picker, videos_root, upstream.url, key="sk-wrong-key-987")) as server:
            status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"))
            # A refused key is the operator's problem: a 502 that says where to set it, not a 401.
            assert status == 502 and "--upstream-key-env" in reply["error"]["message"]
            status, _ = call(server.url + "/models")
            assert status == 502
    assert key not in caplog.text and "sk-wrong-key-987" not in caplog.text
    assert key not in json.dumps(reply)


def test_an_upstream_that_is_down_slow_or_broken_gets_an_openai_error_and_the_server_lives(picker, videos_root) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with serving(make_proxy(picker, videos_root, f"http://127.0.0.1:{closed_port}/v1")) as server:
        status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"))
        assert status == 502 and reply["error"]["type"] == "upstream_error"
        assert "cannot be reached" in reply["error"]["message"] and str(closed_port) not in reply["error"]["message"]
    with FakeServer(Behaviour(delay=3.0)) as slow:
        with serving(make_proxy(picker, videos_root, slow.url, timeout=0.5)) as server:
            start = time.monotonic()
            status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"))
            assert status == 504 and "did not answer within 0.5 s" in reply["error"]["message"]
            assert time.monotonic() - start < 2.5
            status, reply = call(server.url + "/chat/completions", chat_body("red.mp4", stream=True))
            assert status == 504  # nothing was sent yet: a plain error, not a broken stream
    with FakeServer(Behaviour(fail_first=[500])) as failing:
        with serving(make_proxy(picker, videos_root, failing.url)) as server:
            status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"))
            assert status == 500 and reply["error"]["message"] == "try later (500)"  # the upstream's own words
            assert call(server.url + "/chat/completions", chat_body("red.mp4"))[0] == 200
    with FakeServer(Behaviour(garbage=True)) as garbage:
        with serving(make_proxy(picker, videos_root, garbage.url)) as server:
            status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"))
            assert status == 502 and "not a JSON object" in reply["error"]["message"]
            assert call(server.url.removesuffix("/v1") + "/health")[0] == 200


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("../etc/passwd", "contains '..'"),
        ("/etc/passwd", "outside the videos root"),
        ("file:///etc/passwd", "outside the videos root"),
        ("file://other-host/etc/passwd", "names host"),
        ("http://127.0.0.1:1/v.mp4", "remote video URLs are off"),
        ("missing.mp4", "no video 'missing.mp4'"),
        ("talks", "is a directory"),
        ("notavideo.mp4", "notavideo.mp4"),
        ("truncated.mp4", "truncated.mp4"),
    ],
)
def test_videos_the_server_will_not_or_cannot_read_are_a_400_naming_the_problem(picker, videos_root, fake, url, words) -> None:
    with serving(make_proxy(picker, videos_root, fake.url)) as server:
        status, reply = call(server.url + "/chat/completions", chat_body(url))
    assert status == 400, reply
    error = reply["error"]
    assert words in error["message"] and error["param"] == "messages[0].content[0].video_url"
    assert str(videos_root) not in error["message"]  # the client's spelling, not the server's folders
    assert not fake.behaviour.requests  # nothing went upstream


def test_bad_http_is_refused_in_one_line(picker, videos_root, fake) -> None:
    with serving(make_proxy(picker, videos_root, fake.url), max_body_bytes=1000) as server:
        status, reply = call(server.url + "/chat/completions", raw=b"{not json")
        assert status == 400 and "not JSON" in reply["error"]["message"]
        status, reply = call(server.url + "/chat/completions", raw=b"[1, 2]")
        assert status == 400 and "must be a JSON object" in reply["error"]["message"]
        status, reply = call(server.url + "/chat/completions", raw=b" " * 2000)
        assert status == 413 and "at most 1000" in reply["error"]["message"]
        status, reply = call(server.url.removesuffix("/v1") + "/admin")
        assert status == 404 and "/v1/chat/completions" in reply["error"]["message"]
        status, reply = call(server.url + "/../../etc/passwd")
        assert status in (400, 404)
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):  # the server closes after its answer
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 411") and b'"error"' in answer


def test_a_body_dripped_slower_than_the_client_timeout_is_cut_off(picker, videos_root, fake) -> None:
    with serving(make_proxy(picker, videos_root, fake.url), client_timeout=1.0) as server:
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
            start = time.monotonic()
            answer = b""
            try:
                while not answer:  # a byte every 0.3 s: each read is inside the timeout, the whole is not
                    sock.sendall(b" ")
                    time.sleep(0.3)
                    sock.setblocking(False)
                    try:
                        answer = sock.recv(4096)
                    except BlockingIOError:
                        pass
                    sock.setblocking(True)
            except OSError:
                pass
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - start < 5


def test_silent_clients_cannot_hold_the_workers(picker, videos_root, fake) -> None:
    with serving(make_proxy(picker, videos_root, fake.url), workers=2, client_timeout=1.0) as server:
        host, port = server.server_address[:2]
        idle = [socket.create_connection((host, port)) for _ in range(2)]  # both workers taken, nothing sent
        try:
            start = time.monotonic()
            status, _ = call(server.url + "/chat/completions", chat_body("red.mp4"), timeout=20)
            assert status == 200 and time.monotonic() - start < 8  # served once the idle ones timed out
        finally:
            for sock in idle:
                sock.close()
