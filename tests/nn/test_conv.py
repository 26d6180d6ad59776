"""Convolution by im2col + matmul, transposed convolution and pooling against torch.nn.functional."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

from archzoo.nn import functional as F

DTYPES = [torch.float64, torch.float32]

# (B, C_in, H, W, C_out, kernel, stride, padding, dilation, groups)
CONVS = [
    (2, 3, 8, 8, 4, 3, 1, 0, 1, 1),
    (2, 3, 9, 7, 6, (3, 2), (2, 1), (1, 0), 1, 3),
    (1, 4, 10, 10, 8, 3, 2, 2, 2, 2),
    (2, 6, 7, 7, 6, 3, 1, 1, 1, 6),  # depthwise: groups = C_in
    (3, 5, 6, 6, 7, 1, 1, 0, 1, 1),  # pointwise 1x1
    (0, 3, 5, 5, 2, 3, 1, 1, 1, 1),  # an empty batch
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONVS)
def test_conv2d_matches_torch(case, dtype, same, tol) -> None:
    B, C, H, W, O, k, s, p, d, g = case
    kh, kw = (k, k) if isinstance(k, int) else k
    torch.manual_seed(0)
    x = torch.randn(B, C, H, W, dtype=dtype)
    w = torch.randn(O, C // g, kh, kw, dtype=dtype)
    b = torch.randn(O, dtype=dtype)
    same(
        lambda x, w, b: F.conv2d(x, w, b, s, p, d, g),
        lambda x, w, b: TF.conv2d(x, w, b, s, p, d, g),
        x,
        w,
        b,
        **tol(dtype),
    )
    same(
        lambda x, w: F.conv2d(x, w, None, s, p, d, g),
        lambda x, w: TF.conv2d(x, w, None, s, p, d, g),
        x,
        w,
        **tol(dtype),
    )


def test_depthwise_separable_is_depthwise_then_pointwise(same) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    dw, pw = torch.randn(4, 1, 3, 3, dtype=torch.float64), torch.randn(8, 4, 1, 1, dtype=torch.float64)
    ours = F.conv2d(F.conv2d(x, dw, padding=1, groups=4), pw)
    # the depthwise step convolves each channel with its own filter, independently
    per_channel = torch.cat([TF.conv2d(x[:, c : c + 1], dw[c : c + 1], padding=1) for c in range(4)], dim=1)
    torch.testing.assert_close(ours, TF.conv2d(per_channel, pw), atol=1e-12, rtol=0)


def test_conv2d_names_the_mismatch() -> None:
    with pytest.raises(ValueError, match="3 channels"):
        F.conv2d(torch.randn(1, 3, 5, 5), torch.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="too small"):
        F.conv2d(torch.randn(1, 3, 2, 2), torch.randn(4, 3, 3, 3))


# (B, C_in, H, W, C_out/groups, kernel, stride, padding, output_padding, groups, dilation)
TRANSPOSED = [
    (2, 4, 5, 5, 3, 3, 1, 0, 0, 1, 1),
    (2, 4, 5, 6, 3, 3, 2, 1, 1, 1, 1),
    (1, 6, 4, 4, 2, (4, 3), (2, 3), (1, 0), (0, 2), 2, 1),
    (2, 3, 4, 4, 2, 3, 2, 1, 0, 1, 2),
    (2, 64, 1, 1, 32, 4, 1, 0, 0, 1, 1),  # a DCGAN generator's first layer: 1x1 -> 4x4
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", TRANSPOSED)
def test_conv_transpose2d_matches_torch(case, dtype, same, tol) -> None:
    B, C, H, W, Og, k, s, p, op, g, d = case
    kh, kw = (k, k) if isinstance(k, int) else k
    torch.manual_seed(0)
    x = torch.randn(B, C, H, W, dtype=dtype)
    w = torch.randn(C, Og, kh, kw, dtype=dtype)
    b = torch.randn(Og * g, dtype=dtype)
    same(
        lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, g, d),
        lambda x, w, b: TF.conv_transpose2d(x, w, b, s, p, op, g, d),
        x,
        w,
        b,
        **tol(dtype),
    )


def test_conv_transpose2d_is_the_adjoint_of_conv2d() -> None:
    """<conv(x), y> = <x, conv^T(y)> for the same weight: the transposed convolution's definition."""
    torch.manual_seed(0)
    x, w = torch.randn(2, 3, 9, 9, dtype=torch.float64), torch.randn(5, 3, 3, 3, dtype=torch.float64)
    y = torch.randn(2, 5, 5, 5, dtype=torch.float64)  # conv output: (9 + 2 - 3) // 2 + 1 = 5
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=0)).sum()
    torch.testing.assert_close(lhs, rhs, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("k", "s", "p"), [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0)), (3, 1, 1)])
def test_pooling_matches_torch(k, s, p, dtype, same, tol) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 7, dtype=dtype)
    same(lambda x: F.avg_pool2d(x, k, s, p), lambda x: TF.avg_pool2d(x, k, s, p), x, **tol(dtype))
    same(
        lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=False),
        lambda x: TF.avg_pool2d(x, k, s, p, count_include_pad=False),
        x,
        **tol(dtype),
    )
    same(lambda x: F.max_pool2d(x, k, s, p), lambda x: TF.max_pool2d(x, k, s, p), x, **tol(dtype))


def test_max_pool_with_dilation_and_negative_inputs(same) -> None:
    torch.manual_seed(0)
    x = -torch.rand(2, 2, 9, 9, dtype=torch.float64) - 1  # all negative: zero padding would win, -inf never
    same(lambda x: F.max_pool2d(x, 3, 2, 1, 2), lambda x: TF.max_pool2d(x, 3, 2, 1, 2), x, atol=1e-12)
