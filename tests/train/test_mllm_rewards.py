"""RL rewards from a real MLLM: a fake OpenAI-compatible server whose probabilities the test sets,
the tiny local Qwen2-VL, the answer cache, failures; and the offline rewards unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from openai_fake import Behaviour, FakeServer
from synthetic import answerer as offline_answerer
from synthetic import make_episodes
from videogen import BLUE, GREY, RED

from framepick.answer import AnswererOptions, load_answerer
from framepick.answer.cache import AnswerCache
from framepick.cli.main import main
from framepick.encode.cache import FeatureCache
from framepick.rewards import (
    accuracy_reward,
    log_ratio_reward,
    margin_reward,
    temporal_reward,
)
from framepick.train.config import default_train_config
from framepick.train.episode_rewards import GroupNotAnswered, group_rewards
from framepick.train.episodes import Episode
from framepick.train.loop import train_policy
from framepick.train.subset_answers import ModelAnswers, TableAnswers
from framepick.types import Sample

QUESTION = "What colour is the card shown?"
OPTIONS = ("blue", "red", "green")
PROBS = {"B": 0.6, "A": 0.3, "C": 0.1}  # the fake server's letter probabilities; gold is A
GOLDEN = Path(__file__).parent / "data" / "offline_metrics_before_mllm.json"


@pytest.fixture(scope="module")
def card_video(make_video) -> Path:
    """20 s: grey, then the red card at 8-12 s, then grey and blue."""
    return make_video("mllm-card.mp4", [(8, GREY, "pattern"), (4, RED), (6, GREY, "pattern"), (2, BLUE)])


def model_episode(video: Path, count: int = 16) -> Episode:
    """An MLLM episode on ``video`` with random policy features (the rewards never read them)."""
    from framepick import pipeline
    from framepick.video.candidates import GridSpec

    index = pipeline.open_video(video, None)
    candidates = pipeline.make_candidates(index, GridSpec(count=count))
    times = np.asarray(candidates.timestamps, dtype=np.float64)
    sample = Sample(id="card", video=str(video), question=QUESTION, options=OPTIONS, answer="A", spans=((8.0, 12.0),))
    features = np.random.default_rng(0).normal(size=(count, 8)).astype(np.float32)
    return Episode(
        id="card:text", sample=sample, mode="text", frames=features, query=features[:1], option_queries=features[:3],
        timestamps=times, in_span=(times >= 8.0) & (times <= 12.0), answer_similarity=None, correct=0,
        candidates=candidates, video_index=index,
    )


def openai_answerer(server: FakeServer, **options):
    return load_answerer(f"openai:tiny@{server.url}", AnswererOptions(max_side=64, **options))


def chat_requests(behaviour: Behaviour) -> int:
    return sum(1 for r in behaviour.requests if "messages" in r)


def test_a_subsets_reward_is_the_pure_reward_of_the_servers_probabilities(card_video, tmp_path) -> None:
    behaviour = Behaviour(reply="B", letter_probs=dict(PROBS))
    episode = model_episode(card_video)
    subsets = [[0, 3, 5], [9, 2, 7], [2, 7, 9], [10, 11, 12]]  # the 2nd and 3rd are one subset: asked once
    probs = np.array([PROBS["A"], PROBS["B"], PROBS["C"]])
    with FakeServer(behaviour) as server:
        answers = ModelAnswers(openai_answerer(server), AnswerCache(FeatureCache(tmp_path / "cache")))
        for reward in ("margin", "tspo", "log_ratio"):
            config = default_train_config("refocus", reward=reward)
            for positions, parts in zip(subsets, group_rewards(episode, subsets, config, answers)):
                temporal = temporal_reward(episode.timestamps[positions].tolist(), episode.sample.spans)
                assert parts["temporal"] == temporal
                assert parts["accuracy"] == accuracy_reward("B", "A") == 0.0
                assert parts["margin"] == pytest.approx(margin_reward(probs, 0)) == pytest.approx(-1 / 3)
                expected = {"margin": margin_reward(probs, 0), "tspo": 0.0, "log_ratio": log_ratio_reward(probs, 0)}[reward]
                assert parts["reward"] == pytest.approx(expected + config.temporal_weight * temporal)
        # Three distinct subsets, each asked once; the two later rewards came from the answer cache.
        assert chat_requests(behaviour) == 3 and answers.counts.asked == 3 and answers.counts.cached == 6
        sent = behaviour.requests[0]["messages"][-1]["content"]
        assert sum(1 for part in sent if part.get("type") == "image_url") == 3
        # The frames of the group were decoded once, together, and fitted to the answerer's side.
        assert answers.memo.decoded == len({0, 2, 3, 5, 7, 9, 10, 11, 12})
        assert all(max(frame.shape[:2]) <= 64 for frame in answers.memo._frames.values())


def test_a_groups_subsets_are_in_flight_together_on_a_server(card_video) -> None:
    import time

    behaviour = Behaviour(reply="B", letter_probs=dict(PROBS), delay=0.4)
    episode = model_episode(card_video)
    with FakeServer(behaviour) as server:
        answers = ModelAnswers(openai_answerer(server, concurrency=4), None, memo_mb=0)
        start = time.perf_counter()
        results = answers.answer(episode, [[0, 1], [2, 3], [4, 5], [6, 7]])
        seconds = time.perf_counter() - start
    assert all(r.probs is not None for r in results) and chat_requests(behaviour) == 4
    assert seconds < 3 * 0.4, f"4 answers of 0.4 s each took {seconds:.2f} s: not in flight together"
    assert answers.memo.bytes == 0 and answers.memo.decoded == 8  # --frame-memory-mb 0: nothing kept


def test_the_frame_memo_keeps_what_its_budget_allows(card_video) -> None:
    from framepick.train.frame_memo import FrameMemo

    episode = model_episode(card_video)
    memo = FrameMemo(max_side=32, budget_mb=1)
    first = memo.frames(episode.candidates.take(np.arange(4)), episode.video_index)
    assert sorted(first) == episode.candidates.indices[:4].tolist() and memo.decoded == 4
    assert all(max(frame.shape[:2]) == 32 for frame in first.values())
    again = memo.frames(episode.candidates.take(np.arange(2, 6)), episode.video_index)
    assert memo.decoded == 6  # two were kept, two decoded
    assert all(np.array_equal(again[i], first[i]) for i in episode.candidates.indices[2:4].tolist())
    tight = FrameMemo(max_side=32, budget_mb=0)
    tight.frames(episode.candidates.take(np.arange(4)), episode.video_index)
    tight.frames(episode.candidates.take(np.arange(4)), episode.video_index)
    assert tight.decoded == 8 and tight.bytes == 0


def test_the_difficulty_reward_asks_uniform_frames_in_the_same_batch(card_video, tmp_path) -> None:
    behaviour = Behaviour(reply="A", letter_probs={"A": 0.5, "B": 0.3, "C": 0.2})
    episode = model_episode(card_video)
    config = default_train_config("msjoe")
    with FakeServer(behaviour) as server:
        answers = ModelAnswers(openai_answerer(server), None)
        (parts,) = group_rewards(episode, [[1, 9, 14]], config, answers)
    # accuracy 1, difficulty 1 - p_uniform(correct) = 0.5: 1 * (1 + 0.5) plus R_T.
    temporal = temporal_reward(episode.timestamps[[1, 9, 14]].tolist(), episode.sample.spans)
    assert parts["reward"] == pytest.approx(1.5 + config.temporal_weight * temporal)
    assert chat_requests(behaviour) == 2  # the subset and the uniform frames


def test_a_letter_without_probabilities_gives_R_A_but_not_a_margin(card_video) -> None:
    behaviour = Behaviour(reply="A", logprobs="ignore")
    episode = model_episode(card_video)
    with FakeServer(behaviour) as server:
        answers = ModelAnswers(openai_answerer(server), None)
        (parts,) = group_rewards(episode, [[9, 10]], default_train_config("tspo"), answers)
        assert parts["accuracy"] == 1.0 and "margin" not in parts
        with pytest.raises(Exception, match="the margin reward needs option probabilities"):
            group_rewards(episode, [[3, 4]], default_train_config("refocus"), answers)


def test_a_failed_answer_fails_its_group_and_too_many_in_a_row_stop(card_video) -> None:
    from framepick.errors import AnswererError

    behaviour = Behaviour(reject_question=QUESTION)  # every request is a 400: not retried
    episode = model_episode(card_video)
    config = default_train_config("tspo")
    with FakeServer(behaviour) as server:
        answers = ModelAnswers(openai_answerer(server, concurrency=2), None)
        assert answers.most_in_a_row == 8
        with pytest.raises(GroupNotAnswered, match="4 of 4 subset answers failed"):
            group_rewards(episode, [[0], [1], [2], [3]], config, answers)
        assert answers.counts.failed == 4 and answers.failed_in_a_row == 4
        with pytest.raises(AnswererError, match="8 reward answers in a row failed"):
            group_rewards(episode, [[4], [5], [6], [7]], config, answers)


def test_offline_rewards_are_the_numbers_the_code_before_the_seam_logged(tmp_path) -> None:
    """The offline table path through the new seam: metrics.jsonl rows and weights as recorded
    (tests/train/data/offline_metrics_before_mllm.json) by the training code before MLLM rewards
    existed (commit a212c44), for GRPO (tspo, tspo with the log-ratio reward, refocus's margin) and
    REINFORCE (msjoe's difficulty reward)."""
    golden = json.loads(GOLDEN.read_text())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the golden run: sums over threads round differently
    try:
        _train_and_compare(golden, tmp_path)
    finally:
        torch.set_num_threads(threads)


def _train_and_compare(golden: dict, tmp_path: Path) -> None:
    train = make_episodes(6, seed=1, total=48, span=12)
    val = make_episodes(3, seed=2, total=48, span=12)
    runs = {"tspo": ("tspo", {}), "refocus": ("refocus", {}), "msjoe": ("msjoe", {}),
            "tspo-log_ratio": ("tspo", {"reward": "log_ratio"})}
    for name, (method, extra) in runs.items():
        config = default_train_config(method, steps=6, k=8, group_size=6, eval_every=2, eval_ks=(4, 8),
                                      temperature_start=1.0, temperature_end=0.5, **extra)
        out = tmp_path / name
        result = train_policy(method, train, val, out, config=config, answerer=offline_answerer(), encoder_id="stub")
        assert result.answer_stats is None
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        for row in rows:
            row.pop("updates_per_s", None)
        expected = golden[name]["rows"]
        assert [sorted(r) for r in rows] == [sorted(r) for r in expected], name
        for row, want in zip(rows, expected):
            for key, value in want.items():
                assert row[key] == (pytest.approx(value, rel=1e-6, abs=1e-9) if isinstance(value, float) else value), (name, key)
        state = torch.load(out / "state.pt", weights_only=False)["policy"]
        sums = {key: float(value.double().sum()) for key, value in state.items()}
        assert sums == pytest.approx(golden[name]["weight_sums"], rel=1e-5, abs=1e-7), name
        assert "rewards_from" not in json.loads((out / "run.json").read_text())


def test_the_offline_seam_answers_from_the_table_without_calls() -> None:
    (episode,) = make_episodes(1, seed=3)
    answers = TableAnswers(offline_answerer())
    (answer,) = answers.answer(episode, [[0, 1, 2]])
    assert answer.probs is not None and answer.letter in "ABCD" and answers.counts.asked == 0


# -- end to end through the CLI ------------------------------------------------------------------


@pytest.fixture(scope="module")
def card_manifest(card_video, tmp_path_factory) -> Path:
    pytest.importorskip("efficientnet_lite_pytorch")  # the offline encoder the policy reads
    row = {"id": "card", "video": str(card_video), "question": QUESTION, "options": list(OPTIONS), "answer": "A",
           "spans": [[8.0, 12.0]]}
    path = tmp_path_factory.mktemp("mllm-manifest") / "train.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="module")
def feature_cache(tmp_path_factory) -> Path:
    """One cache for the module: the card video is embedded once (answers are keyed by model)."""
    return tmp_path_factory.mktemp("mllm-cache")


def train_cli(method: str, manifest: Path, out: Path, cache: Path, answerer: str, *extra: str) -> list[str]:
    return ["train", method, "--manifest", str(manifest), "--out", str(out), "--answerer", answerer,
            "--candidates", "16", "--cache-dir", str(cache), "--quiet", "--max-side", "64", *extra]


def initial_weights(method: str, out: Path) -> dict[str, torch.Tensor]:
    from framepick.policies import build_policy

    run = json.loads((out / "run.json").read_text())
    torch.manual_seed(run["train_config"]["seed"])
    return build_policy(method, **run["policy_config"]).state_dict()


@pytest.mark.parametrize("method", ["tspo", "refocus"])
def test_training_with_a_server_moves_the_policy_and_a_rerun_asks_nothing(card_manifest, feature_cache, tmp_path, capsys, method) -> None:
    behaviour = Behaviour(reply="B", letter_probs=dict(PROBS), models=(method,))  # a model per test: its own answers
    cache = feature_cache
    with FakeServer(behaviour) as server:
        spec = f"openai:{method}@{server.url}"
        args = train_cli(method, card_manifest, tmp_path / "a", cache, spec, "--steps", "3", "--group-size", "4",
                         "--train-k", "3", "--eval-every", "3")
        assert main(args) == 0
        printed = capsys.readouterr().out
        asked = chat_requests(behaviour)
        assert 0 < asked <= 3 * 4
        assert f"rewards from openai:{method}" in printed and f"{asked} model calls" in printed

        rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
        train_rows = [r for r in rows if r["split"] == "train"]
        assert len(train_rows) == 3 and all(np.isfinite(r["reward_mean"]) for r in train_rows)
        assert sum(r["answers_asked"] + r["answers_cached"] for r in train_rows) <= 12
        assert sum(r["answers_asked"] for r in train_rows) == asked
        run = json.loads((tmp_path / "a" / "run.json").read_text())
        assert run["rewards_from"] == "model" and run["answerer_id"].startswith(f"openai:{method}")
        assert run["answer_stats"]["answers_asked"] == asked and run["answer_stats"]["answer_failures"] == 0
        start = initial_weights(method, tmp_path / "a")
        trained = torch.load(tmp_path / "a" / "state.pt", weights_only=False)["policy"]
        assert any(not torch.equal(start[name], trained[name]) for name in start)

        # The same command again resumes the finished run (answer_stats is not part of what it compares).
        assert main(args) == 0 and "3/3 steps" in capsys.readouterr().out

        # The same run again (another folder): every subset is in the answer cache.
        assert main(train_cli(method, card_manifest, tmp_path / "b", cache, spec, "--steps", "3", "--group-size", "4",
                              "--train-k", "3", "--eval-every", "3")) == 0
        assert chat_requests(behaviour) == asked
        assert "0 model calls" in capsys.readouterr().out
        again = torch.load(tmp_path / "b" / "state.pt", weights_only=False)["policy"]
        assert all(torch.equal(trained[name], again[name]) for name in trained)


def test_a_failing_server_is_counted_then_stops_the_run_in_one_line(card_manifest, feature_cache, tmp_path, capsys) -> None:
    # One failed answer: that group is skipped and counted, the run goes on.
    behaviour = Behaviour(reply="B", letter_probs=dict(PROBS), fail_first=[400], models=("flaky",))
    with FakeServer(behaviour) as server:
        args = train_cli("tspo", card_manifest, tmp_path / "one", feature_cache, f"openai:flaky@{server.url}",
                         "--steps", "2", "--group-size", "4", "--train-k", "3", "--concurrency", "1")
        assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1 failed, 1 step(s) skipped" in printed
    rows = [json.loads(line) for line in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    first = next(r for r in rows if r["split"] == "train")
    assert "skipped" in first and first["answer_failures"] == 1 and "reward_mean" not in first

    # Every answer fails: after 8 in a row, one line and exit 2; the state is saved.
    behaviour = Behaviour(reject_question=QUESTION, models=("down",))  # another model: nothing of it is cached
    with FakeServer(behaviour) as server:
        args = train_cli("tspo", card_manifest, tmp_path / "down", feature_cache, f"openai:down@{server.url}",
                         "--steps", "5", "--group-size", "4", "--train-k", "3", "--concurrency", "1")
        assert main(args) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("framepick: error")]
    in_a_row = re.search(r"error: (\d+) reward answers in a row failed, the last: .*HTTP 400", lines[0]) if lines else None
    assert len(lines) == 1 and in_a_row and "Traceback" not in err
    # A group's answers are counted together, so the group that reached 8 may take it past 8.
    assert 8 <= int(in_a_row.group(1)) < 8 + 4
    assert json.loads((tmp_path / "down" / "run.json").read_text())["answer_stats"]["answer_failures"] == int(in_a_row.group(1))
    assert torch.load(tmp_path / "down" / "state.pt", weights_only=False)["step"] >= 1


def test_train_with_the_tiny_local_model_end_to_end(card_manifest, feature_cache, tmp_path, capsys) -> None:
    from answer.tiny_mllm import build_tiny_mllm, missing_family

    if missing_family("qwen2_vl"):
        pytest.skip(missing_family("qwen2_vl"))
    folder = build_tiny_mllm(tmp_path / "tiny", "qwen2_vl")
    args = train_cli("tspo", card_manifest, tmp_path / "out", feature_cache, f"hf:{folder}",
                     "--steps", "2", "--group-size", "2", "--train-k", "2", "--device", "cpu")
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "tspo: 2/2 steps" in printed and f"rewards from hf:{folder}" in printed
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["split"] == "train"]
    assert all(np.isfinite(r["reward_mean"]) and 0.0 <= r["accuracy_mean"] <= 1.0 for r in train_rows)
    assert sum(r["answers_asked"] for r in train_rows) >= 1


def test_a_model_answerer_is_refused_for_label_training(card_manifest, feature_cache, tmp_path, capsys) -> None:
    with FakeServer(Behaviour()) as server:
        code = main(train_cli("videoitg", card_manifest, tmp_path / "out", feature_cache, f"openai:tiny@{server.url}"))
    err = capsys.readouterr().err
    assert code == 2 and "videoitg trains on labels" in err and len(err.strip().splitlines()) == 1


def test_msjoe_with_reasoned_queries_and_rewards_from_a_server(card_manifest, feature_cache, tmp_path, capsys) -> None:
    """Both MLLM stages of MSJoE in one run: one model writes the query rows, another the rewards."""
    queries = Behaviour(reply='["a red card on a table", "a hand holding a card"]')
    answers = Behaviour(reply="B", letter_probs=dict(PROBS), models=("answers",))
    with FakeServer(queries) as query_server, FakeServer(answers) as answer_server:
        args = train_cli("msjoe", card_manifest, tmp_path / "run", feature_cache, f"openai:answers@{answer_server.url}",
                         "--query-model", f"openai:tiny@{query_server.url}", "--query-frames", "0", "--steps", "2",
                         "--group-size", "4", "--train-k", "3", "--eval-every", "2",
                         "--policy-params", '{"width": 8, "depth": 1}')
        assert main(args) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
    assert len(queries.requests) == 1 and chat_requests(answers) > 0
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["query_source"] == "reasoned" and run["rewards_from"] == "model"
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["reward_mean"]) for r in rows if r["split"] == "train")
    assert "rewards from openai:answers" in out
