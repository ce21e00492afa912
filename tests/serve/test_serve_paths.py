"""The videos root: what a request's video_url may name, and the one-line refusal for everything else."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from framepick.errors import InvalidArgumentError
from framepick.serve.paths import LocalVideo, RefusedVideo, RemoteVideo, VideoRoot, local_file


@pytest.fixture()
def tree(tmp_path: Path) -> dict[str, Path]:
    """root/ with a video, a subfolder, links in and out; a secret beside the root."""
    root = tmp_path / "videos"
    (root / "talks").mkdir(parents=True)
    (root / "a.mp4").write_bytes(b"video a")
    (root / "talks" / "b c.mp4").write_bytes(b"video b")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for clients")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.mp4").write_bytes(b"outside")
    (root / "inside-link.mp4").symlink_to(root / "a.mp4")
    (root / "out-link.mp4").symlink_to(secret)
    (root / "out-dir").symlink_to(outside)
    (root / "abs-link").symlink_to("/etc")
    return {"root": root, "secret": secret, "outside": outside}


def refusal(root: VideoRoot, url: object) -> str:
    with pytest.raises(RefusedVideo) as info:
        root.locate(url)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_files_under_the_root_are_found_by_their_resolved_path(tree) -> None:
    root = VideoRoot(tree["root"])
    found = root.locate("a.mp4")
    assert isinstance(found, LocalVideo) and found.path == (tree["root"] / "a.mp4").resolve()
    assert found.shown == "a.mp4" and found.identity[2] == len(b"video a")
    assert root.locate("talks/b c.mp4").path.name == "b c.mp4"  # taken literally: no %-decoding needed
    assert root.locate(str(tree["root"] / "a.mp4")).path == found.path  # absolute, inside
    assert root.locate("file://" + str(tree["root"] / "talks" / "b%20c.mp4")).path.name == "b c.mp4"
    assert root.locate("file://localhost" + str(tree["root"] / "a.mp4")).path == found.path
    assert root.locate("./a.mp4").path == found.path
    # A link that stays inside is fine, and is the file it points to.
    assert root.locate("inside-link.mp4").path == found.path


def test_a_root_reached_through_a_symlink_accepts_both_spellings(tree, tmp_path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(tree["root"])
    root = VideoRoot(alias)
    assert root.locate(str(alias / "a.mp4")).path == (tree["root"] / "a.mp4").resolve()
    assert root.locate(str(tree["root"] / "a.mp4")).path == (tree["root"] / "a.mp4").resolve()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("../secret.txt", "contains '..'"),
        ("talks/../../secret.txt", "contains '..'"),
        ("talks/../a.mp4", "contains '..'"),  # even one that stays inside: the rule is simple
        ("..", "contains '..'"),
        ("/etc/passwd", "outside the videos root"),
        ("file:///etc/passwd", "outside the videos root"),
        ("file:/etc/passwd", "outside the videos root"),
        ("file:///%2e%2e/etc/passwd", "contains '..'"),
        ("file://evil.example/etc/passwd", "names host 'evil.example'"),
        ("file:relative.mp4", "absolute path"),
        ("file:///a.mp4?x=1", "query or fragment"),
        ("file:///a.mp4#frag", "query or fragment"),
        ("file:///a%00.mp4", "NUL"),
        ("a.mp4\x00.txt", "control character"),
        ("a.mp4\nb", "control character"),
        ("out-link.mp4", "symlink that leads out"),
        ("out-dir/x.mp4", "symlink that leads out"),
        ("abs-link/passwd", "symlink that leads out"),
        ("missing.mp4", "no video 'missing.mp4'"),
        ("talks", "is a directory"),
        (".", "is a directory"),
        ("data:video/mp4;base64,AAAA", "data: video URLs are not accepted"),
        ("ftp://host/a.mp4", "scheme 'ftp' is not supported"),
        ("C:/videos/a.mp4", "scheme 'c' is not supported"),
        ("http://example.com/a.mp4", "remote video URLs are off"),
        ("HTTPS://example.com/a.mp4", "remote video URLs are off"),
        ("", "non-empty string"),
        (None, "non-empty string"),
        (7, "non-empty string"),
    ],
)
def test_refusals_name_the_problem(tree, url, words) -> None:
    message = refusal(VideoRoot(tree["root"]), url)
    assert words in message
    assert str(tree["root"]) not in message  # the client's spelling, never the server's folders


def test_the_absolute_path_in_a_refusal_is_the_clients_own(tree) -> None:
    message = refusal(VideoRoot(tree["root"]), "out-link.mp4")
    assert str(tree["root"]) not in message and str(tree["secret"]) not in message


def test_a_fifo_is_refused_without_opening_it(tree) -> None:
    fifo = tree["root"] / "pipe.mp4"
    os.mkfifo(fifo)
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(refusal(VideoRoot(tree["root"]), "pipe.mp4")))
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "checking a FIFO blocked: it was opened"
    assert "FIFO" in result[0] and "only regular files" in result[0]


def test_a_device_is_refused(tree) -> None:
    device = tree["root"] / "null.mp4"
    try:
        os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError):
        # No CAP_MKNOD here: the check itself, on the system's /dev/null.
        assert "is a device" in str(pytest.raises(RefusedVideo, local_file, Path("/dev/null"), "null.mp4").value)
        return
    assert "is a device" in refusal(VideoRoot(tree["root"]), "null.mp4")


def test_a_socket_is_refused(tree) -> None:
    import socket

    path = tree["root"] / "s.mp4"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        assert "is a socket" in refusal(VideoRoot(tree["root"]), "s.mp4")


def test_without_a_root_local_paths_are_off_and_remote_needs_its_switch(tree) -> None:
    assert "local video paths are off" in refusal(VideoRoot(None), "a.mp4")
    assert "local video paths are off" in refusal(VideoRoot(None), "file:///etc/passwd")
    remote = VideoRoot(None, allow_remote=True).locate("https://example.com/v.mp4")
    assert remote == RemoteVideo("https://example.com/v.mp4")
    assert "names no host" in refusal(VideoRoot(None, allow_remote=True), "http:///v.mp4")


def test_a_root_that_is_not_a_folder_is_an_error_at_start(tmp_path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidArgumentError, match="is not a folder"):
        VideoRoot(tmp_path / "f")
    with pytest.raises(InvalidArgumentError, match="is not a folder"):
        VideoRoot(tmp_path / "missing")


def test_a_file_rewritten_in_place_has_another_identity(tree) -> None:
    root = VideoRoot(tree["root"])
    before = root.locate("a.mp4").identity
    (tree["root"] / "a.mp4").write_bytes(b"a longer video a")
    assert root.locate("a.mp4").identity != before
