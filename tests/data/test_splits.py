"""Splits never share a video or a needle source, are deterministic, and follow the fractions."""

from __future__ import annotations

import json

import pytest

from framepick.cli.main import main
from framepick.data.clip_library import DEFAULT_LIBRARY
from framepick.data.splits import library_sources, split_samples
from framepick.errors import InvalidArgumentError
from framepick.types import Sample

CLIPS = ["bikes-a", "bikes-b", "bikes-c", "megamind-a", "megamind-b", "tree", "vtest", "bbb", "carphone"]
SOURCES = {c: c.split("-")[0] for c in CLIPS}


def suite(count: int = 90) -> list[Sample]:
    samples = []
    for i in range(count):
        needle = CLIPS[i % len(CLIPS)]
        for kind in ("text", "image"):
            samples.append(Sample(id=f"v{i}-{kind}", video=f"/suite/v{i}.mp4", question="q?", extra={"needle": needle}))
    return samples


def split_of(splits) -> dict[str, str]:
    return {s.id: name for name, part in splits.as_dict().items() for s in part}


@pytest.mark.parametrize("by", ["source", "clip", "video"])
def test_no_video_and_no_group_in_two_splits(by: str) -> None:
    samples = suite()
    splits = split_samples(samples, by=by, seed=3, group_of=None if by != "source" else lambda s: f"source:{SOURCES[s.extra['needle']]}")
    where = split_of(splits)
    assert len(where) == len(samples)
    by_video: dict[str, set[str]] = {}
    by_source: dict[str, set[str]] = {}
    by_clip: dict[str, set[str]] = {}
    for s in samples:
        by_video.setdefault(s.video, set()).add(where[s.id])
        by_source.setdefault(SOURCES[s.extra["needle"]], set()).add(where[s.id])
        by_clip.setdefault(s.extra["needle"], set()).add(where[s.id])
    assert all(len(v) == 1 for v in by_video.values())
    if by == "source":
        assert all(len(v) == 1 for v in by_source.values())
    if by in ("source", "clip"):
        assert all(len(v) == 1 for v in by_clip.values())
    assert all(len(part) > 0 for part in splits.as_dict().values())


def test_deterministic_for_a_seed_and_close_to_the_fractions() -> None:
    samples = suite(100)
    a = split_samples(samples, by="video", seed=5)
    b = split_samples(samples, by="video", seed=5)
    c = split_samples(samples, by="video", seed=6)
    assert split_of(a) == split_of(b) and split_of(a) != split_of(c)
    sizes = [len(p) for p in a.as_dict().values()]
    assert sizes == [120, 40, 40]


def test_too_few_groups_and_bad_fractions_are_clear_errors() -> None:
    samples = suite(2)
    with pytest.raises(InvalidArgumentError, match="only 2 group"):
        split_samples(samples, by="video")
    with pytest.raises(InvalidArgumentError, match="fractions must be three"):
        split_samples(suite(), fractions=(0.5, 0.5))


def test_the_shipped_library_names_a_source_for_every_clip() -> None:
    """Every entry, installed here or not: a suite made where opencv-doc is installed splits the same
    way where it is not."""
    sources = library_sources()
    shipped = json.loads(DEFAULT_LIBRARY.read_text())["clips"]
    assert sources.keys() == {c["id"] for c in shipped}
    assert sources["bikes-cyclist-van"] == sources["bikes-bollard-bicycle"]
    assert sources["carphone-bow-tie"] != sources["bikes-cyclist-van"]
    assert sources["megamind-woman-champagne"] == sources["megamind-man-glasses-table"] != sources["tree-window"]


def test_library_sources_keep_entries_whose_file_is_absent(tmp_path) -> None:
    library = tmp_path / "lib.json"
    clip = {"description": "A clip.", "qa": []}
    library.write_text(json.dumps({"clips": [
        {**clip, "id": "here", "path": str(DEFAULT_LIBRARY)},
        {**clip, "id": "gone", "path": "deb:/nonexistent/film.avi"},
    ]}))
    assert library_sources(library) == {"here": str(DEFAULT_LIBRARY), "gone": "deb:/nonexistent/film.avi"}


def test_cli_writes_three_manifests_and_the_group_map(tmp_path, capsys) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    rows = []
    for i, s in enumerate(suite(30)):
        video = videos / f"v{i // 2}.mp4"
        video.write_bytes(b"not read by split")
        rows.append({"id": s.id, "video": str(video), "question": "q?", "extra": s.extra})
    manifest = tmp_path / "all.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "split"
    assert main(["data", "split", "--manifest", str(manifest), "--out", str(out), "--by", "clip"]) == 0
    counts = {name: len((out / f"{name}.jsonl").read_text().splitlines()) for name in ("train", "val", "test")}
    assert sum(counts.values()) == 60 and all(counts.values())
    groups = json.loads((out / "groups.json").read_text())
    assert set(groups.values()) == {"train", "val", "test"}
    assert "train" in capsys.readouterr().out
    assert main(["data", "split", "--manifest", str(manifest), "--out", str(out), "--fractions", "a,b"]) == 2
    assert "--fractions must be three numbers" in capsys.readouterr().err
