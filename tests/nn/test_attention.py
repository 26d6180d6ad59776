"""MultiHeadAttention, Transformer encoder/decoder layers and sinusoidal positions against torch.nn."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import archzoo.nn as ann

DTYPES = [torch.float64, torch.float32]


def _tol(dtype: torch.dtype) -> dict[str, float]:
    return {"atol": 1e-10, "rtol": 1e-10} if dtype == torch.float64 else {"atol": 1e-5, "rtol": 1e-5}


def _twins(ours: nn.Module, theirs: nn.Module, dtype: torch.dtype) -> tuple[nn.Module, nn.Module]:
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():  # non-trivial biases and norms, so a misplaced one cannot hide
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
    theirs.load_state_dict(ours.state_dict())
    return ours.to(dtype), theirs.to(dtype)


def _check(ours, theirs, inputs, call, dtype, compare_grads=True) -> None:
    a = [x.detach().clone().requires_grad_() for x in inputs]
    b = [x.detach().clone().requires_grad_() for x in inputs]
    ya, yb = call(ours, a), call(theirs, b)
    ya, yb = (
        ([ya], [yb])
        if isinstance(ya, torch.Tensor)
        else ([t for t in ya if t is not None], [t for t in yb if t is not None])
    )
    for u, v in zip(ya, yb, strict=True):
        torch.testing.assert_close(u, v, **_tol(dtype))
    if not compare_grads:
        return
    cots = [torch.randn_like(v) for v in yb]
    ga = torch.autograd.grad(ya, a + list(ours.parameters()), cots, allow_unused=True)
    gb = torch.autograd.grad(yb, b + list(theirs.parameters()), cots, allow_unused=True)
    for u, v in zip(ga, gb, strict=True):
        torch.testing.assert_close(u, v, **_tol(dtype))


# ----- multi-head attention -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_matches_torch(batch_first, bias, dtype) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(
        ann.MultiHeadAttention(16, 4, bias=bias, batch_first=batch_first),
        nn.MultiheadAttention(16, 4, bias=bias, batch_first=batch_first),
        dtype,
    )
    x = torch.randn((3, 7, 16) if batch_first else (7, 3, 16), dtype=dtype)
    for need_weights in (True, False):
        for average in (True, False):
            _check(
                ours,
                theirs,
                [x],
                lambda m, t, nw=need_weights, av=average: m(t[0], t[0], t[0], need_weights=nw, average_attn_weights=av),
                dtype,
            )


@pytest.mark.parametrize("heads_per_block", [None, 1, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_attention_with_masks_matches_torch(dtype, heads_per_block, monkeypatch) -> None:
    """Also through the blocked path (heads in blocks of 1, or 4 of 6 with an uneven last block)."""
    import archzoo.nn.attention as attention

    if heads_per_block is not None:
        itemsize = torch.empty((), dtype=dtype).element_size()
        monkeypatch.setattr(attention, "SCORE_BLOCK_BYTES", heads_per_block * 5 * 8 * itemsize)  # L=5, S=8
    torch.manual_seed(0)
    ours, theirs = _twins(
        ann.MultiHeadAttention(12, 3, batch_first=True), nn.MultiheadAttention(12, 3, batch_first=True), dtype
    )
    q, kv = torch.randn(2, 5, 12, dtype=dtype), torch.randn(2, 8, 12, dtype=dtype)
    pad = torch.zeros(2, 8, dtype=torch.bool)
    pad[1, 5:] = True  # the second sequence has 5 real keys
    bool_mask = torch.rand(5, 8) < 0.3
    bool_mask[:, 0] = False  # every query keeps one key
    float_mask = torch.randn(5, 8, dtype=dtype)
    per_head = torch.randn(2 * 3, 5, 8, dtype=dtype)  # (B * heads, L, S)
    for mask in (None, bool_mask, float_mask, per_head):
        for need_weights in (True, False):
            kpm = (
                pad
                if mask is None or mask.dtype == torch.bool
                else torch.zeros(2, 8, dtype=dtype).masked_fill(pad, -math.inf)
            )
            _check(
                ours,
                theirs,
                [q, kv],
                lambda m, t, am=mask, nw=need_weights, kp=kpm: m(
                    t[0], t[1], t[1], key_padding_mask=kp, attn_mask=am, need_weights=nw
                ),
                dtype,
            )


@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_attention_matches_torch(dtype) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(ann.MultiHeadAttention(8, 2), nn.MultiheadAttention(8, 2), dtype)
    x = torch.randn(6, 2, 8, dtype=dtype)
    causal = ann.causal_mask(6)
    assert torch.equal(causal, nn.Transformer.generate_square_subsequent_mask(6) == -math.inf)
    _check(ours, theirs, [x], lambda m, t: m(t[0], t[0], t[0], attn_mask=causal, is_causal=True), dtype)
    # our is_causal builds the mask itself
    torch.testing.assert_close(ours(x, x, x, is_causal=True)[0], ours(x, x, x, attn_mask=causal)[0])


def test_unbatched_and_eval_fast_path_match_torch() -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(
        ann.MultiHeadAttention(8, 2, batch_first=True), nn.MultiheadAttention(8, 2, batch_first=True), torch.float32
    )
    x = torch.randn(5, 8)
    _check(ours, theirs, [x], lambda m, t: m(t[0], t[0], t[0]), torch.float32)
    ours.eval()
    theirs.eval()
    xb = torch.randn(3, 5, 8)
    with torch.no_grad():  # torch takes its fused native kernel here
        torch.testing.assert_close(
            ours(xb, xb, xb, need_weights=False)[0], theirs(xb, xb, xb, need_weights=False)[0], atol=1e-5, rtol=1e-5
        )


def test_a_query_with_every_key_masked_gives_zeros_where_torch_gives_nan() -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(
        ann.MultiHeadAttention(8, 2, batch_first=True), nn.MultiheadAttention(8, 2, batch_first=True), torch.float64
    )
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    pad = torch.zeros(2, 4, dtype=torch.bool)
    pad[0] = True  # sample 0 has no key at all
    out, w = ours(x, x, x, key_padding_mask=pad)
    ref, ref_w = theirs(x, x, x, key_padding_mask=pad)
    assert torch.isnan(ref[0]).all() and torch.isfinite(out).all()
    torch.testing.assert_close(out[1], ref[1], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(w[1], ref_w[1], atol=1e-10, rtol=1e-10)
    assert torch.equal(w[0], torch.zeros_like(w[0]))
    torch.testing.assert_close(out[0], ours.out_proj.bias.expand(4, 8))  # zero attention, then W^O + b^O


def test_attention_dropout_is_active_in_training_only() -> None:
    torch.manual_seed(0)
    mha = ann.MultiHeadAttention(8, 2, dropout=0.5)
    x = torch.randn(5, 2, 8)
    assert not torch.allclose(mha(x, x, x)[0], mha(x, x, x)[0])
    mha.eval()
    torch.testing.assert_close(mha(x, x, x)[0], mha(x, x, x)[0])


def test_mha_names_a_wrong_shape() -> None:
    with pytest.raises(ValueError, match="divisible"):
        ann.MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim 8"):
        ann.MultiHeadAttention(8, 2)(*(torch.randn(3, 2, 6),) * 3)


# ----- Transformer layers ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, activation, dtype) -> None:
    torch.manual_seed(0)
    kw = dict(
        d_model=16,
        nhead=4,
        dim_feedforward=32,
        dropout=0.0,
        activation=activation,
        batch_first=True,
        norm_first=norm_first,
    )
    ours, theirs = _twins(ann.TransformerEncoderLayer(**kw), nn.TransformerEncoderLayer(**kw), dtype)
    x = torch.randn(3, 7, 16, dtype=dtype)
    pad = torch.zeros(3, 7, dtype=torch.bool)
    pad[2, 4:] = True
    causal = ann.causal_mask(7)
    _check(ours, theirs, [x], lambda m, t: m(t[0]), dtype)
    _check(ours, theirs, [x], lambda m, t: m(t[0], src_key_padding_mask=pad), dtype)
    _check(ours, theirs, [x], lambda m, t: m(t[0], src_mask=causal, is_causal=True), dtype)
    ours.eval()
    theirs.eval()
    _check(ours, theirs, [x], lambda m, t: m(t[0], src_mask=causal, src_key_padding_mask=pad), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, dtype) -> None:
    torch.manual_seed(0)
    kw = dict(d_model=16, nhead=2, dim_feedforward=24, dropout=0.0, norm_first=norm_first)
    ours, theirs = _twins(ann.TransformerDecoderLayer(**kw), nn.TransformerDecoderLayer(**kw), dtype)
    tgt, mem = torch.randn(6, 2, 16, dtype=dtype), torch.randn(9, 2, 16, dtype=dtype)
    tgt_pad = torch.zeros(2, 6, dtype=torch.bool)
    tgt_pad[1, 4:] = True
    mem_pad = torch.zeros(2, 9, dtype=torch.bool)
    mem_pad[0, 7:] = True
    causal = ann.causal_mask(6)
    _check(ours, theirs, [tgt, mem], lambda m, t: m(t[0], t[1]), dtype)
    _check(
        ours,
        theirs,
        [tgt, mem],
        lambda m, t: m(
            t[0],
            t[1],
            tgt_mask=causal,
            tgt_is_causal=True,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=mem_pad,
        ),
        dtype,
    )


def test_transformer_layer_dropout_and_unknown_activation() -> None:
    torch.manual_seed(0)
    layer = ann.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = torch.randn(4, 2, 8)
    assert not torch.allclose(layer(x), layer(x))
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))
    with pytest.raises(ValueError, match="relu, gelu"):
        ann.TransformerEncoderLayer(8, 2, activation="tanh")


# ----- positions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "dim"), [(50, 16), (7, 5), (1, 2)])
def test_sinusoidal_positional_encoding_is_the_formula(length, dim) -> None:
    pe = ann.sinusoidal_positional_encoding(length, dim)
    assert pe.shape == (length, dim)
    for pos in range(length):
        for j in range(dim):
            angle = pos / 10000 ** (2 * (j // 2) / dim)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert abs(pe[pos, j].item() - expected) < 1e-6


def test_sinusoidal_shift_is_a_fixed_linear_map() -> None:
    """PE[pos + k] = R_k PE[pos] with R_k block-diagonal rotations, the same for every pos."""
    torch.set_default_dtype(torch.float64)
    try:
        pe = ann.sinusoidal_positional_encoding(40, 8)
    finally:
        torch.set_default_dtype(torch.float32)
    k = 5
    R = torch.linalg.lstsq(pe[:-k], pe[k:]).solution  # fit one map on all positions ...
    torch.testing.assert_close(pe[:-k] @ R, pe[k:], atol=1e-9, rtol=0)  # ... and it is exact
