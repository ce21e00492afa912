"""``framepick.errors.one_line``: the one formatter that turns a library's exception into one line."""

from __future__ import annotations

from framepick.errors import one_line


def test_the_first_line_with_the_type_name_is_the_default() -> None:
    error = ValueError("  bad   magic number\n\nTraceback hint: try again\n")
    assert one_line(error) == "ValueError: bad magic number"
    assert one_line(error, with_type=False) == "bad magic number"


def test_an_empty_message_is_the_type_name() -> None:
    assert one_line(RuntimeError()) == "RuntimeError"
    assert one_line(RuntimeError("  \n "), with_type=False) == "RuntimeError"


def test_os_reason_drops_the_errno_and_path_that_callers_name_themselves() -> None:
    error = FileNotFoundError(2, "No such file or directory", "/videos/a.mp4")
    assert one_line(error, with_type=False, os_reason=True) == "No such file or directory"
    assert one_line(error, with_type=False) == "[Errno 2] No such file or directory: '/videos/a.mp4'"
    # No strerror (an OSError raised with a plain message): the message itself.
    assert one_line(OSError("disk on fire"), with_type=False, os_reason=True) == "disk on fire"


def test_a_long_message_is_cut_to_the_limit_and_says_so() -> None:
    text = one_line(ValueError("x" * 1000))
    assert len(text) == 300 and text.startswith("ValueError: xxx") and text.endswith("x...")
    assert one_line(ValueError("x" * 20), limit=10) == "ValueEr..."
    assert one_line(ValueError("short"), limit=17) == "ValueError: short"  # exactly the limit: not cut
