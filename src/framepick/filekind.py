"""What a path's ``stat`` mode says it is: one classification for the CLI's input checks and the
serve proxy's video root, which both refuse FIFOs (a read blocks), devices and sockets."""

from __future__ import annotations

import stat
from typing import Literal

Kind = Literal["file", "dir", "fifo", "device", "socket", "other"]

DESCRIPTIONS: dict[str, str] = {
    "dir": "a directory",
    "fifo": "a FIFO (named pipe)",
    "device": "a device",
    "socket": "a socket",
    "other": "not a regular file",
}
"""How each kind that is not a regular file reads in a message."""


def file_kind(mode: int) -> Kind:
    """The kind of file an ``os.stat`` ``st_mode`` describes."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"
