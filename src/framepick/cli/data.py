"""``framepick data ...``: tools that make or check manifests (one module per tool)."""

from __future__ import annotations

import argparse
import importlib

# Each module defines add_parser(subparsers) and run(args) -> int, like the top-level commands.
TOOLS = ("framepick.cli.data_niah", "framepick.cli.data_convert", "framepick.cli.data_filter", "framepick.cli.data_split",
         "framepick.cli.data_import",
         "framepick.cli.data_vidthinker", "framepick.cli.data_peakclips")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("data", help="make manifests: needle-in-a-haystack suites, benchmark conversion, filtering")
    tools = parser.add_subparsers(dest="data_command", metavar="TOOL", parser_class=type(parser))
    tools.required = True
    for name in TOOLS:
        importlib.import_module(name).add_parser(tools)
