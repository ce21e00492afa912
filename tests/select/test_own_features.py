"""Selecting from a user's own embeddings: `framepick.select_from_features` and `select --features`."""

from __future__ import annotations

import json

import numpy as np
import pytest

import framepick
import framepick.select  # noqa: F401  (registers the selectors)
from framepick.cli.main import main
from framepick.errors import InvalidArgumentError
from framepick.own_features import frame_features, read_array
from framepick.registry import selectors
from framepick.video.scenes import feature_boundary_scores

DIM = 16


def blocks(rng: np.random.Generator, sizes=(20, 12, 18), noise=0.05) -> tuple[np.ndarray, list[np.ndarray]]:
    """Rows in blocks: each block near its own random direction, at random norms."""
    centres = [rng.normal(size=DIM) for _ in sizes]
    rows = [c + noise * rng.normal(size=(n, DIM)) for c, n in zip(centres, sizes)]
    scale = rng.uniform(0.1, 30.0, size=(sum(sizes), 1))  # any norm: the methods must not care
    return np.concatenate(rows) * scale, centres


def run_cli(capsys, *argv: str) -> dict:
    code = main(["select", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def cli_error(capsys, *argv: str) -> str:
    assert main(["select", *argv]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_topk_is_the_top_cosines_at_any_norm_and_index_is_the_row() -> None:
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(60, DIM))
    query = rng.normal(size=DIM)
    cosine = (frames / np.linalg.norm(frames, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    expected = np.sort(np.argsort(-cosine)[:7])
    scaled = frames * rng.uniform(0.01, 100.0, size=(60, 1))
    for rows, q in ((frames, query), (scaled, 5.0 * query), (scaled.astype(np.float32), query[None])):
        selection = framepick.select_from_features(rows, q, 7, method="topk")
        np.testing.assert_array_equal(selection.indices, expected)
        np.testing.assert_array_equal(selection.positions, expected)
        np.testing.assert_allclose(selection.scores, cosine[expected], atol=1e-5)
    assert selection.timestamps is None and selection.video is None and selection.encoder == "given"


def test_timestamps_are_the_rows_times() -> None:
    rng = np.random.default_rng(1)
    frames = rng.normal(size=(30, DIM))
    times = np.arange(30) * 0.5 + 3.0
    selection = framepick.select_from_features(frames, frames[4], 3, method="topk", timestamps=times)
    assert 4 in selection.indices
    np.testing.assert_allclose(selection.timestamps, times[selection.indices])


def test_the_rows_norms_are_kept_for_models_trained_on_raw_features() -> None:
    raw = np.random.default_rng(2).normal(size=(9, DIM)) * 7.0
    features = frame_features(raw)
    np.testing.assert_allclose(np.linalg.norm(features.embeddings, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(features.raw(), raw, rtol=1e-5)


def test_a_query_of_several_rows_weighs_them_equally() -> None:
    rng = np.random.default_rng(3)
    frames = rng.normal(size=(40, DIM))
    two = np.stack([frames[5], frames[30]])
    selection = framepick.select_from_features(frames, two, 2, method="topk")
    np.testing.assert_array_equal(selection.indices, [5, 30])


@pytest.mark.parametrize("name", [n for n in selectors.names() if not getattr(selectors.get(n), "learned", False)
                                  and n != "tspo-release"])
def test_every_training_free_method_runs_on_features(name: str) -> None:
    rng = np.random.default_rng(4)
    frames, centres = blocks(rng)
    selection = framepick.select_from_features(frames, centres[1], 6, method=name)
    assert len(selection.indices) == 6 and np.all(np.diff(selection.indices) > 0)
    assert selection.indices.max() < len(frames)


def test_kframes_finds_its_key_clip_in_scenes_cut_from_the_rows() -> None:
    rng = np.random.default_rng(5)
    frames, centres = blocks(rng)  # rows 0-19, 20-31, 32-49
    boundaries = feature_boundary_scores(frames)
    assert np.argsort(-boundaries)[:2].tolist() in ([19, 31], [31, 19]), "the two block changes stand out"
    selection = framepick.select_from_features(frames, centres[1], 4, method="kframes", method_params={"mode": "focused"})
    assert np.all((selection.indices >= 20) & (selection.indices <= 31)), selection.indices
    assert [(c.start_index, c.end_index) for c in selection.clips if c.priority == "P1"] == [(20, 31)]


def test_uniform_needs_no_query_and_query_aware_methods_say_what_is_missing() -> None:
    frames = np.random.default_rng(6).normal(size=(10, DIM))
    np.testing.assert_array_equal(framepick.select_from_features(frames, None, 2, method="uniform").indices, [2, 7])
    with pytest.raises(InvalidArgumentError, match="method 'aks' picks frames for a query: give the query embedding"):
        framepick.select_from_features(frames, None, 2, method="aks")


@pytest.mark.parametrize(
    "frames,query,pattern",
    [
        (np.full((4, DIM), np.nan), np.ones(DIM), r"frames holds 64 NaN or inf value\(s\), the first at \[0, 0\]"),
        (np.ones((4, DIM)), np.r_[np.inf, np.ones(DIM - 1)], r"query holds 1 NaN or inf"),
        (np.ones(DIM), np.ones(DIM), r"frames must be a \[T, D\] array with T >= 1 and D >= 1, got shape \(16,\)"),
        (np.ones((0, DIM)), np.ones(DIM), r"T >= 1 .* got shape \(0, 16\)"),
        (np.ones((2, 3, DIM)), np.ones(DIM), r"got shape \(2, 3, 16\)"),
        (np.ones((4, DIM)), np.ones(DIM + 1), r"query must be \[16\] or \[Q, 16\] \(the frames' width\), got shape \(17,\)"),
        (np.zeros((4, DIM)), np.ones(DIM), r"frames row 0 is all zeros"),
        (np.array([["a"] * DIM]), np.ones(DIM), r"frames must hold real numbers, got dtype <U1"),
        (np.ones((4, DIM), dtype=bool), np.ones(DIM), r"frames must hold real numbers, got dtype bool"),
    ],
)
def test_bad_arrays_are_one_line_errors(frames, query, pattern) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        framepick.select_from_features(frames, query, 2, method="topk")


def test_bad_timestamps() -> None:
    frames = np.random.default_rng(7).normal(size=(5, DIM))
    with pytest.raises(InvalidArgumentError, match=r"timestamps must hold one time per frame row \(5\), got shape \(4,\)"):
        framepick.select_from_features(frames, frames[0], 2, timestamps=np.arange(4.0))
    with pytest.raises(InvalidArgumentError, match=r"timestamps must not decrease \(row 3 goes back\)"):
        framepick.select_from_features(frames, frames[0], 2, timestamps=[0.0, 1.0, 2.0, 1.5, 3.0])


def test_cli_features_with_timestamps(capsys, tmp_path) -> None:
    rng = np.random.default_rng(8)
    frames, centres = blocks(rng)
    np.save(tmp_path / "f.npy", frames.astype(np.float32))
    np.savez(tmp_path / "q.npz", query=centres[2])
    np.save(tmp_path / "t.npy", np.arange(len(frames)) * 2.0)
    result = run_cli(capsys, "--features", str(tmp_path / "f.npy"), "--query-features", str(tmp_path / "q.npz"),
                     "-k", "3", "--method", "topk", "--timestamps", str(tmp_path / "t.npy"))
    assert result["video"] is None and result["encoder"] == "given" and result["candidates"] == len(frames)
    assert all(32 <= f["index"] < 50 and f["timestamp"] == 2.0 * f["index"] == 2.0 * f["position"] for f in result["frames"])
    # The default method (topk+dedup) runs too: the rows are the features it compares.
    default = run_cli(capsys, "--features", str(tmp_path / "f.npy"), "--query-features", str(tmp_path / "q.npz"), "-k", "3")
    assert default["method"] == "topk+dedup" and len(default["frames"]) == 3


def test_cli_errors_name_the_flag(capsys, tmp_path) -> None:
    good = np.random.default_rng(9).normal(size=(6, DIM))
    np.save(tmp_path / "f.npy", good)
    np.save(tmp_path / "q.npy", good[0])
    bad = good.copy()
    bad[2, 1] = np.inf
    np.save(tmp_path / "bad.npy", bad)
    np.savez(tmp_path / "two.npz", a=good, b=good)
    (tmp_path / "f.pt").write_bytes(b"not read")
    f, q = str(tmp_path / "f.npy"), str(tmp_path / "q.npy")
    assert "--features" in cli_error(capsys, "--features", str(tmp_path / "bad.npy"), "--query-features", q)
    assert "holds 2 arrays (a, b)" in cli_error(capsys, "--features", str(tmp_path / "two.npz"), "--query-features", q)
    assert "reads .npy or .npz (one array), not .pt" in cli_error(capsys, "--features", str(tmp_path / "f.pt"), "--query-features", q)
    np.save(tmp_path / "narrow.npy", good[:, :4])
    assert "--query-features" in cli_error(capsys, "--features", f, "--query-features", str(tmp_path / "narrow.npy"))
    assert "give the query embedding (--query-features QUERY.npy)" in cli_error(capsys, "--features", f, "--method", "topk")
    assert "--timestamps" in cli_error(capsys, "--features", f, "--query-features", q, "--timestamps", q)
    assert "--query-features go with --features" in cli_error(capsys, "--scores", q, "--query-features", q)
    assert "exactly one of VIDEO" in cli_error(capsys, "--features", f, "--scores", q)
    assert "--option needs an encoder" in cli_error(capsys, "--features", f, "--query-features", q, "--option", "a")
    assert "--encoder embeds video frames" in cli_error(capsys, "--features", f, "--query-features", q, "--encoder", "offline")
    assert "every row is a candidate" in cli_error(capsys, "--features", f, "--query-features", q, "--candidates", "6")


def test_read_array_reads_npy_and_one_array_npz(tmp_path) -> None:
    values = np.arange(6.0).reshape(2, 3)
    np.save(tmp_path / "a.npy", values)
    np.savez_compressed(tmp_path / "a.npz", values)
    for name in ("a.npy", "a.npz"):
        np.testing.assert_array_equal(read_array(tmp_path / name, "--features"), values)


def test_a_learned_checkpoint_runs_on_given_features_of_its_width(tmp_path) -> None:
    from framepick.policies import build_policy
    from framepick.policies.checkpoint import save_policy

    save_policy(tmp_path / "ck", build_policy("tspo", dim=DIM), encoder_id="clip:somewhere")
    rng = np.random.default_rng(10)
    frames = rng.normal(size=(30, DIM))
    # An untrained TSPO agent ranks as top-k retrieval does (its event branch starts at zero).
    learned = framepick.select_from_features(frames, frames[3], 4, method="tspo", method_params={"checkpoint": str(tmp_path / "ck")})
    plain = framepick.select_from_features(frames, frames[3], 4, method="topk")
    np.testing.assert_array_equal(learned.indices, plain.indices)
    with pytest.raises(InvalidArgumentError, match=r"takes 16-d features \('clip:somewhere'\), got 8-d ones"):
        framepick.select_from_features(frames[:, :8], frames[3, :8], 4, method="tspo",
                                       method_params={"checkpoint": str(tmp_path / "ck")})
