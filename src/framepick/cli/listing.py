"""``framepick methods`` and ``framepick encoders``: what is registered, one line each."""

from __future__ import annotations

import argparse


class _Listing:
    def __init__(self, name: str, help_text: str, loader: str) -> None:
        self.name, self.help_text, self.loader = name, help_text, loader

    def add_parser(self, sub: argparse._SubParsersAction) -> None:
        parser = sub.add_parser(self.name, help=self.help_text, description=self.help_text)
        parser.set_defaults(run=self.run)

    def run(self, args: argparse.Namespace) -> int:
        import framepick.api as api

        entries = getattr(api, self.loader)()
        width = max(map(len, entries), default=0)
        for name, summary in entries.items():
            print(f"{name:<{width}}  {summary}")
        return 0


methods = _Listing("methods", "list the frame-selection methods", "list_methods")
encoders = _Listing("encoders", "list the feature encoders", "list_encoders")
