"""Swin Transformer.

Paper: Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", 2021,
https://arxiv.org/abs/2103.14030.

A patch partition and linear embedding (a P x P convolution with stride P, then LayerNorm) turn the
image into a (H/P, W/P) grid of C-dimensional tokens. Four stages follow, each a stack of Swin
blocks; between stages a patch merging layer concatenates every 2x2 neighbourhood (4C) and
projects it to 2C, halving the resolution. A Swin block (eq. 3) is::

    z' = z + W-MSA(LN(z))        z = z' + MLP(LN(z'))

where W-MSA is self-attention inside non-overlapping M x M windows, with a learned relative
position bias B added to the logits (eq. 4): softmax(Q K^T / sqrt(d) + B) V. B is gathered from a
table of (2M - 1)^2 entries per head indexed by the relative offset of the two tokens. Every
second block shifts the windows by M/2 (SW-MSA): it rolls the map by (-M/2, -M/2) (the paper's
"cyclic shift"), so a window can hold tokens from up to four regions that were not adjacent in the
image, and an additive mask of -100 stops those regions from attending to each other.

Layout and parameter names follow torchvision's ``SwinTransformer`` (``features.0`` the patch
embedding, ``features.{1,3,5,7}`` the stages, ``features.{2,4,6}`` the patch merging layers,
``norm``, ``head``), so its weights load as they are. Deviations from the paper, all torchvision's:

- Maps whose size is not a multiple of the window are zero-padded on the bottom/right before the
  window partition (after the block's LayerNorm, so padded tokens take part in attention with
  zero input), and odd maps are padded before patch merging. The paper requires divisible sizes.
  So any input of at least ``patch_size`` x ``patch_size`` is accepted.
- When the (padded) map is no larger than the window in a direction, there is no shift in it.
- Stochastic depth rises linearly from 0 at the first block to ``stochastic_depth_prob`` at the
  last (0.2 / 0.3 / 0.5 for T / S / B, the paper's values); the patch-merging channel order is
  torchvision's (x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]).

Small inputs: ``patch_size=2`` keeps a 28x28 or 32x32 image at 14x14 / 16x16 tokens after the
embedding; ``window_size=7`` (28x28: maps 14, 7, 4, 2) or ``window_size=4`` (32x32: maps 16, 8, 4,
2) keeps most maps a whole number of windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.layers import DropPath, check_image_input
from archzoo.layers.transformer import Mlp, Permute, merge_heads, split_heads
from archzoo.registry import register_model

__all__ = ["SwinConfig", "SwinTransformer"]

_MASKED = -100.0  # logit added between tokens of different shifted regions (the reference's value)


@dataclass(frozen=True)
class SwinConfig:
    """A Swin Transformer: embedding width, blocks and heads per stage, patch and window size."""

    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (3, 6, 12, 24)
    patch_size: int = 4
    window_size: int = 7
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    attention_dropout: float = 0.0
    stochastic_depth_prob: float = 0.2
    num_classes: int = 1000
    in_channels: int = 3

    def __post_init__(self) -> None:
        for name in ("embed_dim", "patch_size", "window_size", "num_classes", "in_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"SwinConfig.{name} must be >= 1, got {getattr(self, name)}")
        if len(self.depths) == 0 or len(self.depths) != len(self.num_heads):
            raise ValueError(
                f"SwinConfig.depths {self.depths} and num_heads {self.num_heads} need one entry per stage"
            )
        if min(self.depths) < 1:
            raise ValueError(f"SwinConfig.depths must all be >= 1, got {self.depths}")
        for i, heads in enumerate(self.num_heads):
            dim = self.embed_dim * 2**i
            if heads < 1 or dim % heads:
                raise ValueError(
                    f"SwinConfig.num_heads[{i}]={heads} must divide the stage width {dim} (embed_dim * 2**{i})"
                )
        if self.mlp_ratio <= 0:
            raise ValueError(f"SwinConfig.mlp_ratio must be > 0, got {self.mlp_ratio}")
        for name in ("dropout", "attention_dropout", "stochastic_depth_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"SwinConfig.{name} must be in [0, 1), got {getattr(self, name)}")


def window_partition(x: Tensor, m: int) -> Tensor:
    """(B, H, W, C) with H, W multiples of m -> (B * nW, m * m, C), windows in raster order."""
    b, h, w, c = x.shape
    x = x.view(b, h // m, m, w // m, m, c)  # (B, H/m, m, W/m, m, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, m * m, c)  # (B * nW, m*m, C)


def window_reverse(x: Tensor, m: int, b: int, h: int, w: int) -> Tensor:
    """(B * nW, m * m, C) -> (B, H, W, C), the inverse of ``window_partition``."""
    c = x.shape[-1]
    x = x.view(b, h // m, w // m, m, m, c)  # (B, H/m, W/m, m, m, C)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)  # (B, H, W, C)


def _regions(size: int, m: int, shift: int, device: torch.device) -> Tensor:
    """Region id (0, 1, 2) of each row (or column) after a cyclic shift by ``shift``.

    Rolling by -shift brings the last ``shift`` rows to the bottom: they form region 2, the rows
    from ``size - m`` up to them region 1, the rest region 0. Without a shift all rows are one region.
    """
    ids = torch.zeros(size, dtype=torch.long, device=device)
    if shift > 0:
        ids[size - m:size - shift] = 1
        ids[size - shift:] = 2
    return ids


def shift_mask(h: int, w: int, m: int, shift: tuple[int, int], device: torch.device) -> Tensor:
    """(nW, m*m, m*m) additive mask: 0 between tokens of the same region, -100 otherwise."""
    ids = _regions(h, m, shift[0], device)[:, None] * 3 + _regions(w, m, shift[1], device)[None, :]
    ids = window_partition(ids[None, :, :, None], m).squeeze(-1)  # (nW, m*m)
    same = ids[:, :, None] == ids[:, None, :]  # (nW, m*m, m*m)
    return torch.zeros(same.shape, device=device).masked_fill_(~same, _MASKED)


class ShiftedWindowAttention(nn.Module):
    """(S)W-MSA with relative position bias: (B, H, W, C) -> (B, H, W, C).

    The attention is written out (Q K^T + mask, softmax, times V) with the relative position bias
    and the shift mask folded into one additive mask of shape (nW, heads, N, N): for 49-token
    windows this beats ``F.scaled_dot_product_attention`` with a mask on CPU.
    """

    def __init__(self, dim: int, num_heads: int, window_size: int, shift: int,
                 attention_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        m = window_size
        self.window_size, self.shift, self.num_heads = m, shift, num_heads
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * m - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # offset (dy, dx) in [-(m-1), m-1]^2 of every token pair, flattened to a row of the table
        coords = torch.stack(torch.meshgrid(torch.arange(m), torch.arange(m), indexing="ij")).flatten(1)
        rel = coords[:, :, None] - coords[:, None, :] + (m - 1)  # (2, N, N), entries in [0, 2m-2]
        self.register_buffer("relative_position_index", (rel[0] * (2 * m - 1) + rel[1]).flatten())

    def relative_position_bias(self) -> Tensor:
        """B of eq. 4: (heads, N, N) with N = window_size**2."""
        n = self.window_size**2
        bias = self.relative_position_bias_table[self.relative_position_index]  # (N*N, heads)
        return bias.view(n, n, -1).permute(2, 0, 1)  # (heads, N, N)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, _ = x.shape
        m = self.window_size
        pad_b, pad_r = (m - h % m) % m, (m - w % m) % m
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = h + pad_b, w + pad_r
        shift = (self.shift if hp > m else 0, self.shift if wp > m else 0)
        if any(shift):
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))  # cyclic shift
        windows = window_partition(x, m)  # (B * nW, N, C)
        bw, n, _ = windows.shape
        q, k, v = split_heads(self.qkv(windows), self.num_heads)  # each (B * nW, heads, N, d)
        mask = self.relative_position_bias()[None]  # (1, heads, N, N)
        if any(shift):
            mask = mask + shift_mask(hp, wp, m, shift, x.device)[:, None]  # (nW, heads, N, N)
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)  # (B * nW, heads, N, N)
        attn = attn.view(b, -1, self.num_heads, n, n) + mask  # (B, nW, heads, N, N)
        attn = attn.view(bw, self.num_heads, n, n).softmax(dim=-1)
        attn = F.dropout(attn, self.attention_dropout, self.training)
        out = self.proj(merge_heads(attn @ v))  # (B * nW, N, C)
        out = F.dropout(out, self.dropout, self.training)
        x = window_reverse(out, m, b, hp, wp)  # (B, Hp, Wp, C)
        if any(shift):
            x = torch.roll(x, shifts=shift, dims=(1, 2))  # undo the cyclic shift
        return x[:, :h, :w, :]

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}, shift={self.shift}, num_heads={self.num_heads}"


class SwinBlock(nn.Module):
    """One Swin block (eq. 3): (B, H, W, C) -> (B, H, W, C)."""

    def __init__(self, cfg: SwinConfig, dim: int, num_heads: int, shift: int, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, num_heads, cfg.window_size, shift,
                                           cfg.attention_dropout, cfg.dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * cfg.mlp_ratio), cfg.dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
    """(B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 2C): concatenate each 2x2 patch, LayerNorm, project."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        h2, w2 = (h + 1) // 2, (w + 1) // 2
        x = x.view(b, h2, 2, w2, 2, c)  # (B, H/2, dy, W/2, dx, C)
        # channel blocks ordered (dy, dx) = (0,0), (1,0), (0,1), (1,1): dy varies fastest
        x = x.permute(0, 1, 3, 4, 2, 5).reshape(b, h2, w2, 4 * c)  # (B, H/2, W/2, 4C)
        return self.reduction(self.norm(x))


