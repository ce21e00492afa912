"""`framepick select --dedup` and the default method end to end on a generated video."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from framepick.cli.main import main
from tests_support import solid_picture


def red_picture(folder) -> str:
    path = folder / "red.png"
    Image.fromarray(solid_picture((220, 30, 30))).save(path)
    return str(path)


def run(capsys, *argv: str) -> tuple[int, dict | None, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_dedup_flag_turns_on_the_guard_and_no_chosen_frames_are_copies(capsys, segment_video, tmp_path):
    from framepick import pipeline
    from framepick.encode import load_encoder
    from framepick.encode.cache import FeatureCache
    from framepick.select.dedup import NEAR_DUPLICATE_THRESHOLD
    from framepick.video.candidates import GridSpec

    cache = str(tmp_path / "cache")
    common = (str(segment_video), "--query-image", red_picture(tmp_path), "-k", "6", "--encoder", "hist", "--candidates", "64",
              "--quiet", "--cache-dir", cache)
    code, plain, err = run(capsys, "select", *common, "--method", "topk")
    assert code == 0, err
    code, guarded, err = run(capsys, "select", *common, "--method", "topk", "--dedup")
    assert code == 0, err
    assert "dedup" not in plain["params"] and guarded["params"]["dedup"] == NEAR_DUPLICATE_THRESHOLD
    assert len(guarded["frames"]) == 6

    encoder = load_encoder("hist")
    prepared = pipeline.prepare_video(segment_video, GridSpec(count=64), [encoder], cache=FeatureCache(cache))
    rows = prepared.features[encoder.id].embeddings
    position = {int(i): p for p, i in enumerate(prepared.indices)}

    def distinct(chosen_rows: np.ndarray) -> int:
        """How many of the rows, taken in order, copy none taken before them."""
        kept: list[np.ndarray] = []
        for row in chosen_rows:
            if all(float(row @ other) < NEAR_DUPLICATE_THRESHOLD for other in kept):
                kept.append(row)
        return len(kept)

    def chosen(result: dict) -> np.ndarray:
        return rows[[position[f["index"]] for f in result["frames"]]]

    # A few solid colours: plain top-k takes copies of the reddest, the guard as many colours as exist.
    available = distinct(rows)
    assert distinct(chosen(plain)) < min(6, available)
    assert distinct(chosen(guarded)) == min(6, available)


def test_default_method_is_topk_with_the_guard(capsys, segment_video, tmp_path):
    code, result, err = run(capsys, "select", str(segment_video), "--query-image", red_picture(tmp_path), "-k", "4", "--encoder", "hist",
                            "--candidates", "32", "--quiet", "--cache-dir", str(tmp_path / "cache"))
    assert code == 0, err
    assert result["method"] == "topk+dedup" and "dedup" in result["params"]


def test_dedup_with_a_score_list_is_a_one_line_error(capsys, tmp_path):
    scores = tmp_path / "s.json"
    scores.write_text("[1, 2, 3, 4, 5]")
    code, _, err = run(capsys, "select", "--scores", str(scores), "-k", "2", "--dedup")
    assert code == 2 and err.count("\n") == 1 and "--dedup compares frames' features" in err
