"""Every recipe of docs/reproducing.md runs, unchanged, on tiny models and generated videos.

Each ```bash block after a ``<!-- recipe: NAME -->`` marker is run with ``bash -euo pipefail`` in a
subprocess, its inputs pointed (through the environment, as a user would) at tiny random models
built from config, three generated videos of 8 s and annotation files in the benchmarks' official
layouts; the ``framepick`` on PATH is this venv's. Each must exit 0 and leave a run folder whose
records hold exactly the methods and budgets the recipe names, and a report. No accuracy is looked
at: a random model's means nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from answer.tiny_mllm import build_tiny_mllm  # noqa: E402
from policies.tspo_folder import build_tspo_folder  # noqa: E402
from tests_support import save_tiny_model  # noqa: E402
from videogen import BLUE, GREY, RED, write_video  # noqa: E402

DOC = Path(__file__).resolve().parents[1] / "docs" / "reproducing.md"
RECIPE = re.compile(r"<!-- recipe: (\S+) -->\n```bash\n(.*?)\n```", re.S)
SECONDS, VIDEO_FPS = 8, 10
GREEN = (0, 200, 0)


def recipes() -> dict[str, str]:
    found = RECIPE.findall(DOC.read_text())
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), f"recipe names repeat in {DOC.name}: {names}"
    return dict(found)


# What each recipe must leave: run folder -> (methods, ks). "{TSPO}" is the TSPO folder given.
EXPECTED = {
    "bolt-videomme": {"bolt-videomme": ({"uniform", "bolt"}, {8, 16, 32})},
    "bolt-longvideobench": {"bolt-lvb": ({"uniform", "bolt"}, {8, 16, 32})},
    "tspo-longvideobench": {"tspo-lvb": ({"uniform", "tspo={TSPO}"}, {64})},
    "tspo-videomme": {"tspo-videomme": ({"uniform", "tspo={TSPO}"}, {64})},
    "aks-longvideobench": {"aks-lvb": ({"uniform", "aks"}, {32})},
    "kframes-videomme": {"kframes-videomme": ({"uniform", "kframes"}, {8})},
    "import-published": {
        "bolt-videomme": ({"uniform", "bolt", "bolt-published"}, {8, 16, 32}),
        "tspo-lvb": ({"uniform", "tspo={TSPO}", "tspo-published"}, {64, SECONDS}),
    },
}
SLOW = {"kframes-train"}
NEEDS = {"import-published": ("bolt-videomme", "tspo-longvideobench")}  # the runs it adds to


def test_every_recipe_is_tested():
    assert set(recipes()) == set(EXPECTED) | SLOW


# -- the inputs -----------------------------------------------------------------------------------

VIDEOS = {  # name -> segments; each SECONDS long at VIDEO_FPS
    "vidRED00001": [(3, GREY, "pattern"), (2, RED), (3, GREY, "pattern")],
    "vidBLUE0002": [(5, GREY, "pattern"), (3, BLUE)],
    "vidGREEN003": [(2, GREEN), (6, GREY, "pattern")],
}
QUESTIONS = [  # video, question, options, answer index
    ("vidRED00001", "What colour fills the screen in the middle?", ["Red.", "Blue.", "Green.", "Grey."], 0),
    ("vidBLUE0002", "What colour is shown at the end?", ["Red.", "Blue.", "Green.", "Grey."], 1),
    ("vidGREEN003", "What colour opens the video?", ["Red.", "Blue.", "Green.", "Grey."], 2),
]


def _videomme(root: Path, videos: dict[str, Path]) -> Path:
    """lmms-lab/Video-MME's layout: videomme/test-00000-of-00001.parquet and data/{videoID}.mp4."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "videomme").mkdir(parents=True)
    (root / "data").mkdir()
    rows = []
    for number, (video, question, options, answer) in enumerate(QUESTIONS, 1):
        (root / "data" / f"{video}.mp4").symlink_to(videos[video])
        rows.append({"video_id": f"{number:03d}", "duration": "short", "domain": "Knowledge",
                     "sub_category": "Humanity & History", "url": f"https://www.youtube.com/watch?v={video}",
                     "videoID": video, "question_id": f"{number:03d}-1", "task_type": "Object Recognition",
                     "question": question, "options": [f"{'ABCD'[i]}. {o}" for i, o in enumerate(options)],
                     "answer": "ABCD"[answer]})
    pq.write_table(pa.Table.from_pylist(rows), root / "videomme" / "test-00000-of-00001.parquet")
    return root


