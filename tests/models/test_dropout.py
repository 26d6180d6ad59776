"""archzoo.layers' CPU dropout: the mask's rate, the scaling, its gradient, its seed, and attention that
drops its weights with it, against F.scaled_dot_product_attention."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from archzoo.layers import Dropout, attention_with_dropout, dropout, dropout_mask


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mask_keeps_one_minus_p(p):
    torch.manual_seed(0)
    n = 1_000_003  # not a multiple of four: the last 64-bit draw is cut
    kept = dropout_mask((n,), p).float().mean().item()
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(kept - (1 - p)) < 5 * sigma


def test_mask_rows_are_not_correlated():
    """Four 16-bit masks come from one 64-bit draw: neighbours must still be independent."""
    torch.manual_seed(1)
    m = dropout_mask((400_000, 4), 0.5).float()
    corr = torch.corrcoef(m.T)
    off = corr - torch.eye(4)
    assert off.abs().max() < 0.01


def test_dropout_scales_survivors_and_its_gradient_is_the_mask():
    torch.manual_seed(2)
    x = torch.randn(64, 33, requires_grad=True)
    y = dropout(x, 0.25)
    kept = y != 0
    assert torch.allclose(y[kept], x[kept] / 0.75)
    y.sum().backward()
    assert torch.equal(x.grad, kept.float() / 0.75)
    assert dropout(x, 0.25, training=False) is x and dropout(x, 0.0) is x


def test_same_seed_same_mask_and_module_is_nn_dropout():
    x = torch.ones(10, 10)
    m = Dropout(0.3)
    assert isinstance(m, torch.nn.Dropout) and m.p == 0.3
    torch.manual_seed(3)
    a = m(x)
    torch.manual_seed(3)
    b = m(x)
    assert torch.equal(a, b) and not torch.equal(a, x)
    m.eval()
    assert m(x) is x


@pytest.mark.parametrize("causal", [False, True])
def test_attention_with_dropout_is_sdpa_without_it_and_drops_the_weights_with_it(causal):
    torch.manual_seed(4)
    q, k, v = (torch.randn(2, 3, 5, 8) for _ in range(3))
    mask = None if causal else torch.rand(2, 1, 1, 5) > 0.3
    if mask is not None:
        mask[..., 0] = True  # every query attends to something
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
    assert torch.allclose(attention_with_dropout(q, k, v, attn_mask=mask, is_causal=causal), ref, atol=1e-6)
    torch.manual_seed(5)
    out = attention_with_dropout(q, k, v, attn_mask=mask, dropout_p=0.2, is_causal=causal)
    torch.manual_seed(5)
    keep = dropout_mask((2, 3, 5, 5), 0.2)
    allowed = torch.ones(5, 5, dtype=torch.bool).tril() if causal else mask
    weights = (q @ k.transpose(-2, -1) / math.sqrt(8)).masked_fill(~allowed, float("-inf")).softmax(-1)
    assert torch.allclose(out, (weights * keep / 0.8) @ v, atol=1e-6)
