"""K-frames with an MLLM clip predictor, against a local server whose replies the test controls."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from framepick.answer.openai_compat import OpenAIAnswerer, OpenAIConfig
from framepick.cli.main import main
from framepick.clip_model import INSTRUCTION, select_with_clip_model
from openai_fake import Behaviour, FakeServer

RED = (10.0, 15.0)  # segment_video: grey 0-10 s, red 10-15 s, grey 15-25 s, blue 25-30 s


def _model(server: FakeServer) -> OpenAIAnswerer:
    return OpenAIAnswerer(OpenAIConfig(model="tiny", base_url=server.url, retries=0, backoff=0.0, max_side=96))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One feature cache for the module: the offline encoder (it has a text tower, which the
    similarity fallback needs) embeds the video once. Replies are cached there too, so each test
    asks its own question."""
    return tmp_path_factory.mktemp("clip-model-cache")


def _select(video, server, cache, question="When is the screen red?"):
    return select_with_clip_model(
        video, question, 6, clip_model=_model(server), shown=16, candidates=32, encoder="offline", cache=cache,
    )


def test_the_models_clips_choose_the_frames(segment_video, cache) -> None:
    # 16 frames shown over 30 s: frame n is at about n * 2 s, so the red screen is frames 5-7.
    reply = "<time>frames 5-7, P1,</time><reason>the screen is red</reason>"
    with FakeServer(Behaviour(reply=reply)) as server:
        selection = _select(segment_video, server, cache)
        again = _select(segment_video, server, cache)
    assert selection.params["clip_source"] == "mllm" and selection.params["clip_fallback"] is None
    assert all(RED[0] - 1.0 <= t <= RED[1] + 1.0 for t in selection.timestamps), selection.timestamps
    assert [c.reason for c in selection.clips] == ["the screen is red"]
    assert len(server.behaviour.requests) == 1 and again.params["clip_reply_cached"] is True
    np.testing.assert_array_equal(again.indices, selection.indices)
    content = server.behaviour.requests[0]["messages"][0]["content"]
    texts = [p["text"] for p in content if p["type"] == "text"]
    assert texts[:3] == ["Frame 0:", "Frame 1:", "Frame 2:"] and texts[-1].startswith(INSTRUCTION)
    assert texts[-1].endswith("Question: When is the screen red?")
    images = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert len(images) == 16
    corner = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[6].split(",", 1)[1]))).convert("L"))
    # The index is drawn in white on a black box in the top-left corner (the frames are grey or red).
    assert corner[:2, :2].mean() < 30 and corner[:8, :8].max() > 100


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (Behaviour(reply="I cannot tell from these frames."), "no usable clips"),
        (Behaviour(reply="<time>frames 5-7, P4,</time><reason>context</reason>"), "named no P1 or P2 clip"),
        (Behaviour(reply="<time>frames 5-7</time>"), "no usable clips"),
        (Behaviour(reply="<time>frames 40-45, P1,</time>"), "no usable clips"),
        (Behaviour(reply="   "), "reply was empty"),
        (Behaviour(fail_first=[500]), "the clip model failed"),
    ],
)
def test_an_unusable_reply_falls_back_to_similarity_and_says_why(segment_video, cache, behaviour, reason) -> None:
    with FakeServer(behaviour) as server:
        selection = _select(segment_video, server, cache, question=f"When is the screen red? ({reason})")
    assert selection.params["clip_source"] == "similarity"
    assert reason in selection.params["clip_fallback"]
    assert len(selection) == 6


