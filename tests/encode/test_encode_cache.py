"""FeatureCache: round trip, atomic writes, corruption detection, location from the environment."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import sys
from pathlib import Path

import numpy as np
import pytest

from framepick.encode import cache as cache_module
from framepick.encode.cache import FeatureCache, default_cache_dir, feature_key
from framepick.errors import InvalidArgumentError


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "embeddings": rng.standard_normal((7, 5)).astype(np.float32),
        "indices": np.arange(7, dtype=np.int64) * 3,
        "timestamps": np.linspace(0.0, 2.0, 7),
    }


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_round_trip_keeps_values_dtypes_and_shapes(tmp_path):
    cache = FeatureCache(tmp_path)
    key = feature_key("sha256:abc", "offline:conse", "count=64")
    assert cache.get(key) is None
    assert key not in cache
    stored = _arrays()
    cache.put(key, stored)
    loaded = cache.get(key)
    assert loaded is not None and key in cache
    assert set(loaded) == set(stored)
    for name, array in stored.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)


def test_put_replaces_previous_entry(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("k", _arrays(1))
    cache.put("k", {"only": np.ones(3)})
    loaded = cache.get("k")
    assert loaded is not None and set(loaded) == {"only"}
    assert len(_files(tmp_path)) == 1


def test_feature_key_changes_with_every_part_and_never_collides_on_separators():
    base = feature_key("h", "enc", "grid")
    assert (
        len(
            {
                base,
                feature_key("h2", "enc", "grid"),
                feature_key("h", "enc2", "grid"),
                feature_key("h", "enc", "grid2"),
            }
        )
        == 4
    )
    assert feature_key("a|b", "c", "d") != feature_key("a", "b|c", "d")
    assert feature_key("a:b", "c", "d") != feature_key("a", "b:c", "d")
    with pytest.raises(InvalidArgumentError, match="encoder_id"):
        feature_key("h", "", "grid")


def test_keys_with_any_characters_map_to_distinct_safe_files(tmp_path):
    cache = FeatureCache(tmp_path)
    keys = ["clip:/models/x", "clip:/models/x/", "../../etc/passwd", "ключ", "a" * 5000]
    for i, key in enumerate(keys):
        cache.put(key, {"i": np.asarray([i])})
    for i, key in enumerate(keys):
        assert int(cache.get(key)["i"][0]) == i
        assert cache.path_for(key).resolve().is_relative_to(tmp_path.resolve())


def test_no_temporary_files_remain_after_put(tmp_path):
    cache = FeatureCache(tmp_path)
    for i in range(5):
        cache.put(f"k{i}", _arrays(i))
    names = [p.name for p in _files(tmp_path)]
    assert len(names) == 5
    assert not [n for n in names if n.startswith(".tmp-")]


def test_failed_write_leaves_old_entry_and_no_temp_file(tmp_path, monkeypatch, caplog):
    cache = FeatureCache(tmp_path)
    cache.put("k", {"old": np.arange(3)})

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.os, "replace", crash)
    with caplog.at_level("WARNING", logger=cache_module.__name__):
        cache.put("k", {"new": np.arange(4)})  # a cache that cannot be written warns; the work goes on
    assert "disk full" in caplog.text and "without caching" in caplog.text
    monkeypatch.undo()
    assert [p.name for p in _files(tmp_path)] == [cache.path_for("k").name]
    np.testing.assert_array_equal(cache.get("k")["old"], np.arange(3))


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_corrupt_entry_is_a_miss_is_deleted_and_can_be_rebuilt(tmp_path, damage, caplog):
    cache = FeatureCache(tmp_path)
    cache.put("k", _arrays())
    path = cache.path_for("k")
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip":
        blob[-10] ^= 0xFF
    elif damage == "empty":
        blob = bytearray()
    else:
        blob = bytearray(b"not a cache file at all" * 10)
    path.write_bytes(bytes(blob))
    with caplog.at_level("WARNING", logger="framepick.encode.cache"):
        assert cache.get("k") is None
    assert "corrupt" in caplog.text
    assert not path.exists()
    cache.put("k", _arrays())
    np.testing.assert_array_equal(cache.get("k")["indices"], _arrays()["indices"])


def test_rejects_object_arrays_and_bad_names(tmp_path):
    cache = FeatureCache(tmp_path)
    with pytest.raises(InvalidArgumentError, match="object"):
        cache.put("k", {"x": np.asarray([{"a": 1}], dtype=object)})
    with pytest.raises(InvalidArgumentError):
        cache.put("k", {})
    with pytest.raises(InvalidArgumentError):
        cache.get("")
    assert _files(tmp_path) == []


def test_delete(tmp_path):
    cache = FeatureCache(tmp_path)
    cache.put("k", _arrays())
    assert cache.delete("k") is True
    assert cache.get("k") is None
    assert cache.delete("k") is False


def test_location_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPICK_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    cache = FeatureCache()
    cache.put("k", _arrays())
    assert cache.path_for("k").is_relative_to(tmp_path / "mine")
    assert cache.get("k") is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG is the Linux convention")
def test_location_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("FRAMEPICK_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "framepick"


def _writer(args: tuple[str, int]) -> None:
    root, seed = args
    cache = FeatureCache(Path(root))
    for _ in range(20):
        cache.put("shared", {"data": np.full(50_000, seed, dtype=np.int64)})


def test_concurrent_writers_never_leave_a_half_file(tmp_path):
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with concurrent.futures.ProcessPoolExecutor(4, mp_context=context) as pool:
        futures = [pool.submit(_writer, (str(tmp_path), seed)) for seed in range(4)]
        reader = FeatureCache(tmp_path)
        seen = 0
        while not all(f.done() for f in futures):
            hit = reader.get("shared")
            if hit is not None:  # a reader sees a whole entry from one writer, never a mixture
                values = np.unique(hit["data"])
                assert values.size == 1 and hit["data"].size == 50_000
                seen += 1
        for f in futures:
            f.result()
    final = FeatureCache(tmp_path).get("shared")
    assert final is not None and np.unique(final["data"]).size == 1
    assert [p.name for p in _files(tmp_path)] == [FeatureCache(tmp_path).path_for("shared").name]
