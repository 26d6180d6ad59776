"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth") and a faster dropout
for the CPU.

``Dropout`` is ``nn.Dropout`` (same module, same state, same CUDA kernel) whose CPU mask is drawn as
16-bit random integers, four per 64-bit draw, and compared with a threshold: on CPU PyTorch's
``bernoulli_`` draws one random number per element, and in a Transformer's training step on two
cores it took a fifth of the time. The drop probability is rounded to a multiple of 1/65,536
(0.1 becomes 0.10000610). ``attention_with_dropout`` is ``F.scaled_dot_product_attention`` that,
when it must drop attention weights on the CPU, writes softmax(QK^T / sqrt(d) + mask) out and drops
them with that mask (the fused CPU kernel draws with ``bernoulli_`` too).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_LEVELS = 1 << 16


def dropout_mask(shape: tuple[int, ...] | torch.Size, p: float, device: torch.device | str = "cpu") -> Tensor:
    """A bool tensor of ``shape``, each element True (kept) with probability 1 - round(p * 65536) / 65536,
    drawn from torch's default generator (``torch.manual_seed`` makes it repeat)."""
    n = math.prod(shape)
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_(-(1 << 63), None)  # all 64 bits
    return words.view(torch.int16)[:n].view(shape) >= round(p * _LEVELS) - _LEVELS // 2


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """``F.dropout(x, p, training)``; on the CPU with the mask of ``dropout_mask``."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    return x * dropout_mask(x.shape, p) * (1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    """``nn.Dropout`` with ``dropout``'s cheaper CPU mask (the module's ``inplace`` is not honoured on CPU)."""

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)


def attention_with_dropout(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None = None,
                           dropout_p: float = 0.0, is_causal: bool = False) -> Tensor:
    """``F.scaled_dot_product_attention`` (bool ``attn_mask``: True attends); with ``dropout_p`` > 0 on the
    CPU, the weights are written out and dropped with ``dropout``."""
    if dropout_p == 0.0 or q.device.type != "cpu":
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if is_causal:
        t, s = scores.shape[-2:]
        attn_mask = torch.ones(t, s, dtype=torch.bool, device=q.device).tril()
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    return dropout(scores.softmax(-1), dropout_p) @ v


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero whole samples of a residual branch with probability ``p``; scale survivors by 1/(1-p)."""
    if p == 0.0 or not training:
        return x
    keep = 1.0 - p
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)  # one decision per sample
    mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
    return x * mask / keep


class DropPath(nn.Module):
    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop path probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
