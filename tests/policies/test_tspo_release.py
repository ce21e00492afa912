"""The TSPO authors' released agent: framepick's loader against a transcription of their code.

`policies/tspo_reference.py` is their `MultiModal_Align` and `inference_ts` transcribed as they are
(seeded random weights here); framepick loads the same weights from a state dict file, a
TSPO-0.4B-style folder (a tiny random CLIP plus `selector.*`) or a cached hub id, and must choose
the same frames for several T and k, in both modes, from the API, `select --features` and a video.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import framepick  # noqa: E402
import framepick.select  # noqa: E402,F401  (registers the selectors)
from framepick.cli.main import main  # noqa: E402
from framepick.errors import InvalidArgumentError, ModelError  # noqa: E402
from framepick.policies.tspo_modes import bin_max_positions, uniform_integers  # noqa: E402
from framepick.policies.tspo_release import TSPOReleaseAgent, release_positional_encoding  # noqa: E402
from framepick.policies.tspo_release_io import find_release, load_release_agent  # noqa: E402
from framepick.select import load_selector  # noqa: E402
from policies.threads import one_thread  # noqa: E402,F401  (autouse)
from policies import tspo_folder as tspo_folder_helpers  # noqa: E402
from policies.tspo_reference import MultiModalAlign, clip_scores, inference_ts, positional_encoding  # noqa: E402

DIM = 32
LENGTHS = (1, 2, 5, 11, 12, 13, 40, 97, 300)
BUDGETS = (1, 4, 8, 16, 64)
TAU = 0.025


def reference_agent(dim: int = DIM, seed: int = 0) -> MultiModalAlign:
    return tspo_folder_helpers.reference_agent(dim, seed)


def raw_clip_like(length: int, seed: int, dim: int = DIM) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised features (CLIP's projections are not unit vectors) and a text feature."""
    rng = np.random.default_rng(seed)
    frames = rng.normal(0.3, 1.0, size=(length, dim)) * rng.uniform(0.5, 3.0, size=(length, 1))
    return frames.astype(np.float32), rng.normal(size=dim).astype(np.float32)


def reference_choice(agent: MultiModalAlign, frames: np.ndarray, text: np.ndarray, k: int, mode: str, window: int = 12):
    image = torch.from_numpy(frames)
    text_t = torch.from_numpy(text)[None]
    with torch.no_grad():
        confidence, _ = agent(image, text_t, clip_scores(text_t, image), window_size=window, score_tau=TAU)
    return inference_ts(confidence, mode, k).numpy(), confidence.numpy() * TAU


@pytest.fixture(scope="module")
def agent_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tspo-agent") / "agent.pth"
    torch.save(reference_agent().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def tspo_folder(tmp_path_factory) -> Path:
    """What their merge_weights.py writes: a CLIP folder whose weights also hold `selector.*`."""
    return tspo_folder_helpers.build_tspo_folder(tmp_path_factory.mktemp("tspo-0.4b") / "TSPO-tiny", seed=1)


def test_the_positional_table_is_theirs() -> None:
    for length, dim in ((1, 8), (7, 32), (300, 768)):
        np.testing.assert_allclose(release_positional_encoding(length, dim).numpy(), positional_encoding(length, dim)[0].numpy(), atol=1e-6)


def test_their_state_dict_loads_strictly_and_names_every_parameter() -> None:
    theirs = reference_agent()
    ours = TSPOReleaseAgent(DIM)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict(), strict=True)


@pytest.mark.parametrize("mode", ["topk", "bin-max"])
def test_the_same_frames_as_their_code_for_every_length_and_budget(agent_file, mode) -> None:
    agent = reference_agent()
    loaded = load_release_agent(find_release(str(agent_file)), 12)
    worst = 0.0
    for length in LENGTHS:
        frames, text = raw_clip_like(length, seed=length)
        with torch.no_grad():
            ours = loaded.frame_scores(torch.from_numpy(frames), torch.from_numpy(text)).numpy()
        for k in BUDGETS:
            expected, scores = reference_choice(agent, frames, text, k, mode)
            chosen = framepick.select_from_features(frames, text, k, method=f"tspo-release={agent_file}",
                                                    method_params={"mode": mode}).indices
            np.testing.assert_array_equal(chosen, expected, err_msg=f"T={length} k={k} {mode}")
            worst = max(worst, float(np.abs(ours - scores).max()))
    assert worst < 1e-5, worst


