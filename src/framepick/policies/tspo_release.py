"""The TSPO authors' released temporal agent, their architecture exactly (``tspo-release``).

Re-written from their code, not copied: Hui-design/TSPO, ``model/temporal_agent.py`` at commit
19f4ecb (``git show 19f4ecb:model/temporal_agent.py``). What was followed, line by line:

- ``positional_encoding`` (lines 10-19): sine on even, cosine on odd channels with frequencies
  ``exp(-ln(10000) * 2i / C)``, but over ``position / T`` (line 15 overrides line 11), so the
  whole clip spans [0, 1) whatever its length. It needs an even width (their odd-width table
  would not broadcast): :func:`release_positional_encoding`.
- ``Simple_SelfAttn`` (lines 21-79): separate ``Self_q``, ``Self_k``, ``Self_v`` projections with
  bias, 8 heads, logits scaled by ``1 / sqrt(head_dim)``; masked logits set to ``-1e6``
  (line 45). The global branch is computed but weighted ``alpha = 0.0`` (lines 54-55), so only
  the windowed branch counts; ``ffn_o`` and dropout exist but the forward never uses them
  (lines 77-79, ``return context``): no output projection. ``ffn_o`` is kept here only so their
  state dict loads strictly.
- ``create_window_mask`` (lines 97-104): frame ``j`` sees ``clamp(j - w // 2 + k, 0, T - 1)``
  for ``k < w``; as a set that is the in-range part of ``[j - w // 2, j - w // 2 + w - 1]``
  (a clamped slot always lands on a position an in-range slot already marks), which is what
  :class:`ReleaseWindowAttention` attends over, as a strided window rather than a [T, T] mask.
- ``forward`` (lines 116-143): ``attn(x + pe)`` with the window mask, then
  ``mlp(attn) + x``: the MLP (Linear, ReLU, Linear, lines 88-92) on the attention output and the
  residual from the *un-positioned* input. ``pair_cosine`` (lines 106-114) is
  ``a . b / (|a| |b| + 1e-6)``, averaged over the text rows (line 136), plus the CLIP score
  (line 138): ``S = mean_q cos(F_e, q) + cos(F_f, q)``. Their ``/ score_tau`` (line 141) changes
  no choice and is left out of the scores reported here.
- ``TSPOModel.extract_feature`` (lines 151-169): the frames are CLIP's ``get_image_features``
  *before* any normalisation, the text the question's ``get_text_features``, the CLIP score their
  cosine. So the agent is given raw features (``Features.raw()``): normalised rows would change
  what the attention, the positions and the residual see.

With a [Q, D] query (question and picture together) both terms average over the rows, as their
``pair_cosine`` does for the event term; with one row (theirs) this is their S exactly.

The selection rules (their ``inference_ts``, lines 187-210) are
:mod:`framepick.policies.tspo_modes`; loading their weights is :mod:`framepick.policies.tspo_release_io`.
The agent runs in float32 (their evaluation ran it in bfloat16; see docs/tspo_release.md).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from framepick.errors import InvalidArgumentError

RELEASE_HEADS = 8
"""``MultiModal_Align(dim=768, num_heads=8)``: TSPOModel builds it with the defaults (line 149)."""
RELEASE_WINDOW = 12
"""The window their evaluation and demos pass (``window_size=12``)."""
MASKED_LOGIT = -1e6
"""Their masked value (line 45), kept rather than -inf: equal after softmax, and exactly theirs."""
PAIR_COSINE_EPS = 1e-6
"""``pair_cosine``'s ``+ 1e-6`` on the product of norms (line 113)."""


