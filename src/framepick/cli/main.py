"""The ``framepick`` command: parses arguments, configures logging, turns errors into one line.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args) -> int``.
User errors (:class:`framepick.errors.FramepickError`) print ``framepick: error: ...`` and exit 2,
and so does an ``OSError`` (a read-only or full disk, a permission, a link loop: the environment's
answer, which the user can fix), naming the path; anything else is a bug and prints one line too,
with the traceback only under FRAMEPICK_DEBUG=1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Iterator, Sequence

from framepick.cli import answer, data, embed, eval as eval_command, export, listing, report, scenes, select, serve, train

COMMANDS = (select, answer, serve, scenes, listing.methods, listing.encoders, embed, eval_command, report, export, data, train)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (and where to find help)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from framepick import __version__

    parser = OneLineParser(
        prog="framepick",
        description="Pick the K frames of a video that a multimodal LLM needs to answer a question.",
    )
    parser.add_argument("--version", action="version", version=f"framepick {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log lines (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with _cli_logging(args.verbose):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from framepick.device import restored_device_choice
    from framepick.errors import FramepickError

    try:
        with restored_device_choice():  # a --device of this command is not left behind for the next
            return int(args.run(args) or 0)
    except FramepickError as exc:
        _fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except BrokenPipeError:  # e.g. `framepick select ... | head`
        return 0
    except OSError as exc:
        # The environment said no (read-only or full disk, permissions, a link loop): the user's
        # to fix, so one line naming the path, never the "internal error" of a bug.
        _fail(os_error_message(exc))
        return 2
    except MemoryError as exc:
        _fail(f"out of memory{f' ({exc})' if str(exc) else ''}; ask for fewer candidates (--candidates, --fps, --max-candidates)")
        return 1
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into one line
        if os.environ.get("FRAMEPICK_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with FRAMEPICK_DEBUG=1 for a traceback)")
        return 1


def os_error_message(exc: OSError) -> str:
    """'cannot write 'PATH': Read-only file system' from an OSError, naming every path it carries."""
    from framepick.errors import one_line

    reason = one_line(exc, with_type=False, os_reason=True)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    if not paths:
        return f"{reason} ({type(exc).__name__})"
    return f"cannot use {' -> '.join(repr(p) for p in paths)}: {reason}"


def _fail(message: str) -> None:
    first = " ".join(str(message).split())  # one line, whatever the exception carried
    print(f"framepick: error: {first}", file=sys.stderr)


@contextlib.contextmanager
def _cli_logging(verbosity: int) -> Iterator[None]:
    """Log framepick's warnings to stderr as one line each, for the duration of one command.

    The previous logger state comes back afterwards, so calling :func:`main` from Python (or a
    test) leaves the host's logging as it found it.
    """
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("framepick: %(levelname)s: %(message)s"))
    root = logging.getLogger("framepick")
    saved = (root.handlers[:], root.level, root.propagate)
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    try:
        yield
    finally:
        root.handlers[:], root.level, root.propagate = saved


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