def test_other_windows_match_too(agent_file) -> None:
    agent = reference_agent()
    frames, text = raw_clip_like(60, seed=3)
    for window in (1, 2, 7, 8, 16, 100):
        expected, _ = reference_choice(agent, frames, text, 10, "topk", window=window)
        chosen = framepick.select_from_features(frames, text, 10, method="tspo-release",
                                                method_params={"checkpoint": str(agent_file), "window": window})
        np.testing.assert_array_equal(chosen.indices, expected, err_msg=f"window {window}")


def test_the_event_term_changes_the_choice_so_the_comparison_has_teeth(agent_file) -> None:
    frames, text = raw_clip_like(300, seed=300)
    released = framepick.select_from_features(frames, text, 16, method=f"tspo={agent_file}").indices
    retrieval = framepick.select_from_features(frames, text, 16, method="topk").indices
    assert set(released) != set(retrieval)
    # ... and it sees the rows at their norms: unit rows give another choice.
    unit = frames / np.linalg.norm(frames, axis=1, keepdims=True)
    agent = reference_agent()
    expected_unit, _ = reference_choice(agent, unit, text, 16, "topk")
    expected_raw, _ = reference_choice(agent, frames, text, 16, "topk")
    assert set(expected_unit) != set(expected_raw)
    np.testing.assert_array_equal(released, expected_raw)


def test_bin_max_is_their_binning_on_ties_and_rounding() -> None:
    assert uniform_integers(49, 5) == [0, 12, 24, 37, 49]  # 24.5 rounds to even, as Python's round
    scores = np.zeros(50)  # all ties: each bin gives its first frame
    agent_free = inference_ts(torch.zeros(50), "bin-max", 5).numpy()
    np.testing.assert_array_equal(bin_max_positions(scores, 5), agent_free)
    rng = np.random.default_rng(0)
    for total in (1, 2, 3, 10, 33, 128):
        for k in (1, 2, 3, 7, 32, 200):
            values = np.round(rng.normal(size=total), 1)  # few distinct values: ties inside bins
            np.testing.assert_array_equal(bin_max_positions(values, k), inference_ts(torch.from_numpy(values), "bin-max", k).numpy())


def test_through_select_features(agent_file, tmp_path, capsys) -> None:
    frames, text = raw_clip_like(97, seed=97)
    np.save(tmp_path / "f.npy", frames)
    np.save(tmp_path / "q.npy", text)
    for mode in ("topk", "bin-max"):
        code = main(["select", "--features", str(tmp_path / "f.npy"), "--query-features", str(tmp_path / "q.npy"),
                     "-k", "16", "--method", f"tspo={agent_file}", "--method-params", json.dumps({"mode": mode})])
        result = json.loads(capsys.readouterr().out)
        assert code == 0
        expected, scores = reference_choice(reference_agent(), frames, text, 16, mode)
        assert [f["index"] for f in result["frames"]] == expected.tolist()
        np.testing.assert_allclose([f["score"] for f in result["frames"]], scores[expected], atol=1e-5)
        assert result["params"]["agent"] == "release" and result["params"]["mode"] == mode


def test_a_folder_is_the_encoder_and_the_agent(tspo_folder, tmp_path) -> None:
    selector = load_selector("tspo", checkpoint=str(tspo_folder))
    assert selector.auto_encoder() == f"clip:{tspo_folder.resolve()}"
    assert load_selector("tspo-release", checkpoint=str(tspo_folder)).auto_encoder() == selector.auto_encoder()
    frames, text = raw_clip_like(40, seed=5, dim=24)
    expected, _ = reference_choice(reference_agent(dim=24, seed=1), frames, text, 8, "topk")
    np.testing.assert_array_equal(framepick.select_from_features(frames, text, 8, method=selector).indices, expected)


def test_a_cached_hub_id_is_read_from_the_cache_only(tspo_folder, tmp_path, monkeypatch) -> None:
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    with pytest.raises(ModelError, match=r"'hzf666/TSPO-0.4B' is not a folder, a file, or a hub id in the local Hugging Face cache"):
        load_selector("tspo", checkpoint="hzf666/TSPO-0.4B")
    repo = hub / "models--hzf666--TSPO-0.4B"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tspo_folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    selector = load_selector("tspo", checkpoint="hzf666/TSPO-0.4B")
    assert selector.auto_encoder() == "clip:hzf666/TSPO-0.4B"
    frames, text = raw_clip_like(30, seed=6, dim=24)
    expected, _ = reference_choice(reference_agent(dim=24, seed=1), frames, text, 5, "bin-max")
    chosen = framepick.select_from_features(frames, text, 5, method="tspo-release=hzf666/TSPO-0.4B",
                                            method_params={"mode": "bin-max"})
    np.testing.assert_array_equal(chosen.indices, expected)


