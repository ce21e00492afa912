"""Selectors travel as objects: ``select_frames`` takes a name or a built Selector, method specs are
parsed in one place, and a learned checkpoint is read once per process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import framepick
from framepick.errors import InvalidArgumentError, ModelError, UnknownNameError
from framepick.select import (
    MethodSpec,
    NearDuplicateGuard,
    load_selector,
    method_label,
    parse_method_spec,
    with_dedup,
)
from tests_support import solid_picture


@pytest.fixture(scope="module")
def red_picture(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("query") / "red.png"
    Image.fromarray(solid_picture((220, 30, 30))).save(path)
    return str(path)


@pytest.fixture
def hist_checkpoint(tmp_path) -> str:
    """An untrained TSPO policy over the ``hist`` encoder's features (no download, no text needed)."""
    from framepick.encode import load_encoder
    from framepick.policies import build_policy
    from framepick.policies.checkpoint import save_policy

    encoder = load_encoder("hist")
    folder = tmp_path / "tspo-hist"
    save_policy(folder, build_policy("tspo", dim=encoder.dim), encoder_id=encoder.id)
    return str(folder)


def _same(a: framepick.Selection, b: framepick.Selection) -> None:
    assert a.indices.tolist() == b.indices.tolist()
    assert a.timestamps.tolist() == b.timestamps.tolist()
    assert (a.scores is None) == (b.scores is None)
    if a.scores is not None:
        assert a.scores.tolist() == b.scores.tolist()
    assert a.clips == b.clips and a.params == b.params and a.method == b.method and a.encoder == b.encoder


@pytest.mark.parametrize(
    ("name", "params"),
    [("uniform", {}), ("aks", {"t1": 0.5}), ("kframes", {}), ("mmr", {}), ("topk+dedup", {}), ("bolt", {"dedup": 0.9})],
)
def test_select_frames_with_a_selector_object_equals_select_frames_with_its_name(
    segment_video, red_picture, tmp_path, name, params
):
    common = dict(query_image=red_picture, encoder="hist", candidates=32, cache=tmp_path / "cache")
    by_name = framepick.select_frames(segment_video, None, 5, method=name, method_params=params, **common)
    selector = load_selector(name, **params)
    by_object = framepick.select_frames(segment_video, None, 5, method=selector, **common)
    if "dedup" in params:  # a guard asked for by parameter is named as the guarded method
        assert by_name.method == "bolt" and by_object.method == "bolt+dedup"
        by_object = replace(by_object, method=by_name.method)
    _same(by_name, by_object)


def test_select_frames_dedup_guards_a_selector_object_as_it_guards_a_name(segment_video, red_picture, tmp_path):
    common = dict(query_image=red_picture, encoder="hist", candidates=32, cache=tmp_path / "cache")
    by_name = framepick.select_frames(segment_video, None, 6, method="topk", dedup=0.9, **common)
    by_object = framepick.select_frames(segment_video, None, 6, method=load_selector("topk"), dedup=0.9, **common)
    _same(by_name, by_object)
    assert by_object.params["dedup"] == 0.9


def test_a_selector_object_takes_no_method_params(segment_video, red_picture):
    with pytest.raises(InvalidArgumentError, match="method_params 't1' cannot change the selector object"):
        framepick.select_frames(segment_video, None, 4, method=load_selector("aks"), method_params={"t1": 0.5},
                                query_image=red_picture, encoder="hist", cache=False)


def test_select_from_scores_takes_a_selector_object():
    scores = np.array([0.1, 0.9, 0.3, 0.8, 0.2, 0.7])
    by_name = framepick.select_from_scores(scores, 3, method="aks", method_params={"t1": 0.5})
    by_object = framepick.select_from_scores(scores, 3, method=load_selector("aks", t1=0.5))
    assert by_object.indices.tolist() == by_name.indices.tolist() and by_object.method == "aks"


def test_method_labels_and_dedup_wrapping():
    assert method_label(load_selector("aks")) == "aks"
    assert method_label(load_selector("topk+dedup")) == "topk+dedup"
    assert method_label(load_selector("topk", dedup=0.9)) == "topk+dedup"
    guarded = with_dedup(load_selector("topk+dedup"), 0.8)
    assert isinstance(guarded, NearDuplicateGuard) and guarded.threshold == 0.8
    assert not isinstance(guarded.inner, NearDuplicateGuard)  # replaced, not stacked
    assert with_dedup(guarded, False) == load_selector("topk")


