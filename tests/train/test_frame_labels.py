"""``train videoitg`` (bce) fits VidThinker's per-frame labels when a sample has them, the spans otherwise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from framepick.policies import build_policy
from framepick.train.config import default_train_config
from framepick.train.episodes import labels_on_candidates
from framepick.train.grpo import weighted_bce_loss
from framepick.train.loop import train_step
from synthetic import answerer, make_episodes


def _loss_of_step(episode, labels_expected) -> tuple[float, float]:
    torch.manual_seed(0)
    policy = build_policy("videoitg", dim=int(episode.frames.shape[1]))
    config = default_train_config("videoitg")
    assert config.objective == "bce"
    with torch.no_grad():
        policy.train()
        expected = float(weighted_bce_loss(policy.frame_scores(episode.observation()),
                                           torch.as_tensor(labels_expected, dtype=torch.float32)))
    optimizer = torch.optim.AdamW(policy.parameters(), lr=config.lr)
    row = train_step(policy, optimizer, torch.Generator().manual_seed(0), episode, 0, config, answerer())
    return row["loss"], expected


def test_bce_fits_the_frame_labels_when_present_and_the_spans_otherwise() -> None:
    episode = make_episodes(1, seed=3)[0]
    assert episode.frame_labels is None and episode.bce_targets is episode.in_span  # offline: as before
    loss, expected = _loss_of_step(episode, episode.in_span)
    assert loss == expected
    labels = np.zeros(episode.num_candidates, dtype=np.float32)
    labels[:3] = 1.0  # VidThinker said yes elsewhere than the span
    assert not np.array_equal(labels, episode.in_span)
    labelled = replace(episode, frame_labels=labels, _observation=[])
    np.testing.assert_array_equal(labelled.bce_targets, labels)
    loss, expected = _loss_of_step(labelled, labels)
    assert loss == expected
    assert expected != _loss_of_step(episode, episode.in_span)[1]


def test_nearest_label_onto_a_denser_and_a_sparser_grid() -> None:
    frame_labels = {"timestamps": [0.6, 1.9, 3.1, 4.4, 5.6], "labels": [0, 1, 1, 0, 1]}
    dense = labels_on_candidates(frame_labels, np.array([0.0, 1.0, 1.3, 2.4, 3.8, 3.7, 5.0, 5.1, 9.0]))
    assert dense.tolist() == [0, 0, 1, 1, 0, 1, 0, 1, 1]
    assert labels_on_candidates(frame_labels, np.array([2.0])).tolist() == [1]
    assert labels_on_candidates(None, np.array([1.0])) is None


def test_malformed_frame_labels_are_one_line_errors_not_shape_errors_later() -> None:
    import pytest

    from framepick.errors import InvalidArgumentError

    for bad in ({"timestamps": [1.0], "labels": [[0, 1]]}, {"timestamps": [1.0, 0.5], "labels": [0, 1]},
                {"timestamps": [1.0], "labels": [2]}, {"timestamps": [], "labels": []}, ["x"]):
        with pytest.raises(InvalidArgumentError, match="frame_labels"):
            labels_on_candidates(bad, np.array([0.0, 1.0]))
