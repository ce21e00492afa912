"""Where the TSPO authors' agent weights come from, and loading them (``tspo-release=SOURCE``).

A source is one of:

- **an agent state dict alone**: a ``.pth``/``.pt``/``.bin`` (``torch.save`` of
  ``MultiModal_Align.state_dict()``) or ``.safetensors`` file. Keys are theirs: ``temporal.*``,
  ``mlp.*``, optionally under ``selector.`` (``TSPOModel``) or ``multiModal_align.`` (their
  trainer's checkpoints, ``scripts/merge_weights.py``).
- **a TSPO-0.4B-style folder**: what their ``merge_weights.py`` writes with
  ``TSPOModel.save_pretrained``: a CLIP model folder (config, tokenizer, image processor) whose
  weights also hold ``selector.*``. Its CLIP is then the encoder too (``clip:FOLDER``).
- **a hub id** (``hzf666/TSPO-0.4B``) of such a folder, read from the local Hugging Face cache
  only: nothing is downloaded here (fetch it first with ``huggingface-cli download``).

Resolving a source needs no torch; loading it does. A loaded agent is kept per process until its
file changes, as :mod:`framepick.policies.checkpoint` keeps framepick's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framepick.errors import ModelError, one_line
from framepick.runtime import hf_hub_cache_dir

AGENT_FILE_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")
FOLDER_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
KEY_PREFIXES = ("selector.", "multiModal_align.")
"""Where their agent's tensors sit inside a larger state dict: ``TSPOModel.selector`` (TSPO-0.4B),
``multiModal_align`` (the LLaVA-Video model their trainer saves)."""

_agents: dict[tuple[str, int], tuple[tuple[int, ...], Any]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ReleaseSource:
    """A resolved ``tspo-release`` source: the file(s) holding the agent and, for a model folder, its CLIP."""

    given: str
    """As the user wrote it."""
    weights: tuple[Path, ...]
    """The file(s) holding the agent's tensors (shards of a folder's weights, or the one file)."""
    model_folder: Path | None = None
    """The TSPO-0.4B-style folder (its CLIP is the encoder), None for an agent file alone."""
    hub_id: str | None = None

    @property
    def encoder_spec(self) -> str | None:
        """The encoder whose features the agent was trained with: the folder's CLIP; None for a file
        (their agent file was trained on ``clip:openai/clip-vit-large-patch14``)."""
        if self.model_folder is None:
            return None
        return f"clip:{self.hub_id or self.model_folder}"


def is_framepick_checkpoint(source: str) -> bool:
    """A folder ``framepick train`` wrote (it has ``policy.json``), not the authors' agent."""
    from framepick.policies.checkpoint import META_FILE

    return (Path(source).expanduser() / META_FILE).is_file()


def _looks_like_hub_id(source: str) -> bool:
    return source.count("/") == 1 and not source.startswith(("/", ".", "~", "\\")) and ":" not in source


def _folder_weights(folder: Path) -> tuple[Path, ...] | None:
    for name in FOLDER_WEIGHTS:
        path = folder / name
        if path.is_file():
            if name.endswith(".index.json"):
                from framepick.jsonio import read_json

                shards = sorted(set((read_json(path).get("weight_map") or {}).values()))
                return tuple(folder / shard for shard in shards)
            return (path,)
    return None


def find_release(source: str) -> ReleaseSource:
    """Resolve ``source`` (a file, a folder, a cached hub id) or raise a one-line :class:`ModelError`."""
    if not isinstance(source, str) or not source.strip():
        raise ModelError(f"the TSPO agent needs a source: a TSPO-0.4B folder, a hub id or FILE.pth, got {source!r}")
    source = source.strip()
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix.lower() not in AGENT_FILE_SUFFIXES:
            raise ModelError(f"TSPO agent file {source!r} must be one of {', '.join(AGENT_FILE_SUFFIXES)}")
        return ReleaseSource(source, (path.resolve(),))
    if path.is_dir():
        weights = _folder_weights(path)
        if weights is None:
            raise ModelError(
                f"checkpoint {source!r} has no policy.json (not a `framepick train` folder) and none of "
                f"{', '.join(FOLDER_WEIGHTS)} (not a TSPO-0.4B-style folder)"
            )
        return ReleaseSource(source, tuple(p.resolve() for p in weights), path.resolve())
    if _looks_like_hub_id(source):
        folder = _cached_snapshot(source)
        if folder is not None:
            weights = _folder_weights(folder)
            if weights is None:
                raise ModelError(f"{source!r} in the local Hugging Face cache has none of {', '.join(FOLDER_WEIGHTS)}")
            return ReleaseSource(source, weights, folder, source)
    raise ModelError(
        f"checkpoint {source!r} is not a folder, a file, or a hub id in the local Hugging Face cache "
        f"({hf_hub_cache_dir()}); train one with `framepick train tspo --out DIR`, or give the TSPO "
        "authors' agent (a TSPO-0.4B folder, FILE.pth, or `huggingface-cli download` it first)"
    )


def _cached_snapshot(repo_id: str) -> Path | None:
    """The folder of ``repo_id`` in the local hub cache, or None; never downloads."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    try:
        return Path(snapshot_download(repo_id, cache_dir=str(hf_hub_cache_dir()), local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or not a valid id): the caller says what it looked for
        return None


def _read_tensors(path: Path) -> dict[str, Any]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a training checkpoint that wraps the weights
    if not isinstance(state, dict):
        raise ModelError(f"TSPO agent file {str(path)!r} holds a {type(state).__name__}, not a state dict")
    return state


def agent_state(source: ReleaseSource) -> dict[str, Any]:
    """The agent's tensors under their ``MultiModal_Align`` names (prefixes stripped)."""
    state: dict[str, Any] = {}
    for path in source.weights:
        try:
            tensors = _read_tensors(path)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - a file that does not load is the file's fault
            raise ModelError(f"cannot read TSPO agent weights {str(path)!r}: {one_line(exc, with_type=False)}") from None
        for prefix in KEY_PREFIXES:
            picked = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            if picked:
                state.update(picked)
                break
        else:
            if source.model_folder is None:  # an agent file alone: its keys are the agent's own
                state.update(tensors)
    if "temporal.Self_q.weight" not in state:
        where = "selector.* weights" if source.model_folder is not None else "the keys of MultiModal_Align (temporal.Self_q.weight, ...)"
        raise ModelError(f"{source.given!r} holds no TSPO agent: expected {where}")
    return state


def load_release_agent(source: ReleaseSource, window: int):
    """The agent in eval mode, float32 (their weights may be bfloat16); cached per file and window."""
    import torch

    from framepick.policies.tspo_release import TSPOReleaseAgent

    stamp = tuple(int(x) for p in source.weights for x in (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size))
    key = (str(source.weights[0]), window)
    with _lock:
        cached = _agents.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    state = agent_state(source)
    dim = int(state["temporal.Self_q.weight"].shape[1])
    try:
        agent = TSPOReleaseAgent(dim, window)
        agent.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    except Exception as exc:  # noqa: BLE001 - missing or extra keys, wrong shapes: the weights are not their agent's
        raise ModelError(f"{source.given!r} is not the TSPO authors' agent: {one_line(exc, with_type=False)}") from None
    agent.eval()
    with _lock:
        _agents[key] = (stamp, agent)
    return agent
