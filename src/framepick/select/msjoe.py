"""MSJoE (paper 004): a 1-D U-Net sampler over question and option similarities, trained with REINFORCE.

The sampler itself is :mod:`framepick.policies.msjoe`; ``framepick train msjoe`` trains it. It
reads query rows: the option embeddings ("question option" texts), so this selector asks the
pipeline for them, or an MLLM's reasoned queries given with ``--query-model``
(:mod:`framepick.reasoned_queries`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from framepick.registry import register_selector
from framepick.select.base import Need
from framepick.select.learned import LearnedSelector


@register_selector("msjoe")
@dataclass(frozen=True)
class MSJoESelector(LearnedSelector):
    """MSJoE sampler (learned, needs msjoe=CKPT): top-k of a 1-D U-Net over question and option similarities."""

    name: ClassVar[str] = "msjoe"
    needs: ClassVar[frozenset[Need]] = frozenset({"scores", "features", "options"})