class SwinTransformer(nn.Module):
    """Swin classifier: (B, in_channels, H, W) -> (B, num_classes) logits, any H, W >= patch_size."""

    def __init__(self, cfg: SwinConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c, p = cfg.embed_dim, cfg.patch_size
        layers: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(cfg.in_channels, c, kernel_size=p, stride=p), Permute(0, 2, 3, 1),
                          nn.LayerNorm(c))
        ]
        total, k = sum(cfg.depths), 0
        for i, (depth, heads) in enumerate(zip(cfg.depths, cfg.num_heads, strict=True)):
            dim = c * 2**i
            blocks = []
            for j in range(depth):
                p_drop = cfg.stochastic_depth_prob * k / (total - 1) if total > 1 else 0.0
                shift = 0 if j % 2 == 0 else cfg.window_size // 2
                blocks.append(SwinBlock(cfg, dim, heads, shift, p_drop))
                k += 1
            layers.append(nn.Sequential(*blocks))
            if i < len(cfg.depths) - 1:
                layers.append(PatchMerging(dim))
        self.features = nn.Sequential(*layers)
        self.num_features = c * 2 ** (len(cfg.depths) - 1)
        self.norm = nn.LayerNorm(self.num_features)
        self.head = nn.Linear(self.num_features, cfg.num_classes)
        for mod in self.modules():  # torchvision's init: every Linear (MLPs included) ~ TN(0, 0.02)
            if isinstance(mod, nn.Linear):
                nn.init.trunc_normal_(mod.weight, std=0.02)
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) images -> (B, H/P/2^(S-1), W/P/2^(S-1), num_features) normalised tokens."""
        p = self.cfg.patch_size
        check_image_input(x, self.cfg.in_channels, (p, p), "SwinTransformer")
        return self.norm(self.features(x))

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, h, w, num_features) -> (B, num_classes): global average pool, then Linear."""
        return self.head(x.mean(dim=(1, 2)))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


