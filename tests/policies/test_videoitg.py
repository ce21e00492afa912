"""VideoITG (paper 002): instruction typing, the four spreading rules, the Variant C classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from framepick.errors import InvalidArgumentError
from framepick.policies import build_policy
from framepick.policies.base import make_observation
from framepick.policies.instruction import (
    INSTRUCTION_TYPES,
    classify_instruction,
    diverse_by_relevance,
    farthest_point,
    fixed_rate_in_span,
    relevant_span,
    span_and_diverse,
    spread_frames,
)
from framepick.policies.videoitg import VideoITGClassifier, VideoITGConfig
from framepick.train.grpo import weighted_bce_loss

from policies.threads import one_thread  # noqa: F401  (autouse)

DIM = 16




def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def random_features(total: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    return unit_rows(np.random.default_rng(seed).normal(size=(total, dim)))


def policy(**fields) -> VideoITGClassifier:
    torch.manual_seed(0)
    return build_policy("videoitg", dim=DIM, **fields).eval()


def observation(total: int, seed: int = 0, question: str = ""):
    frames = random_features(total, seed)
    return make_observation(frames, frames[total // 3], None, question)


# --- instruction types (Sec 3.2, Tables 9-10) --------------------------------------------------


@pytest.mark.parametrize(
    "question,expected",
    [
        # The paper's example of each type (Sec 3.2).
        ("What did the man do before getting into the car?", "semantic"),
        ("How does the person jump off the diving board?", "motion"),
        ("Could you describe the camera movement in the video?", "semantic_motion"),
        ("Please describe the video in detail.", "no_clue"),
        # Table 9 (speed) and Table 10 (existence) examples.
        ("Which is faster, the white car or the bicycle?", "semantic_motion"),
        ("What color is the cat?", "semantic"),
        ("Is there a cat sitting on the windowsill in the video?", "semantic"),
        # More of each.
        ("Who is holding the red umbrella?", "semantic"),
        ("What is the table made of?", "semantic"),
        ("How fast does the train go?", "motion"),
        ("In what direction does the ball roll?", "motion"),
        ("Why did the boy run away?", "motion"),
        ("What is the woman wearing while she dances?", "semantic_motion"),
        ("What happens in the video?", "no_clue"),
        ("Summarize this clip.", "no_clue"),
        ("Did the chef add salt to the soup?", "semantic"),
    ],
)
def test_questions_are_typed_like_the_paper(question: str, expected: str) -> None:
    assert classify_instruction(question) == expected


def test_a_picture_query_is_semantic_and_case_and_spacing_do_not_matter() -> None:
    assert classify_instruction("") == "semantic"
    assert classify_instruction("   ") == "semantic"
    assert classify_instruction("HOW DOES the  person\tJUMP?") == "motion"


def test_spread_frames_rejects_an_unknown_type() -> None:
    with pytest.raises(InvalidArgumentError, match="instruction must be one of semantic, motion"):
        spread_frames("temporal", np.ones(4), random_features(4), 2)


# --- the four spreading rules -------------------------------------------------------------------


def test_semantic_takes_the_most_relevant_frame_of_each_distinct_content() -> None:
    # Three contents in 30 frames (near-duplicates within each); content A is the most relevant
    # everywhere, so plain top-3 would take three frames of A.
    rng = np.random.default_rng(1)
    contents = random_features(3, seed=2)
    label = np.repeat([0, 1, 2], 10)
    features = unit_rows(contents[label] + 0.02 * rng.normal(size=(30, DIM)))
    relevance = np.where(label == 0, 0.9, np.where(label == 1, 0.6, 0.3)) + 0.01 * rng.random(30)
    chosen = diverse_by_relevance(relevance, features, 3, threshold=0.9)
    assert sorted(label[chosen]) == [0, 1, 2]
    for position in chosen:  # the most relevant frame of its content
        assert relevance[position] == relevance[label == label[position]].max()
    assert set(np.argsort(-relevance)[:3]) <= set(np.flatnonzero(label == 0))


def test_semantic_tops_up_by_relevance_when_content_runs_out() -> None:
    features = np.tile(random_features(1, seed=3), (12, 1))  # one content only
    relevance = np.linspace(0.1, 0.9, 12)
    np.testing.assert_array_equal(diverse_by_relevance(relevance, features, 4), [8, 9, 10, 11])


def test_motion_samples_evenly_inside_the_span() -> None:
    relevance = np.full(100, 0.1)
    relevance[20:36] = 0.8
    relevance[28] = 0.95
    relevance[70] = 0.7  # relevant, but not connected to the peak: outside the span
    assert relevant_span(relevance, 4) == (20, 36)
    chosen = fixed_rate_in_span(relevance, 4)
    np.testing.assert_array_equal(chosen, [22, 26, 30, 34])  # centres of four 4-frame segments
    assert np.all((chosen >= 20) & (chosen < 36))


def test_motion_widens_a_short_span_around_the_peak() -> None:
    relevance = np.full(50, 0.2)
    relevance[30:33] = 0.9
    np.testing.assert_array_equal(fixed_rate_in_span(relevance, 8), np.arange(27, 35))
    # At the start of the video the window grows to the right only.
    relevance = np.full(50, 0.2)
    relevance[0] = 0.6
    np.testing.assert_array_equal(fixed_rate_in_span(relevance, 5), np.arange(5))
    # No frame reaches 0.5: the span is the peak frame, widened.
    relevance = np.full(50, 0.1)
    relevance[40] = 0.3
    np.testing.assert_array_equal(fixed_rate_in_span(relevance, 1), [40])
    np.testing.assert_array_equal(fixed_rate_in_span(relevance, 3), [39, 40, 41])


def test_semantic_motion_is_half_in_the_span_half_diverse_elsewhere() -> None:
    rng = np.random.default_rng(4)
    features = random_features(100, seed=5)
    features[11] = features[12] = features[10]  # one content, three frames
    relevance = np.full(100, 0.2) + 0.01 * rng.random(100)
    relevance[40:60] = 0.9  # the motion span
    relevance[10:13] = [0.45, 0.44, 0.43]  # the most relevant frames outside it
    chosen = span_and_diverse(relevance, features, 8)
    inside = chosen[(chosen >= 40) & (chosen < 60)]
    outside = chosen[(chosen < 40) | (chosen >= 60)]
    np.testing.assert_array_equal(inside, 40 + np.array([2, 7, 12, 17]))  # 4 evenly in the span
    rest = np.setdiff1d(np.arange(100), np.r_[10:13, 40:60])
    expected = np.sort(np.r_[10, rest[np.argsort(-relevance[rest])[:3]]])
    np.testing.assert_array_equal(outside, expected)  # the duplicates of frame 10 are skipped


def test_no_clue_spreads_over_the_whole_video() -> None:
    static = np.tile(random_features(1, seed=6), (100, 1))
    np.testing.assert_array_equal(farthest_point(static, 3), [0, 50, 99])  # beginning, middle, end
    assert np.ptp(farthest_point(static, 8)) == 99
    # Four scenes: one frame from each.
    rng = np.random.default_rng(7)
    label = np.repeat([0, 1, 2, 3], 25)
    features = unit_rows(random_features(4, seed=8)[label] + 0.02 * rng.normal(size=(100, DIM)))
    assert sorted(label[farthest_point(features, 4)]) == [0, 1, 2, 3]
    # Relevance plays no part.
    a = spread_frames("no_clue", rng.random(100), features, 6)
    b = spread_frames("no_clue", rng.random(100), features, 6)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(1, 120),
    k=st.integers(1, 140),
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(INSTRUCTION_TYPES),
    ties=st.booleans(),
)
def test_every_rule_returns_min_k_t_distinct_sorted_positions(
    total: int, k: int, seed: int, kind: str, ties: bool
) -> None:
    rng = np.random.default_rng(seed)
    relevance = rng.random(total)
    features = random_features(total, seed, dim=4)
    if ties:
        relevance = np.round(relevance)
        features = np.round(features * 2) / 2 + 1e-3
        features = unit_rows(features)
    chosen = spread_frames(kind, relevance, features, k)
    assert chosen.dtype == np.int64
    assert chosen.shape == (min(k, total),)
    assert np.all(np.diff(chosen) > 0)
    assert chosen[0] >= 0 and chosen[-1] < total
    np.testing.assert_array_equal(chosen, spread_frames(kind, relevance, features, k))


# --- the classifier -----------------------------------------------------------------------------


def test_config_is_checked() -> None:
    with pytest.raises(InvalidArgumentError, match=r"heads \(3\) must divide width \(64\)"):
        VideoITGConfig(dim=DIM, heads=3)
    with pytest.raises(InvalidArgumentError, match="diversity_threshold must be <= 1"):
        VideoITGConfig(dim=DIM, diversity_threshold=1.5)
    with pytest.raises(InvalidArgumentError, match="layers must be an integer"):
        VideoITGConfig(dim=DIM, layers=0)
    assert VideoITGConfig.from_dict(VideoITGConfig(dim=DIM, width=32).to_dict()).width == 32


@pytest.mark.parametrize("total,k", [(1, 1), (1, 4), (7, 20), (50, 8), (300, 32)])
@pytest.mark.parametrize("instruction", ["auto", *INSTRUCTION_TYPES])
def test_shapes_and_k_at_least_t(total: int, k: int, instruction: str) -> None:
    model = policy()
    obs = observation(total, seed=total)
    with torch.no_grad():
        scores = model.frame_scores(obs)
    assert scores.shape == (total,) and torch.isfinite(scores).all()
    chosen = model.select(obs, k, instruction=instruction)
    assert chosen.dtype == torch.long
    assert chosen.shape == (min(k, total),)
    assert torch.all(chosen[1:] > chosen[:-1])
    if k >= total:
        np.testing.assert_array_equal(chosen.numpy(), np.arange(total))


def test_select_is_deterministic_and_follows_the_question() -> None:
    model = policy()
    frames = random_features(200, seed=9)
    picks = {}
    for question in ["", "How does the dog jump?", "Please describe the video in detail."]:
        obs = make_observation(frames, frames[10], None, question)
        first = model.select(obs, 16)
        np.testing.assert_array_equal(first.numpy(), model.select(obs, 16).numpy())
        picks[question] = first
    motion = picks["How does the dog jump?"].numpy()
    assert np.all(np.diff(motion) <= 2), "motion frames are evenly spaced inside one span"
    obs = make_observation(frames, frames[10], None, "How does the dog jump?")
    overridden = model.select(obs, 16, instruction="no_clue").numpy()
    np.testing.assert_array_equal(overridden, picks["Please describe the video in detail."].numpy())
    with pytest.raises(InvalidArgumentError, match="instruction must be one of auto, semantic"):
        model.select(obs, 4, instruction="vague")


def test_attention_is_full_not_causal() -> None:
    model = policy()
    frames = torch.as_tensor(random_features(40, seed=10), dtype=torch.float32)
    obs = make_observation(frames, frames[5])
    later = frames.clone()
    later[-1] = torch.as_tensor(random_features(1, seed=11)[0])
    with torch.no_grad():
        base = model.frame_scores(obs)
        changed = model.frame_scores(make_observation(later, frames[5]))
        other_query = model.frame_scores(make_observation(frames, frames[30]))
    assert not torch.isclose(base[0], changed[0]), "the first frame sees the last one"
    assert not torch.isclose(base[0], other_query[0]), "every frame sees the query"


def test_the_block_is_a_pre_norm_transformer_encoder_layer() -> None:
    from framepick.policies.videoitg import FullAttentionBlock

    torch.manual_seed(1)
    ours = FullAttentionBlock(32, 4, 64).eval()
    reference = torch.nn.TransformerEncoderLayer(
        32, 4, 64, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    ).eval()
    with torch.no_grad():
        reference.norm1.load_state_dict(ours.norm_attention.state_dict())
        reference.norm2.load_state_dict(ours.norm_mlp.state_dict())
        reference.self_attn.in_proj_weight.copy_(ours.qkv.weight)
        reference.self_attn.in_proj_bias.copy_(ours.qkv.bias)
        reference.self_attn.out_proj.load_state_dict(ours.out.state_dict())
        reference.linear1.load_state_dict(ours.mlp[0].state_dict())
        reference.linear2.load_state_dict(ours.mlp[2].state_dict())
        tokens = torch.randn(50, 32)
        torch.testing.assert_close(ours(tokens), reference(tokens.unsqueeze(0))[0], atol=1e-5, rtol=1e-5)


def test_gradients_reach_every_parameter() -> None:
    model = policy()
    model.train()
    obs = observation(30, seed=12)
    labels = torch.zeros(30)
    labels[8:12] = 1.0
    weighted_bce_loss(model.frame_scores(obs), labels).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_supervised_only(tmp_path) -> None:
    from framepick.policies.base import SamplingPolicy
    from framepick.train.config import default_train_config
    from framepick.train.loop import train_policy
    from train.synthetic import answerer, make_episodes

    assert not isinstance(policy(), SamplingPolicy)
    episodes = make_episodes(2, seed=0)
    config = default_train_config("videoitg", objective="grpo")
    with pytest.raises(InvalidArgumentError, match="videoitg is trained with supervision .*cannot sample subsets for grpo"):
        train_policy("videoitg", episodes, [], tmp_path / "out", config=config, answerer=answerer(), encoder_id="stub")
    assert not (tmp_path / "out").exists()


def test_checkpoint_round_trip_and_selector(tmp_path) -> None:
    from framepick.policies.checkpoint import load_policy, save_policy
    from framepick.select import load_selector
    from framepick.select.base import SelectorInput
    from framepick.types import Features

    model = policy(width=32, heads=2)
    save_policy(tmp_path, model, encoder_id="test-encoder")
    loaded, meta = load_policy(tmp_path, method="videoitg")
    assert meta["parameters"] == model.num_parameters()
    obs = observation(60, seed=13, question="How does the man turn?")
    with torch.no_grad():
        torch.testing.assert_close(loaded.frame_scores(obs), model.frame_scores(obs))
    inputs = SelectorInput(
        num_candidates=60,
        features=Features(obs.frames.numpy(), None, "test-encoder"),
        query_embedding=obs.query.numpy()[None],
        question=obs.question,
    )
    for instruction in ["auto", "no_clue"]:
        selector = load_selector("videoitg", checkpoint=str(tmp_path), instruction=instruction)
        out = selector.select(inputs, 8, np.random.default_rng(0))
        np.testing.assert_array_equal(out.positions, model.select(obs, 8, instruction=instruction).numpy())
    import framepick.policies.videoitg as classifier_module
    import framepick.select.videoitg as selector_module
    from framepick.policies.instruction import check_instruction

    # One check (torch-free, beside the spreading rules) for the classifier and its selector.
    assert classifier_module.check_instruction is selector_module.check_instruction is check_instruction
    message = "instruction must be one of auto, semantic, motion, semantic_motion, no_clue, got 'fast'"
    with pytest.raises(InvalidArgumentError, match=message):
        load_selector("videoitg", checkpoint=str(tmp_path), instruction="fast")


# --- training smoke test ------------------------------------------------------------------------


def synthetic_episode(rng: np.random.Generator, total: int = 96, span: int = 4):
    """Frames with a short span resembling the query; the span is the evidence."""
    query = unit_rows(rng.normal(size=DIM))
    frames = random_features(total, int(rng.integers(2**31)))
    start = int(rng.integers(0, total - span + 1))
    noise = random_features(span, int(rng.integers(2**31)))
    frames[start : start + span] = unit_rows(0.8 * query + 0.6 * noise)
    labels = np.zeros(total, dtype=np.float32)
    labels[start : start + span] = 1.0
    return make_observation(frames, query), torch.as_tensor(labels)


def hit_at(model: VideoITGClassifier, episodes, k: int) -> float:
    model.eval()
    with torch.no_grad():
        return float(np.mean([labels[model.select(obs, k)].any().item() for obs, labels in episodes]))


def test_bce_training_raises_held_out_hit_at_8() -> None:
    rng = np.random.default_rng(14)
    train = [synthetic_episode(rng) for _ in range(24)]
    held_out = [synthetic_episode(rng) for _ in range(30)]
    model = policy()
    before = hit_at(model, held_out, 8)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for obs, labels in train:
        loss = weighted_bce_loss(model.frame_scores(obs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.isfinite(loss)
    after = hit_at(model, held_out, 8)
    assert after >= 0.9 and after > before + 0.2, (before, after)
