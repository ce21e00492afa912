"""The registered side of a learned selector: load a trained checkpoint and let its policy choose.

``--method tspo=CKPT_DIR`` (CLI) or ``select_frames(..., method="tspo",
method_params={"checkpoint": DIR})`` builds a :class:`LearnedSelector` whose ``checkpoint`` is the
folder ``framepick train`` wrote. The policy sees the frozen features the pipeline already
computed; the checkpoint records which encoder made the features it was trained on, and features
from any other encoder are refused (their space means nothing to the weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from framepick.errors import InvalidArgumentError
from framepick.select.base import Need, Selector, SelectorInput, SelectorOutput, check_k
from framepick.types import GIVEN_ENCODER_ID


@dataclass(frozen=True)
class LearnedSelector(Selector):
    """Base of the selectors backed by a trained policy (a subclass sets ``name``)."""

    checkpoint: str | None = None
    """Folder written by ``framepick train METHOD --out DIR``."""

    needs: ClassVar[frozenset[Need]] = frozenset({"scores", "features"})
    query_aware: ClassVar[bool] = True
    learned: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.checkpoint is None:
            return
        if not isinstance(self.checkpoint, str) or not self.checkpoint.strip():
            raise InvalidArgumentError(f"{self.name} checkpoint must be a folder path, got {self.checkpoint!r}")
        from framepick.errors import ModelError
        from framepick.policies.checkpoint import read_meta

        # Fail when the method is named (e.g. parsing `eval --methods`), not after videos are prepared.
        meta = read_meta(self.checkpoint)
        if meta["method"] != self.name:
            raise ModelError(f"checkpoint {self.checkpoint!r} holds a {meta['method']!r} policy, not {self.name!r}")

    def auto_encoder(self) -> str | None:
        """The encoder the checkpoint was trained with, as ``framepick train`` recorded it."""
        if self.checkpoint is None:
            return None
        from framepick.policies.checkpoint import read_meta

        return read_meta(self.checkpoint).get("encoder") or None

    def load(self):
        """(policy, meta) from :attr:`checkpoint`; a one-line error when there is none."""
        if self.checkpoint is None:
            raise InvalidArgumentError(
                f"method {self.name!r} is a learned policy and needs a checkpoint: --method {self.name}=CKPT_DIR "
                f"(train one with `framepick train {self.name} --manifest M --out CKPT_DIR`)"
            )
        from framepick.policies.checkpoint import load_policy

        return load_policy(self.checkpoint, method=self.name)

    def policy_options(self) -> dict:
        """Keyword options this selector passes to the policy's :meth:`~framepick.policies.base.Policy.choose`."""
        return {}

    def select(self, inputs: SelectorInput, k: int, rng: np.random.Generator) -> SelectorOutput:
        import torch

        from framepick.device import resolve_device
        from framepick.policies.base import make_observation

        k = check_k(k)
        policy, meta = self.load()
        if inputs.features is None or inputs.query_embedding is None:
            raise InvalidArgumentError(f"method {self.name!r} needs frame features and a query embedding")
        given = inputs.features.encoder_id == GIVEN_ENCODER_ID  # the user's own rows: they vouch for them
        if not given and inputs.features.encoder_id != meta["encoder_id"]:
            raise InvalidArgumentError(
                f"checkpoint {self.checkpoint!r} was trained on {meta['encoder_id']!r} features, "
                f"but the frames were embedded by {inputs.features.encoder_id!r}; pass the same --encoder"
            )
        width = inputs.features.embeddings.shape[1]
        if width != policy.config.dim:
            raise InvalidArgumentError(
                f"checkpoint {self.checkpoint!r} takes {policy.config.dim}-d features ({meta['encoder_id']!r}), "
                f"got {width}-d ones"
            )
        # The process's --device (framepick.device): the policy moves there once (the loaded
        # policy is shared and cached per process), each observation per question.
        device = resolve_device()
        policy.to(device)
        obs = make_observation(
            inputs.features.embeddings, inputs.query_embedding, inputs.option_embeddings, inputs.question
        ).to(device)
        with torch.no_grad():
            chosen, scores_t = policy.choose(obs, k, **self.policy_options())
        positions = np.unique(chosen.cpu().numpy().astype(np.int64))
        scores = scores_t.cpu().numpy().astype(np.float64)
        return SelectorOutput(positions=positions, scores=scores[positions])
