"""PeakClips labels (K-frames, paper 000, Sec. 3.1, App. C): against a local OpenAI-compatible
server whose replies the test controls (well-formed, fenced, malformed, empty, failing), the
thresholds at their boundaries, the reply cache, and the CLI's one-line errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from openai_fake import Behaviour, FakeServer

from framepick.cli.main import main
from framepick.data.peakclips import normalized_similarity, priority_of, refine_scores
from framepick.data.peakclips_replies import ReplyError, parse_caption, parse_scores

QUESTION = "What colour fills the screen after the grey part?"


# -- pure parts -----------------------------------------------------------------------------------


def test_thresholds_at_their_boundaries() -> None:
    assert [priority_of(s) for s in (6.0, 5.0, 4.9, 4.899999, 4.3, 4.29, 1.0)] == ["P1", "P1", "P1", "P2", "P2", None, None]
    # The refinement rounds to 6 decimals, so 4 + 0.9 * 1 is 4.9 exactly, not 4.8999999...
    refined = refine_scores([4, 4, 4, 5], np.array([0.3, 0.1, 0.2, 0.1]), weight=0.9)
    assert refined.tolist() == [4.9, 4.0, 4.45, 5.0]
    assert [priority_of(s) for s in refined] == ["P1", None, "P2", "P1"]
    assert refine_scores([4, 4], np.array([0.5, 0.0]), weight=0.3).tolist() == [4.3, 4.0]
    assert refine_scores([4, 1], np.array([1.0, 0.0]), weight=0.29).tolist() == [4.29, 1.0]
    assert priority_of(4.29) is None
    # Ties (or one scene): nothing singles a scene out, every s~ is 0.5.
    assert normalized_similarity(np.array([0.2, 0.2])).tolist() == [0.5, 0.5]
    assert normalized_similarity(np.array([0.7])).tolist() == [0.5]


def test_caption_replies_are_read_strictly() -> None:
    good = '{"scenes": [{"id": 2, "start_time": "1.0", "end_time": "2.0", "description": " A red screen. "}]}'
    assert parse_caption(good, 2) == "A red screen."
    assert parse_caption("Here it is:\n```json\n" + good + "\n```\n", 2) == "A red screen."
    assert parse_caption('{"scenes": [{"description": "no id is fine"}]}', 7) == "no id is fine"
    bad = {
        "": "empty", "A red screen.": "not JSON", "[1, 2]": "not an object",
        '{"scenes": []}': "exactly one", '{"scenes": [{"id": 1, "description": "a"}, {"id": 2, "description": "b"}]}': "exactly one",
        '{"scenes": [{"id": 3, "description": "x"}]}': "not scene 2", '{"scenes": [{"id": 2, "description": "  "}]}': "description",
        "```json\n{}\n```\n```json\n{}\n```": "2 code blocks",
    }
    for reply, why in bad.items():
        with pytest.raises(ReplyError, match=why):
            parse_caption(reply, 2)


def _scores(*entries) -> str:
    return json.dumps({"relevance_analysis": [dict(zip(("scene_id", "relevance_score", "reason"), e)) for e in entries]})


def test_score_replies_are_read_strictly() -> None:
    scores = parse_scores(_scores((1, 5, "shows it"), (2, 1.0, "unrelated")), [1, 2])
    assert (scores[1].score, scores[2].score, scores[2].reason) == (5, 1, "unrelated")
    bad = {
        _scores((1, 5, "a")): "leaves out scene 2",
        _scores((1, 6, "a"), (2, 1, "b")): "not a whole number 1-5",
        _scores((1, 4.5, "a"), (2, 1, "b")): "not a whole number 1-5",
        _scores((1, "5", "a"), (2, 1, "b")): "not a whole number 1-5",
        _scores((1, True, "a"), (2, 1, "b")): "not a whole number 1-5",
        _scores((1, 5, ""), (2, 1, "b")): "no reason",
        _scores((1, 5, "a"), (1, 1, "b")): "scored twice",
        _scores((1, 5, "a"), (3, 1, "b")): "names scene_id 3",
        '{"relevance_analysis": [{"scene_id": 1, "relevance_score": NaN, "reason": "a"}]}': "not JSON",
        '{"scores": []}': "no \"relevance_analysis\"",
    }
    for reply, why in bad.items():
        with pytest.raises(ReplyError, match=why):
            parse_scores(reply, [1, 2])


# -- against a server -----------------------------------------------------------------------------


def _text(body: dict) -> str:
    return "\n".join(p["text"] for p in body["messages"][-1]["content"] if p["type"] == "text")


def _scene_rows(text: str) -> list[dict]:
    return json.loads(text.split("Scene data:\n", 1)[1])


def scripted(score, caption=None):
    """A reply function: captions name their scene; scores are ``score(row, text)`` per scene row
    (a number, or a whole reply string to send instead)."""

    def reply_for(body: dict) -> str:
        text = _text(body)
        if "Video QA Relevance Analyst" in text:
            rows = _scene_rows(text)
            values = [score(row, text) for row in rows]
            if any(isinstance(v, str) for v in values):
                return next(v for v in values if isinstance(v, str))
            return _scores(*[(row["scene_id"], v, f"scene {row['scene_id']} reason") for row, v in zip(rows, values)])
        scene_id = int(re.search(r'provided in the `\[\{"id": (\d+)', text).group(1))
        if caption is not None:
            return caption(scene_id)
        return json.dumps({"scenes": [{"id": scene_id, "description": f"caption of scene {scene_id}"}]})

    return reply_for


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("peakclips-cache")


def _manifest(tmp_path, video, questions) -> str:
    path = tmp_path / "in.jsonl"
    rows = [{"id": f"s{i}", "video": str(video), "question": q, "options": ["grey", "red", "blue"], "answer": "B",
             "extra": {"keep": i}} for i, q in enumerate(questions)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _run(server, manifest, out, cache, *extra) -> int:
    return main(["data", "peakclips", "--manifest", manifest, "--out", str(out), "--llm", f"openai:tiny@{server.url}",
                 "--encoder", "offline", "--candidates", "32", "--caption-frames", "3", "--max-side", "64",
                 "--cache-dir", str(cache), "--quiet", *extra])


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def red(row: dict) -> bool:
    return 9.0 <= row["start_sec"] <= 11.0 and row["end_sec"] <= 16.0


def test_well_formed_replies_make_key_clips_and_a_rerun_asks_nothing(segment_video, tmp_path, cache, capsys) -> None:
    manifest = _manifest(tmp_path, segment_video, [QUESTION])
    behaviour = Behaviour(reply_for=scripted(lambda row, text: 5 if red(row) else 2))
    with FakeServer(behaviour) as server:
        assert _run(server, manifest, tmp_path / "out.jsonl", cache) == 0
        first = capsys.readouterr().out
        asked = len(behaviour.requests)
        assert _run(server, manifest, tmp_path / "again.jsonl", cache) == 0
        second = capsys.readouterr().out
    assert len(behaviour.requests) == asked, "the rerun asked the model again"
    assert "labelled 1 of 1 samples" in first and "0 failed" in first and "0 from the cache" in first
    assert f"0 asked, {asked} from the cache (100 % hits)" in second
    row = _rows(tmp_path / "out.jsonl")[0]
    assert _rows(tmp_path / "again.jsonl")[0] == row
    details = row["extra"]["peakclips"]
    scenes = details["scenes"]
    assert len(scenes) >= 3 and asked == len(scenes) + 1  # a caption per scene, one score request
    assert row["extra"]["keep"] == 0 and details["prompt_version"] and details["encoder"].startswith("offline")
    clips = row["extra"]["key_clips"]
    assert [c["priority"] for c in clips] == ["P1"]  # only the red scene scored 5; 2 + s~ < 4.3
    clip = clips[0]
    assert 9.0 <= clip["start_seconds"] <= 11.0 and 14.0 <= clip["end_seconds"] <= 16.0
    assert clip["score"] >= 5.0 and clip["reason"].startswith("scene ")
    assert set(clip) == {"start_seconds", "end_seconds", "priority", "score", "reason"}
    assert all(s["caption"] == f"caption of scene {s['scene_id']}" for s in scenes)
    # What the model was shown: frames with their times, then Fig. 7; the scorer gets Fig. 8 with
    # the question, its options, the gold answer and every caption.
    caption_request = behaviour.requests[0]["messages"][-1]["content"]
    assert caption_request[0]["text"].startswith("Frame 1 at ") and caption_request[1]["type"] == "image_url"
    assert sum(p["type"] == "image_url" for p in caption_request) <= 3
    assert "You are a professional Video Content Analyst." in caption_request[-1]["text"]
    score_text = _text(behaviour.requests[asked - 1])
    assert f"Question: {QUESTION}\nA. grey\nB. red\nC. blue\n\nCorrect Answer: B. red" in score_text
    assert [r["description"] for r in _scene_rows(score_text)] == [s["caption"] for s in scenes]


@pytest.mark.parametrize(("weight", "priority", "score"), [("0.9", "P1", 4.9), ("0.3", "P2", 4.3), ("0.29", None, 4.29)])
def test_the_refined_score_meets_the_thresholds_exactly(segment_video, tmp_path, cache, weight, priority, score) -> None:
    # Every scene scored 4: the scene most similar to the query (s~ = 1) ends at 4 + w.
    manifest = _manifest(tmp_path, segment_video, ["Where is the blue screen? (all fours)"])
    with FakeServer(Behaviour(reply_for=scripted(lambda row, text: 4))) as server:
        assert _run(server, manifest, tmp_path / "out.jsonl", cache, "--sim-weight", weight) == 0
    row = _rows(tmp_path / "out.jsonl")[0]
    scenes = row["extra"]["peakclips"]["scenes"]
    best = max(scenes, key=lambda s: s["similarity_normalized"])
    worst = min(scenes, key=lambda s: s["similarity_normalized"])
    assert best["similarity_normalized"] == 1.0 and worst["similarity_normalized"] == 0.0
    assert best["final_score"] == score and worst["final_score"] == 4.0
    clips = {c["start_seconds"]: c for c in row["extra"]["key_clips"]}
    assert (clips[best["start_seconds"]]["priority"] if best["start_seconds"] in clips else None) == priority
    assert worst["start_seconds"] not in clips
    for scene in scenes:  # every scene's clip follows its refined score
        expected = priority_of(scene["final_score"])
        assert (clips[scene["start_seconds"]]["priority"] if scene["start_seconds"] in clips else None) == expected


BAD = "(a question whose replies are bad)"


@pytest.mark.parametrize(
    ("behaviour", "reason", "captions_broken"),
    [
        (Behaviour(reply_for=scripted(lambda row, text: 5, caption=lambda i: "A grey screen with a bar.")), "not JSON", True),
        (Behaviour(reply_for=scripted(lambda row, text: 5, caption=lambda i: "")), "reply is empty", True),
        (Behaviour(reply_for=scripted(lambda row, text: 7 if BAD in text else 5)), "not a whole number 1-5", False),
        (Behaviour(reply_for=scripted(lambda row, text: "I think scene 2." if BAD in text else 5)), "the scores: the reply is not JSON", False),
        (Behaviour(reply_for=scripted(lambda row, text: "" if BAD in text else 5)), "reply is empty", False),
        (Behaviour(reply_for=scripted(lambda row, text: 5), reject_question=BAD), "too long", False),
    ],
)
def test_bad_replies_are_counted_and_the_run_goes_on(segment_video, tmp_path, behaviour, reason, captions_broken, capsys) -> None:
    # A fresh cache per case: a caption reply is keyed by the frames, not the question.
    manifest = _manifest(tmp_path, segment_video, [f"{QUESTION} {BAD}", QUESTION])
    with FakeServer(behaviour) as server:
        code = _run(server, manifest, tmp_path / "out.jsonl", tmp_path / "cache")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    bad, good = _rows(tmp_path / "out.jsonl")
    assert reason in bad["extra"]["peakclips_error"] and "key_clips" not in bad["extra"] and bad["extra"]["keep"] == 0
    assert "sample s0 failed" in captured.err
    if captions_broken:  # every sample's captions are unusable
        assert "scene 1's caption" in good["extra"]["peakclips_error"] and "2 failed" in captured.out
        assert "peakclips" not in bad["extra"] and "peakclips" not in good["extra"]
    else:  # only the scores failed: the captions are kept
        assert good["extra"]["key_clips"] and "labelled 1 of 2" in captured.out and "1 failed" in captured.out
        assert bad["extra"]["peakclips_error"].startswith("the scores: ")
        kept = [{k: s[k] for k in ("scene_id", "start_seconds", "end_seconds", "caption")} for s in good["extra"]["peakclips"]["scenes"]]
        assert bad["extra"]["peakclips"]["scenes"] == kept


def test_a_fenced_reply_is_accepted(segment_video, tmp_path, cache) -> None:
    fence = lambda i: "```json\n" + json.dumps({"scenes": [{"id": i, "description": f"fenced {i}"}]}) + "\n```"
    manifest = _manifest(tmp_path, segment_video, ["Which scene is red? (fenced)"])
    with FakeServer(Behaviour(reply_for=scripted(lambda row, text: 5, caption=fence))) as server:
        assert _run(server, manifest, tmp_path / "out.jsonl", tmp_path / "fenced-cache") == 0
    row = _rows(tmp_path / "out.jsonl")[0]
    assert all(s["caption"].startswith("fenced ") for s in row["extra"]["peakclips"]["scenes"])
    assert len(row["extra"]["key_clips"]) == len(row["extra"]["peakclips"]["scenes"])  # all 5s: all P1


def test_cli_errors_are_one_line(segment_video, tmp_path, capsys) -> None:
    manifest = _manifest(tmp_path, segment_video, [QUESTION])
    cases = [
        (["--llm", "offline"], "must name an MLLM"),
        (["--llm", "openai:m@http://127.0.0.1:9/v1", "--sim-weight", "-1"], "--sim-weight"),
        (["--llm", "openai:m@http://127.0.0.1:9/v1", "--caption-frames", "0"], "--caption-frames"),
    ]
    for args, message in cases:
        code = main(["data", "peakclips", "--manifest", manifest, "--out", str(tmp_path / "o.jsonl"), "--encoder", "offline",
                     "--cache-dir", str(tmp_path / "c"), "--quiet", *args])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    code = main(["data", "peakclips", "--manifest", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o.jsonl"),
                 "--llm", "openai:m@http://127.0.0.1:9/v1"])
    assert code == 2 and "--manifest" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_key_clips_go_onto_any_candidate_grid() -> None:
    from framepick.data.key_clips import key_clips_on, read_key_clips
    from framepick.errors import InvalidArgumentError
    from framepick.types import Candidates

    grid = Candidates(np.arange(10) * 3, np.arange(10) * 1.0)  # one candidate a second, 0-9 s
    clips = key_clips_on(grid, read_key_clips({"key_clips": [
        {"start_seconds": 2.0, "end_seconds": 5.0, "priority": "P1", "score": 5.2, "reason": "red"},
        {"start_seconds": 7.2, "end_seconds": 7.6, "priority": "P2", "score": 4.4, "reason": "between two"},
    ]}))
    assert [(c.start_index, c.end_index, c.priority) for c in clips] == [(2, 4, "P1"), (7, 7, "P2")]
    assert clips[0].reason == "red" and clips[0].start_seconds == 2.0
    for bad in ([{"start_seconds": 3, "end_seconds": 1, "priority": "P1"}], [{"start_seconds": 1, "priority": "P1"}],
                [{"start_seconds": 1, "end_seconds": 2, "priority": "P3"}], ["x"]):
        with pytest.raises(InvalidArgumentError, match="key clip 1"):
            key_clips_on(grid, read_key_clips({"key_clips": bad}))


def test_eval_with_oracle_clips_samples_kframes_from_the_labels(segment_video, tmp_path, cache, capsys) -> None:
    manifest = tmp_path / "labelled.jsonl"
    labels = [{"start_seconds": 25.0, "end_seconds": 30.0, "priority": "P1", "score": 5.4, "reason": "the blue screen"}]
    rows = [
        {"id": "labelled", "video": str(segment_video), "question": "Which colour comes last?", "options": ["red", "blue"],
         "answer": "B", "extra": {"key_clips": labels}},
        {"id": "unlabelled", "video": str(segment_video), "question": "Which colour comes last?", "options": ["red", "blue"],
         "answer": "B", "extra": {"peakclips_error": "the reply is not JSON"}},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    argv = ["eval", "--manifest", str(manifest), "--out", str(out), "--methods", "kframes", "-k", "4", "--encoder", "offline",
            "--answerer", "offline", "--candidates", "32", "--cache-dir", str(cache), "--quiet", "--oracle-clips"]
    assert main(argv) == 0, capsys.readouterr().err
    records = {r["sample_id"]: r for r in map(json.loads, (out / "records.jsonl").read_text().splitlines())}
    assert records["labelled"]["clip_source"] == "labels" and records["unlabelled"]["clip_source"] == "similarity"
    assert all(25.0 <= f["timestamp"] < 30.0 for f in records["labelled"]["frames"])  # k = 8 or less: focused sampling
    assert [c["reason"] for c in records["labelled"]["clips"]] == ["the blue screen"]
    assert json.loads((out / "config.json").read_text())["oracle_clips"] is True
    # The same folder without --oracle-clips is another run: refused in one line.
    assert main(argv[:-1]) == 2 and "oracle_clips" in capsys.readouterr().err


def test_an_unreadable_video_is_a_counted_failure(segment_video, tmp_path, cache, capsys) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    manifest = tmp_path / "in.jsonl"
    rows = [{"id": "broken", "video": str(broken), "question": QUESTION},
            {"id": "fine", "video": str(segment_video), "question": QUESTION}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FakeServer(Behaviour(reply_for=scripted(lambda row, text: 5))) as server:
        assert _run(server, str(manifest), tmp_path / "out.jsonl", cache) == 0
    captured = capsys.readouterr()
    broken_row, fine_row = _rows(tmp_path / "out.jsonl")
    assert broken_row["extra"]["peakclips_error"] and "key_clips" not in broken_row["extra"]
    assert fine_row["extra"]["key_clips"] and "labelled 1 of 2" in captured.out and "sample broken failed" in captured.err


def test_a_library_error_from_the_model_costs_its_sample_only(segment_video, tmp_path) -> None:
    """A local model's RuntimeError (CUDA out of memory, a processor failure) is a counted sample
    error in one line; the run goes on and every row is written."""
    from framepick.answer.base import ChatModel
    from framepick.data.manifest import read_manifest
    from framepick.data.peakclips import label_manifest
    from framepick.video.candidates import GridSpec

    class OutOfMemory(ChatModel):
        id = "oom"

        def answer(self, frames, timestamps, question, options):
            raise AssertionError("asked for text only")

        def generate(self, parts, max_tokens):
            raise RuntimeError("CUDA out of memory.\nTried to allocate 2.00 GiB")

    manifest = _manifest(tmp_path, segment_video, ["When is the screen red?", "When is it blue?"])
    samples = read_manifest(manifest).samples
    report = label_manifest(samples, tmp_path / "out.jsonl", OutOfMemory(), encoder="offline",
                            grid=GridSpec(count=16), cache=False, caption_frames=2)
    rows = _rows(tmp_path / "out.jsonl")
    assert report.failed == 2 and report.labelled == 0 and len(rows) == 2
    assert all(r["extra"]["peakclips_error"] == "RuntimeError: CUDA out of memory."
               for r in rows), [r["extra"].get("peakclips_error") for r in rows]
