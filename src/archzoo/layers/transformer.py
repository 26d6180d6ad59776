"""Blocks shared by the vision transformers (ViT and Swin).

``Mlp`` is the position-wise feed-forward network of "Attention Is All You Need" (Vaswani et al.
2017, eq. 2) with the GELU of BERT/ViT: Linear -> GELU -> Dropout -> Linear -> Dropout. Its
children are numbered ``0``..``4`` like torchvision's ``ops.MLP``, so torchvision's state dicts
(``mlp.0.weight``, ``mlp.3.weight``) load without renaming.

``split_heads`` / ``merge_heads`` cut a fused query-key-value projection into heads and put the
heads back together: the reshapes of multi-head attention, written once.
"""

from __future__ import annotations

from torch import Tensor, nn


class Mlp(nn.Sequential):
    """x (..., dim) -> (..., dim): Linear(dim, hidden) -> GELU -> Dropout -> Linear(hidden, dim) -> Dropout.

    Initialised as torchvision's transformer MLPs: Xavier-uniform weights, biases ~ N(0, 1e-6).
    """

    def __init__(self, dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__(
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


class Permute(nn.Module):
    """``x.permute(*dims)`` as a module (e.g. (B, C, H, W) -> (B, H, W, C) between a conv and a LayerNorm)."""

    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


def split_heads(qkv: Tensor, num_heads: int) -> tuple[Tensor, Tensor, Tensor]:
    """(B, T, 3 * D) fused projections -> q, k, v, each (B, heads, T, D // heads).

    The last dimension is laid out [q | k | v], each part [head 0 | head 1 | ...], the layout of
    ``nn.MultiheadAttention.in_proj_weight`` and of Swin's ``qkv`` Linear.
    """
    b, t, three_d = qkv.shape
    head_dim = three_d // (3 * num_heads)
    qkv = qkv.view(b, t, 3, num_heads, head_dim)  # (B, T, 3, heads, head_dim)
    qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, heads, T, head_dim)
    return qkv[0], qkv[1], qkv[2]


def merge_heads(x: Tensor) -> Tensor:
    """(B, heads, T, head_dim) -> (B, T, heads * head_dim), the inverse of one part of ``split_heads``."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)  # (B, T, D)