def test_on_a_video_the_agent_sees_the_checkpoints_raw_clip_features(tspo_folder, segment_video, tmp_path) -> None:
    from framepick import pipeline
    from framepick.encode import load_encoder
    from framepick.types import Query

    question = "red screen"
    selection = framepick.select_frames(segment_video, question, 6, method=f"tspo={tspo_folder}", candidates=48,
                                        cache=tmp_path / "cache")
    encoder = load_encoder(f"clip:{tspo_folder}")
    assert selection.encoder == encoder.id
    prepared = pipeline.prepare_video(segment_video, framepick.api._grid(48, None, None, False), [encoder],
                                      cache=framepick.api.feature_cache(tmp_path / "cache"))
    features = prepared.features[encoder.id]
    assert features.norms is not None, "CLIP features keep their norms through the pipeline and its cache"
    text = pipeline.embed_query(encoder, Query(text=question))[0]
    expected, _ = reference_choice(reference_agent(dim=24, seed=1), features.raw(), text, 6, "topk")
    np.testing.assert_array_equal(selection.positions, expected)


def test_framepick_checkpoints_still_load_as_tspo_and_take_bin_max(tmp_path) -> None:
    from framepick.policies import build_policy
    from framepick.policies.checkpoint import save_policy

    save_policy(tmp_path / "ck", build_policy("tspo", dim=16), encoder_id="clip:x")
    selector = load_selector("tspo", checkpoint=str(tmp_path / "ck"))
    assert selector.release() is None and selector.params()["agent"] == "framepick"
    frames = np.random.default_rng(0).normal(size=(50, 16))
    topk = framepick.select_from_features(frames, frames[3], 5, method=selector)
    np.testing.assert_array_equal(topk.indices, framepick.select_from_features(frames, frames[3], 5, method="topk").indices)
    binned = framepick.select_from_features(frames, frames[3], 5, method="tspo",
                                            method_params={"checkpoint": str(tmp_path / "ck"), "mode": "bin-max"})
    unit = frames / np.linalg.norm(frames, axis=1, keepdims=True)
    cosine = unit @ unit[3]
    np.testing.assert_array_equal(binned.indices, bin_max_positions(2 * cosine, 5))  # untrained: S = 2 cos
    with pytest.raises(InvalidArgumentError, match="window is a parameter of the TSPO authors' agent"):
        load_selector("tspo", checkpoint=str(tmp_path / "ck"), window=8)
    with pytest.raises(ModelError, match="holds a 'tspo' policy, not 'refocus'"):
        load_selector("refocus", checkpoint=str(tmp_path / "ck"))


@pytest.mark.parametrize(
    "params,error,pattern",
    [
        ({}, InvalidArgumentError, r"needs its weights: --method tspo-release=TSPO-0.4B_FOLDER"),
        ({"checkpoint": "AGENT", "mode": "max"}, InvalidArgumentError, r"mode must be one of topk, bin-max, got 'max'"),
        ({"checkpoint": "AGENT", "window": 0}, InvalidArgumentError, r"window must be"),
        ({"checkpoint": "/no/such/agent.pth"}, ModelError, r"'/no/such/agent.pth' is not a folder"),
    ],
)
def test_bad_release_parameters_are_one_line(agent_file, params, error, pattern) -> None:
    params = {k: (str(agent_file) if v == "AGENT" else v) for k, v in params.items()}
    with pytest.raises(error, match=pattern):
        load_selector("tspo-release", **params)


def test_files_that_are_not_their_agent_say_so(tmp_path, agent_file) -> None:
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(ModelError, match=r"holds no TSPO agent: expected the keys of MultiModal_Align"):
        framepick.select_from_features(np.ones((4, DIM)), np.ones(DIM), 2, method=f"tspo-release={tmp_path / 'other.pth'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no policy.json .*not a TSPO-0.4B-style folder"):
        load_selector("tspo", checkpoint=str(tmp_path / "empty"))
    with pytest.raises(InvalidArgumentError, match=r"takes 32-d features, but 'given' gives 8-d ones"):
        framepick.select_from_features(np.ones((4, 8)), np.ones(8), 2, method=f"tspo-release={agent_file}")
