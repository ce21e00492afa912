"""Contract tests over every registered selector (DESIGN.md section 7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import framepick.select  # noqa: F401  (registers the selectors)
from framepick.errors import InvalidArgumentError, UnknownNameError
from framepick.registry import selectors
from framepick.select import load_selector
from framepick.select.base import SelectorInput
from framepick.types import Scene, Selection

NAMES = selectors.names()
LEARNED = {n for n in NAMES if getattr(selectors.get(n), "learned", False)}
RELEASED = {"tspo-release"}
"""Selectors of published weights (not trained here): built with a random agent of their architecture."""
WEIGHTED = LEARNED | RELEASED
FEATURE_DIM = 16
_checkpoints: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def untrained_checkpoints(tmp_path_factory):
    """Learned selectors need a checkpoint: an untrained policy of each, small width."""
    from framepick.policies import build_policy
    from framepick.policies.checkpoint import save_policy

    for name in LEARNED:
        folder = tmp_path_factory.mktemp(name)
        save_policy(folder, build_policy(name, dim=FEATURE_DIM), encoder_id="test-encoder")
        _checkpoints[name] = str(folder)
    import torch

    from framepick.policies.tspo_release import TSPOReleaseAgent

    torch.manual_seed(0)
    agent = tmp_path_factory.mktemp("tspo-release") / "agent.pth"
    torch.save(TSPOReleaseAgent(FEATURE_DIM).state_dict(), agent)
    _checkpoints["tspo-release"] = str(agent)
    yield
    _checkpoints.clear()


def build(name: str, **params):
    if name in WEIGHTED:
        params.setdefault("checkpoint", _checkpoints[name])
    return load_selector(name, **params)


def random_scenes(total: int, rng: np.random.Generator) -> tuple[Scene, ...]:
    cuts = np.sort(rng.choice(np.arange(1, total), size=min(total - 1, rng.integers(0, 12)), replace=False)) if total > 1 else []
    bounds = [0, *map(int, cuts), total]
    return tuple(Scene(a, b - 1) for a, b in zip(bounds[:-1], bounds[1:]))


def make_inputs(total: int, seed: int = 0, scores: np.ndarray | None = None) -> SelectorInput:
    from framepick.types import Features

    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(total, FEATURE_DIM)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    query = embeddings[rng.integers(total)][None]
    return SelectorInput(
        num_candidates=total,
        scores=rng.normal(size=total) if scores is None else scores,
        scenes=random_scenes(total, rng),
        features=Features(embeddings, None, "test-encoder"),
        query_embedding=query,
        option_embeddings=rng.normal(size=(3, FEATURE_DIM)).astype(np.float32),
    )


def check_output(name: str, inputs: SelectorInput, k: int) -> np.ndarray:
    out = build(name).select(inputs, k, np.random.default_rng(7))
    positions = out.positions
    total = inputs.num_candidates
    assert positions.dtype == np.int64
    assert positions.shape == (min(k, total),)
    assert np.all(np.diff(positions) > 0), "sorted and unique"
    assert positions.size == 0 or (positions[0] >= 0 and positions[-1] < total)
    if out.scores is not None:
        assert out.scores.shape == positions.shape
    # The pipeline's result type accepts it.
    Selection(indices=positions, positions=positions, timestamps=None, scores=out.scores, method=name, k=k, num_candidates=total)
    return positions


def test_the_training_free_selectors_are_registered() -> None:
    assert {"uniform", "topk", "aks", "bolt", "kframes"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_summary_line_and_class_attributes(name: str) -> None:
    cls = selectors.get(name)
    assert selectors.summaries()[name].strip(), "first docstring line is printed by `framepick methods`"
    assert cls.name == name
    assert cls.needs <= {"scores", "scenes", "features", "options"}
    assert isinstance(cls.query_aware, bool)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("total,k", [(1024, 1), (1024, 8), (1024, 32), (1024, 64), (300, 17), (64, 64), (33, 32), (5, 3), (2, 2)])
def test_min_k_t_unique_sorted_in_range(name: str, total: int, k: int) -> None:
    for seed in range(3):
        check_output(name, make_inputs(total, seed), k)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(total=st.integers(1, 400), k=st.integers(1, 80), seed=st.integers(0, 2**16), ties=st.booleans())
def test_contract_property(name: str, total: int, k: int, seed: int, ties: bool) -> None:
    scores = np.random.default_rng(seed).normal(size=total)
    if ties:  # few distinct values: exercises every tie-break
        scores = np.round(scores)
    check_output(name, make_inputs(total, seed, scores), k)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_seed(name: str) -> None:
    inputs = make_inputs(500, 3)
    selector = build(name)
    a = selector.select(inputs, 24, np.random.default_rng(11))
    b = selector.select(inputs, 24, np.random.default_rng(11))
    np.testing.assert_array_equal(a.positions, b.positions)


@pytest.mark.parametrize("name", NAMES)
def test_fewer_candidates_than_k_returns_all(name: str) -> None:
    np.testing.assert_array_equal(check_output(name, make_inputs(7, 1), 20), np.arange(7))


@pytest.mark.parametrize("name", NAMES)
def test_single_candidate(name: str) -> None:
    np.testing.assert_array_equal(check_output(name, make_inputs(1, 1), 1), [0])
    np.testing.assert_array_equal(check_output(name, make_inputs(1, 1), 5), [0])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [1, 2, 8, 32])
def test_constant_scores(name: str, k: int) -> None:
    positions = check_output(name, make_inputs(200, 2, np.full(200, 0.25)), k)
    if name != "topk" and name not in WEIGHTED and k > 2:
        # Nothing to adapt to: frames are spread over the video, not bunched at the start.
        # (k = 2 is exempt: BOLT's released levels linspace(1/k, 1-1/k, k) are 0.5 twice.)
        assert positions[-1] > 100


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad_k", [0, -3, 2.5, True, "8", None])
def test_k_is_validated(name: str, bad_k: object) -> None:
    with pytest.raises(InvalidArgumentError, match="k must be a positive integer"):
        build(name).select(make_inputs(50), bad_k, np.random.default_rng(0))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", [n for n in NAMES if "scores" in selectors.get(n).needs and n not in WEIGHTED])
def test_missing_scores_is_a_clear_error(name: str) -> None:
    inputs = SelectorInput(num_candidates=20)
    with pytest.raises(InvalidArgumentError, match="scores"):
        load_selector(name).select(inputs, 4, np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(LEARNED))
def test_learned_selector_errors_are_one_line(name: str, tmp_path) -> None:
    from framepick.errors import ModelError

    with pytest.raises(InvalidArgumentError, match=f"needs a checkpoint: --method {name}=CKPT_DIR"):
        load_selector(name).select(make_inputs(20), 4, np.random.default_rng(0))
    with pytest.raises(InvalidArgumentError, match="needs frame features"):
        build(name).select(SelectorInput(num_candidates=20), 4, np.random.default_rng(0))
    with pytest.raises(ModelError, match="has no policy.json"):
        load_selector(name, checkpoint=str(tmp_path)).select(make_inputs(20), 4, np.random.default_rng(0))
    other = make_inputs(20)
    from dataclasses import replace

    from framepick.types import Features

    wrong = replace(other, features=Features(other.features.embeddings, None, "another-encoder"))
    with pytest.raises(InvalidArgumentError, match="trained on 'test-encoder' features.*'another-encoder'"):
        build(name).select(wrong, 4, np.random.default_rng(0))


def test_load_selector_errors() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'aks'"):
        load_selector("akss")
    with pytest.raises(InvalidArgumentError, match="no parameter 'alpha'.*accepted: power"):
        load_selector("bolt", alpha=2)
    assert load_selector("aks", t1=0.5).t1 == 0.5


@pytest.mark.parametrize(
    "name,params,pattern",
    [
        ("aks", {"all_depth": -1}, r"all_depth must be an integer in \[0, 30\], got -1"),
        ("aks", {"t1": float("nan")}, r"t1 must be a number .*got nan"),
        ("bolt", {"power": 0}, r"power must be a number in \(0, 100\], got 0"),
        ("kframes", {"mode": "fast"}, r"mode must be one of auto, focused, hybrid, got 'fast'"),
        ("kframes", {"r_min": 1.5}, r"r_min must be a number in \[0, 1\], got 1.5"),
        ("kframes", {"tau": 1.5}, r"tau must be an integer in \[0, inf\], got 1.5"),
        ("kframes", {"p2_threshold": 4.95}, r"p2_threshold must be a number in \[1, 4.9\], got 4.95"),
    ],
)
def test_parameter_messages_name_parameter_range_and_value(name: str, params: dict, pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        load_selector(name, **params)
