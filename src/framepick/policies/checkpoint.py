"""Policy checkpoints: a folder with ``policy.json`` (method, config, encoder) and ``policy.pt``.

``framepick select VIDEO --method tspo=CKPT_DIR`` reads the folder ``framepick train`` wrote.
Both files are written to temporary names and renamed, so a reader never sees half a checkpoint;
``policy.json`` is renamed last and is what marks the folder as a checkpoint.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

from framepick.errors import InvalidArgumentError, ModelError, one_line
from framepick.export import atomic_path, write_json
from framepick.jsonio import read_json

META_FILE = "policy.json"
WEIGHTS_FILE = "policy.pt"
FORMAT_VERSION = 1

# A checkpoint is read once per process: each cache holds, per resolved path, the file stamps it
# was read at and what was read; a rewritten checkpoint (new stamps) is read again and replaces it.
_policies: dict[str, tuple[tuple[int, ...], tuple[Any, dict[str, Any]]]] = {}
_metas: dict[str, tuple[tuple[int, ...], dict[str, Any]]] = {}
_lock = threading.Lock()


def _stamp(path: Path) -> tuple[int, ...]:
    """What changes when ``path`` is rewritten (``save_policy`` renames a new file over it)."""
    stat = path.stat()
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def save_policy(folder: str | Path, policy, *, encoder_id: str, extra: dict[str, Any] | None = None) -> Path:
    """Write ``policy`` (weights + config) to ``folder``, atomically per file; returns the folder."""
    import torch

    from framepick.version import __version__

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": FORMAT_VERSION,
        "method": policy.method,
        "config": policy.config.to_dict(),
        "encoder_id": encoder_id,
        "parameters": policy.num_parameters(),
        "framepick_version": __version__,
        **(extra or {}),
    }
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        torch.save(policy.state_dict(), tmp)
    write_json(out / META_FILE, meta, sort_keys=True)  # last: its presence marks a checkpoint
    return out


def read_meta(folder: str | Path) -> dict[str, Any]:
    """The checkpoint's ``policy.json``, or a one-line :class:`ModelError` saying what is wrong.

    Needs no torch, so a command can check its checkpoints before it loads or decodes anything.
    The file is read once per process (again only when it changes); each call gets its own copy.
    """
    path = Path(folder)
    meta_path = path / META_FILE
    if not path.is_dir():
        raise ModelError(f"checkpoint {str(path)!r} is not a folder (train one with `framepick train METHOD ... --out DIR`)")
    if not meta_path.is_file():
        raise ModelError(f"checkpoint {str(path)!r} has no {META_FILE}; is it the --out folder of `framepick train`?")
    try:
        key, stamp = str(meta_path.resolve()), _stamp(meta_path)
    except OSError as exc:
        raise ModelError(f"cannot read {str(meta_path)!r}: {exc}") from None
    with _lock:
        cached = _metas.get(key)
    if cached is not None and cached[0] == stamp:
        return copy.deepcopy(cached[1])
    try:
        meta = read_json(meta_path)
    except InvalidArgumentError as exc:  # a broken checkpoint is a model that cannot load
        raise ModelError(str(exc)) from None
    if not isinstance(meta, dict) or not {"method", "config", "encoder_id"} <= set(meta):
        raise ModelError(f"{str(meta_path)!r} is not a framepick policy description")
    with _lock:
        _metas[key] = (stamp, meta)
    return copy.deepcopy(meta)


def load_policy(folder: str | Path, *, method: str | None = None):
    """(policy in eval mode, meta) from a checkpoint folder; memoised until the files change.

    ``method`` (when given) must match the checkpoint's, so ``--method tspo=DIR`` cannot silently
    run a ReFoCUS checkpoint.
    """
    import torch

    from framepick.policies import policy_class

    path = Path(folder).resolve()
    meta = read_meta(path)
    if method is not None and meta["method"] != method:
        raise ModelError(f"checkpoint {str(folder)!r} holds a {meta['method']!r} policy, not {method!r}")
    weights = path / WEIGHTS_FILE
    try:
        stamp = _stamp(path / META_FILE) + _stamp(weights)
    except OSError:
        raise ModelError(f"checkpoint {str(folder)!r} has no {WEIGHTS_FILE}") from None
    key = str(path)
    with _lock:
        cached = _policies.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    cls = policy_class(meta["method"])
    try:
        config = cls.config_class.from_dict(meta["config"])
        policy = cls(config)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        policy.load_state_dict(state)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001  (any failure to rebuild the module is the file's fault)
        raise ModelError(f"cannot load checkpoint {str(folder)!r}: {one_line(exc, with_type=False)}") from None
    policy.eval()
    with _lock:
        _policies[key] = (stamp, (policy, meta))
    return policy, meta
