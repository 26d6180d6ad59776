"""Vision Transformer.

Paper: Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", 2020, https://arxiv.org/abs/2010.11929. The Ti and S sizes come from Touvron et al.,
"Training data-efficient image transformers & distillation through attention" (DeiT), 2020,
https://arxiv.org/abs/2012.12877, and are named as in timm (``vit_tiny_patch16_224``,
``vit_small_patch16_224``).

The image is cut into P x P patches, each linearly embedded (eq. 1: a P x P convolution with stride
P), a learned class token is prepended and learned position embeddings are added; L pre-norm
encoder blocks follow (eqs. 2-3)::

    z' = z + MSA(LN(z))          z = z' + MLP(LN(z'))

and the class token, after a final LayerNorm (eq. 4), goes through a linear head.

Layout and parameter names follow torchvision's ``VisionTransformer`` (``conv_proj``,
``class_token``, ``encoder.pos_embedding``, ``encoder.layers.encoder_layer_{i}``, ``heads.head``),
so its weights load as they are. Deviations from the paper:

- The classification head is one Linear layer (the paper fine-tunes with one; its pre-training
  head has a hidden tanh layer), as in torchvision.
- LayerNorm eps is 1e-6 (the JAX reference's value), as in torchvision and timm.
- ``stochastic_depth_prob`` (default 0, as torchvision) adds DeiT's stochastic depth, rising
  linearly from 0 at the first block to the given value at the last: it helps small data sets.
- The input must be exactly ``image_size`` x ``image_size``: the position embedding is a learned
  table of ``(image_size / patch_size)**2 + 1`` vectors. Small images (28x28 Fashion-MNIST, 32x32)
  use ``image_size=28, patch_size=4`` (or 7) and ``image_size=32, patch_size=4``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.layers import DropPath, check_image_input
from archzoo.layers.transformer import Mlp, merge_heads, split_heads
from archzoo.registry import register_model

__all__ = ["ViTConfig", "VisionTransformer"]


@dataclass(frozen=True)
class ViTConfig:
    """A ViT: patch size, width (``hidden_dim``), depth (``num_layers``) and heads.

    ``image_size`` fixes the input resolution (and the length of the position embedding).
    """

    image_size: int = 224
    patch_size: int = 16
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    attention_dropout: float = 0.0
    stochastic_depth_prob: float = 0.0
    num_classes: int = 1000
    in_channels: int = 3

    def __post_init__(self) -> None:
        for name in ("image_size", "patch_size", "num_layers", "num_heads", "hidden_dim",
                     "num_classes", "in_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"ViTConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.image_size % self.patch_size:
            raise ValueError(
                f"ViTConfig.image_size={self.image_size} must be a multiple of patch_size={self.patch_size}"
            )
        if self.hidden_dim % self.num_heads:
            raise ValueError(
                f"ViTConfig.hidden_dim={self.hidden_dim} must be a multiple of num_heads={self.num_heads}"
            )
        if self.mlp_ratio <= 0:
            raise ValueError(f"ViTConfig.mlp_ratio must be > 0, got {self.mlp_ratio}")
        for name in ("dropout", "attention_dropout", "stochastic_depth_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"ViTConfig.{name} must be in [0, 1), got {getattr(self, name)}")


class SelfAttention(nn.Module):
    """Multi-head self-attention with the parameters of ``nn.MultiheadAttention``.

    (B, T, D) -> (B, T, D). ``in_proj_weight`` (3D, D) holds W_q, W_k, W_v stacked; the attention
    itself is ``F.scaled_dot_product_attention`` (fused kernel where one exists).
    """

    def __init__(self, dim: int, num_heads: int, attention_dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        # nn.MultiheadAttention's init: Xavier for the fused projection, zero biases
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = split_heads(F.linear(x, self.in_proj_weight, self.in_proj_bias), self.num_heads)
        p = self.attention_dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # (B, heads, T, head_dim)
        return self.out_proj(merge_heads(out))


class EncoderBlock(nn.Module):
    """Pre-norm transformer block (eqs. 2-3): (B, T, D) -> (B, T, D)."""

    def __init__(self, cfg: ViTConfig, drop_path: float) -> None:
        super().__init__()
        d = cfg.hidden_dim
        self.ln_1 = nn.LayerNorm(d, eps=1e-6)
        self.self_attention = SelfAttention(d, cfg.num_heads, cfg.attention_dropout)
        self.dropout = nn.Dropout(cfg.dropout)
        self.ln_2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = Mlp(d, int(d * cfg.mlp_ratio), cfg.dropout)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.dropout(self.self_attention(self.ln_1(x))))
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Encoder(nn.Module):
    """Position embedding, ``num_layers`` blocks, final LayerNorm: (B, T, D) -> (B, T, D)."""

    def __init__(self, cfg: ViTConfig, seq_length: int) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, cfg.hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(cfg.dropout)
        n = cfg.num_layers
        self.layers = nn.Sequential()
        for i in range(n):
            p = cfg.stochastic_depth_prob * i / (n - 1) if n > 1 else 0.0
            self.layers.add_module(f"encoder_layer_{i}", EncoderBlock(cfg, p))
        self.ln = nn.LayerNorm(cfg.hidden_dim, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """ViT classifier: (B, in_channels, image_size, image_size) -> (B, num_classes) logits."""

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, p = cfg.hidden_dim, cfg.patch_size
        self.conv_proj = nn.Conv2d(cfg.in_channels, d, kernel_size=p, stride=p)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.encoder = Encoder(cfg, (cfg.image_size // p) ** 2 + 1)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(d, cfg.num_classes))
        # torchvision's init: LeCun-normal patch embedding, zero head
        fan_in = cfg.in_channels * p * p
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1.0 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _check_input(self, x: Tensor) -> None:
        s = self.cfg.image_size
        check_image_input(x, self.cfg.in_channels, (s, s), "VisionTransformer")
        if x.shape[-2:] != (s, s):
            raise ValueError(
                f"VisionTransformer expects {s}x{s} images (image_size={s}), got "
                f"{x.shape[-2]}x{x.shape[-1]}; resize the images or build the model with "
                f"image_size={x.shape[-1]} and a patch_size that divides it"
            )

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, C, S, S) images -> (B, 1 + (S/P)^2, D) encoded tokens, class token first."""
        self._check_input(x)
        x = self.conv_proj(x)  # (B, D, S/P, S/P)
        x = x.flatten(2).transpose(1, 2)  # (B, T, D), patches in raster order
        cls = self.class_token.expand(x.shape[0], -1, -1)  # (B, 1, D)
        return self.encoder(torch.cat([cls, x], dim=1))  # (B, 1 + T, D)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, 1 + T, D) tokens -> (B, num_classes): the head reads the class token."""
        return self.heads(x[:, 0])

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


