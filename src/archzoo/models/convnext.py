"""ConvNeXt: a ResNet modernised step by step towards the design of a vision Transformer.

Paper: Zhuang Liu, Hanzi Mao, Chao-Yuan Wu, Christoph Feichtenhofer, Trevor Darrell, Saining Xie,
"A ConvNet for the 2020s", CVPR 2022. https://arxiv.org/abs/2201.03545

The network (section 2, Figure 2) is a "patchify" stem (4x4 convolution, stride 4, then LayerNorm),
four stages of ConvNeXt blocks separated by downsampling layers (LayerNorm, then 2x2 convolution,
stride 2), global average pooling, LayerNorm and a linear classifier. A block is::

    x -> depthwise 7x7 conv -> LayerNorm -> Linear(C, 4C) -> GELU -> Linear(4C, C) -> * gamma -> + x

an inverted bottleneck with one normalisation and one activation, the large depthwise kernel doing
the spatial mixing that self-attention does in Swin. ``gamma`` is a per-channel "layer scale"
(Touvron et al. 2021, CaiT) initialised to 1e-6, so each block starts close to the identity.

Variants (section 3): T (3, 3, 9, 3) x (96, 192, 384, 768); S (3, 3, 27, 3) x the same widths;
B (3, 3, 27, 3) x (128, 256, 512, 1024); L (3, 3, 27, 3) x (192, 384, 768, 1536).

Choices (torchvision's, so its weights load without renaming):
- The LayerNorms inside a block run on a channels-last view (``block.1`` and ``block.6`` permute);
  the stem, downsampling and head LayerNorms normalise over the channels of a (B, C, H, W) map
  (``archzoo.layers.norm.LayerNorm2d``). eps = 1e-6 everywhere.
- Stochastic depth grows linearly over the blocks from 0 to 0.1 (T), 0.4 (S), 0.5 (B, L): block i of
  N drops with p * i / (N - 1). Weights start as truncated normals with std 0.02, biases at zero.
- ``small_input=True`` (not in the paper) replaces the 4x4/4 stem by a 2x2/2 one, for 28x28 and
  32x32 images: total stride 16 instead of 32, smallest input 16x16 instead of 32x32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.layers import DropPath, check_image_input
from archzoo.layers.norm import LayerNorm2d
from archzoo.registry import register_model

__all__ = ["ConvNeXt", "ConvNeXtBlock", "ConvNeXtConfig"]


@dataclass(frozen=True)
class ConvNeXtConfig:
    """A ConvNeXt: blocks per stage (``depths``) and channels per stage (``dims``)."""

    depths: tuple[int, ...] = (3, 3, 9, 3)
    dims: tuple[int, ...] = (96, 192, 384, 768)
    layer_scale: float = 1e-6
    stochastic_depth_prob: float = 0.1  # of the last block; block i of N gets p * i / (N - 1)
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False  # 2x2/2 stem instead of 4x4/4, for 28x28 / 32x32 images

    def __post_init__(self) -> None:
        if not self.depths or len(self.depths) != len(self.dims):
            raise ValueError(f"depths and dims need one entry per stage, got {self.depths}, {self.dims}")
        for name in ("depths", "dims"):
            if any(v < 1 for v in getattr(self, name)):
                raise ValueError(f"{name} must all be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.stochastic_depth_prob < 1.0:
            raise ValueError(f"stochastic_depth_prob must be in [0, 1), got {self.stochastic_depth_prob}")
        if self.layer_scale <= 0:
            raise ValueError(f"layer_scale must be > 0, got {self.layer_scale}")
        for name in ("num_classes", "in_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class Permute(nn.Module):
    """Reorder dimensions (a module so that the block stays one Sequential, as torchvision's)."""

    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(*self.dims)


class ConvNeXtBlock(nn.Module):
    """(B, C, H, W) -> (B, C, H, W): x + drop_path(gamma * pwconv2(gelu(pwconv1(norm(dwconv(x))))))."""

    def __init__(self, dim: int, layer_scale: float, drop_path: float) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim),
            Permute(0, 2, 3, 1),  # (B, H, W, C): LayerNorm and the pointwise layers act on C
            nn.LayerNorm(dim, eps=1e-6),
            nn.Linear(dim, 4 * dim),
            nn.GELU(),
            nn.Linear(4 * dim, dim),
            Permute(0, 3, 1, 2),  # (B, C, H, W)
        )
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), layer_scale))
        self.stochastic_depth = DropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.stochastic_depth(self.layer_scale * self.block(x))


