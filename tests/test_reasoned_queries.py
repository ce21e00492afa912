"""MSJoE's reasoned queries (paper 004): the parser, and select / eval / train with a query model.

The query model is a local OpenAI-compatible server whose replies the test controls
(openai_fake.py) or the tiny random Qwen2-VL (tiny_mllm.py), whose replies are garbage: both paths
must either use the model's queries or fall back to the option texts and say so.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from framepick.cli.main import main
from framepick.errors import InvalidArgumentError
from framepick.reasoned_queries import INSTRUCTION, MAX_QUERIES, QueryReasoner, parse_queries, select_with_reasoned_queries
from openai_fake import Behaviour, FakeServer

QUESTION = "What colour does the screen turn?"
OPTIONS = ("red", "green", "blue")
QUERIES = ["a bright red screen", "a blue screen", "a grey patterned screen"]
WELL_FORMED = json.dumps(QUERIES)


# -- the parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('["a red car", "a man in a suit"]', ("a red car", "a man in a suit")),
        ('```json\n["a red car", "a man in a suit"]\n```', ("a red car", "a man in a suit")),
        ('```\n["a red car"]\n```\nThese should help.', ("a red car",)),
        ('Here are the queries: ["a red car",  "a  man\\nin a suit"]', ("a red car", "a man in a suit")),
        ('{"queries": ["a kitchen stove"]}', ("a kitchen stove",)),
        ('["a", "b", "c", "d", "e", "f"]', ("a", "b", "c", "d")),
        ('["a red car", "A red car", "", "a dog"]', ("a red car", "a dog")),
    ],
)
def test_the_parser_reads_a_list_of_queries(reply: str, expected: tuple[str, ...]) -> None:
    assert parse_queries(reply) == expected
    assert len(parse_queries(reply)) <= MAX_QUERIES


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("a red car, a man in a suit", "no JSON list"),
        ('["a red car", "a man', "not valid JSON"),
        ('"a red car"', "no JSON list"),
        ('{"query": "a red car"}', "not a JSON list"),
        ('["a red car", 3]', "holds a int"),
        ('[["a red car"]]', "holds a list"),
        ('["", "  "]', "holds no query"),
        ("[]", "holds no query"),
        (json.dumps(["word " * 60]), "characters long"),
        ("<|im_start|> assistant assistant [ ] } {", "holds no query"),
        ("assistant {] [ garbage", "not valid JSON"),
    ],
)
def test_the_parser_refuses_garbage(reply: str, reason: str) -> None:
    with pytest.raises(InvalidArgumentError, match=reason):
        parse_queries(reply)


# -- a tiny msjoe checkpoint and a query model --------------------------------------------------


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("reasoned-queries-cache")


def _checkpoint(folder, **extra):
    """An msjoe sampler on the offline encoder with a random head, so its choice depends on the query rows."""
    from framepick.encode import load_encoder
    from framepick.policies import build_policy
    from framepick.policies.checkpoint import save_policy

    encoder = load_encoder("offline")
    torch.manual_seed(3)
    policy = build_policy("msjoe", dim=encoder.dim, width=8, depth=1)
    with torch.no_grad():
        policy.unet.head.weight.normal_(std=2.0)
        policy.unet.head.bias.zero_()
    save_policy(folder, policy, encoder_id=encoder.id, extra={"encoder": "offline", **extra})
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return _checkpoint(tmp_path_factory.mktemp("msjoe-options"))


def _select_args(video, checkpoint, cache, question=QUESTION, *extra):
    args = ["select", str(video), "-q", question, "-k", "4", "--candidates", "32", "--method", f"msjoe={checkpoint}",
            "--cache-dir", str(cache), "--quiet"]
    for option in OPTIONS:
        args += ["--option", option]
    return args + list(extra)


def _run(capsys, args):
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


def test_select_reads_the_models_queries_and_asks_once(segment_video, checkpoint, cache, capsys) -> None:
    from framepick import api, pipeline
    from framepick.encode import load_encoder
    from framepick.types import Query
    from framepick.video.candidates import GridSpec

    question = "What colour does the screen turn? (well-formed)"
    with FakeServer(Behaviour(reply=f"```json\n{WELL_FORMED}\n```")) as server:
        spec = f"openai:tiny@{server.url}"
        first, err = _run(capsys, _select_args(segment_video, checkpoint, cache, question,
                                               "--query-model", spec, "--query-frames", "4"))
        again, _ = _run(capsys, _select_args(segment_video, checkpoint, cache, question,
                                             "--query-model", spec, "--query-frames", "4"))
    params = first["params"]
    assert params["query_source"] == "reasoned" and params["query_fallback"] is None, params
    assert params["queries"] == QUERIES and params["query_frames_shown"] == 4
    assert params["query_model"].startswith("openai:tiny") and "no usable queries" not in err
    # The second run reads the reply from the cache: the server saw one request.
    assert len(server.behaviour.requests) == 1
    assert again["params"]["query_reply_cached"] is True and params["query_reply_cached"] is False
    assert again["frames"] == first["frames"]
    content = server.behaviour.requests[0]["messages"][0]["content"]
    images = [p for p in content if p["type"] == "image_url"]
    text = [p["text"] for p in content if p["type"] == "text"][-1]
    assert len(images) == 4 and text.startswith(INSTRUCTION)
    assert f"Question: {question}" in text and "A. red\nB. green\nC. blue" in text

    # The rows the sampler read are the reasoned queries, embedded by the frozen encoder.
    encoder = load_encoder("offline")
    prepared = pipeline.prepare_video(segment_video, GridSpec(count=32), [encoder], cache=api.feature_cache(cache))
    expected = api.select_prepared(
        prepared, 4, method="msjoe", method_params={"checkpoint": str(checkpoint)}, encoder=encoder,
        query=Query(text=question, options=OPTIONS),
        option_embeddings=np.asarray(encoder.encode_text(QUERIES), dtype=np.float32),
    )
    assert [f["index"] for f in first["frames"]] == expected.indices.tolist()
    assert [f["score"] for f in first["frames"]] == pytest.approx(expected.scores.tolist())


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (Behaviour(reply="The screen turns red, then blue."), "no JSON list"),
        (Behaviour(reply='["a red screen", 7]'), "holds a int"),
        (Behaviour(reply="  "), "the reply is empty"),
        (Behaviour(reject_question="What colour"), "the query model failed"),  # a 400: no retry
    ],
)
def test_an_unusable_reply_falls_back_to_the_option_rows_and_says_why(
    segment_video, checkpoint, cache, capsys, behaviour, reason
) -> None:
    question = f"What colour does the screen turn? ({reason})"
    offline, offline_err = _run(capsys, _select_args(segment_video, checkpoint, cache, question))
    with FakeServer(behaviour) as server:
        fallback, err = _run(capsys, _select_args(segment_video, checkpoint, cache, question, "--query-model",
                                                  f"openai:tiny@{server.url}", "--query-frames", "0"))
    params = fallback["params"]
    assert params["query_source"] == "options" and reason in params["query_fallback"], params
    assert params["queries"] == [f"{question} {o}" for o in OPTIONS]
    assert "falls back" not in offline_err and "query_source" not in offline["params"]
    assert len([line for line in err.splitlines() if "WARNING" in line and reason in line]) == 1, err
    # The fallback is exactly msjoe without a query model: same frames, same scores.
    assert fallback["frames"] == offline["frames"]


def test_a_checkpoint_warns_when_used_with_other_query_rows(segment_video, checkpoint, cache, tmp_path, capsys) -> None:
    reasoned = _checkpoint(tmp_path / "reasoned", query_source="reasoned", query_model="openai:m")
    _, err = _run(capsys, _select_args(segment_video, reasoned, cache))
    warnings = [line for line in err.splitlines() if "trained on reasoned query rows" in line]
    assert len(warnings) == 1 and "use --query-model" in warnings[0], err
    with FakeServer(Behaviour(reply=WELL_FORMED)) as server:
        _, err = _run(capsys, _select_args(segment_video, checkpoint, cache, QUESTION, "--query-model",
                                           f"openai:tiny@{server.url}"))
    assert len([line for line in err.splitlines() if "trained on options query rows" in line]) == 1, err
    _, err = _run(capsys, _select_args(segment_video, checkpoint, cache))
    assert "trained on" not in err


def test_bad_query_model_arguments_are_one_line(segment_video, checkpoint, cache, capsys, tmp_path) -> None:
    spec = "openai:m@http://127.0.0.1:9/v1"
    scores = tmp_path / "s.json"
    scores.write_text("[1, 2, 3]")
    cases = [
        (["select", str(segment_video), "-q", QUESTION, "--method", "topk", "--query-model", spec], "reads none"),
        (["select", "--scores", str(scores), "--method", "topk", "--query-model", spec], "goes with a VIDEO"),
        (_select_args(segment_video, checkpoint, cache, QUESTION, "--query-model", spec, "--query-frames", "-1"),
         "--query-frames must be an integer >= 0"),
        (["select", str(segment_video), "--query-model", spec, "--method", f"msjoe={checkpoint}"], "text question"),
        (["train", "tspo", "--manifest", str(scores), "--out", str(tmp_path / "o"), "--query-model", spec],
         "tspo reads none"),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_the_python_api_takes_a_model_object(segment_video, checkpoint, cache) -> None:
    from framepick.answer.openai_compat import OpenAIAnswerer, OpenAIConfig

    with FakeServer(Behaviour(reply=json.dumps(QUERIES + ["a fourth", "a fifth"]))) as server:
        model = OpenAIAnswerer(OpenAIConfig(model="tiny", base_url=server.url, retries=0, backoff=0.0, max_side=64))
        selection = select_with_reasoned_queries(
            segment_video, "Which screens are there? (api)", 4, query_model=model, method=f"msjoe={checkpoint}",
            preview=2, candidates=32, cache=cache,
        )
    assert selection.params["queries"] == QUERIES + ["a fourth"] and len(selection) == 4
    assert selection.params["query_frames_shown"] == 2 and "query_model" in selection.timings
    assert selection.method == "msjoe"


# -- the tiny random MLLM -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from answer.tiny_mllm import build_tiny_mllm, missing_family

    if missing_family("qwen2_vl"):
        pytest.skip(missing_family("qwen2_vl"))
    return build_tiny_mllm(tmp_path_factory.mktemp("tiny-qwen2-vl"), "qwen2_vl")


@pytest.mark.slow  # builds and runs the tiny random Qwen2-VL: about 20 s on 2 shared cores
def test_the_tiny_mllm_path_runs_and_falls_back_cleanly(segment_video, checkpoint, cache, tiny_model, capsys) -> None:
    offline, _ = _run(capsys, _select_args(segment_video, checkpoint, cache, "Where is the blue screen?"))
    result, err = _run(capsys, _select_args(segment_video, checkpoint, cache, "Where is the blue screen?",
                                            "--query-model", f"hf:{tiny_model}", "--query-frames", "1"))
    params = result["params"]
    assert params["query_model"].startswith(f"hf:{tiny_model}") and len(result["frames"]) == 4
    if params["query_source"] == "options":  # a random model writes garbage: it must be said, and harmless
        assert "no usable queries" in params["query_fallback"] and "WARNING" in err
        assert result["frames"] == offline["frames"]
    else:
        assert params["query_fallback"] is None and 1 <= len(params["queries"]) <= MAX_QUERIES


# -- training and evaluation --------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(segment_video, tmp_path_factory):
    rows = [
        {"id": f"s{i}", "video": str(segment_video), "question": question, "options": list(OPTIONS),
         "answer": answer, "spans": [span]}
        for i, (question, answer, span) in enumerate([
            ("What colour does the screen turn first?", "A", [10.0, 15.0]),
            ("What colour does the screen turn last?", "C", [25.0, 30.0]),
        ])
    ]
    path = tmp_path_factory.mktemp("reasoned-manifest") / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _train(manifest, out, cache, *extra):
    return main(["train", "msjoe", "--manifest", str(manifest), "--out", str(out), "--candidates", "32",
                 "--steps", "2", "--eval-every", "2", "--policy-params", '{"width": 8, "depth": 1}',
                 "--cache-dir", str(cache), "--quiet", *extra])


def test_train_with_a_query_model_records_it_and_reads_its_rows(manifest, segment_video, cache, tmp_path, capsys) -> None:
    from framepick import api
    from framepick.answer import load_answerer
    from framepick.cli.eval import load_samples
    from framepick.encode import load_encoder
    from framepick.pipeline import embed_options
    from framepick.train.episodes import build_episodes
    from framepick.video.candidates import GridSpec

    with FakeServer(Behaviour(reply=WELL_FORMED)) as server:
        spec = f"openai:tiny@{server.url}"
        assert _train(manifest, tmp_path / "reasoned", cache, "--query-model", spec, "--query-frames", "3") == 0
        assert "query model: 2 of 2 question(s) reasoned, 0 fell back" in capsys.readouterr().err
        assert len(server.behaviour.requests) == 2  # one per question

        encoder = load_encoder("offline")
        reasoner = QueryReasoner.load(spec, preview=3, cache=cache)
        episodes, skipped = build_episodes(load_samples(str(manifest), None), encoder=encoder,
                                           answerer=load_answerer("offline"), grid=GridSpec(count=32),
                                           cache=api.feature_cache(cache), query_reasoner=reasoner)
    assert not skipped and len(server.behaviour.requests) == 2  # the rows came from the cache
    expected = np.asarray(encoder.encode_text(QUERIES), dtype=np.float32)
    for episode in episodes:
        np.testing.assert_allclose(episode.option_queries, expected, rtol=1e-6)
    meta = json.loads((tmp_path / "reasoned" / "policy.json").read_text())
    run = json.loads((tmp_path / "reasoned" / "run.json").read_text())
    for record in (meta, run):
        assert record["query_source"] == "reasoned" and record["query_model"] == reasoner.model.id
        assert record["query_frames"] == 3 and record["query_prompt"] == "msjoe-queries-v1"

    # Without a query model nothing changes: no query keys, and the rows are the option texts.
    assert _train(manifest, tmp_path / "plain", cache) == 0
    assert "query model" not in capsys.readouterr().err
    plain = json.loads((tmp_path / "plain" / "policy.json").read_text())
    assert not {k for k in plain if k.startswith("query")}
    assert not {k for k in json.loads((tmp_path / "plain" / "run.json").read_text()) if k.startswith("query")}
    episodes, _ = build_episodes(load_samples(str(manifest), None), encoder=encoder, answerer=load_answerer("offline"),
                                 grid=GridSpec(count=32), cache=api.feature_cache(cache))
    for episode in episodes:
        np.testing.assert_array_equal(episode.option_queries,
                                      embed_options(encoder, episode.sample.question, episode.sample.options))


def test_eval_with_a_query_model_says_where_each_records_rows_came_from(manifest, checkpoint, cache, tmp_path, capsys) -> None:
    base = ["eval", "--manifest", str(manifest), "--methods", f"topk,msjoe={checkpoint}", "-k", "4", "--candidates", "32",
            "--encoder", "offline", "--cache-dir", str(cache), "--quiet"]
    with FakeServer(Behaviour(reply=WELL_FORMED)) as server:
        assert main(base + ["--out", str(tmp_path / "run"), "--query-model", f"openai:tiny@{server.url}",
                            "--query-frames", "0"]) == 0
    err = capsys.readouterr().err
    assert "query model: 2 of 2 question(s) reasoned" in err and len(server.behaviour.requests) == 2
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    msjoe = [r for r in records if r["method"].startswith("msjoe")]
    assert len(msjoe) == 2 and all(r["query_source"] == "reasoned" and r["query_fallback"] is None for r in msjoe)
    assert all("query_source" not in r for r in records if r["method"] == "topk")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["query_model"]["query_source"] == "reasoned"

    assert main(base + ["--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    plain = [json.loads(line) for line in (tmp_path / "plain" / "records.jsonl").read_text().splitlines()]
    assert all("query_source" not in r for r in plain)
    assert "query_model" not in json.loads((tmp_path / "plain" / "config.json").read_text())


def test_a_cached_reply_decodes_no_preview_and_a_preview_that_fails_is_a_said_fallback(
    segment_video, tmp_path, monkeypatch
) -> None:
    from framepick import pipeline, reasoned_queries
    from framepick.answer.base import ChatModel
    from framepick.answer.cache import AnswerCache
    from framepick.encode import load_encoder
    from framepick.encode.cache import FeatureCache
    from framepick.errors import VideoError
    from framepick.video.candidates import GridSpec

    class Writer(ChatModel):
        id = "writer"

        def answer(self, frames, timestamps, question, options):
            raise AssertionError("asked for text only")

        def generate(self, parts, max_tokens):
            return WELL_FORMED

    prepared = pipeline.prepare_video(segment_video, GridSpec(count=16), [load_encoder("hist")])
    decodes: list[int] = []
    real = reasoned_queries._preview_frames

    def counting(prepared, indices):
        decodes.append(len(indices))
        return real(prepared, indices)

    monkeypatch.setattr(reasoned_queries, "_preview_frames", counting)
    reasoner = QueryReasoner(Writer(), preview=3, cache=AnswerCache(FeatureCache(tmp_path)))
    first = reasoner.rows(QUESTION, ["red", "blue"], prepared)
    again = reasoner.rows(QUESTION, ["red", "blue"], prepared)
    assert first.source == again.source == "reasoned" and again.cached and not first.cached
    assert decodes == [3] and first.previewed == again.previewed == 3  # the hit decoded nothing

    def broken(prepared, indices):
        raise VideoError("the file went away")

    monkeypatch.setattr(reasoned_queries, "_preview_frames", broken)
    lost = reasoner.rows("Another question?", ["red", "blue"], prepared)
    assert lost.source == "options" and "the file went away" in lost.fallback