# ---- registered variants -------------------------------------------------------------------------

_PAPER = "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale"
_URL = "https://arxiv.org/abs/2010.11929"
_SMALL = (
    "the input must be exactly image_size x image_size; for 1x28x28 use image_size=28, patch_size=4 "
    "(or 7), in_channels=1; for 3x32x32 use image_size=32, patch_size=4 (or resize to 224 in the recipe)"
)


def _register(name: str, cfg: ViTConfig, *, params: int, reference: str, tv: str | None,
              paper: str = _PAPER, year: int = 2020, url: str = _URL, notes: str = "") -> None:
    register_model(
        name, VisionTransformer, cfg, family="vit", paper=paper, year=year, url=url,
        input_size=(3, 224, 224), min_input_size=(3, 224, 224), small_input=_SMALL, notes=notes,
        reference_params=params, reference=reference, torchvision_name=tv, tags=("transformer",),
    )


_DEIT = "Training data-efficient image transformers & distillation through attention"
_DEIT_URL = "https://arxiv.org/abs/2012.12877"
_TIMM = "timm (vit_{}_patch16_224, 1000-class head)"

_register("vit_ti_16", ViTConfig(hidden_dim=192, num_layers=12, num_heads=3), params=5_717_416,
          reference=_TIMM.format("tiny"), tv=None, paper=_DEIT, url=_DEIT_URL,
          notes="ViT-Ti/16 (DeiT-Ti): width 192, 12 layers, 3 heads")
_register("vit_s_16", ViTConfig(hidden_dim=384, num_layers=12, num_heads=6), params=22_050_664,
          reference=_TIMM.format("small"), tv=None, paper=_DEIT, url=_DEIT_URL,
          notes="ViT-S/16 (DeiT-S): width 384, 12 layers, 6 heads")
_register("vit_b_16", ViTConfig(), params=86_567_656, reference="torchvision 0.29", tv="vit_b_16",
          notes="ViT-B/16: width 768, 12 layers, 12 heads")
_register("vit_b_32", ViTConfig(patch_size=32), params=88_224_232, reference="torchvision 0.29",
          tv="vit_b_32", notes="ViT-B/32: width 768, 12 layers, 12 heads, 32x32 patches")
_register("vit_l_16", ViTConfig(hidden_dim=1024, num_layers=24, num_heads=16), params=304_326_632,
          reference="torchvision 0.29", tv="vit_l_16", notes="ViT-L/16: width 1024, 24 layers, 16 heads")
