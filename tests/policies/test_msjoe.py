"""MSJoE's 1-D U-Net sampler: channels, shapes, the untrained ranking, Plackett-Luce, learning."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from framepick.errors import InvalidArgumentError
from framepick.policies import build_policy
from framepick.policies.base import make_observation
from framepick.policies.msjoe import CHANNELS, MSJoEConfig, MSJoESampler
from framepick.train.grpo import reinforce_loss

from policies.threads import one_thread  # noqa: F401  (autouse)

DIM = 16




def random_obs(length: int, options: int = 3, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    frames = F.normalize(torch.randn(length, DIM, generator=generator), dim=-1)
    query = torch.randn(DIM, generator=generator)
    option_rows = torch.randn(options, DIM, generator=generator) if options else None
    return make_observation(frames, query, option_rows)


def sampler(**fields) -> MSJoESampler:
    torch.manual_seed(0)
    return build_policy("msjoe", dim=DIM, **fields)


def test_registered_with_the_options_need() -> None:
    import framepick.select  # noqa: F401  (registers the selectors)
    from framepick.registry import selectors

    cls = selectors.get("msjoe")
    assert cls.needs == frozenset({"scores", "features", "options"})
    assert "msjoe=CKPT" in selectors.summaries()["msjoe"]
    assert MSJoESampler.uses_options and MSJoESampler.method == "msjoe"


def test_channels_are_order_free_and_standardised() -> None:
    policy = sampler()
    obs = random_obs(50, options=4)
    channels = policy.similarity_channels(obs)
    assert channels.shape == (len(CHANNELS), 50)
    reversed_obs = obs._replace(options=obs.options.flip(0))
    torch.testing.assert_close(policy.similarity_channels(reversed_obs), channels)
    for row in channels[:3]:
        assert abs(float(row.mean())) < 1e-5
        assert abs(float(row.std(unbiased=False)) - 1.0) < 1e-3
    torch.testing.assert_close(channels[3], torch.ones(50))
    # The question channel is the standardised cosine with the query.
    cosine = F.normalize(obs.frames, dim=-1) @ obs.query
    assert torch.equal(torch.argsort(channels[0]), torch.argsort(cosine))


def test_no_options_gives_zero_option_channels() -> None:
    channels = sampler().similarity_channels(random_obs(30, options=0))
    assert torch.count_nonzero(channels[1:]) == 0
    assert torch.count_nonzero(channels[0]) > 0


def test_a_single_frame_standardises_to_zero_not_nan() -> None:
    channels = sampler().similarity_channels(random_obs(1, options=2))
    assert torch.isfinite(channels).all()
    torch.testing.assert_close(channels, torch.tensor([[0.0], [0.0], [0.0], [1.0]]))


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 7, 9, 31, 33, 1024])
@pytest.mark.parametrize("options", [0, 3])
def test_shapes_for_any_length(length: int, options: int) -> None:
    policy = sampler()
    obs = random_obs(length, options)
    scores = policy.frame_scores(obs)
    assert scores.shape == (length,) and torch.isfinite(scores).all()
    # k >= T is covered on short videos; at T = 1024 a full-length Plackett-Luce draw is just slow.
    for k in (1, 3, 32) if length > 100 else (1, 3, 32, 2000):
        chosen = policy.select(obs, k)
        assert chosen.dtype == torch.long and chosen.shape == (min(k, length),)
        assert torch.all(chosen[1:] > chosen[:-1]) and (chosen.numel() == 0 or chosen[-1] < length)
        drawn = policy.sample(obs, k, 4, torch.Generator().manual_seed(1))
        assert drawn.shape == (4, min(k, length))
        assert all(len(set(row.tolist())) == drawn.shape[1] for row in drawn)
        log_prob, entropy = policy.log_prob(obs, drawn)
        assert log_prob.shape == entropy.shape == (4,)
        assert torch.isfinite(log_prob).all() and torch.isfinite(entropy).all()


@pytest.mark.parametrize("depth,width", [(0, 2), (0, 8), (1, 3), (3, 8)])
def test_other_shapes_keep_the_length(depth: int, width: int) -> None:
    policy = sampler(depth=depth, width=width, kernel_size=5)
    for length in (1, 6, 13):
        obs = random_obs(length)
        assert policy.frame_scores(obs).shape == (length,)
        log_prob, _ = policy.log_prob(obs, policy.sample(obs, 2, 3, torch.Generator().manual_seed(0)))
        log_prob.sum().backward()  # training mode: GroupNorm must accept a single frame


def test_k_at_least_t_returns_every_position() -> None:
    policy = sampler()
    obs = random_obs(6)
    assert policy.select(obs, 6).tolist() == list(range(6))
    assert policy.select(obs, 50).tolist() == list(range(6))
    drawn = policy.sample(obs, 9, 3, torch.Generator().manual_seed(0))
    assert drawn.shape == (3, 6) and all(sorted(row.tolist()) == list(range(6)) for row in drawn)


@pytest.mark.parametrize("options", [0, 4])
def test_untrained_select_is_top_k_of_question_cosine(options: int) -> None:
    policy = sampler()
    obs = random_obs(200, options, seed=3)
    cosine = F.normalize(obs.frames, dim=-1) @ obs.query
    for k in (1, 8, 32):
        expected = torch.sort(torch.argsort(-cosine, stable=True)[:k]).values
        assert torch.equal(policy.select(obs, k), expected)


def test_ties_go_to_the_earlier_frame() -> None:
    policy = sampler()
    frames = F.normalize(torch.ones(10, DIM), dim=-1)
    obs = make_observation(frames, torch.ones(DIM))
    assert policy.select(obs, 3).tolist() == [0, 1, 2]


def test_plackett_luce_sums_to_one_and_matches_sampling() -> None:
    policy = sampler()
    obs = random_obs(4, options=2, seed=5)
    with torch.no_grad():
        # A softer scale, so that every ordered pair is drawn often enough to count.
        policy.log_scale.fill_(0.0)
        pairs = torch.tensor(list(itertools.permutations(range(4), 2)))
        log_prob, _ = policy.log_prob(obs, pairs)
        probs = log_prob.exp()
        torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
        draws = policy.sample(obs, 2, 20000, torch.Generator().manual_seed(0))
    counts = {tuple(p): 0 for p in pairs.tolist()}
    for row in draws.tolist():
        counts[tuple(row)] += 1
    frequencies = torch.tensor([counts[tuple(p)] / 20000 for p in pairs.tolist()])
    assert torch.allclose(frequencies, probs, atol=0.02)


def test_gradients_reach_every_parameter() -> None:
    policy = sampler()
    obs = random_obs(37, options=3)
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.1)
    actions = torch.tensor([[3, 20, 7], [30, 1, 2]])
    # The head starts at zero, which blocks the inner layers' gradient until it has moved once.
    for _ in range(2):
        optimizer.zero_grad()
        log_prob, entropy = policy.log_prob(obs, actions)
        (-(log_prob.sum() + entropy.sum())).backward()
        optimizer.step()
    for name, parameter in policy.named_parameters():
        assert parameter.grad is not None and torch.count_nonzero(parameter.grad) > 0, name


def test_reinforce_learns_to_trust_the_options_over_the_question() -> None:
    """Frames 10-14 of 64 hold the answer; the options' similarity peaks there, the question's at 40-44."""
    torch.manual_seed(0)
    policy = build_policy("msjoe", dim=DIM)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)  # the trainer's MSJoE default
    generator = torch.Generator().manual_seed(0)
    relevant = torch.zeros(64, dtype=torch.bool)
    relevant[10:15] = True
    decoy = torch.zeros(64, dtype=torch.bool)
    decoy[40:45] = True

    def episode():
        query, answer, other = F.normalize(torch.randn(3, DIM, generator=generator), dim=-1)
        frames = torch.randn(64, DIM, generator=generator)
        frames = frames + 1.5 * decoy[:, None] * query + 3.0 * relevant[:, None] * answer
        return make_observation(F.normalize(frames, dim=-1), query, torch.stack([other, answer]))

    def held_out_in_span() -> float:
        with torch.no_grad():
            in_span = [relevant[policy.select(episode(), 4)].float().mean() for _ in range(10)]
        return float(torch.stack(in_span).mean())

    before = held_out_in_span()
    rewards_seen = []
    for _ in range(100):
        obs = episode()
        with torch.no_grad():
            actions = policy.sample(obs, 4, 8, generator)
        rewards = relevant[actions].float().mean(dim=1)  # in-span fraction of the 4 drawn frames
        log_prob, _ = policy.log_prob(obs, actions)
        loss = reinforce_loss(log_prob, rewards)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        rewards_seen.append(float(rewards.mean()))
    first, last = sum(rewards_seen[:10]) / 10, sum(rewards_seen[-20:]) / 20
    assert first < 0.25 and before < 0.25
    assert last > first + 0.5
    assert held_out_in_span() > 0.8


@pytest.mark.parametrize(
    "fields,pattern",
    [
        ({"width": 1}, r"width must be an integer in \[2, inf\], got 1"),
        ({"depth": -1}, r"depth must be an integer in \[0, 10\], got -1"),
        ({"kernel_size": 4}, r"kernel_size must be an odd integer, got 4"),
        ({"init_scale": 0.0}, r"init_scale must be > 0, got 0.0"),
        ({"dim": 2.5}, r"dim must be an integer"),
    ],
)
def test_config_is_validated(fields: dict, pattern: str) -> None:
    with pytest.raises(InvalidArgumentError, match=pattern):
        MSJoEConfig(**fields)


def test_wrong_feature_width_is_a_clear_error() -> None:
    policy = sampler()
    obs = make_observation(F.normalize(torch.randn(5, DIM + 1), dim=-1), torch.randn(DIM + 1))
    with pytest.raises(InvalidArgumentError, match=r"expects \[T,16\] frame features, got shape \(5, 17\)"):
        policy.frame_scores(obs)
    with pytest.raises(InvalidArgumentError, match="k must be"):
        policy.select(random_obs(5), 0)


def test_checkpoint_round_trip(tmp_path) -> None:
    from framepick.policies.checkpoint import load_policy, save_policy

    policy = sampler(width=8)
    with torch.no_grad():
        policy.unet.head.weight.normal_()
    save_policy(tmp_path, policy, encoder_id="test-encoder")
    loaded, meta = load_policy(tmp_path, method="msjoe")
    assert meta["config"]["width"] == 8 and meta["parameters"] == policy.num_parameters()
    obs = random_obs(40)
    with torch.no_grad():
        torch.testing.assert_close(loaded.frame_scores(obs), policy.frame_scores(obs))