# ---- registered variants -------------------------------------------------------------------------

_SMALL = (
    "accepts any input of at least patch_size x patch_size (maps are padded to whole windows); "
    "for 1x28x28 use patch_size=2, window_size=7, in_channels=1 (maps 14, 7, 4, 2); for 3x32x32 use "
    "patch_size=2, window_size=4 (maps 16, 8, 4, 2)"
)


def _register(name: str, cfg: SwinConfig, params: int, notes: str) -> None:
    register_model(
        name, SwinTransformer, cfg, family="swin",
        paper="Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", year=2021,
        url="https://arxiv.org/abs/2103.14030", input_size=(3, 224, 224), min_input_size=(3, 4, 4),
        small_input=_SMALL, notes=notes, reference_params=params, reference="torchvision 0.29",
        torchvision_name=name, tags=("transformer",),
    )


_register("swin_t", SwinConfig(), 28_288_354, "Swin-T: C=96, depths 2-2-6-2, window 7")
_register("swin_s", SwinConfig(depths=(2, 2, 18, 2), stochastic_depth_prob=0.3), 49_606_258,
          "Swin-S: C=96, depths 2-2-18-2, window 7")
_register("swin_b", SwinConfig(embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
                               stochastic_depth_prob=0.5), 87_768_224,
          "Swin-B: C=128, depths 2-2-18-2, window 7")