class ConvNeXt(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= ``self.min_hw``.

    ``features`` alternates stages and downsampling layers as torchvision: ``features.0`` stem,
    ``features.1`` stage 1, ``features.2`` downsampling, ``features.3`` stage 2, ... ``features.7``
    stage 4. ``classifier`` is LayerNorm2d (``.0``), flatten, linear (``.2``).
    """

    def __init__(self, cfg: ConvNeXtConfig) -> None:
        super().__init__()
        self.cfg = cfg
        patch = 2 if cfg.small_input else 4
        self.min_hw = patch * 2 ** (len(cfg.dims) - 1)  # unpadded stride-2 convs need >= 2 pixels
        stem = nn.Conv2d(cfg.in_channels, cfg.dims[0], patch, stride=patch)  # "patchify": no overlap
        layers: list[nn.Module] = [nn.Sequential(stem, LayerNorm2d(cfg.dims[0]))]
        total, block_id = sum(cfg.depths), 0
        for i, (depth, dim) in enumerate(zip(cfg.depths, cfg.dims, strict=True)):
            stage = []
            for _ in range(depth):
                p = cfg.stochastic_depth_prob * block_id / max(total - 1, 1)
                stage.append(ConvNeXtBlock(dim, cfg.layer_scale, p))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i + 1 < len(cfg.dims):
                layers.append(nn.Sequential(LayerNorm2d(dim), nn.Conv2d(dim, cfg.dims[i + 1], 2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.num_features = cfg.dims[-1]
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            LayerNorm2d(self.num_features), nn.Flatten(1), nn.Linear(self.num_features, cfg.num_classes)
        )
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, dims[-1], H / 32, W / 32) (H / 16 with ``small_input``)."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, dims[-1], h, w) -> (B, num_classes)."""
        return self.classifier(self.avgpool(x))  # pooled (B, C, 1, 1), normalised, flattened

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_hw, self.min_hw), "ConvNeXt")
        return self.forward_head(self.forward_features(x))


_PAPER, _URL = "A ConvNet for the 2020s", "https://arxiv.org/abs/2201.03545"
_SMALL = ("small_input=True replaces the 4x4 stride-4 stem by a 2x2 stride-2 one (total stride 16), for "
          "1x28x28 and 3x32x32 images; the default config needs at least 32x32.")

# name: (depths, dims, stochastic depth, torchvision's parameter count at 1000 classes)
VARIANTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], float, int]] = {
    "convnext_tiny": ((3, 3, 9, 3), (96, 192, 384, 768), 0.1, 28_589_128),
    "convnext_small": ((3, 3, 27, 3), (96, 192, 384, 768), 0.4, 50_223_688),
    "convnext_base": ((3, 3, 27, 3), (128, 256, 512, 1024), 0.5, 88_591_464),
    "convnext_large": ((3, 3, 27, 3), (192, 384, 768, 1536), 0.5, 197_767_336),
}
for _name, (_depths, _dims, _sd, _params) in VARIANTS.items():
    register_model(
        _name, ConvNeXt, ConvNeXtConfig(depths=_depths, dims=_dims, stochastic_depth_prob=_sd),
        family="convnext", paper=_PAPER, year=2022, url=_URL,
        input_size=(3, 224, 224), min_input_size=(3, 32, 32),
        notes=f"depths {_depths}, widths {_dims}, layer scale 1e-6, stochastic depth {_sd}",
        small_input=_SMALL, reference_params=_params, reference="torchvision 0.29",
        torchvision_name=_name, tags=("cnn", "imagenet"),
    )
