"""PeakClips labels with the tiny random MLLM (``hf:DIR``) end to end on a video with scene cuts.

The model's weights are random, so its replies are not the JSON asked for: each such sample is
counted and written with its error, the run goes on, and a rerun is all cache hits. A wrapper that
runs the real model on every caption prompt (its frames included) but returns well-formed JSON
then takes the whole pipeline through the hf backend to key clips; the tiny model's 2048-token
context cannot hold the Fig. 8 prompt, which is a counted failure naming the context.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framepick.answer.base import ChatModel
from framepick.answer.prompt import ImagePart
from framepick.cli.main import main

from answer.tiny_mllm import build_tiny_mllm, missing_family

pytestmark = pytest.mark.skipif(bool(missing_family("qwen2_vl")), reason=str(missing_family("qwen2_vl")))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_mllm(tmp_path_factory.mktemp("peakclips-tiny") / "qwen2_vl", "qwen2_vl")


def _manifest(tmp_path: Path, video: Path) -> Path:
    path = tmp_path / "in.jsonl"
    rows = [{"id": "a", "video": str(video), "question": "When is the screen red?", "options": ["at 5 s", "at 12 s"], "answer": "B"},
            {"id": "b", "video": str(video), "question": "When is the screen blue?"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_random_replies_are_counted_and_the_rerun_is_all_cache_hits(tiny, segment_video, tmp_path, capsys) -> None:
    out = tmp_path / "out.jsonl"
    argv = ["data", "peakclips", "--manifest", str(_manifest(tmp_path, segment_video)), "--out", str(out),
            "--llm", f"hf:{tiny}", "--device", "cpu", "--encoder", "offline", "--candidates", "16",
            "--caption-frames", "2", "--caption-tokens", "12", "--max-side", "64", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr()
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["a", "b"]
    assert all("peakclips_error" in r["extra"] and "key_clips" not in r["extra"] for r in rows)
    assert all("caption" in r["extra"]["peakclips_error"] for r in rows)
    assert "labelled 0 of 2 samples" in first.out and "2 failed" in first.out and "sample a failed" in first.err
    replies = first.out.split("model replies: ", 1)[1]
    asked, cached = int(replies.split(" asked", 1)[0]), int(replies.split("asked, ", 1)[1].split(" from", 1)[0])
    assert asked >= 1 and cached >= 1  # the second sample's first caption is the first's: same frames, same prompt
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert f"model replies: 0 asked, {asked + cached} from the cache (100 % hits)" in second
    assert _rows(out) == rows


def test_the_real_model_sees_each_scene_and_well_formed_replies_make_clips(tiny, segment_video, tmp_path) -> None:
    from framepick.answer import AnswererOptions, load_answerer
    from framepick.data.manifest import read_manifest
    from framepick.data.peakclips import label_manifest

    real = load_answerer(f"hf:{tiny}", AnswererOptions(device="cpu", max_side=64))
    shown: list[int] = []

    class WellFormed(ChatModel):
        """The real model runs on every caption prompt; its random reply is replaced by valid JSON.
        Score prompts go to the real model only when ``score_through`` is set."""

        def __init__(self, score_through: bool) -> None:
            self.id = real.id + (":score-through" if score_through else ":well-formed")
            self.score_through = score_through

        def answer(self, frames, timestamps, question, options):
            return real.answer(frames, timestamps, question, options)

        def generate(self, parts, max_tokens):
            text = parts[-1].text
            if "Video QA Relevance Analyst" in text:
                if self.score_through:
                    return real.generate(parts, max_tokens)
                rows = json.loads(text.split("Scene data:\n", 1)[1])
                return json.dumps({"relevance_analysis": [
                    {"scene_id": r["scene_id"], "relevance_score": 5 if 9 <= r["start_sec"] <= 11 else 1, "reason": "red" if 9 <= r["start_sec"] <= 11 else "not red"}
                    for r in rows]})
            shown.append(sum(isinstance(p, ImagePart) for p in parts))
            reply = real.generate(parts, 4)
            assert isinstance(reply, str)
            scene_id = int(text.split('provided in the `[{"id": ', 1)[1].split(",", 1)[0])
            return json.dumps({"scenes": [{"id": scene_id, "description": f"tiny model said {reply!r}"}]})

    from framepick.video.candidates import GridSpec

    samples = read_manifest(_manifest(tmp_path, segment_video)).samples[:1]
    common = {"encoder": "offline", "grid": GridSpec(count=16), "cache": tmp_path / "cache", "caption_frames": 2}
    report = label_manifest(samples, tmp_path / "out.jsonl", WellFormed(False), **common)
    row = _rows(tmp_path / "out.jsonl")[0]
    scenes = row["extra"]["peakclips"]["scenes"]
    assert report.labelled == 1 and report.failed == 0 and len(scenes) == len(shown) >= 3
    assert all(1 <= n <= 2 for n in shown)  # at most --caption-frames frames of each scene
    assert [c["priority"] for c in row["extra"]["key_clips"]] == ["P1"]
    assert 9 <= row["extra"]["key_clips"][0]["start_seconds"] <= 11

    report = label_manifest(samples, tmp_path / "through.jsonl", WellFormed(True), **common)
    assert report.failed == 1 and report.calls.asked == len(scenes)  # every caption, then the score request failed
    error = _rows(tmp_path / "through.jsonl")[0]["extra"]["peakclips_error"]
    assert "context" in error and "\n" not in error