def release_positional_encoding(length: int, dim: int, device: torch.device | str | None = None) -> torch.Tensor:
    """[length, dim] their table: sin/cos of ``(position / length) * exp(-ln(10000) * 2i / dim)``."""
    if dim % 2:
        raise InvalidArgumentError(f"the TSPO agent needs an even feature width, got {dim}")
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1) / length
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class ReleaseWindowAttention(nn.Module):
    """Their ``Simple_SelfAttn`` as it runs: windowed multi-head attention, no output projection."""

    def __init__(self, dim: int, heads: int = RELEASE_HEADS) -> None:
        super().__init__()
        if dim % heads:
            raise InvalidArgumentError(f"the TSPO agent's {heads} heads must divide its width {dim}")
        self.heads = heads
        self.Self_q = nn.Linear(dim, dim)
        self.Self_k = nn.Linear(dim, dim)
        self.Self_v = nn.Linear(dim, dim)
        self.ffn_o = nn.Linear(dim, dim)  # in their state dict, never applied (their forward returns the context)

    def forward(self, x: torch.Tensor, window: int) -> torch.Tensor:
        length, dim = x.shape
        head_dim = dim // self.heads
        q = self.Self_q(x).view(length, self.heads, head_dim)
        before, after = window // 2, window - window // 2 - 1
        # Each frame's window as a strided view of the padded keys/values ([T, H, hd, w]): their
        # [T, T] mask would need 10 GB at the 50 000 frames their evaluation allows.
        k_win = F.pad(self.Self_k(x), (0, 0, before, after)).view(-1, self.heads, head_dim).unfold(0, window, 1)
        v_win = F.pad(self.Self_v(x), (0, 0, before, after)).view(-1, self.heads, head_dim).unfold(0, window, 1)
        logits = torch.einsum("thd,thdw->thw", q, k_win) / head_dim**0.5
        target = torch.arange(length, device=x.device).unsqueeze(1) + (torch.arange(window, device=x.device) - before)
        outside = (target < 0) | (target >= length)
        logits = logits.masked_fill(outside.unsqueeze(1), MASKED_LOGIT)
        weights = torch.softmax(logits, dim=-1)
        return torch.einsum("thw,thdw->thd", weights, v_win).reshape(length, dim)


class TSPOReleaseAgent(nn.Module):
    """Their ``MultiModal_Align``; parameter names match its state dict (``temporal.*``, ``mlp.*``)."""

    def __init__(self, dim: int, window: int = RELEASE_WINDOW) -> None:
        super().__init__()
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise InvalidArgumentError(f"window must be a positive integer, got {window!r}")
        if dim % 2:
            raise InvalidArgumentError(f"the TSPO agent needs an even feature width, got {dim}")
        self.dim, self.window = dim, window
        self.temporal = ReleaseWindowAttention(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    def event_features(self, frames: torch.Tensor) -> torch.Tensor:
        """F_e = MLP(attention(F_f + positions)) + F_f, the residual from the un-positioned frames."""
        positions = release_positional_encoding(frames.shape[0], frames.shape[1], frames.device)
        return self.mlp(self.temporal(frames + positions, self.window)) + frames

    def frame_scores(self, frames: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """[T] S = mean_q cos(F_e, q) + mean_q cos(F_f, q) for raw frames [T, D] and a query [Q, D] or [D]."""
        if frames.ndim != 2 or frames.shape[0] < 1 or frames.shape[1] != self.dim:
            raise InvalidArgumentError(f"the TSPO agent takes [T, {self.dim}] features, got shape {tuple(frames.shape)}")
        query = query.unsqueeze(0) if query.ndim == 1 else query
        if query.ndim != 2 or query.shape[1] != self.dim:
            raise InvalidArgumentError(f"the TSPO agent takes a [{self.dim}] or [Q, {self.dim}] query, got shape {tuple(query.shape)}")
        events = self.event_features(frames)
        event_term = (events @ query.T) / (events.norm(dim=-1, keepdim=True) * query.norm(dim=-1) + PAIR_COSINE_EPS)
        clip_score = F.cosine_similarity(frames.unsqueeze(1), query.unsqueeze(0), dim=-1)  # their nn.CosineSimilarity
        return event_term.mean(dim=1) + clip_score.mean(dim=1)