# -- the one method-spec parser ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "params", "expected", "label"),
    [
        ("topk", None, MethodSpec("topk"), "topk"),
        ("  topk+dedup ", None, MethodSpec("topk+dedup"), "topk+dedup"),
        ("tspo=runs/ck", None, MethodSpec("tspo", "runs/ck"), "tspo=runs/ck"),
        (" tspo = runs/a b ", None, MethodSpec("tspo", "runs/a b"), "tspo=runs/a b"),
        ("tspo+dedup=ck", None, MethodSpec("tspo+dedup", "ck"), "tspo+dedup=ck"),
        ("aks", {"t1": 0.5}, MethodSpec("aks", None, {"t1": 0.5}), "aks"),
    ],
)
def test_parse_method_spec(text, params, expected, label):
    spec = parse_method_spec(text, params)
    assert spec == expected and spec.label == label


def test_method_spec_passes_the_checkpoint_with_the_other_parameters():
    spec = parse_method_spec("videoitg=ck", {"instruction": "motion", "dedup": True})
    assert spec.params == {"instruction": "motion", "dedup": True, "checkpoint": "ck"}
    assert spec.method_params == {"instruction": "motion", "dedup": True}
    assert parse_method_spec("aks", {"t1": 0.5}).build() == load_selector("aks", t1=0.5)
    assert repr(parse_method_spec("topk+dedup").build()) == repr(load_selector("topk", dedup=True))


@pytest.mark.parametrize(
    ("text", "params", "error", "message"),
    [
        ("topk=", None, InvalidArgumentError, r"--method 'topk=' must be NAME, NAME\+dedup or NAME=CHECKPOINT_DIR"),
        ("=ck", None, InvalidArgumentError, "must be NAME"),
        ("", None, InvalidArgumentError, "--method must name a method"),
        ("   ", None, InvalidArgumentError, "--method must name a method"),
        (None, None, InvalidArgumentError, "--method must name a method"),
        ("topk", ["dedup"], InvalidArgumentError, "method parameters must be a mapping"),
    ],
)
def test_parse_method_spec_errors(text, params, error, message):
    with pytest.raises(error, match=message):
        parse_method_spec(text, params)


@pytest.mark.parametrize(
    ("text", "params", "error", "message"),
    [
        ("topkk", None, UnknownNameError, "did you mean 'topk'"),
        ("topk=ck", None, InvalidArgumentError, "no parameter 'checkpoint'"),
        ("aks", {"alpha": 2}, InvalidArgumentError, "no parameter 'alpha'"),
        ("tspo=/no/such/ckpt", None, ModelError, "is not a folder"),
    ],
)
def test_building_a_bad_spec_is_a_one_line_error(text, params, error, message):
    with pytest.raises(error, match=message):
        parse_method_spec(text, params).build()


def test_the_flag_names_the_argument():
    with pytest.raises(InvalidArgumentError, match="--methods entry 'x=' must be NAME"):
        parse_method_spec("x=", flag="--methods entry")


# -- a checkpoint is read once per process -------------------------------------------------------


def test_policy_files_are_read_once_for_repeated_selections(
    segment_video, red_picture, hist_checkpoint, tmp_path, monkeypatch
):
    import torch

    meta_reads, weight_loads = [], []
    read_text, torch_load = Path.read_text, torch.load

    def counting_read_text(self, *args, **kwargs):
        if self.name == "policy.json":
            meta_reads.append(self)
        return read_text(self, *args, **kwargs)

    def counting_load(*args, **kwargs):
        weight_loads.append(args[0])
        return torch_load(*args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting_read_text)
    monkeypatch.setattr(torch, "load", counting_load)
    common = dict(query_image=red_picture, encoder="hist", candidates=32, cache=tmp_path / "cache")
    first = framepick.select_frames(segment_video, None, 4, method="tspo", method_params={"checkpoint": hist_checkpoint},
                                    **common)
    again = [
        framepick.select_frames(segment_video, None, k, method="tspo", method_params={"checkpoint": hist_checkpoint},
                                **common)
        for k in (4, 6)
    ]
    guarded = load_selector("tspo+dedup", checkpoint=hist_checkpoint)
    for k in (4, 6):
        framepick.select_frames(segment_video, None, k, method=guarded, **common)
    assert again[0].indices.tolist() == first.indices.tolist() and first.encoder.startswith("hist")
    assert len(meta_reads) == 1 and len(weight_loads) == 1

    # A rewritten checkpoint is read again (save_policy renames new files over the old ones).
    from framepick.policies import build_policy
    from framepick.policies.checkpoint import save_policy

    torch.manual_seed(1)
    save_policy(hist_checkpoint, build_policy("tspo", dim=48), encoder_id=first.encoder)
    framepick.select_frames(segment_video, None, 4, method="tspo", method_params={"checkpoint": hist_checkpoint},
                            **common)
    assert len(meta_reads) == 2 and len(weight_loads) == 2


def test_a_cached_meta_is_a_copy(hist_checkpoint):
    from framepick.policies.checkpoint import read_meta

    meta = read_meta(hist_checkpoint)
    meta["method"] = "changed"
    meta["config"].clear()
    assert read_meta(hist_checkpoint)["method"] == "tspo" and read_meta(hist_checkpoint)["config"]
