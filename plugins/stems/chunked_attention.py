"""Attention a block of queries at a time, for the exported HTDemucs graph.

HTDemucs' transformer attends over every frequency-time cell of a 7.8-s segment (2,688 tokens, and
1,344 on the waveform branch). Exported as is, ONNX Runtime materialises each (heads, queries, keys)
score matrix whole: 231 MB for one self-attention and 115 MB for a cross-attention, in float32, live
together with the layer's other intermediates. Computed for :data:`QUERY_CHUNK` queries at a time
the sums are the same (each query's softmax only ever reads its own row) and a score block is 44 MB.

Only used on a model about to be traced, in the export's child process: the replacement changes no
weight, and the torch model that separates with the ``torch`` engine is never touched.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

#: Queries per score block.
QUERY_CHUNK = 512


class ChunkedAttention(torch.nn.Module):
    """``nn.MultiheadAttention`` (batch first, packed projections, no mask, inference) evaluated ``chunk``
    queries at a time; keys and values are projected once."""

    def __init__(self, attention: torch.nn.MultiheadAttention, chunk: int = QUERY_CHUNK) -> None:
        super().__init__()
        self.attention = attention
        self.chunk = chunk

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: Any = None,
                key_padding_mask: Any = None, need_weights: bool = False, **_: Any) -> tuple[torch.Tensor, None]:
        if attn_mask is not None or key_padding_mask is not None:
            raise ValueError("chunked attention is exported without masks")
        a = self.attention
        width, heads = a.embed_dim, a.num_heads
        head = width // heads
        w, b = a.in_proj_weight, a.in_proj_bias
        batch, queries, keys = query.shape[0], query.shape[1], key.shape[1]
        q = F.linear(query, w[:width], b[:width]).reshape(batch, queries, heads, head).transpose(1, 2)
        k_t = F.linear(key, w[width:2 * width], b[width:2 * width]).reshape(batch, keys, heads, head)
        k_t = k_t.permute(0, 2, 3, 1) * head**-0.5
        v = F.linear(value, w[2 * width:], b[2 * width:]).reshape(batch, keys, heads, head).transpose(1, 2)
        blocks = [torch.softmax(q[:, :, first:first + self.chunk] @ k_t, dim=-1) @ v
                  for first in range(0, int(queries), self.chunk)]
        out = torch.cat(blocks, dim=2).transpose(1, 2).reshape(batch, queries, width)
        return a.out_proj(out), None


def chunk_attention(model: torch.nn.Module, chunk: int = QUERY_CHUNK) -> int:
    """Replace every dense, batch-first ``nn.MultiheadAttention`` in ``model`` by a :class:`ChunkedAttention`
    computing the same function; returns how many were replaced."""
    replaced = 0
    for module in list(model.modules()):
        for name in ("self_attn", "cross_attn"):
            attention = getattr(module, name, None)
            if (isinstance(attention, torch.nn.MultiheadAttention) and attention.batch_first
                    and attention._qkv_same_embed_dim and attention.in_proj_bias is not None
                    and not getattr(module, "sparse", False)):
                setattr(module, name, ChunkedAttention(attention, chunk))
                replaced += 1
    return replaced
