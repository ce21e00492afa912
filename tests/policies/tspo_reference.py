"""An independent transcription of the TSPO authors' agent and selection, for equivalence tests only.

Transcribed from Hui-design/TSPO at commit 19f4ecb: ``model/temporal_agent.py`` (positional_encoding
lines 10-19, Simple_SelfAttn 21-79, MultiModal_Align 81-143, TSPOModel.inference_ts 187-210) and
``model/utils.py`` (generate_uniform_integers 10-16, group_features_by_cluster 42-50). It keeps their
shapes and steps as they are (a batch of one, the [T, T] window mask built by loops, the global
branch computed and weighted 0, the division by score_tau), so it shares no code and no shortcut
with framepick's re-implementation (`framepick.policies.tspo_release`). Never imported by the package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def positional_encoding(T: int, C: int) -> torch.Tensor:
    div_term = torch.exp(torch.arange(0, C, 2) * (-torch.log(torch.tensor(10000.0)) / C))
    pe = torch.zeros(1, T, C)
    position = torch.arange(T).unsqueeze(1) / T
    pe[0, :, 0::2] = torch.sin(position * div_term)
    pe[0, :, 1::2] = torch.cos(position * div_term)
    return pe


class SimpleSelfAttn(nn.Module):
    def __init__(self, dim: int, num_heads: int = 8) -> None:
        super().__init__()
        self.Self_q = nn.Linear(dim, dim)
        self.Self_k = nn.Linear(dim, dim)
        self.Self_v = nn.Linear(dim, dim)
        self.ffn_o = nn.Linear(dim, dim)
        self.embed_size, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads

    def forward(self, input_emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, length = input_emb.shape[0], input_emb.shape[1]
        q = self.Self_q(input_emb).view(n, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
        k = self.Self_k(input_emb).view(n, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
        v = self.Self_v(input_emb).view(n, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)
        g_scores = torch.matmul(q, k.transpose(-2, -1)) / (self.head_dim**0.5)
        l_scores = g_scores.clone().masked_fill(mask == 0, -1e6)
        glb = torch.matmul(F.softmax(g_scores, dim=-1), v)
        lcl = torch.matmul(F.softmax(l_scores, dim=-1), v)
        alpha = 0.0
        context = alpha * glb + (1 - alpha) * lcl
        return context.transpose(1, 2).contiguous().view(n, -1, self.embed_size)


class MultiModalAlign(nn.Module):
    def __init__(self, dim: int = 768, num_heads: int = 8) -> None:
        super().__init__()
        self.temporal = SimpleSelfAttn(dim, num_heads)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))

    @staticmethod
    def create_window_mask(seq_len: int, window_size: int) -> torch.Tensor:
        mask = torch.zeros((seq_len, seq_len))
        for j in range(seq_len):
            for k in range(window_size):
                mask[j, min(max(j - window_size // 2 + k, 0), seq_len - 1)] = 1.0
        return mask

    @staticmethod
    def pair_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        cos_sim = torch.einsum("bnc,bmc->bnm", a, b)
        _, N, M = cos_sim.shape
        a_norm = torch.sqrt((a**2).sum(dim=-1)).unsqueeze(-1).expand(-1, -1, M)
        b_norm = torch.sqrt((b**2).sum(dim=-1)).unsqueeze(1).expand(-1, N, -1)
        return cos_sim / (a_norm * b_norm + 1e-6)

    def forward(self, input_emb, text_emb, clip_scores, window_size=12, score_tau=0.025):
        input_emb = input_emb.unsqueeze(0)
        window_mask = self.create_window_mask(input_emb.shape[1], window_size)
        pos_enc = positional_encoding(input_emb.shape[1], input_emb.shape[2]).to(input_emb.dtype)
        temporal_attn = self.temporal(input_emb + pos_enc, window_mask)
        temporal_attn = self.mlp(temporal_attn) + input_emb
        if text_emb.ndim == 2:
            text_emb = text_emb.unsqueeze(0)
        sim_total = self.pair_cosine(temporal_attn, text_emb)[0].mean(dim=-1) + clip_scores
        return sim_total / score_tau, temporal_attn


def clip_scores(text_features: torch.Tensor, image_features: torch.Tensor) -> torch.Tensor:
    """TSPOModel.extract_feature, line 167."""
    return torch.nn.CosineSimilarity(dim=-1)(text_features, image_features)


def generate_uniform_integers(t: int, l: int) -> list[int]:
    if l <= 0:
        return []
    if l == 1:
        return [t]
    step = t / (l - 1)
    return [round(i * step) for i in range(l)]


def group_features_by_cluster(features: torch.Tensor, cluster_indices: torch.Tensor) -> list[torch.Tensor]:
    return [features[cluster_indices == cluster] for cluster in torch.unique(cluster_indices)]


def inference_ts(confidence: torch.Tensor, method: str, sample_len: int) -> torch.Tensor:
    if method == "topk":
        sel_length = min(len(confidence), sample_len)
        return torch.sort(torch.topk(confidence, dim=0, k=sel_length, largest=True)[1])[0]
    assert method == "bin-max"
    idx = torch.arange(len(confidence))
    sel_length = min(len(confidence), sample_len)
    proposal_idx = generate_uniform_integers(len(confidence) - 1, sel_length)
    slots_index = torch.tensor([torch.argmin(torch.abs(x - torch.tensor(proposal_idx))) for x in torch.arange(len(confidence))])
    accept_idxs, start = [], 0
    for slot in group_features_by_cluster(confidence, slots_index):
        accept_idx = slot.argmax()
        slot_idx = idx[start : start + len(slot)]
        start += len(slot)
        accept_idxs.append(slot_idx[accept_idx])
    return torch.stack(accept_idxs, dim=0)
