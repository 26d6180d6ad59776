"""ResNet: residual learning, y = relu(F(x) + shortcut(x)), for ImageNet and for CIFAR.

Paper: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv 2015). https://arxiv.org/abs/1512.03385

ImageNet layout (section 3.4, Table 1): a 7x7 stride-2 convolution and a 3x3 stride-2 max-pool,
four stages of 64/128/256/512 channels, global average pooling, one linear layer. ``resnet18`` and
``resnet34`` stack basic blocks (two 3x3 convolutions); ``resnet50/101/152`` stack bottleneck
blocks (1x1 reduce, 3x3, 1x1 expand by 4). Stages 2-4 halve the resolution in their first block,
whose shortcut is a 1x1 stride-2 convolution with batch norm (option B). Batch norm follows every
convolution, ReLU follows the addition.

Deviations (both torchvision's, so that its weights load under the same names):

- ResNet v1.5: a bottleneck block strides on its 3x3 convolution, not on the first 1x1 as in the
  paper; this costs a little more compute (resnet50: 4.09 GMACs instead of 3.86 at 224x224, by
  ``archzoo.count_flops``) and, by NVIDIA's measurements, gains about half a point of top-1;
- initialisation: Kaiming normal (fan-out) convolutions, batch norm weight 1 and bias 0, PyTorch's
  default for the final linear layer; ``zero_init_residual=True`` zeroes the last batch norm of
  every residual branch (Goyal et al. 2017), off by default as in torchvision.

CIFAR layout (section 4.2): a 3x3 convolution with 16 channels, three stages of n basic blocks
on 32x32, 16x16 and 8x8 maps with 16, 32 and 64 channels, global average pooling, a 10-way linear
layer: 6n + 2 weighted layers (``resnet20`` ... ``resnet110`` for n = 3, 5, 7, 9, 18). The
shortcuts are option A, parameter-free: when a block halves the resolution and doubles the
channels, the shortcut takes every second pixel and pads the new channels with zeros (half
before, half after the old ones, as the widely used reproduction github.com/akamaster/
pytorch_resnet_cifar10 does; the paper does not say where). Parameters: 269,722 (resnet20),
464,154, 658,586, 853,018 and 1,727,962 (resnet110), which round to Table 6's 0.27M, 0.46M,
0.66M, 0.85M and 1.7M.

Small inputs: ``small_input=True`` replaces the ImageNet stem by a 3x3 stride-1 convolution without
the max-pool (the CIFAR stem), so 28-32 pixel images keep their resolution into the first stage.
The CIFAR variants have it on by default.

The smallest accepted input is the network's total stride (32 for the ImageNet stem, 8 with
``small_input``, 4 for the CIFAR variants), the size at which every stride-2 step still has two
pixels to halve. Padding would let even a 1x1 image through the arithmetic, but below the total
stride the last downsampling blocks take 1x1 maps to 1x1 maps and their 3x3 filters see only
padding around the centre tap, so archzoo rejects such inputs with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.registry import register_model


@dataclass(frozen=True)
class ResNetConfig:
    """A ResNet: ``block`` in BLOCKS, ``depths[i]`` blocks of ``widths[i]`` channels in stage i.

    A bottleneck block outputs ``4 * widths[i]`` channels. ``shortcut`` is "projection" (1x1
    convolution + batch norm where the shape changes, option B) or "zero_pad" (option A).
    """

    block: str
    depths: tuple[int, ...]
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stem_width: int = 64
    shortcut: str = "projection"
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False
    zero_init_residual: bool = False

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise ValueError(f"unknown block={self.block!r}; choose one of: {', '.join(BLOCKS)}")
        if self.shortcut not in SHORTCUTS:
            raise ValueError(f"unknown shortcut={self.shortcut!r}; choose one of: {', '.join(SHORTCUTS)}")
        if not self.depths or len(self.depths) != len(self.widths):
            raise ValueError(f"depths and widths need one entry per stage, got {self.depths}, {self.widths}")
        if min(self.depths) < 1 or min(self.widths) < 1 or self.stem_width < 1:
            raise ValueError("depths, widths and stem_width must be positive")
        if self.num_classes < 1 or self.in_channels < 1:
            raise ValueError(
                f"num_classes and in_channels must be >= 1, got {self.num_classes} and {self.in_channels}"
            )


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A: x[:, :, ::stride, ::stride] with zero channels added up to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"a zero-pad shortcut cannot reduce channels ({in_channels} -> {out_channels})")
        self.stride = stride
        extra = out_channels - in_channels
        self.pad = (extra // 2, extra - extra // 2)

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C, ceil(H/s), ceil(W/s)), as a stride-s 3x3 conv
        return F.pad(x, (0, 0, 0, 0, *self.pad))  # (B, out_channels, H', W')


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Option B: a strided 1x1 convolution and batch norm (torchvision's ``downsample``)."""
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