def _lvb(root: Path, videos: dict[str, Path]) -> tuple[Path, list[dict]]:
    """longvideobench/LongVideoBench's layout: lvb_val.json and videos/{video_path}."""
    (root / "videos").mkdir(parents=True)
    rows = []
    for number, (video, question, options, answer) in enumerate(QUESTIONS):
        (root / "videos" / f"{video}.mp4").symlink_to(videos[video])
        rows.append({"video_id": video, "id": f"{video}_{number}", "video_path": f"{video}.mp4",
                     "subtitle_path": f"{video}_en.json", "question": question, "candidates": options,
                     "correct_choice": answer, "duration": float(SECONDS), "duration_group": 15,
                     "starting_timestamp_for_subtitles": 0, "question_category": "E2O",
                     "topic_category": "CD-Cooking", "level": "L1-Perception"})
    (root / "lvb_val.json").write_text(json.dumps(rows))
    return root, rows


def _published(root: Path, lvb_rows: list[dict]) -> tuple[Path, Path]:
    """BOLT's keyframe files (seconds on their 1 fps grid, k of them, repeats allowed) and TSPO's
    frameIdx file (LongVideoBench rows plus native frame indices on the 1 fps grid, as floats)."""
    bolt = root / "keyframes"
    bolt.mkdir(parents=True)
    for k in (8, 16, 32):
        seconds = np.floor(np.linspace(0, SECONDS - 1, k)).tolist()
        data = {video: [{"question_id": f"{number:03d}-1", "question": question, "frames": seconds}]
                for number, (video, question, _, _) in enumerate(QUESTIONS, 1)}
        (bolt / f"videomme_clip_l_fps1_power3_frame{k}.json").write_text(json.dumps(data))
    tspo = root / "jsons_idx"
    tspo.mkdir()
    entries = [{**row, "frame_idx": [float(s * VIDEO_FPS) for s in range(SECONDS)]} for row in lvb_rows]
    (tspo / "TSPO_LongVideoBench_frameIdx.json").write_text(json.dumps(entries))
    return bolt, tspo


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("reproducing")
    videos = {name: write_video(root / "videos" / f"{name}.mp4", segments, fps=VIDEO_FPS)
              for name, segments in VIDEOS.items()}
    lvb, lvb_rows = _lvb(root / "LongVideoBench", videos)
    bolt, tspo_jsons = _published(root / "published", lvb_rows)
    qwen = build_tiny_mllm(root / "models" / "qwen2.5-vl", "qwen2_5_vl")
    env = {
        "QWEN": str(qwen),
        "CLIP_PREDICTOR": str(qwen),  # the clip predictor is a Qwen2.5-VL too (a 3B in the paper)
        "LLAVA_OV": str(build_tiny_mllm(root / "models" / "llava", "llava")),  # stands in for LLaVA-OneVision
        "CLIP": str(save_tiny_model("clip", root / "models" / "clip")),
        "TSPO": str(build_tspo_folder(root / "models" / "TSPO-tiny")),
        "VIDEOMME": str(_videomme(root / "Video-MME", videos)),
        "LVB": str(lvb),
        "BOLT_KEYFRAMES": str(bolt),
        "TSPO_JSONS": str(tspo_jsons),
        "RUNS": str(root / "runs"),
        "DEVICE_FLAGS": "--device cpu --dtype float32",
        # A denser grid than 1 fps so that 64 distinct frames exist in 8 s; the clip model is shown 16.
        "FPS": str(VIDEO_FPS), "MAX_CANDIDATES": str(SECONDS * VIDEO_FPS), "CLIP_FRAMES": "16", "MAX_SIDE": "96",
    }
    return env


def run_recipe(name: str, inputs: dict[str, str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **inputs, "FRAMEPICK_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", recipes()[name]], env=env, cwd=Path(inputs["RUNS"]).parent,
                          capture_output=True, text=True, timeout=600)


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines() if line.strip()]


