"""A TSPO-0.4B-style folder for tests: what the authors' ``scripts/merge_weights.py`` writes, in tiny.

A tiny random CLIP (tests_support.save_tiny_model) whose ``model.safetensors`` also holds a seeded
random temporal agent under ``selector.*`` (their ``MultiModal_Align``, transcribed in
``tspo_reference.py``), and ``TSPOModel`` as the config's architecture. Used by the TSPO release
tests and by the reproduction recipes' test.
"""

from __future__ import annotations

import json
from pathlib import Path

from policies.tspo_reference import MultiModalAlign
from tests_support import save_tiny_model

CLIP_DIM = 24
"""The tiny CLIP's projection width: the agent's feature size."""


def reference_agent(dim: int, seed: int = 0) -> MultiModalAlign:
    """Their agent with seeded weights, spread (nn.Linear's init is small) so the event term matters."""
    import torch

    torch.manual_seed(seed)
    agent = MultiModalAlign(dim)
    with torch.no_grad():
        for parameter in agent.parameters():
            parameter.mul_(3.0)
    return agent.eval()


def build_tspo_folder(folder: Path, seed: int = 1) -> Path:
    """Write the tiny TSPO-0.4B-style folder to ``folder``; returns it."""
    from safetensors.torch import load_file, save_file

    folder = save_tiny_model("clip", Path(folder))
    weights = load_file(str(folder / "model.safetensors"))
    agent = reference_agent(dim=CLIP_DIM, seed=seed)
    weights.update({f"selector.{k}": v.contiguous() for k, v in agent.state_dict().items()})
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["TSPOModel"]}))
    return folder
