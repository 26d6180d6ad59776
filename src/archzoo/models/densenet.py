"""DenseNet-BC: every layer reads the concatenated maps of all layers before it in its block.

Paper: G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017 (arXiv 2016). https://arxiv.org/abs/1608.06993

Inside a dense block, layer l computes x_l = H_l([x_0, x_1, ..., x_{l-1}]) and adds k (the growth
rate) channels to the running concatenation. With bottleneck layers ("B", section 3) H_l is
BN-ReLU-Conv1x1 (4k channels) then BN-ReLU-Conv3x3 (k channels). Between blocks a transition
layer (BN-ReLU-Conv1x1, 2x2 average pool) keeps floor(theta * m) of its m channels, with
compression theta = 0.5 ("C"). The ImageNet networks (Table 1) start with a 7x7 stride-2
convolution with 2k channels and a 3x3 stride-2 max-pool, use four blocks, and end with BN-ReLU,
global average pooling and one linear layer:

    densenet121: k=32, blocks (6, 12, 24, 16)     densenet169: k=32, blocks (6, 12, 32, 32)
    densenet201: k=32, blocks (6, 12, 48, 32)     densenet161: k=48, blocks (6, 12, 36, 24)

Names and initialisation follow torchvision's ``densenet*`` (``features.denseblock1.denselayer1.
conv1``, ...), so its weights load as they are; as there, the stem of densenet161 has 96 = 2k
channels, convolutions are Kaiming normal (fan-in), batch norms start at weight 1 and bias 0, the
classifier bias at 0. Dropout after each layer (``drop_rate``) is off, as in the paper's ImageNet
runs.

Small inputs (``small_input=True``): the stem becomes a 3x3 stride-1 convolution without the
max-pool, so 28-32 pixel images enter the first block at full resolution (smallest input 8x8).
The default network needs 29x29 (7x7/2 convolution, max-pool, three 2x2 average pools).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.registry import register_model


@dataclass(frozen=True)
class DenseNetConfig:
    """``growth_rate`` k; ``block_config[i]`` layers in block i; ``bn_size * k`` bottleneck channels."""

    growth_rate: int = 32
    block_config: tuple[int, ...] = (6, 12, 24, 16)
    num_init_features: int = 64
    bn_size: int = 4
    compression: float = 0.5
    drop_rate: float = 0.0
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False

    def __post_init__(self) -> None:
        if self.growth_rate < 1 or self.num_init_features < 1 or self.bn_size < 1:
            raise ValueError("growth_rate, num_init_features and bn_size must be >= 1")
        if not self.block_config or min(self.block_config) < 1:
            raise ValueError(f"block_config must list blocks of >= 1 layers, got {self.block_config}")
        if not 0.0 < self.compression <= 1.0:
            raise ValueError(f"compression must be in (0, 1], got {self.compression}")
        if not 0.0 <= self.drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {self.drop_rate}")
        if self.num_classes < 1 or self.in_channels < 1:
            raise ValueError(
                f"num_classes and in_channels must be >= 1, got {self.num_classes} and {self.in_channels}"
            )


def min_image_size(cfg: DenseNetConfig) -> int:
    """Smallest input side: each transition's 2x2 pool needs 2 pixels, so the first block needs
    2**T (T transitions). The default stem (7x7/2 pad 3, then 3x3/2 pad 1, each n -> floor((n-1)/2)+1)
    needs 2m - 1 pixels to give m, twice: 4 * 2**T - 3 (29 for four blocks)."""
    first_block = 2 ** (len(cfg.block_config) - 1)
    return first_block if cfg.small_input else 4 * first_block - 3


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 (bn_size*k) -> BN-ReLU-Conv3x3 (k): reads a list of maps, returns k new channels."""

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = drop_rate

    def forward(self, features: list[Tensor]) -> Tensor:
        x = torch.cat(features, 1)  # (B, sum of channels so far, H, W)
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))  # (B, k, H, W)
        return F.dropout(x, self.drop_rate, self.training) if self.drop_rate > 0 else x


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; (B, C, H, W) -> (B, C + num_layers * k, H, W)."""

    def __init__(
        self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-Conv1x1 to ``out_channels``, then a 2x2 average pool: (B, C, H, W) -> (B, C', H/2, W/2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= ``min_image_size(cfg)``."""

    def __init__(self, cfg: DenseNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.min_size = min_image_size(cfg)
        c = cfg.num_init_features
        if cfg.small_input:
            stem = [("conv0", nn.Conv2d(cfg.in_channels, c, kernel_size=3, padding=1, bias=False)),
                    ("norm0", nn.BatchNorm2d(c)), ("relu0", nn.ReLU(inplace=True)), ("pool0", nn.Identity())]
        else:
            stem = [("conv0", nn.Conv2d(cfg.in_channels, c, kernel_size=7, stride=2, padding=3, bias=False)),
                    ("norm0", nn.BatchNorm2d(c)), ("relu0", nn.ReLU(inplace=True)),
                    ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))]
        self.features = nn.Sequential(OrderedDict(stem))
        for i, num_layers in enumerate(cfg.block_config):
            self.features.add_module(
                f"denseblock{i + 1}", DenseBlock(num_layers, c, cfg.growth_rate, cfg.bn_size, cfg.drop_rate)
            )
            c += num_layers * cfg.growth_rate
            if i < len(cfg.block_config) - 1:
                out = int(c * cfg.compression)  # floor(theta * m)
                self.features.add_module(f"transition{i + 1}", Transition(c, out))
                c = out
        self.features.add_module("norm5", nn.BatchNorm2d(c))
        self.num_features = c
        self.classifier = nn.Linear(c, cfg.num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, num_features, H/32, W/32): after the final BN-ReLU."""
        return F.relu(self.features(x), inplace=True)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, num_features, h, w) -> (B, num_classes)."""
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))  # (B, num_features) -> logits

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_size, self.min_size), "densenet")
        return self.forward_head(self.forward_features(x))


_VARIANTS = {  # name: (growth rate, blocks, stem channels, torchvision 0.29's parameter count)
    "densenet121": (32, (6, 12, 24, 16), 64, 7_978_856),
    "densenet161": (48, (6, 12, 36, 24), 96, 28_681_000),
    "densenet169": (32, (6, 12, 32, 32), 64, 14_149_480),
    "densenet201": (32, (6, 12, 48, 32), 64, 20_013_928),
}
for _name, (_k, _blocks, _stem, _params) in _VARIANTS.items():
    register_model(
        _name, DenseNet, DenseNetConfig(growth_rate=_k, block_config=_blocks, num_init_features=_stem),
        family="densenet", paper="Densely Connected Convolutional Networks", year=2016,
        url="https://arxiv.org/abs/1608.06993", input_size=(3, 224, 224), min_input_size=(3, 29, 29),
        small_input="small_input=True: 3x3 stride-1 stem without max-pool (smallest input 8x8), for "
                    "28-32 pixel images; the default 7x7/2 stem and max-pool need 29x29",
        reference_params=_params, reference="torchvision 0.29", torchvision_name=_name,
        notes=f"DenseNet-BC (bottleneck, compression 0.5), growth rate {_k}, blocks {_blocks}",
        tags=("cnn", "imagenet"),
    )
