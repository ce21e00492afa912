"""Embed on a Ray cluster with Ray Data: decoding as CPU tasks, the encoders as actors holding the models.

The pipeline is ``from_items(jobs) -> flat_map(decode) -> map(encode, actors) -> driver``:

- the driver plans every video against the cache (content hash, what is missing) and skips the
  cached ones; only the rest become jobs;
- a CPU task per video probes and decodes it a batch at a time (:func:`~framepick.embed.stages.decode_job`),
  each batch a row (Ray Data streams rows on as blocks of about one batch);
- ``workers`` actors, each holding the encoders (``gpus_per_worker`` GPUs apiece), embed the batches;
- the driver receives every video's events and writes its cache entries (:mod:`framepick.embed.assemble`).

So the workers need the videos at the same paths (a shared filesystem) but never the cache: the
cache is written only by the driver, in its ``--cache-dir``. Failures: Ray restarts a dead actor
and retries its batch, and retries a decoding task whose worker died; an event that arrives twice
is written once. Ray is imported only inside these functions: ``import framepick`` never imports it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from framepick.embed.assemble import Assembler
from framepick.embed.events import Cached, EmbedJob, FrameBatch
from framepick.embed.jobs import plan_job
from framepick.embed.progress import VideoBar
from framepick.embed.spec import EmbedSpec, Extractor, load_extractors
from framepick.embed.stages import decode_job, encode_batch, failure_reason
from framepick.embed.summary import EmbedSummary
from framepick.encode.cache import FeatureCache
from framepick.errors import FramepickError, InvalidArgumentError, one_line

logger = logging.getLogger(__name__)

RAY_MISSING = "--ray needs Ray Data, which is not installed here: pip install 'framepick[ray]'"

BLOCK_BYTES = 32 * 1024 * 1024
"""Ray Data's block size for this pipeline: about one batch of frames (64 x 224 x 398 x 3 is 17 MB),
so a decoded batch moves on to the encoders at once instead of waiting for 128 MB of them."""

DECODE_MEMORY = 512 * 1024 * 1024
"""Memory one decoding task reserves: PyAV with a 4K stream, a few batches at 384 px, a ten-hour
video's index (~15 MB): measured peaks stay well under this (docs/scale.md)."""

PLANNING_THREADS = 8
"""Videos hashed and looked up in the cache at once on the driver (I/O, ~1 MB read per video)."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run: the cluster, the encoder actors, and the resources each takes."""

    address: str | None = None
    """What ``ray.init(address=...)`` takes (``auto``, ``HOST:6379``, ``ray://HOST:10001``);
    None starts a local cluster for this run and stops it afterwards."""
    workers: int = 1
    """Encoder actors, each holding its own copy of the models."""
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    decode_cpus: float = 1.0
    """CPUs one decoding task reserves (one video at a time per task)."""
    num_cpus: int | None = None
    """Size of a local cluster (None: every CPU of this machine); ignored with ``address``."""

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise InvalidArgumentError(f"--workers must be a positive integer, got {self.workers!r}")
        for flag, value in (("--gpus-per-worker", self.gpus_per_worker), ("--cpus-per-worker", self.cpus_per_worker)):
            if not value >= 0:
                raise InvalidArgumentError(f"{flag} must be a number of at least 0, got {value!r}")
        if self.num_cpus is not None and self.num_cpus < 1:
            raise InvalidArgumentError(f"--num-cpus must be a positive integer, got {self.num_cpus!r}")