SHORTCUTS = {"projection": projection, "zero_pad": ZeroPadShortcut}


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); two 3x3 convolutions, conv1 strides."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(width, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = downsample

    def last_norm(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 (strided, v1.5) -> 1x1 expand to ``4 * width``, plus the shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)  # the paper strides conv1 instead (v1)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, width * self.expansion)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def last_norm(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes).

    Modules are named as in torchvision (``conv1``, ``bn1``, ``layer1``..``layerN``, ``fc``), so
    torchvision's state dicts load without conversion.
    """

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        block = BLOCKS[cfg.block]
        stem_stride = 1 if cfg.small_input else 4  # 7x7/2 convolution then 3x3/2 max-pool
        self.min_size = stem_stride * 2 ** (len(cfg.depths) - 1)
        if cfg.small_input:
            self.conv1 = conv3x3(cfg.in_channels, cfg.stem_width)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(cfg.in_channels, cfg.stem_width, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(cfg.stem_width)
        self.relu = nn.ReLU(inplace=True)
        channels = cfg.stem_width
        for i, (depth, width) in enumerate(zip(cfg.depths, cfg.widths, strict=True)):
            blocks: list[nn.Module] = []
            for j in range(depth):
                stride = 2 if i > 0 and j == 0 else 1
                out = width * block.expansion
                down = None
                if stride != 1 or channels != out:
                    down = SHORTCUTS[cfg.shortcut](channels, out, stride)
                blocks.append(block(channels, width, stride, down))
                channels = out
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_features = channels
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, cfg.num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if cfg.zero_init_residual:  # each block starts as the identity (Goyal et al. 2017)
            for m in self.modules():
                if isinstance(m, BasicBlock | Bottleneck):
                    nn.init.zeros_(m.last_norm().weight)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{i + 1}") for i in range(len(self.cfg.depths))]

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, num_features, H/32, W/32) (ImageNet stem)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages():
            x = stage(x)
        return x

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, num_features, h, w) -> (B, num_classes)."""
        return self.fc(self.avgpool(x).flatten(1))  # (B, num_features) -> (B, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_size, self.min_size), "resnet")
        return self.forward_head(self.forward_features(x))


_PAPER = "Deep Residual Learning for Image Recognition"
_URL = "https://arxiv.org/abs/1512.03385"

_IMAGENET = {  # name: (block, depths, torchvision 0.29's parameter count)
    "resnet18": ("basic", (2, 2, 2, 2), 11_689_512),
    "resnet34": ("basic", (3, 4, 6, 3), 21_797_672),
    "resnet50": ("bottleneck", (3, 4, 6, 3), 25_557_032),
    "resnet101": ("bottleneck", (3, 4, 23, 3), 44_549_160),
    "resnet152": ("bottleneck", (3, 8, 36, 3), 60_192_808),
}
for _name, (_block, _depths, _params) in _IMAGENET.items():
    register_model(
        _name, ResNet, ResNetConfig(block=_block, depths=_depths), family="resnet", paper=_PAPER, year=2015,
        url=_URL, input_size=(3, 224, 224), min_input_size=(3, 32, 32),
        small_input="small_input=True: 3x3 stride-1 stem without max-pool (smallest input 8x8), for "
                    "28-32 pixel images; the default 7x7/2 stem and max-pool need 32x32",
        reference_params=_params, reference="torchvision 0.29", torchvision_name=_name,
        notes="ImageNet layout, torchvision's v1.5 (bottleneck strides on its 3x3 convolution)"
              if _block == "bottleneck" else "ImageNet layout, basic blocks",
        tags=("cnn", "imagenet"),
    )

# Section 4.2: n blocks per stage, 6n + 2 layers. Exact counts: github.com/akamaster/
# pytorch_resnet_cifar10 (resnet.py counts them; its README gives them rounded as the paper does).
_CIFAR = {"resnet20": (3, 269_722), "resnet32": (5, 464_154), "resnet44": (7, 658_586),
          "resnet56": (9, 853_018), "resnet110": (18, 1_727_962)}
for _name, (_n, _params) in _CIFAR.items():
    register_model(
        _name, ResNet,
        ResNetConfig(block="basic", depths=(_n,) * 3, widths=(16, 32, 64), stem_width=16, shortcut="zero_pad",
                     num_classes=10, small_input=True),
        family="resnet", paper=_PAPER, year=2015, url=_URL, input_size=(3, 32, 32), min_input_size=(3, 4, 4),
        small_input="native: the CIFAR layout (3x3 stride-1 stem, 32/16/8 maps) takes 28-32 pixel images "
                    "as they are; in_channels=1 for Fashion-MNIST",
        reference_params=_params,
        reference="akamaster/pytorch_resnet_cifar10 (paper Table 6 rounds it: "
                  f"{_params / 1e6:.2g}M)",
        notes=f"CIFAR layout of section 4.2, n={_n}: 16/32/64 channels, option-A (zero-pad) shortcuts",
        tags=("cnn", "cifar"),
    )
