"""``run_eval`` and ``framepick eval`` on needle videos of real footage, with the real offline models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from needle_video import NEEDLE_SPAN, eval_cache, needle_row, needle_videos, write_manifest_rows  # noqa: F401

import framepick
from framepick.answer import OfflineAnswerer, OfflineAnswererConfig
from framepick.cli.main import main
from framepick.errors import InvalidArgumentError, ModelError, UnknownNameError
from framepick.eval import RECORD_KEYS, TIMELINE_KEYS, parse_method_specs, read_records, read_timelines, run_eval
from framepick.eval.records import record_key
from framepick.video.candidates import GridSpec

GRID = GridSpec(count=32)


@pytest.fixture(scope="module")
def samples(needle_videos, tmp_path_factory):
    from framepick.data.manifest import read_manifest

    folder = tmp_path_factory.mktemp("manifest")
    picture = folder / "needle.png"
    _save_needle_picture(needle_videos["needle"], picture)
    rows = [
        needle_row("needle-1", needle_videos["needle"], NEEDLE_SPAN, query_image=str(picture), duration_bucket="short"),
        needle_row("hay-1", needle_videos["hay"], NEEDLE_SPAN, task_type="no-needle"),
        needle_row("needle-2", needle_videos["needle"], NEEDLE_SPAN, question="Who is the man in the car?"),
    ]
    manifest = write_manifest_rows(folder / "m.jsonl", rows)
    return manifest, read_manifest(manifest).samples


def _save_needle_picture(video: Path, path: Path) -> None:
    from PIL import Image

    from framepick.video.decode import VideoDecoder

    with VideoDecoder(video) as decoder:
        Image.fromarray(decoder.get_frames([215]).frames[0]).save(path)  # 21.5 s: inside the needle


def _run(samples, out, eval_cache, **kwargs):
    options = dict(methods="uniform,topk,kframes", ks=(2, 4), grid=GRID, cache=eval_cache)
    options.update(kwargs)
    return run_eval(samples, out, **options)


def test_records_have_the_format_and_match_select_frames(samples, tmp_path, eval_cache):
    manifest, items = samples
    summary = _run(items, tmp_path / "run", eval_cache, manifest=manifest, queries=("text",))
    records = read_records(tmp_path / "run")
    assert summary.written == len(records) == 3 * 3 * 2
    assert all(tuple(r) == RECORD_KEYS for r in records)
    assert len({record_key(r) for r in records}) == len(records)
    for r in records:
        sample = next(s for s in items if s.id == r["sample_id"])
        # The runner selects exactly what the public API selects for the same inputs.
        expected = framepick.select_frames(
            sample.video, sample.question, r["k"], method=r["method"], candidates=32, cache=eval_cache
        )
        assert [f["index"] for f in r["frames"]] == expected.indices.tolist()
        assert [f["timestamp"] for f in r["frames"]] == pytest.approx(expected.timestamps.tolist())
        assert r["clips"] == [c.to_dict() for c in expected.clips]
        assert r["candidates"] == 32 and r["frames_sent"] == r["k"] and r["query"] == "text"
        assert r["gold"] == "A" and r["correct"] == (r["answer"] == "A")
        assert sum(r["option_probs"]) == pytest.approx(1.0, abs=1e-5) and len(r["option_probs"]) == 4
        assert r["spans"] == [list(NEEDLE_SPAN)] and r["duration_seconds"] == pytest.approx(30.0)
        assert set(r["timings_seconds"]) == {"probe", "decode", "encode", "select", "answer"}
        assert r["encoder"].startswith("offline:conse") and r["answerer"].startswith("offline:")
    by_id = {r["sample_id"]: r for r in records if r["method"] == "topk" and r["k"] == 2}
    assert by_id["needle-1"]["duration_bucket"] == "short"  # the sample's own bucket wins
    assert by_id["hay-1"]["duration_bucket"] == "0-2m" and by_id["hay-1"]["task_type"] == "no-needle"


def test_selection_drives_the_answer_on_a_needle(samples, tmp_path, eval_cache):
    _, items = samples
    _run(items, tmp_path / "run", eval_cache)
    records = {(r["sample_id"], r["method"], r["k"]): r for r in read_records(tmp_path / "run")}
    topk = records[("needle-1", "topk", 4)]
    assert all(NEEDLE_SPAN[0] <= f["timestamp"] <= NEEDLE_SPAN[1] for f in topk["frames"])
    assert topk["answer"] == "A" and topk["correct"] is True
    # Without the needle in the video the same question is answered wrongly, whatever is chosen.
    assert all(records[("hay-1", m, k)]["correct"] is False for m in ("uniform", "topk", "kframes") for k in (2, 4))


def test_timelines_and_config(samples, tmp_path, eval_cache):
    manifest, items = samples
    _run(items, tmp_path / "run", eval_cache, manifest=manifest, queries=("text", "image"))
    timelines = read_timelines(tmp_path / "run")
    assert sorted((t["sample_id"], t["query"]) for t in timelines) == [
        ("hay-1", "text"), ("needle-1", "image"), ("needle-1", "text"), ("needle-2", "text")
    ]
    for t in timelines:
        assert tuple(t) == TIMELINE_KEYS
        assert len(t["timestamps"]) == len(t["indices"]) == len(t["relevance"]) == 32
        assert t["scenes"][0][0] == t["timestamps"][0] and t["scenes"][-1][1] == pytest.approx(30.0)
        assert all(a[1] == b[0] for a, b in zip(t["scenes"], t["scenes"][1:]))  # scenes tile the video
    image = next(t for t in timelines if t["query"] == "image")
    relevance = np.array(image["relevance"])
    inside = (np.array(image["timestamps"]) >= 20) & (np.array(image["timestamps"]) <= 24)
    assert relevance[inside].mean() > relevance[~inside].mean()  # the picture is of the needle
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["manifest"] == str(Path(manifest).resolve())
    assert config["methods"] == ["uniform", "topk", "kframes"] and config["ks"] == [2, 4]
    assert config["queries"] == ["text", "image"] and config["candidates"] == 32
    assert config["answerer"] == "offline" and config["encoder"] == "auto"
    assert config["encoder_id"].startswith("offline:conse") and config["framepick_version"] == framepick.__version__


def test_image_queries_only_for_samples_with_a_picture(samples, tmp_path, eval_cache):
    _, items = samples
    summary = _run(items, tmp_path / "run", eval_cache, queries=("image",), methods="topk", ks=(4,))
    records = read_records(tmp_path / "run")
    assert [(r["sample_id"], r["query"]) for r in records] == [("needle-1", "image")]
    assert summary.not_applicable == 2
    assert all(NEEDLE_SPAN[0] <= f["timestamp"] <= NEEDLE_SPAN[1] for f in records[0]["frames"])


def test_auto_query_uses_the_picture_where_a_row_has_one(samples, tmp_path, eval_cache):
    manifest, items = samples
    _run(items, tmp_path / "auto", eval_cache, manifest=manifest, methods="topk", ks=(2,))
    used = {r["sample_id"]: r["query"] for r in read_records(tmp_path / "auto")}
    assert used == {"needle-1": "image", "hay-1": "text", "needle-2": "text"}
    assert {(t["sample_id"], t["query"]) for t in read_timelines(tmp_path / "auto")} == set(used.items())
    assert json.loads((tmp_path / "auto" / "config.json").read_text())["queries"] == ["auto"]
    # The picture row's record is the one an explicit --query image makes, key and frames alike.
    _run(items, tmp_path / "image", eval_cache, manifest=manifest, methods="topk", ks=(2,), queries=("text", "image"))
    [auto_record] = [r for r in read_records(tmp_path / "auto") if r["sample_id"] == "needle-1"]
    [image_record] = [r for r in read_records(tmp_path / "image") if r["query"] == "image"]
    assert record_key(auto_record) == record_key(image_record) and auto_record["frames"] == image_record["frames"]
    # auto next to text asks the text rows once, not twice.
    both = _run(items, tmp_path / "both", eval_cache, methods="topk", ks=(2,), queries=("auto", "text"))
    assert both.written == 4 and sorted(map(record_key, read_records(tmp_path / "both"))) == sorted(
        [("needle-1", "topk", 2, "image"), ("needle-1", "topk", 2, "text"), ("hay-1", "topk", 2, "text"),
         ("needle-2", "topk", 2, "text")]
    )


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: Counter = Counter()

    def encode_text(self, texts):
        self.texts.update(texts)
        return self.inner.encode_text(texts)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_question_is_embedded_once_per_encoder_however_many_rows_ask_it(needle_videos, tmp_path, eval_cache, monkeypatch):
    import framepick.encode as encode
    from framepick.data.manifest import read_manifest
    from framepick.pipeline import OPTION_QUERY_TEMPLATE

    rows = [needle_row(f"row-{i}", needle_videos["needle"], NEEDLE_SPAN) for i in range(12)]
    items = read_manifest(write_manifest_rows(tmp_path / "m.jsonl", rows)).samples
    made: list[CountingEncoder] = []
    real_load = encode.load_encoder

    def load_counting(spec, *args, **kwargs):
        made.append(CountingEncoder(real_load(spec, *args, **kwargs)))
        return made[-1]

    monkeypatch.setattr(encode, "load_encoder", load_counting)
    _run(items, tmp_path / "run", eval_cache, methods="uniform,topk,kframes", ks=(2, 4), queries=("text",))
    assert len(read_records(tmp_path / "run")) == 12 * 3 * 2
    question = items[0].question.strip()
    # 12 rows x 6 (method, k) ask one question: the selection encoder embeds it once, not 12 times.
    assert max(encoder.texts[question] for encoder in made) == 1, [e.texts for e in made]
    # The answerer's option texts (its own encoder, or the selection one) are embedded once too.
    option_texts = [OPTION_QUERY_TEMPLATE.format(question=question, option=o) for o in items[0].options]
    assert all(encoder.texts[text] <= 1 for encoder in made for text in option_texts)


def test_option_embeddings_are_made_once_for_the_run():
    from framepick.eval.queries import QueryEmbeddings
    from framepick.types import Query

    class Fake:
        id = "fake"

        def __init__(self):
            self.calls = 0

        def encode_text(self, texts):
            self.calls += 1
            return np.ones((len(texts), 4), dtype=np.float32)

    fake = Fake()
    cache = QueryEmbeddings(fake)
    query = Query(text="Who?", options=("a", "b"))
    first = cache.options(query)
    assert cache.options(Query(text="Who?", options=("a", "b"))) is first and fake.calls == 1
    cache.options(Query(text="Who?", options=("a", "c")))
    assert fake.calls == 2


def test_resume_skips_done_work_and_adds_new_methods(samples, tmp_path, eval_cache):
    _, items = samples
    out = tmp_path / "run"
    first = _run(items[:1], out, eval_cache)
    again = _run(items[:1], out, eval_cache)
    assert (first.written, again.written, again.already_done) == (6, 0, 6)
    more = _run(items, out, eval_cache, methods="uniform,topk,kframes,bolt")
    assert more.written == 3 * 4 * 2 - 6
    records = read_records(out)
    assert len(records) == 24 and max(Counter(record_key(r) for r in records).values()) == 1
    assert len(read_timelines(out)) == 3
    config = json.loads((out / "config.json").read_text())
    assert config["methods"] == ["uniform", "topk", "kframes", "bolt"]


def test_a_torn_last_line_is_cut_and_recomputed(samples, tmp_path, eval_cache):
    _, items = samples
    out = tmp_path / "run"
    _run(items[:2], out, eval_cache)
    complete = read_records(out)
    lines = (out / "records.jsonl").read_bytes().splitlines(keepends=True)
    torn = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]
    (out / "records.jsonl").write_bytes(torn)
    summary = _run(items[:2], out, eval_cache)
    assert summary.written == 1
    resumed = read_records(out)
    assert sorted(map(record_key, resumed)) == sorted(map(record_key, complete))
    assert resumed[-1]["frames"] == complete[-1]["frames"]


def test_mismatched_run_is_refused_unless_forced(samples, tmp_path, eval_cache):
    _, items = samples
    out = tmp_path / "run"
    text = ("text",)  # needle-1 has a picture: the default (auto) would ask it with an image encoder
    _run(items[:1], out, eval_cache, manifest="a.jsonl", queries=text)
    with pytest.raises(InvalidArgumentError, match="another manifest"):
        _run(items[:1], out, eval_cache, manifest="b.jsonl", queries=text)
    with pytest.raises(InvalidArgumentError, match="another grid"):
        _run(items[:1], out, eval_cache, manifest="a.jsonl", grid=GridSpec(count=16), queries=text)
    with pytest.raises(InvalidArgumentError, match="another answerer"):
        _run(items[:1], out, eval_cache, manifest="a.jsonl", answerer=OfflineAnswerer(OfflineAnswererConfig(top_m=2)), queries=text)
    with pytest.raises(InvalidArgumentError, match="another encoder"):
        _run(items[:1], out, eval_cache, manifest="a.jsonl", encoder="effnet-pool", queries=("image",))
    forced = _run(items[:1], out, eval_cache, manifest="b.jsonl", methods="topk", ks=(2,), force_new=True)
    assert forced.written == 1 and len(read_records(out)) == 1


def test_method_specs():
    specs = parse_method_specs("uniform, topk,uniform")
    assert [s.label for s in specs] == ["uniform", "topk"]
    with pytest.raises(UnknownNameError, match="did you mean 'topk'"):
        parse_method_specs("topkk")
    with pytest.raises(ModelError, match="'runs/no-such-ckpt' is not a folder"):
        parse_method_specs("tspo=runs/no-such-ckpt")  # learned methods: the checkpoint is checked up front
    with pytest.raises(InvalidArgumentError, match="no parameter 'checkpoint'"):
        parse_method_specs("topk=runs/ckpt")  # the checkpoint is passed on to the selector
    with pytest.raises(InvalidArgumentError, match="NAME=CHECKPOINT_DIR"):
        parse_method_specs("topk=")


# -- the command ---------------------------------------------------------------------------------


def test_cli_eval_prints_a_summary_and_resumes(samples, tmp_path, eval_cache, capsys):
    manifest, _ = samples
    out = tmp_path / "run"
    argv = ["eval", "--manifest", str(manifest), "--out", str(out), "--methods", "topk,uniform", "-k", "2",
            "--candidates", "32", "--cache-dir", str(eval_cache), "--quiet"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].split()[:4] == ["method", "k", "query", "n"]
    # The default query is the picture where a row has one (needle-1), the question elsewhere.
    assert [line.split()[:4] for line in table[2:]] == [
        ["topk", "2", "image", "1"], ["topk", "2", "text", "2"], ["uniform", "2", "image", "1"], ["uniform", "2", "text", "2"]
    ]
    assert "6 records written" in captured.err
    assert main(argv) == 0
    assert "0 records written, 6 already done" in capsys.readouterr().err
    assert main(argv[:-5] + ["--candidates", "16", "--cache-dir", str(eval_cache), "--quiet"]) == 2
    assert "another grid" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--methods", "nope"], "unknown selector 'nope'"),
        (["-k", "8,0"], "-k must be positive integers"),
        (["-k", "eight"], "-k must be positive integers"),
        (["--answerer", "gpt"], "unknown answerer 'gpt'"),
        (["--limit", "0"], "--limit must be a positive integer"),
    ],
)
def test_cli_eval_bad_arguments_are_one_line(samples, tmp_path, capsys, extra, message):
    manifest, _ = samples
    code = main(["eval", "--manifest", str(manifest), "--out", str(tmp_path / "run"), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


KILL_SCRIPT = """
import os, sys, time
from framepick.answer.offline import OfflineAnswerer
from framepick.registry import register_answerer