def import_ray() -> Any:
    """The ``ray`` module with Ray Data, or a one-line error naming the extra that brings it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the part this pipeline needs; ray core alone is not enough
    except ImportError:
        raise InvalidArgumentError(RAY_MISSING) from None
    return ray


@contextlib.contextmanager
def ray_session(options: RayOptions) -> Iterator[Any]:
    """Ray, connected to ``options.address`` or to a local cluster started here (and stopped after).

    A process that already called ``ray.init`` (a notebook, a test) keeps its own connection.
    """
    ray = import_ray()
    # Ray's own notices (token auth, progress bars off, execution plans) are not the user's
    # business at framepick's default verbosity; -v shows them.
    verbose = logging.getLogger("framepick").getEffectiveLevel() < logging.WARNING
    level = logging.INFO if verbose else logging.ERROR
    started = False
    if not ray.is_initialized():
        settings: dict[str, Any] = {"include_dashboard": False, "logging_level": level}
        if options.address:
            check_reachable(options.address)
            ray.init(address=options.address, **settings)
        else:
            ray.init(num_cpus=options.num_cpus or os.cpu_count() or 1, **settings)
        started = True
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(level)
    try:
        check_resources(ray.cluster_resources(), options, exact=started and not options.address)
        yield ray
    finally:
        if started:
            ray.shutdown()


CONNECT_SECONDS = 10.0


def check_reachable(address: str) -> None:
    """A one-line error now when nothing listens at ``HOST:PORT`` (or ``ray://HOST:PORT``): Ray
    itself keeps retrying for minutes. ``auto`` (the cluster this machine joined) is Ray's to find."""
    import socket

    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise InvalidArgumentError(
            f"--ray {address}: no Ray cluster answers there ({one_line(error, with_type=False, os_reason=True)}); "
            "start one with 'ray start --head', or give no ADDRESS for a local cluster"
        ) from None


def check_resources(resources: dict[str, float], options: RayOptions, *, exact: bool) -> None:
    """Refuse a plan the cluster can never run: encoder actors that hold every CPU leave decoding
    none, and the run would wait for ever. ``exact``: the cluster is the local one started here; a
    connected cluster may autoscale, so a shortfall there is only a warning."""
    cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
    needed_cpus = options.workers * options.cpus_per_worker + options.decode_cpus
    needed_gpus = options.workers * options.gpus_per_worker
    problem = None
    if needed_cpus > cpus:
        problem = (
            f"{options.workers} worker(s) x {options.cpus_per_worker:g} CPU plus {options.decode_cpus:g} for decoding "
            f"need {needed_cpus:g} CPUs, the cluster has {cpus:g}; lower --workers or --cpus-per-worker "
            "(0.5 lets two share a CPU), or give the local cluster more with --num-cpus"
        )
    elif needed_gpus > gpus:
        problem = (
            f"{options.workers} worker(s) x {options.gpus_per_worker:g} GPU need {needed_gpus:g} GPUs, "
            f"the cluster has {gpus:g}; lower --workers or --gpus-per-worker"
        )
    if problem is None:
        return
    if exact:
        raise InvalidArgumentError(problem)
    logger.warning("%s (waiting for the cluster to grow)", problem)


def embed_on_ray(
    videos: Sequence[str],
    spec: EmbedSpec,
    cache: FeatureCache,
    options: RayOptions,
    *,
    progress: bool = False,
) -> EmbedSummary:
    """:func:`framepick.embed.local.embed_videos` on a Ray cluster: the same entries, the same summary."""
    started = time.perf_counter()
    with ray_session(options) as ray:
        # The driver loads the encoders too: their ids (weights and preprocessing) key the entries.
        extractors = load_extractors(spec)
        summary = EmbedSummary(videos=len(videos))
        with VideoBar(progress, summary) as bar:
            writer = Assembler(videos, spec, cache, summary, on_finished=bar.finished)
            jobs = _plan(videos, cache, extractors, spec, writer)
            if jobs:
                try:
                    for row in _dataset(ray, jobs, spec, options).iter_rows():
                        writer.feed(pickle.loads(row["event"]))
                except ray.exceptions.RayError as error:
                    # A bad video never gets here (it is an event); this is the pipeline itself:
                    # an actor that cannot load its model, a cluster gone.
                    raise FramepickError(
                        f"the Ray run stopped: {ray_reason(error)}; the {summary.embedded} videos written are kept, "
                        "rerun to finish"
                    ) from error
            writer.close()
    summary.seconds = time.perf_counter() - started
    return summary


def ray_reason(error: BaseException) -> str:
    """The cause of a Ray error in one line: the last line of its message (Ray puts the remote
    traceback first and the exception it ended with last), without terminal colours."""
    import re

    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines() if line.strip()]
    return lines[-1] if lines else one_line(error)


def _plan(
    videos: Sequence[str], cache: FeatureCache, extractors: dict[str, Extractor], spec: EmbedSpec, writer: Assembler
) -> list[EmbedJob]:
    """The jobs of the videos that need work; cached and unreadable ones go straight to the writer."""

    def plan(number: int) -> EmbedJob | None | str:
        try:
            return plan_job(number, videos[number], cache, extractors, spec.grid)
        except Exception as exc:  # noqa: BLE001 - an unreadable file fails itself
            return failure_reason(exc)

    jobs = []
    with ThreadPoolExecutor(PLANNING_THREADS, thread_name_prefix="framepick-plan") as pool:
        for number, planned in enumerate(pool.map(plan, range(len(videos)))):
            if isinstance(planned, str):
                writer.fail(number, planned)
            elif planned is None:
                writer.feed(Cached(number))
            else:
                jobs.append(planned)
    return jobs


def _dataset(ray: Any, jobs: list[EmbedJob], spec: EmbedSpec, options: RayOptions) -> Any:
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver's bar counts videos
    context.target_max_block_size = BLOCK_BYTES
    items = [{"job": pickle.dumps(job)} for job in jobs]
    dataset = ray.data.from_items(items, override_num_blocks=len(items))
    # The memory a decoding task reserves keeps a node from starting more decoders than it can
    # hold; being a resource the actors do not ask for, it also keeps Ray Data from fusing the two
    # stages into the actors, so decoding stays in tasks that scale with the CPUs. (Ray Data
    # retries a task whose worker died, and restarts a dead actor, without limit by default.)
    dataset = dataset.flat_map(
        _decode_rows, fn_kwargs={"spec": spec}, num_cpus=options.decode_cpus, memory=DECODE_MEMORY
    )
    return dataset.map(
        _EncodeRows,
        fn_constructor_kwargs={"spec": spec},
        compute=ray.data.ActorPoolStrategy(size=options.workers),
        num_cpus=options.cpus_per_worker,
        num_gpus=options.gpus_per_worker,
    )


def _decode_rows(row: dict[str, Any], spec: EmbedSpec) -> Iterator[dict[str, bytes]]:
    """A Ray task's work: one job's events, each pickled into a row (workers run this same code)."""
    for event in decode_job(pickle.loads(row["job"]), spec):
        yield {"event": pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)}


class _EncodeRows:
    """A Ray actor's work: embed frame batches with the models it loaded once; pass other events on."""

    def __init__(self, spec: EmbedSpec) -> None:
        self.extractors = load_extractors(spec)

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        event = pickle.loads(row["event"])
        if not isinstance(event, FrameBatch):
            return row
        return {"event": pickle.dumps(encode_batch(event, self.extractors), protocol=pickle.HIGHEST_PROTOCOL)}