# bolt-videomme (about 25 s: 3 questions x 2 methods x 3 budgets through the tiny Qwen2.5-VL) runs by
# default; the others take as long each and are marked slow (about 3 minutes for all here).
DEFAULT = {"bolt-videomme"}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=() if name in DEFAULT else pytest.mark.slow) for name in sorted(EXPECTED)]
)
def test_recipe_runs_and_writes_its_run(name, inputs, tmp_path_factory):
    cache = tmp_path_factory.getbasetemp() / "reproducing-cache"
    if name in NEEDS:  # its own runs folder, made by the recipes it adds to, whatever ran before
        inputs = {**inputs, "RUNS": f"{inputs['RUNS']}-{name}"}
        for needed in NEEDS[name]:
            done = run_recipe(needed, inputs, cache)
            assert done.returncode == 0, done.stderr[-3000:]
    runs = Path(inputs["RUNS"])
    done = run_recipe(name, inputs, cache)
    assert done.returncode == 0, f"recipe {name} failed:\n{done.stderr[-4000:]}"
    for folder, (methods, ks) in EXPECTED[name].items():
        run = runs / folder
        records = _records(run)
        methods = {m.replace("{TSPO}", inputs["TSPO"]) for m in methods}
        assert {r["method"] for r in records} == methods
        assert {r["k"] for r in records} == ks
        # Every question of the benchmark, at every budget of its methods (the published files have one each).
        for method in methods:
            mine = [r for r in records if r["method"] == method]
            assert {r["sample_id"].split(":", 1)[1] for r in mine} and len(mine) == len({(r["sample_id"], r["k"]) for r in mine})
            assert len({r["sample_id"] for r in mine}) == len(QUESTIONS)
        assert (run / "report.html").stat().st_size > 0 and (run / "report.md").stat().st_size > 0
        config = json.loads((run / "config.json").read_text())
        if name.startswith("tspo-videomme"):
            assert config["method_params"] == {f"tspo={inputs['TSPO']}": {"mode": "bin-max"}}
        if name == "bolt-longvideobench":
            assert config["method_params"] == {"bolt": {"power": 2.5}}
        if name == "kframes-videomme":
            assert {r["clip_source"] for r in records if r["method"] == "kframes"} <= {"mllm", "similarity"}
            assert config["clip_model"]
        for r in records:
            if not r["method"].endswith("-published"):
                assert r["answer_source"] == "logits" and r["frames_sent"] == r["k"]


def _labeller_reply(body: dict) -> str:
    """PeakClips' labeller, scripted: a caption naming its scene, then every scene scored 5 (P1)."""
    text = "\n".join(part.get("text", "") for message in body["messages"]
                     for part in (message["content"] if isinstance(message["content"], list)
                                  else [{"text": message["content"]}]))
    if "Video QA Relevance Analyst" in text:
        rows = json.loads(text.split("Scene data:\n", 1)[1])
        return json.dumps({"relevance_analysis": [{"scene_id": row["scene_id"], "relevance_score": 5,
                                                   "reason": "it shows the colour"} for row in rows]})
    scene = int(re.search(r'provided in the `\[\{"id": (\d+)', text).group(1))
    return json.dumps({"scenes": [{"id": scene, "description": f"scene {scene}: a coloured screen"}]})


@pytest.mark.slow
def test_kframes_training_recipe_trains_the_three_stages(inputs, tmp_path_factory):
    pytest.importorskip("trl")
    from openai_fake import Behaviour, FakeServer

    from framepick.data.benchmarks import load_benchmark

    cache = tmp_path_factory.getbasetemp() / "reproducing-cache"
    runs = Path(inputs["RUNS"])
    runs.mkdir(parents=True, exist_ok=True)
    train = runs / "train.jsonl"  # the LongVideoBench questions as a training set, answers included
    samples = load_benchmark("longvideobench").load(f"{inputs['LVB']}/lvb_val.json", f"{inputs['LVB']}/videos").samples
    train.write_text("".join(json.dumps({"id": s.id, "video": str(s.video), "question": s.question,
                                         "options": list(s.options), "answer": s.answer}) + "\n" for s in samples))
    with FakeServer(Behaviour(reply_for=_labeller_reply)) as server:
        settings = {**inputs, "LABELLER": f"openai:tiny@{server.url}", "BASE": inputs["QWEN"], "TRAIN_VIDEOS": str(train),
                    "STEPS": "1", "GRPO_STEPS": "1", "SHOWN": "6", "TRAIN_SIDE": "56"}
        done = run_recipe("kframes-train", settings, cache)
    assert done.returncode == 0, done.stderr[-4000:]
    labelled = [json.loads(line) for line in (runs / "peak.jsonl").read_text().splitlines()]
    assert len(labelled) == len(QUESTIONS) and all(row["extra"]["key_clips"] for row in labelled)
    for stage in ("kf-sft1", "kf-sft2", "kf-grpo"):
        summary = json.loads((runs / stage / "kframes_mllm.json").read_text())
        assert (runs / stage / "model.safetensors").exists() and summary["stage"] == stage.split("-")[1]