def test_cli_select_with_a_clip_model(segment_video, cache, capsys) -> None:
    with FakeServer(Behaviour(reply="5-7, P1, red screen\n12-13, P2, blue")) as server:
        code = main([
            "select", str(segment_video), "-q", "Where is the red screen?", "-k", "6", "--method", "kframes",
            "--clip-model", f"openai:tiny@{server.url}", "--clip-frames", "16", "--candidates", "32",
            "--encoder", "offline", "--cache-dir", str(cache), "--quiet",
        ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert [c["priority"] for c in result["clips"]] == ["P1", "P2"]
    assert result["params"]["clip_source"] == "mllm"
    code = main(["select", str(segment_video), "-q", "Q?", "--method", "aks", "--clip-model", "openai:m@http://127.0.0.1:9/v1"])
    assert code == 2 and "goes with --method kframes" in capsys.readouterr().err


@pytest.fixture()
def two_questions(segment_video, tmp_path):
    rows = [
        {"id": f"s{i}", "video": str(segment_video), "question": question, "options": ["red", "blue"],
         "answer": "A", "spans": [list(RED)]}
        for i, question in enumerate(["(eval) When is the screen red?", "(eval) Which colour follows the grey?"])
    ]
    path = tmp_path / "manifest.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _eval(manifest, out, cache, *extra):
    return main(["eval", "--manifest", str(manifest), "--out", str(out), "--methods", "kframes,uniform", "-k", "4,6",
                 "--candidates", "32", "--encoder", "offline", "--cache-dir", str(cache), "--quiet", *extra])


def test_eval_with_a_clip_model_asks_once_per_question_and_records_the_source(two_questions, cache, tmp_path, capsys) -> None:
    with FakeServer(Behaviour(reply="<time>frames 5-7, P1,</time><reason>red</reason>")) as server:
        flags = ["--clip-model", f"openai:tiny@{server.url}", "--clip-frames", "16"]
        assert _eval(two_questions, tmp_path / "run", cache, *flags) == 0
        err = capsys.readouterr().err
        asked = len(server.behaviour.requests)
        # The same run again with another budget: the kframes records of k=8 come from the reply cache.
        assert _eval(two_questions, tmp_path / "run", cache, *flags, "-k", "8") == 0
        capsys.readouterr()
        again = len(server.behaviour.requests)
    assert asked == 2 and again == 2, (asked, again)  # one request per question, not per method or k
    # The question as train kframes-mllm teaches the model to read it: with its lettered options.
    content = server.behaviour.requests[0]["messages"][0]["content"]
    assert content[-1]["text"].endswith("Question: (eval) When is the screen red?\nA. red\nB. blue")
    assert "clip model: 2 of 2 question(s) given its clips" in err
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    kframes = [r for r in records if r["method"] == "kframes"]
    assert len(kframes) == 6 and all(r["clip_source"] == "mllm" for r in kframes)
    for record in (r for r in kframes if r["k"] <= 6):  # the clip holds 6 candidates; k = 8 spills over
        seconds = [frame["timestamp"] for frame in record["frames"]]
        assert all(RED[0] - 1.0 <= t <= RED[1] + 1.0 for t in seconds), seconds
    assert all("clip_source" not in r for r in records if r["method"] == "uniform")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["clip_model"]["clip_frames"] == 16

    # Another clip model (or none) cannot resume this folder: its kframes records would mix.
    assert _eval(two_questions, tmp_path / "run", cache) == 2
    assert "another clip_model" in capsys.readouterr().err


def test_eval_with_a_clip_model_that_writes_garbage_falls_back_and_says_so(two_questions, cache, tmp_path, capsys) -> None:
    with FakeServer(Behaviour(reply="no idea")) as server:
        # 12 frames shown: the well-formed replies cached by the test above (16 shown) are not asked.
        assert _eval(two_questions, tmp_path / "run", cache, "--clip-model", f"openai:tiny@{server.url}",
                     "--clip-frames", "12") == 0
    assert "0 of 2 question(s) given its clips, 2 fell back" in capsys.readouterr().err
    records = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    kframes = [r for r in records if r["method"] == "kframes"]
    assert kframes and all(r["clip_source"] == "similarity" for r in kframes)
    assert all("no usable clips" in r["clip_fallback"] for r in kframes), [r["clip_fallback"] for r in kframes]


def test_eval_clip_model_and_oracle_clips_do_not_go_together(two_questions, tmp_path, capsys) -> None:
    code = main(["eval", "--manifest", str(two_questions), "--out", str(tmp_path / "run"), "--oracle-clips",
                 "--clip-model", "openai:m@http://127.0.0.1:9/v1", "--quiet"])
    assert code == 2 and "choose one" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
