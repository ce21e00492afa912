"""Remote videos (``--allow-remote``): fetched once per URL, bounded in size and time, http(s) only.

A small HTTP server on localhost plays the remote host: it serves the test videos, with and without
a Content-Length, drips bytes slower than any timeout, redirects to ``file://``, answers 404.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from openai_fake import Behaviour, FakeServer
from serve_support import call, chat_body, make_proxy, serving

from framepick.serve import RemoteLimits, RemoteVideos
from framepick.serve.remote import RemoteVideoError


@pytest.fixture()
def host(videos_root):
    """(base URL, Counter of GET paths) of a localhost 'remote' host."""
    hits: Counter = Counter()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            hits[self.path] += 1
            kind, _, name = self.path.lstrip("/").partition("/")
            if kind == "slow":
                self.send_response(200)
                self.end_headers()
                while not stop.is_set():  # a byte at a time, each well inside a socket timeout
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.05)
                return
            if kind == "to-file":
                self.send_response(302)
                self.send_header("Location", "file:///etc/passwd")
                self.end_headers()
                return
            path = Path(videos_root) / name
            if kind not in ("v", "nolength") or not path.is_file():
                self.send_error(404)
                return
            data = path.read_bytes()
            self.send_response(200)
            if kind == "v":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture()
def upstream():
    with FakeServer(Behaviour(reply="ok")) as server:
        yield server


def test_a_remote_video_is_fetched_once_for_requests_arriving_together(picker, host, upstream, tmp_path) -> None:
    base, hits = host
    remote = RemoteVideos(RemoteLimits(), tmp_path / "downloads")
    with serving(make_proxy(picker, None, upstream.url, remote=remote)) as server:
        url = base + "/v/blue.mp4"
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: call(server.url + "/chat/completions", chat_body(url)), range(8)))
        status, reply = call(server.url + "/chat/completions", chat_body("red.mp4"))
    assert [status for status, _ in results] == [200] * 8, results
    assert results[0][1]["framepick"]["video"] == url and len(results[0][1]["framepick"]["frames"]) == 4
    assert hits["/v/blue.mp4"] == 1
    assert status == 400 and "local video paths are off" in reply["error"]["message"]  # no --videos-root here


@pytest.mark.parametrize(
    ("path", "limits", "words"),
    [
        ("/v/red.mp4", RemoteLimits(max_bytes=1000), "bytes; this server fetches at most 1000"),
        ("/nolength/red.mp4", RemoteLimits(max_bytes=1000), "is more than 1000 bytes"),
        ("/slow/", RemoteLimits(timeout=0.5), "did not download within 0.5 s"),
        ("/to-file/", RemoteLimits(), "redirects (HTTP 302) to a URL this server does not follow"),
        ("/v/absent.mp4", RemoteLimits(), "answered HTTP 404"),
        ("/v/notavideo.mp4", RemoteLimits(), "as a video"),
    ],
)
def test_remote_refusals_are_a_400_within_the_bounds(picker, host, upstream, tmp_path, path, limits, words) -> None:
    base, _ = host
    remote = RemoteVideos(limits, tmp_path / "downloads")
    with serving(make_proxy(picker, None, upstream.url, remote=remote)) as server:
        start = time.monotonic()
        status, reply = call(server.url + "/chat/completions", chat_body(base + path))
        assert time.monotonic() - start < 5
    assert status == 400 and words in reply["error"]["message"], reply
    assert not [p for p in (tmp_path / "downloads").iterdir() if p.name.endswith(".part")]  # nothing half-written left
    assert not upstream.behaviour.requests


def test_only_the_most_recent_downloads_are_kept_and_a_pruned_one_is_fetched_again(host, tmp_path) -> None:
    base, hits = host
    remote = RemoteVideos(RemoteLimits(keep=2), tmp_path / "downloads")
    first = remote.fetch(base + "/v/red.mp4")
    remote.fetch(base + "/v/blue.mp4")
    assert remote.fetch(base + "/v/red.mp4") == first and hits["/v/red.mp4"] == 1  # kept, and now the newest
    remote.fetch(base + "/v/talks/both.mp4")  # the oldest, blue, goes
    assert len(list((tmp_path / "downloads").iterdir())) == 2 and first.is_file()
    remote.fetch(base + "/v/blue.mp4")
    assert hits["/v/blue.mp4"] == 2
    with pytest.raises(RemoteVideoError):
        RemoteVideos(RemoteLimits(max_bytes=10), tmp_path / "other").fetch(base + "/v/red.mp4")


def test_without_a_folder_downloads_live_in_a_temporary_one_removed_at_close(host) -> None:
    base, _ = host
    remote = RemoteVideos()
    path = remote.fetch(base + "/v/red.mp4")
    assert path.is_file() and path.suffix == ".mp4"
    remote.close()
    assert not path.parent.exists()
