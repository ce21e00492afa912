"""``framepick serve``'s own checks: each wrong flag is one line and exit 2, before it listens."""

from __future__ import annotations

import socket

import pytest

from framepick.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["serve", *argv])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--upstream", "ftp://x/v1"], "--upstream must be http(s)://HOST:PORT/v1"),
        (["--upstream", "http://127.0.0.1:1/v1", "--api-key-env", "FRAMEPICK_TEST_UNSET_TOKEN"],
         "the environment variable FRAMEPICK_TEST_UNSET_TOKEN is not set"),
        (["--upstream", "http://127.0.0.1:1/v1", "--upstream-key-env", "FRAMEPICK_TEST_UNSET_KEY"],
         "the environment variable FRAMEPICK_TEST_UNSET_KEY is not set"),
        (["--upstream", "http://127.0.0.1:1/v1", "--videos-root", "/no/such/folder"], "is not a folder"),
        (["--upstream", "http://127.0.0.1:1/v1", "-k", "0"], "-k must be a positive integer"),
        (["--upstream", "http://127.0.0.1:1/v1", "-k", "40", "--max-k", "32"], "above this server's limit of 32"),
        (["--upstream", "http://127.0.0.1:1/v1", "--method", "nope"], "nope"),
        (["--upstream", "http://127.0.0.1:1/v1", "--port", "70000"], "--port must be 1-65535"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, monkeypatch, argv, words) -> None:
    monkeypatch.delenv("FRAMEPICK_TEST_UNSET_TOKEN", raising=False)
    monkeypatch.delenv("FRAMEPICK_TEST_UNSET_KEY", raising=False)
    code, err = run(capsys, *argv)
    assert code == 2 and words in err and len(err.splitlines()) == 1, err


def test_a_port_in_use_is_one_line(capsys, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run(capsys, "--upstream", "http://127.0.0.1:1/v1", "--port", str(port), "--encoder", "offline",
                        "--cache-dir", str(tmp_path))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and len(err.splitlines()) == 1, err
