"""VidThinker (``framepick data vidthinker``) against a local server whose replies the test controls,
and end to end on the tiny random Qwen2-VL (``hf:DIR``)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from openai_fake import Behaviour, FakeServer
from PIL import Image
from videogen import BLUE, GREY, RED

from framepick.cli.main import main
from framepick.data import vidthinker_prompts as prompts
from framepick.data.vidthinker import clip_layout, evidence_spans
from framepick.data.vidthinker_prompts import (
    ReplyError,
    read_instruction_type,
    read_retrieval,
    read_yes_no,
)
from framepick.policies.instruction import INSTRUCTION_TYPES

# 17 s at 10 fps: grey 0-5 s, red 5-10 s, grey 10-15 s, blue 15-17 s -> clips 0-5, 5-10, 10-15, 15-17.
SEGMENTS = [(5, GREY, "pattern"), (5, RED), (5, GREY, "pattern"), (2, BLUE)]
OPTIONS = ["red", "green", "blue"]
RETRIEVED = '{"explanation": "Clip-2 shows the red screen.", "clipnum": "One clip: [Clip-2]"}'


@pytest.fixture(scope="module")
def video(make_video) -> Path:
    return make_video("vidthinker.mp4", SEGMENTS)


def _manifest(folder: Path, video: Path, questions: list[str]) -> Path:
    path = folder / "in.jsonl"
    rows = [{"id": f"q{i}", "video": str(video), "question": q, "options": OPTIONS, "answer": "A",
             "spans": [[0.0, 1.0]], "extra": {"keep": i}} for i, q in enumerate(questions)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _texts(body: dict) -> str:
    return "\n".join(p["text"] for p in body["messages"][-1]["content"] if isinstance(p, dict) and p.get("type") == "text")


def _is_red(body: dict) -> bool:
    url = next(p["image_url"]["url"] for p in body["messages"][-1]["content"] if p.get("type") == "image_url")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"), dtype=float)
    r, g, b = pixels.reshape(-1, 3).mean(axis=0)
    return r > 150 and g < 100 and b < 100


def scripted(overrides: dict[str, str] | None = None):
    """A server reply per VidThinker step; the frame step looks at the frame (yes when it is red).
    ``overrides`` maps a step to a reply, for a question containing the key ``"<step>!"``."""

    def reply(body: dict) -> str:
        text = _texts(body)
        kinds = {"type": text.startswith("Classify"), "cue": text.startswith("Extract"),
                 "caption": "Describe what is visible" in text, "retrieve": text.startswith("Task:"),
                 "frame": "this frame" in text}
        for step, override in (overrides or {}).items():
            if f"{step}!" in text and kinds[step]:
                return override
        if text.startswith("Classify the instruction"):
            return "Semantic"
        if text.startswith("Extract the salient phrases"):  # the marker rides along into the caption prompts
            return "The screen is red." + (" (caption!)" if "caption!" in text else "")
        if "Describe what is visible" in text:
            return "A screen of one colour."
        if text.startswith("Task:\nYou are an expert in analyzing video clip descriptions."):
            return RETRIEVED
        if "Is this frame relevant" in text:
            return "Yes." if _is_red(body) else "No"
        raise AssertionError(f"unexpected prompt: {text[:80]!r}")

    return reply


def _run(argv: list[str]) -> int:
    return main(["data", "vidthinker", *argv, "--quiet"])


def _rows(path: Path) -> dict[str, dict]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_labels_spans_and_type_from_well_formed_replies_then_all_from_the_cache(video, tmp_path, capsys) -> None:
    manifest = _manifest(tmp_path, video, ["What colour is the screen in the middle?"])
    out, again = tmp_path / "out.jsonl", tmp_path / "again.jsonl"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    with FakeServer(Behaviour(reply_for=scripted())) as server:
        spec = f"openai:tiny@{server.url}"
        assert _run(["--manifest", str(manifest), "--llm", spec, "--out", str(out), *cache]) == 0
        asked = len(server.behaviour.requests)
        assert _run(["--manifest", str(manifest), "--llm", spec, "--out", str(again), *cache]) == 0
        assert len(server.behaviour.requests) == asked  # the rerun asked nothing
    # type + cue + 4 captions + retrieval + 4 frames of the retrieved clip
    assert asked == 1 + 1 + 4 + 1 + 4
    row = _rows(out)["q0"]
    assert row["spans"] == [[5.0, 10.0]]
    labels = row["extra"]["frame_labels"]
    assert len(labels["timestamps"]) == 16 and labels["labels"] == [0] * 4 + [1] * 4 + [0] * 8
    assert all(5.0 <= t < 10.0 for t, y in zip(labels["timestamps"], labels["labels"]) if y)
    assert row["extra"]["instruction_type"] == "semantic" and row["extra"]["instruction_type"] in INSTRUCTION_TYPES
    assert row["extra"]["vidthinker"]["retrieved_clips"] == [1] and row["extra"]["keep"] == 0
    assert "vidthinker_error" not in row["extra"]
    assert _rows(again) == _rows(out)
    summary = capsys.readouterr().out
    assert "1 of 1 samples labelled, 0 without labels" in summary and "0 model calls, 11 cached replies" in summary


def test_the_prompts_carry_table_8_and_the_qa_pair(video, tmp_path) -> None:
    manifest = _manifest(tmp_path, video, ["What colour is the screen in the middle?"])
    with FakeServer(Behaviour(reply_for=scripted())) as server:
        assert _run(["--manifest", str(manifest), "--llm", f"openai:tiny@{server.url}", "--out", str(tmp_path / "o.jsonl"),
                     "--no-cache", "--frames-per-clip", "2"]) == 0
        bodies = server.behaviour.requests
    texts = [_texts(body) for body in bodies]
    retrieval = next(t for t in texts if t.startswith("Task:"))
    assert retrieval.startswith(prompts.RETRIEVAL_TASK)
    assert "Clip-1: A screen of one colour." in retrieval and "Clip-4:" in retrieval and "Clip-5" not in retrieval
    assert retrieval.endswith("Question: What colour is the screen in the middle?\nAnswer: red")
    captions = [b for b, t in zip(bodies, texts) if "Describe what is visible" in t]
    assert len(captions) == 4 and all(
        sum(p.get("type") == "image_url" for p in b["messages"][-1]["content"]) == 2 for b in captions
    )
    assert '"The screen is red."' in _texts(captions[0])
    frames = [t for t in texts if "Is this frame relevant" in t]
    assert len(frames) == 2 and frames[0].startswith("Question: What colour is the screen in the middle?\nAnswer: red")


@pytest.mark.parametrize(
    ("step", "reply", "reason"),
    [
        ("retrieve", "Clip 2 is the relevant one.", "not a JSON object"),
        ("retrieve", '{"explanation": "x", "clipnum": "Clip-2"}', "none of Table 8's forms"),
        ("retrieve", '{"explanation": "x", "clipnum": "One clip: [Clip-9]"}', "there are clips 1-4"),
        ("retrieve", '{"explanation": "nothing", "clipnum": "None."}', "no relevant clip"),
        ("retrieve", "", "reply was empty"),
        ("frame", "Maybe, it is hard to say.", "neither yes nor no"),
        ("caption", "  ", "caption reply was empty"),
        ("type", "a semantic question", "names none of"),
    ],
)
def test_an_unreadable_reply_costs_the_sample_its_labels_only(video, tmp_path, capsys, step, reply, reason) -> None:
    good, bad = "What colour is the screen in the middle?", f"What colour is the screen? ({step}!)"
    manifest = _manifest(tmp_path, video, [good, bad])
    out = tmp_path / "out.jsonl"
    with FakeServer(Behaviour(reply_for=scripted({step: reply}))) as server:
        assert _run(["--manifest", str(manifest), "--llm", f"openai:tiny@{server.url}", "--out", str(out),
                     "--cache-dir", str(tmp_path / "cache")]) == 0
    rows = _rows(out)
    assert rows["q0"]["spans"] == [[5.0, 10.0]] and "frame_labels" in rows["q0"]["extra"]
    failed = rows["q1"]
    assert reason in failed["extra"]["vidthinker_error"]
    assert failed["spans"] == [[0.0, 1.0]] and "frame_labels" not in failed["extra"] and failed["extra"]["keep"] == 1
    assert "1 of 2 samples labelled, 1 without labels" in capsys.readouterr().out


def test_a_failed_request_is_counted_not_fatal(video, tmp_path, capsys) -> None:
    manifest = _manifest(tmp_path, video, ["What colour is the screen in the middle?", "Which colour? (refused)"])
    out = tmp_path / "out.jsonl"
    behaviour = Behaviour(reply_for=scripted(), reject_question="(refused)")
    with FakeServer(behaviour) as server:
        assert _run(["--manifest", str(manifest), "--llm", f"openai:tiny@{server.url}", "--out", str(out),
                     "--no-cache", "--concurrency", "2"]) == 0
    rows = _rows(out)
    assert "frame_labels" in rows["q0"]["extra"] and "400" in rows["q1"]["extra"]["vidthinker_error"]
    assert "1 without labels" in capsys.readouterr().out


def test_bad_input_is_one_line_and_writes_nothing(video, tmp_path, capsys) -> None:
    out = tmp_path / "out.jsonl"
    assert _run(["--manifest", str(tmp_path / "missing.jsonl"), "--llm", "openai:tiny@http://127.0.0.1:9/v1",
                 "--out", str(out)]) != 0
    assert _run(["--manifest", str(_manifest(tmp_path, video, ["q?"])), "--llm", "offline", "--out", str(out)]) != 0
    assert _run(["--manifest", str(_manifest(tmp_path, video, ["q?"])), "--llm", "openai:tiny@http://127.0.0.1:9/v1",
                 "--out", str(out), "--frames-per-clip", "0"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and not out.exists()
    assert "--frames-per-clip must be a positive integer" in err and "MLLM" in err


def test_readers_are_strict() -> None:
    assert read_retrieval('```json\n{"explanation": "e", "clipnum": "Multiple clips: [Clip-3, Clip-1]"}\n```', 3) == ([0, 2], "e")
    assert read_retrieval('{"explanation": "e", "clipnum": "None."}', 3) == ([], "e")
    with pytest.raises(ReplyError):
        read_retrieval('{"explanation": "e", "clipnum": "One clip: [Clip-0]"}', 3)
    with pytest.raises(ReplyError):
        read_retrieval('[{"clipnum": "One clip: [Clip-1]"}]', 3)
    assert read_yes_no("Yes.") and read_yes_no(" **yes** it shows") and not read_yes_no("No, it does not")
    for bad in ("", "Yesterday", "I think yes"):
        with pytest.raises(ReplyError):
            read_yes_no(bad)
    assert read_instruction_type("Semantic & Motion") == "semantic_motion"
    assert read_instruction_type("no_clue.") == "no_clue" and read_instruction_type("\"motion\"") == "motion"
    with pytest.raises(ReplyError):
        read_instruction_type("motion and semantic")


def test_clip_layout_and_spans() -> None:
    times = np.arange(0, 12.0, 0.5)  # 2 fps, 12 s: clips 0-5, 5-10, 10-12 (a 2 s tail is a clip)
    clips = clip_layout(times, 12.0, frames_per_clip=4)
    assert [(c.start, c.end) for c in clips] == [(0.0, 5.0), (5.0, 10.0), (10.0, 12.0)]
    assert clips[0].times.tolist() == [0.5, 2.0, 3.0, 4.5]
    assert len(clips[2].indices) == 4 and np.all(np.diff(clips[2].indices) > 0)
    assert [(c.start, c.end) for c in clip_layout(times[:21], 10.5)] == [(0.0, 5.0), (5.0, 10.5)]  # 0.5 s joins
    labels = [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]
    assert evidence_spans(clips, labels) == [(3.75, 6.25), (11.5, 12.0)]


def test_train_videoitg_reads_the_labels(video, tmp_path) -> None:
    manifest = _manifest(tmp_path, video, ["What colour is the screen in the middle?"])
    out = tmp_path / "labelled.jsonl"
    with FakeServer(Behaviour(reply_for=scripted())) as server:
        assert _run(["--manifest", str(manifest), "--llm", f"openai:tiny@{server.url}", "--out", str(out), "--no-cache"]) == 0
    from framepick.data.manifest import read_manifest
    from framepick.train.episodes import labels_on_candidates

    sample = read_manifest(out).samples[0]
    candidates = np.arange(0.25, 17.0, 0.5)
    targets = labels_on_candidates(sample.extra["frame_labels"], candidates)
    assert targets.tolist() == [float(5.0 <= t < 10.0) for t in candidates]
    cache = tmp_path / "train-cache"
    assert main(["train", "videoitg", "--manifest", str(out), "--out", str(tmp_path / "ckpt"), "--steps", "2",
                 "--candidates", "16", "--cache-dir", str(cache), "--quiet"]) == 0
    assert (tmp_path / "ckpt" / "policy.json").is_file()


@pytest.mark.parametrize("bad", [{"timestamps": [1.0], "labels": [2]}, {"timestamps": [2.0, 1.0], "labels": [0, 1]},
                                 {"timestamps": [], "labels": []}, [0, 1]])
def test_malformed_frame_labels_are_one_line_errors(bad) -> None:
    from framepick.errors import InvalidArgumentError
    from framepick.train.episodes import labels_on_candidates

    with pytest.raises(InvalidArgumentError, match="frame_labels"):
        labels_on_candidates(bad, np.array([0.5]))


def test_tiny_hf_model_end_to_end(video, tmp_path, capsys) -> None:
    from answer.tiny_mllm import build_tiny_mllm, missing_family

    if missing_family("qwen2_vl"):
        pytest.skip(missing_family("qwen2_vl"))
    folder = build_tiny_mllm(tmp_path / "tiny", "qwen2_vl")
    manifest = _manifest(tmp_path, video, ["What colour is the screen in the middle?", "Describe the video."])
    out, cache = tmp_path / "out.jsonl", ["--cache-dir", str(tmp_path / "cache"), "--max-side", "64"]
    argv = ["--manifest", str(manifest), "--llm", f"hf:{folder}", "--out", str(out), "--device", "cpu", *cache]
    assert _run(argv) == 0
    first = capsys.readouterr().out
    rows = _rows(out)
    assert len(rows) == 2  # random replies: whatever did not parse is counted, every row is written
    failed = [row for row in rows.values() if "vidthinker_error" in row["extra"]]
    labelled = [row for row in rows.values() if "frame_labels" in row["extra"]]
    assert len(failed) + len(labelled) == 2
    assert f"{len(labelled)} of 2 samples labelled, {len(failed)} without labels" in first
    calls = int(first.split(" model calls")[0].rsplit(" ", 1)[1])
    assert calls >= 2
    assert _run(argv) == 0
    second = capsys.readouterr().out
    assert f"0 model calls, {calls} cached replies" in second  # the rerun is all cache hits
    assert _rows(out) == rows


def test_tiny_hf_model_sees_the_clips_and_frames(video, tmp_path) -> None:
    """Every step runs the real tiny model on its prompt and images (4 frames per caption, one per
    frame question); only the replies that must parse are replaced by well-formed ones, so the
    whole pipeline runs through the hf backend."""
    from answer.tiny_mllm import build_tiny_mllm, missing_family

    from framepick.answer import AnswererOptions, load_answerer
    from framepick.answer.base import ChatModel
    from framepick.answer.prompt import ImagePart
    from framepick.data.manifest import read_manifest
    from framepick.data.vidthinker import annotate_samples

    if missing_family("qwen2_vl"):
        pytest.skip(missing_family("qwen2_vl"))
    real = load_answerer(f"hf:{build_tiny_mllm(tmp_path / 'tiny', 'qwen2_vl')}", AnswererOptions(device="cpu", max_side=64))
    seen: list[tuple[str, int]] = []

    class WellFormed(ChatModel):
        id = real.id + ":well-formed"

        def answer(self, frames, timestamps, question, options):
            return real.answer(frames, timestamps, question, options)

        def generate(self, parts, max_tokens):
            text, images = parts[-1].text, sum(isinstance(p, ImagePart) for p in parts)
            seen.append((text.split()[0], images))
            if text.startswith("Task:"):  # Table 8 and four random captions overflow the tiny model's 2048 tokens
                return '{"explanation": "e", "clipnum": "Multiple clips: [Clip-2, Clip-3]"}'
            reply = real.generate(parts, max_tokens)  # the real model reads the real prompt
            if text.startswith("Classify"):
                return "motion"
            if "Is this frame relevant" in text:
                return "Yes" if float(np.mean([p.image[..., 0] for p in parts if isinstance(p, ImagePart)])) > 150 else "No"
            return reply or "(empty)"

    samples = read_manifest(_manifest(tmp_path, video, ["What colour is the screen in the middle?"])).samples
    result = annotate_samples(samples, WellFormed(), cache=tmp_path / "cache")
    assert result.labelled == 1 and not result.failed, result.failed
    assert [n for _, n in seen] == [0, 0, 4, 4, 4, 4, 0] + [1] * 8
    extra = result.samples[0].extra
    assert extra["instruction_type"] == "motion" and extra["frame_labels"]["labels"][4:12] == [1] * 4 + [0] * 4
    assert result.samples[0].spans == ((5.0, 10.0),)
