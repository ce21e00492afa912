"""``tspo-release``: the TSPO authors' released temporal agent (TSPO-0.4B), run as they run it.

Naming: ``tspo-release=SOURCE`` is always *their* agent (:mod:`framepick.policies.tspo_release`,
their architecture and weights, not trainable here). ``tspo=CKPT_DIR`` is framepick's own TSPO
variant, trained by ``framepick train tspo`` (:mod:`framepick.policies.tspo`); given a source
that is not such a checkpoint (a TSPO-0.4B folder or hub id, an agent file), ``tspo=`` runs the
authors' agent too, so the spelling of the TSPO issue works. See docs/tspo_release.md.

SOURCE is a TSPO-0.4B-style folder, a hub id in the local Hugging Face cache (either is also the
encoder: ``--encoder auto`` means ``clip:SOURCE``), or an agent state dict alone (``FILE.pth``,
then pass ``--encoder clip:openai/clip-vit-large-patch14``, the CLIP they trained on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.registry import register_selector
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k
from framepick.policies.tspo_modes import Mode, check_mode, positions_for

logger = logging.getLogger(__name__)


@register_selector("tspo-release")
@dataclass(frozen=True)
class TSPOReleaseSelector(Selector):
    """The TSPO authors' released agent (tspo-release=TSPO-0.4B folder, hub id or FILE.pth): their S, topk or bin-max."""

    name: ClassVar[str] = "tspo-release"
    needs: ClassVar[frozenset[Need]] = frozenset({"scores", "features"})
    query_aware: ClassVar[bool] = True

    checkpoint: str | None = None
    """The agent's source: a TSPO-0.4B-style folder, a cached hub id, or its state dict (FILE.pth)."""
    mode: Mode = "topk"
    """Their selection mode: ``topk`` (their default; LongVideoBench, MLVU, LVBench) or
    ``bin-max`` (the best frame of each of k even bins; their Video-MME setting)."""
    window: int = 12
    """Frames each frame attends to (their ``window_size``: 12 in their training and evaluation)."""

    def __post_init__(self) -> None:
        from framepick.policies.tspo_release_io import find_release
        from framepick.validation import check_int

        check_mode(self.mode)
        check_int("window", self.window, low=1)
        if self.checkpoint is None:
            raise InvalidArgumentError(
                "method 'tspo-release' runs the TSPO authors' agent and needs its weights: "
                "--method tspo-release=TSPO-0.4B_FOLDER (or a cached hub id, or FILE.pth)"
            )
        find_release(self.checkpoint)  # a missing or foreign source fails when the method is named

    def auto_encoder(self) -> str | None:
        from framepick.policies.tspo_release_io import find_release

        return find_release(str(self.checkpoint)).encoder_spec

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        import torch

        from framepick.device import resolve_device
        from framepick.policies.tspo_release_io import find_release, load_release_agent

        k = check_k(k)
        if inputs.features is None or inputs.query_embedding is None:
            raise InvalidArgumentError(f"method {self.name!r} needs frame features and a query embedding")
        agent = load_release_agent(find_release(str(self.checkpoint)), self.window)
        width = inputs.features.embeddings.shape[1]
        if width != agent.dim:
            raise InvalidArgumentError(
                f"the TSPO agent {self.checkpoint!r} takes {agent.dim}-d features, but {inputs.features.encoder_id!r} "
                f"gives {width}-d ones; use its CLIP (--encoder clip:openai/clip-vit-large-patch14 for TSPO-0.4B)"
            )
        if inputs.features.norms is None:
            # Trained on raw CLIP features: unit rows are a different input, and the result may differ.
            logger.warning(
                "features of %r carry no norms (a cache entry written without them?): the TSPO agent sees unit "
                "rows, not the raw CLIP features it was trained on; --no-cache embeds them afresh",
                inputs.features.encoder_id,
            )
        device = resolve_device()
        agent.to(device)
        frames = torch.as_tensor(inputs.features.raw(), dtype=torch.float32, device=device)
        query = torch.as_tensor(np.asarray(inputs.query_embedding), dtype=torch.float32, device=device)
        with torch.no_grad():
            scores = agent.frame_scores(frames, query).cpu().numpy().astype(np.float64)
        positions = positions_for(self.mode, scores, k)
        return SelectorOutput(positions=positions, scores=scores[positions])
