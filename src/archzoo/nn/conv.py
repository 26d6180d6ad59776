"""Convolution as im2col + matmul, transposed convolution as matmul + col2im, and pooling.

A 2-D convolution slides a (C_in/groups, k_h, k_w) filter over the input. Unfolding every receptive
field into a column ("im2col") turns the whole convolution into one matrix product:

    cols[b, (c, i, j), (y, x)] = x_pad[b, c, y s_h + i d_h, x s_w + j d_w]
    out[b, o, (y, x)]          = sum_{(c, i, j)} W[o, (c, i, j)] cols[b, (c, i, j), (y, x)] + bias[o]

with output size H_out = floor((H + 2 p_h - d_h (k_h - 1) - 1) / s_h) + 1 (same for W).
Groups split channels into G independent convolutions; groups = C_in is the depthwise convolution
of depthwise-separable blocks (MobileNet), followed there by a 1x1 pointwise convolution.

The transposed convolution is the adjoint (the gradient w.r.t. the input) of that map: a matmul
W^T x gives the columns, and "col2im" adds each column back into the window it came from.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["avg_pool2d", "conv2d", "conv_transpose2d", "max_pool2d", "unfold_patches"]

IntPair = int | tuple[int, int]


def _pair(v: IntPair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def unfold_patches(
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    pad_value: float = 0.0,
) -> Tensor:
    """im2col: every receptive field of x (B, C, H, W) as (B, C, k_h, k_w, H_out, W_out).

    patches[b, c, i, j, y, x] = x_pad[b, c, y s_h + i d_h, x s_w + j d_w]; one strided slice per
    kernel offset (i, j), so the loop runs k_h k_w times, never over pixels.
    """
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _pair(kernel_size), _pair(stride), _pair(padding), _pair(dilation)
    H, W = x.shape[-2:]
    Ho, Wo = _out_size(H, kh, sh, ph, dh), _out_size(W, kw, sw, pw, dw)
    if Ho <= 0 or Wo <= 0:
        raise ValueError(f"input {H}x{W} is too small for kernel {kh}x{kw} (dilation {dh},{dw}, padding {ph},{pw})")
    if ph or pw:
        x = torch.nn.functional.pad(x, (pw, pw, ph, ph), value=pad_value)
    rows = []
    for i in range(kh):
        cols = []
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            cols.append(x[:, :, y0 : y0 + sh * (Ho - 1) + 1 : sh, x0 : x0 + sw * (Wo - 1) + 1 : sw])  # (B, C, Ho, Wo)
        rows.append(torch.stack(cols, dim=2))  # (B, C, kw, Ho, Wo)
    return torch.stack(rows, dim=2)  # (B, C, kh, kw, Ho, Wo)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in every DL library) by im2col + one batched matmul.

    x (B, C_in, H, W), weight (C_out, C_in/groups, k_h, k_w), bias (C_out,) -> (B, C_out, H_out, W_out).
    out[b, o] = bias[o] + sum_{c, i, j} W[o, c, i, j] x_pad[b, g(o) C_in/G + c, y s + i d, x s + j d].
    """
    B, C = x.shape[:2]
    O, Cg, kh, kw = weight.shape
    if Cg * groups != C or O % groups:
        raise ValueError(f"conv2d: input has {C} channels, weight {tuple(weight.shape)} with groups={groups}")
    patches = unfold_patches(x, (kh, kw), stride, padding, dilation)  # (B, C, kh, kw, Ho, Wo)
    Ho, Wo = patches.shape[-2:]
    cols = patches.reshape(B, groups, Cg * kh * kw, Ho * Wo)  # (B, G, Cg*kh*kw, L)
    w = weight.reshape(groups, O // groups, Cg * kh * kw)  # (G, O/G, Cg*kh*kw)
    out = torch.matmul(w, cols)  # (B, G, O/G, L)
    out = out.reshape(B, O, Ho, Wo)  # (B, C_out, H_out, W_out)
    if bias is not None:
        out = out + bias.reshape(1, O, 1, 1)
    return out


def conv_transpose2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    groups: int = 1,
    dilation: IntPair = 1,
) -> Tensor:
    """Transposed ("fractionally strided") convolution: the adjoint of conv2d, by matmul + col2im.

    x (B, C_in, H, W), weight (C_in, C_out/groups, k_h, k_w) -> (B, C_out, H_out, W_out) with
    H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1. Each input pixel scatters
    W[c, :, i, j] x[b, c, y, x] into output position (y s + i d - p, x s + j d - p).
    """
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    B, C, H, W = x.shape
    Cw, Og, kh, kw = weight.shape
    if Cw != C or C % groups:
        raise ValueError(f"conv_transpose2d: input has {C} channels, weight {tuple(weight.shape)}, groups={groups}")
    Cg = C // groups
    w = weight.reshape(groups, Cg, Og * kh * kw).transpose(1, 2)  # (G, Og*kh*kw, Cg)
    cols = torch.matmul(w, x.reshape(B, groups, Cg, H * W))  # (B, G, Og*kh*kw, H*W)
    cols = cols.reshape(B, groups * Og, kh, kw, H, W)  # (B, C_out, kh, kw, H, W)
    Hf = (H - 1) * sh + dh * (kh - 1) + 1 + oph  # the output before cropping the padding
    Wf = (W - 1) * sw + dw * (kw - 1) + 1 + opw
    out = x.new_zeros(B, groups * Og, Hf, Wf)
    for i in range(kh):  # col2im: add each kernel offset's column back into its strided window
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            out[:, :, y0 : y0 + sh * (H - 1) + 1 : sh, x0 : x0 + sw * (W - 1) + 1 : sw] += cols[:, :, i, j]
    out = out[:, :, ph : Hf - ph, pw : Wf - pw]
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out


def avg_pool2d(
    x: Tensor,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    count_include_pad: bool = True,
) -> Tensor:
    """Average pooling: out[b, c, y, x] = (1/n) sum of the k_h x k_w window (stride defaults to k).

    n = k_h k_w when padding counts (torch's default), else the number of real pixels in the window.
    """
    stride = kernel_size if stride is None else stride
    patches = unfold_patches(x, kernel_size, stride, padding)  # (B, C, kh, kw, Ho, Wo)
    total = patches.sum(dim=(2, 3))  # (B, C, Ho, Wo)
    if count_include_pad:
        kh, kw = _pair(kernel_size)
        return total / (kh * kw)
    ones = torch.ones(1, 1, *x.shape[2:], dtype=x.dtype, device=x.device)
    count = unfold_patches(ones, kernel_size, stride, padding).sum(dim=(2, 3))  # (1, 1, Ho, Wo)
    return total / count


def max_pool2d(
    x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0, dilation: IntPair = 1
) -> Tensor:
    """Max pooling: out[b, c, y, x] = max of the window; the gradient goes to the arg max only.

    Padding is -inf, so a padded pixel never wins.
    """
    stride = kernel_size if stride is None else stride
    patches = unfold_patches(x, kernel_size, stride, padding, dilation, pad_value=float("-inf"))
    B, C, kh, kw, Ho, Wo = patches.shape
    return patches.reshape(B, C, kh * kw, Ho, Wo).max(dim=2).values  # (B, C, Ho, Wo)
