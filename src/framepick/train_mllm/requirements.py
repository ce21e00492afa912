"""TRL, the optional dependency of ``framepick train kframes-mllm``: present, or one line saying what to install."""

from __future__ import annotations

from typing import Any

from framepick.errors import FramepickError

INSTALL_HINT = "pip install 'framepick[train-mllm]' (trl>=1.16,<1.17)"


class MissingDependencyError(FramepickError):
    """A stage needs a package that is not installed; the message says what to install."""


def require_trl() -> Any:
    """The ``trl`` module, or :class:`MissingDependencyError` naming the install command."""
    try:
        import trl
    except ImportError as error:
        raise MissingDependencyError(
            f"framepick train kframes-mllm needs TRL, which is not installed ({error.name or 'trl'} missing): "
            f"{INSTALL_HINT}"
        ) from None
    return trl