class Stalls(OfflineAnswerer):
    # With FRAMEPICK_TEST_STALL_AFTER=N, the (N+1)-th answer never comes: the test kills the run
    # there. Racing a slow answerer instead made the kill land anywhere (or after the end) on a
    # loaded machine; this way the run is always part-way, whatever the scheduling.
    calls = 0

    def answer_embeddings(self, *args, **kwargs):
        Stalls.calls += 1
        if Stalls.calls > int(os.environ.get("FRAMEPICK_TEST_STALL_AFTER", 10**9)):
            time.sleep(3600)
        return super().answer_embeddings(*args, **kwargs)

register_answerer("slow")(lambda argument=None, options=None: Stalls())
from framepick.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_kill_9_mid_run_then_resume_gives_every_record_once(samples, tmp_path, eval_cache):
    manifest, _ = samples
    script = tmp_path / "slow_eval.py"
    script.write_text(KILL_SCRIPT)
    out = tmp_path / "run"
    argv = [sys.executable, str(script), "eval", "--manifest", str(manifest), "--out", str(out), "--answerer", "slow",
            "--methods", "uniform,topk,aks,bolt,kframes", "-k", "1,2,4", "--candidates", "32",
            "--cache-dir", str(eval_cache), "--quiet"]
    expected = 3 * 5 * 3
    stall_after = 12
    process = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "FRAMEPICK_TEST_STALL_AFTER": str(stall_after)},
    )
    records = out / "records.jsonl"
    deadline = time.monotonic() + 300  # a bound on a hung run, not a speed assertion
    while time.monotonic() < deadline:
        if records.exists() and records.read_bytes().count(b"\n") >= 10:
            break
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be killed: {process.stderr.read().decode()}")
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    partial = records.read_bytes().count(b"\n")
    assert 10 <= partial <= stall_after < expected

    resumed = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    final = read_records(out)
    keys = [record_key(r) for r in final]
    assert len(keys) == len(set(keys)) == expected
    assert f"{expected - partial} records written, {partial} already done" in resumed.stderr
    assert len(read_timelines(out)) == 3
