"""Activations, normalisation, dropout and scaled dot-product attention against torch.nn.functional."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as TF

from archzoo.nn import functional as F

DTYPES = [torch.float64, torch.float32]
SHAPES = [(0,), (7,), (3, 4, 5)]


def _inputs(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    x = torch.randn(shape, dtype=dtype) * 4
    if x.numel() >= 6:  # the edge cases: large |z|, exact zero
        x.view(-1)[:6] = torch.tensor([0.0, 30.0, -30.0, 80.0, -80.0, 1e-6], dtype=dtype)
    return x


ACTIVATIONS = [
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("relu", F.relu, TF.relu),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu),
    ("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("elu", F.elu, TF.elu),
    ("elu_0.5", lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5)),
    ("silu", F.silu, TF.silu),
    ("swish_1", lambda x: F.swish(x, 1.0), TF.silu),
    ("swish_1.7", lambda x: F.swish(x, 1.7), lambda x: x * torch.sigmoid(1.7 * x)),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("name", "ours", "theirs"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(name, ours, theirs, shape, dtype, same, tol) -> None:
    torch.manual_seed(0)
    same(ours, theirs, _inputs(shape, dtype), **tol(dtype))


def test_sigmoid_is_stable_where_the_naive_formula_fails() -> None:
    z = torch.tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=torch.float64, requires_grad=True)
    s = F.sigmoid(z)
    assert torch.isfinite(s).all()
    torch.testing.assert_close(s, torch.tensor([0.0, math.exp(-100), 0.5, 1.0, 1.0], dtype=torch.float64))
    (g,) = torch.autograd.grad(s.sum(), z)
    assert torch.isfinite(g).all() and g[2] == 0.25
    with torch.no_grad():  # the textbook form overflows e^(-z) -> inf for z = -1000
        naive = 1 / (1 + torch.exp(-z))
    assert naive[0] == 0.0  # right by luck of 1/inf ...
    e = torch.exp(-z[0].detach())
    assert torch.isnan(e / (1 + e)) or torch.isinf(e)  # ... but e^(-z) itself is inf


def test_gelu_rejects_an_unknown_approximation() -> None:
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        F.gelu(torch.zeros(2), approximate="erf")


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5, 5), (0, 3, 4)])
def test_prelu_matches_torch(shape, same) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64)
    w = torch.rand(3, dtype=torch.float64)
    same(F.prelu, TF.prelu, x, w, atol=1e-12)
    same(F.prelu, TF.prelu, x, w[:1], atol=1e-12)


# ----- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 4)])
def test_batch_norm_training_matches_torch_and_updates_running_stats(shape, dtype, same, tol) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=dtype) * 3 + 1
    w, b = torch.rand(3, dtype=dtype) + 0.5, torch.randn(3, dtype=dtype)
    start = (torch.randn(3, dtype=dtype), torch.rand(3, dtype=dtype) + 0.5)
    stats = {k: (start[0].clone(), start[1].clone()) for k in ("ours", "torch")}
    same(
        lambda x, w, b: F.batch_norm(x, *stats["ours"], w, b, training=True, momentum=0.3),
        lambda x, w, b: TF.batch_norm(x, *stats["torch"], w, b, training=True, momentum=0.3),
        x,
        w,
        b,
        **tol(dtype),
    )
    assert not torch.equal(stats["ours"][0], start[0])  # updated in place ...
    for ours, theirs in zip(stats["ours"], stats["torch"], strict=True):  # ... exactly as torch's
        torch.testing.assert_close(ours, theirs, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_eval_uses_running_stats(dtype, same, tol) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 3, 5, 5, dtype=dtype)
    rm, rv = torch.randn(3, dtype=dtype), torch.rand(3, dtype=dtype) + 0.5
    w, b = torch.rand(3, dtype=dtype), torch.randn(3, dtype=dtype)
    same(
        lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
        lambda x, w, b: TF.batch_norm(x, rm, rv, w, b, training=False),
        x,
        w,
        b,
        **tol(dtype),
    )


def test_batch_norm_rejects_a_single_value_per_channel() -> None:
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(torch.randn(1, 3), None, None, training=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("shape", "normalized"), [((4, 6), (6,)), ((2, 3, 8), (8,)), ((2, 3, 4, 5), (4, 5)), ((0, 6), (6,))]
)
def test_layer_norm_matches_torch(shape, normalized, dtype, same, tol) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=dtype) * 2 + 3
    w, b = torch.rand(normalized, dtype=dtype), torch.randn(normalized, dtype=dtype)
    same(
        lambda x, w, b: F.layer_norm(x, normalized, w, b),
        lambda x, w, b: TF.layer_norm(x, normalized, w, b),
        x,
        w,
        b,
        **tol(dtype),
    )
    same(lambda x: F.layer_norm(x, normalized), lambda x: TF.layer_norm(x, normalized), x, **tol(dtype))


def test_layer_norm_names_a_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="does not end in"):
        F.layer_norm(torch.randn(2, 5), (4,))


# ----- dropout -------------------------------------------------------------------------------------


def test_dropout_keeps_the_expectation_and_scales_the_kept_units() -> None:
    torch.manual_seed(0)
    x = torch.full((200_000,), 3.0, dtype=torch.float64)
    for p in (0.1, 0.5, 0.8):
        y = F.dropout(x, p, training=True)
        kept = y != 0
        assert torch.all(y[kept] == 3.0 / (1 - p))  # inverted scaling
        assert abs(kept.double().mean().item() - (1 - p)) < 0.01  # Bernoulli(1 - p) mask
        assert abs(y.mean().item() - 3.0) < 0.05  # E[y] = x


def test_dropout_is_the_identity_in_eval_and_zero_at_p_one() -> None:
    x = torch.randn(10, 10)
    assert F.dropout(x, 0.5, training=False) is x
    assert torch.equal(F.dropout(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


def test_dropout_gradient_follows_the_mask() -> None:
    torch.manual_seed(0)
    x = torch.randn(1000, dtype=torch.float64, requires_grad=True)
    y = F.dropout(x, 0.3)
    (g,) = torch.autograd.grad(y.sum(), x)
    torch.testing.assert_close(g, (y != 0).double() / 0.7)


# ----- scaled dot-product attention -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("L", "S"), [(5, 5), (3, 7), (1, 4)])
def test_attention_matches_torch(L, S, dtype, same, tol) -> None:
    torch.manual_seed(0)
    q, k, v = (
        torch.randn(2, 3, L, 8, dtype=dtype),
        torch.randn(2, 3, S, 8, dtype=dtype),
        torch.randn(2, 3, S, 6, dtype=dtype),
    )
    same(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, q, k, v, **tol(dtype))
    same(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
        q,
        k,
        v,
        **tol(dtype),
    )
    same(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, scale=0.3),
        q,
        k,
        v,
        **tol(dtype),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention_masks_match_torch_including_fully_masked_rows(dtype, same, tol) -> None:
    torch.manual_seed(0)
    q, k, v = (
        torch.randn(2, 3, 4, 8, dtype=dtype),
        torch.randn(2, 3, 6, 8, dtype=dtype),
        torch.randn(2, 3, 6, 8, dtype=dtype),
    )
    allowed = torch.rand(2, 1, 4, 6) > 0.4  # padding-style bool mask, True = may attend
    allowed[0, 0, 1] = False  # a query that may attend to nothing
    additive = torch.randn(4, 6, dtype=dtype)
    for mask in (allowed, additive):
        same(
            lambda q, k, v, m=mask: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
            lambda q, k, v, m=mask: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
            q,
            k,
            v,
            **tol(dtype),
        )
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    assert torch.equal(out[0, :, 1], torch.zeros_like(out[0, :, 1]))


def test_attention_dropout_keeps_the_expectation() -> None:
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 4, 8, dtype=torch.float64), torch.randn(1, 1, 6, 8, dtype=torch.float64)
    v = torch.randn(1, 1, 6, 8, dtype=torch.float64)
    ref = F.scaled_dot_product_attention(q, k, v)
    mean = torch.stack([F.scaled_dot_product_attention(q, k, v, dropout_p=0.3) for _ in range(4000)]).mean(0)
    torch.testing.assert_close(mean, ref, atol=0.05, rtol=0)
    assert not torch.equal(F.scaled_dot_product_attention(q, k, v, dropout_p=0.3), ref)
