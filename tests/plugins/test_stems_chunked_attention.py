"""The exported HTDemucs attends a block of queries at a time: the same function as
``nn.MultiheadAttention``, on the layers demucs really has, with a smaller peak."""

from __future__ import annotations

import pytest
import torch

from moodmix.plugins.stems.chunked_attention import ChunkedAttention, chunk_attention
from tests.plugins.tiny_demucs import tiny_htdemucs


@pytest.mark.parametrize("queries,keys,chunk", [(1000, 300, 128), (64, 64, 512), (129, 77, 64)])
def test_chunked_attention_is_multihead_attention(queries, keys, chunk):
    torch.manual_seed(queries)
    attention = torch.nn.MultiheadAttention(64, 8, batch_first=True).eval()
    q, k = torch.randn(2, queries, 64), torch.randn(2, keys, 64)
    with torch.no_grad():
        expected = attention(q, k, k, need_weights=False)[0]
        got, weights = ChunkedAttention(attention, chunk)(q, k, k)
    assert weights is None
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_every_transformer_attention_of_htdemucs_is_chunked_and_the_output_unchanged():
    model = tiny_htdemucs(segment=2.0, t_layers=2)  # self- and cross-attention layers, on both branches
    attentions = [m for m in model.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    mix = torch.randn(1, 2, int(2.0 * model.samplerate)) * 0.1
    with torch.no_grad():
        expected = model(mix)
        assert chunk_attention(model, chunk=16) == len(attentions) == 4
        got = model(mix)
    chunked = [m for m in model.modules() if isinstance(m, ChunkedAttention)]
    assert sorted(map(id, (c.attention for c in chunked))) == sorted(map(id, attentions))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_masked_attention_is_refused_rather_than_computed_wrong():
    attention = ChunkedAttention(torch.nn.MultiheadAttention(16, 2, batch_first=True).eval(), 4)
    x = torch.randn(1, 8, 16)
    with pytest.raises(ValueError, match="without masks"):
        attention(x, x, x, attn_mask=torch.zeros(8, 8))
