"""A hand-built evaluation run directory for the report tests (helpers; fixtures in conftest.py).

A run directory built by hand, as ``framepick eval`` writes it: 3 samples x 2 methods x 2 ks x 2 query modes.

Samples (the video is the session's ``segment_video``: 30 s at 10 fps, red 10-15 s, blue 25-30 s):

- ``s1``: evidence 10-15 s, gold A;
- ``<script>alert(1)</script>``: evidence 25-30 s, gold B (an id that must come out escaped);
- ``s3``: no evidence spans, and its video file does not exist.

``uniform`` always picks frames spread over the video; ``kframes`` picks inside the evidence (and
has P1/P2 clips). Correctness is set per record so the tests know every number of the table.
"""

from __future__ import annotations

import json
from pathlib import Path


EVIL = "<script>alert(1)</script>"
SPANS = {"s1": [[10.0, 15.0]], EVIL: [[25.0, 30.0]], "s3": []}
GOLD = {"s1": "A", EVIL: "B", "s3": "C"}
QUESTIONS = {"s1": "When is the screen red?", EVIL: "When is it blue?", "s3": "What happens?"}

# (method, k) -> frame times per sample (same for both query modes)
TIMES = {
    ("uniform", 2): {"s1": [7.5, 22.5], EVIL: [7.5, 22.5], "s3": [7.5, 22.5]},
    ("uniform", 4): {"s1": [3.7, 11.2, 18.7, 26.2], EVIL: [3.7, 11.2, 18.7, 26.2], "s3": [3.7, 11.2, 18.7, 26.2]},
    ("kframes", 2): {"s1": [11.0, 13.0], EVIL: [26.0, 28.0], "s3": [5.0, 6.0]},
    ("kframes", 4): {"s1": [10.5, 12.0, 13.5, 20.0], EVIL: [25.5, 27.0, 28.5, 29.5], "s3": [1.0, 2.0, 3.0, 4.0]},
}
# (method, k, query) -> which samples are answered right (None: not answered)
CORRECT = {
    ("uniform", 2, "text"): {"s1": False, EVIL: False, "s3": True},
    ("uniform", 4, "text"): {"s1": True, EVIL: False, "s3": True},
    ("kframes", 2, "text"): {"s1": True, EVIL: True, "s3": False},
    ("kframes", 4, "text"): {"s1": True, EVIL: True, "s3": True},
    ("uniform", 2, "image"): {"s1": False, EVIL: False, "s3": False},
    ("uniform", 4, "image"): {"s1": True, EVIL: False, "s3": False},
    ("kframes", 2, "image"): {"s1": True, EVIL: False, "s3": None},
    ("kframes", 4, "image"): {"s1": True, EVIL: True, "s3": None},
}
SELECT_SECONDS = {"uniform": 0.0001, "kframes": 0.0042}


def _record(sample: str, method: str, k: int, query: str) -> dict:
    times = TIMES[(method, k)][sample]
    correct = CORRECT[(method, k, query)][sample]
    gold = GOLD[sample]
    answer = None if correct is None else (gold if correct else "D")
    clips = []
    if method == "kframes":
        clips = [
            {"start_seconds": 10.0, "end_seconds": 15.0, "start_index": 100, "end_index": 149,
             "priority": "P1", "score": 5.0, "reason": "red <b>scene</b>"},
            {"start_seconds": 25.0, "end_seconds": 30.0, "start_index": 250, "end_index": 299,
             "priority": "P2", "score": 4.5, "reason": "blue scene"},
        ]
    return {
        "sample_id": sample, "method": method, "k": k, "query": query, "encoder": "offline:test",
        "answerer": "offline", "candidates": 64,
        "frames": [{"index": int(round(t * 10)), "timestamp": round(t * 10) / 10, "score": 0.5} for t in times],
        "clips": clips, "answer": answer, "correct": correct,
        "option_probs": None if correct is None else [0.25, 0.25, 0.25, 0.25],
        "gold": gold, "spans": SPANS[sample], "duration_seconds": 30.0,
        "task_type": "colour" if sample != "s3" else "other", "duration_bucket": "short",
        "timings_seconds": {"probe": 0.01, "decode": 0.2, "encode": 1.0, "select": SELECT_SECONDS[method], "answer": 0.01},
        "frames_sent": k,
    }


def build_run_dir(root: Path, video: Path, *, timelines: bool = True) -> Path:
    run = root / "run"
    run.mkdir(parents=True)
    videos = {"s1": str(video), EVIL: str(video), "s3": str(root / "gone" / "missing.mp4")}
    manifest = root / "manifest.jsonl"
    with manifest.open("w") as f:
        for sid in ("s1", EVIL, "s3"):
            f.write(json.dumps({"id": sid, "video": videos[sid], "question": QUESTIONS[sid], "options": ["a", "b", "c", "d"],
                                "answer": GOLD[sid], "spans": SPANS[sid], "duration_seconds": 30.0}) + "\n")
    config = {"manifest": str(manifest), "methods": ["uniform", "kframes"], "ks": [2, 4], "answerer": "offline",
              "encoder": "offline:test", "queries": ["text", "image"], "candidates": 64, "version": "0.1.0"}
    (run / "config.json").write_text(json.dumps(config))
    with (run / "records.jsonl").open("w") as f:
        for sid in ("s1", EVIL, "s3"):
            for method in ("uniform", "kframes"):
                for k in (2, 4):
                    for query in ("text", "image"):
                        f.write(json.dumps(_record(sid, method, k, query)) + "\n")
    if timelines:
        with (run / "timelines.jsonl").open("w") as f:
            for sid in ("s1", EVIL, "s3"):
                for query in ("text", "image"):
                    ts = [i * 30.0 / 64 + 30.0 / 128 for i in range(64)]
                    rel = [0.9 if any(s <= t <= e for s, e in SPANS[sid]) else 0.2 + 0.001 * i for i, t in enumerate(ts)]
                    f.write(json.dumps({
                        "sample_id": sid, "query": query, "video": videos[sid], "timestamps": ts,
                        "indices": [int(t * 10) for t in ts], "relevance": rel,
                        "scenes": [[0.0, 10.0], [10.0, 15.0], [15.0, 25.0], [25.0, 30.0]],
                        "duration_seconds": 30.0, "spans": SPANS[sid],
                    }) + "\n")
    return run


