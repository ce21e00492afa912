"""Benchmark loaders: the authors' annotation files as :class:`framepick.types.Sample` lists.

Importing this package registers every loader in :data:`framepick.registry.benchmarks`:
``videomme``, ``longvideobench``, ``mlvu``, ``lvbench``, ``egoschema``, ``nextqa``.

>>> from framepick.data.benchmarks import load_benchmark
>>> report = load_benchmark("lvbench").load("video_info.meta.jsonl", "videos/")
>>> report.summary()          # "1549 samples, 0 malformed rows, 3 missing videos"
>>> report.samples[0].spans   # LVBench's time_reference, in seconds

The formats, the sources they were read from and every choice made where a format was ambiguous
are in docs/benchmarks.md.
"""

from __future__ import annotations

import inspect

from framepick.data.benchmarks import egoschema, longvideobench, lvbench, mlvu, nextqa, videomme  # noqa: F401
from framepick.data.benchmarks._loader import BenchmarkLoader
from framepick.data.benchmarks._options import strip_option_prefix
from framepick.data.benchmarks._report import LoadReport
from framepick.data.benchmarks._times import parse_time_spans
from framepick.data.benchmarks._videos import VIDEO_EXTENSIONS, VideoResolver
from framepick.errors import InvalidArgumentError
from framepick.registry import benchmarks

__all__ = [
    "VIDEO_EXTENSIONS",
    "BenchmarkLoader",
    "LoadReport",
    "VideoResolver",
    "load_benchmark",
    "parse_time_spans",
    "strip_option_prefix",
]


def load_benchmark(name: str, **params: object) -> BenchmarkLoader:
    """The loader registered as ``name``, built with ``params``.

    Every loader takes ``require_videos`` and ``include_unanswered``; EgoSchema also ``answers``,
    NExT-QA also ``video_map``. Unknown names raise :class:`framepick.errors.UnknownNameError`
    listing the registered ones; unknown parameters raise :class:`InvalidArgumentError`.
    """
    factory = benchmarks.get(name)
    accepted = _accepted_params(factory)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise InvalidArgumentError(
            f"benchmark {name!r} does not take {', '.join(unknown)}; it takes {', '.join(sorted(accepted))}"
        )
    return factory(**params)


def _accepted_params(factory: type) -> set[str]:
    accepted: set[str] = set()
    for cls in factory.__mro__:
        if "__init__" in vars(cls):
            for parameter in inspect.signature(cls.__init__).parameters.values():
                if parameter.kind is parameter.KEYWORD_ONLY:
                    accepted.add(parameter.name)
    return accepted
