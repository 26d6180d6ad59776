"""SqueezeNet: AlexNet-level accuracy from fire modules, with 1.2M parameters.

Paper: F. N. Iandola, S. Han, M. W. Moskewicz, K. Ashraf, W. J. Dally, K. Keutzer, "SqueezeNet:
AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", 2016.
https://arxiv.org/abs/1602.07360

A fire module squeezes, then expands: a 1x1 convolution to s channels (ReLU), then in parallel a
1x1 convolution to e1 channels and a 3x3 convolution to e3 channels (each with ReLU), concatenated
to e1 + e3 channels. Keeping s below e1 + e3 limits the input channels of the 3x3 filters, the
paper's main lever on the parameter count (strategy 2); late pooling keeps the maps large
(strategy 3). There is no fully connected layer: a 1x1 convolution to one map per class (ReLU),
then global average pooling, gives the logits.

- ``squeezenet1_0``: Table 1 of the paper: conv1 96 7x7/2, max-pool, fire2-4, max-pool, fire5-8,
  max-pool, fire9, dropout 0.5, conv10, global average pool (1,248,424 parameters);
- ``squeezenet1_1``: the revision published with the reference Caffe models (SqueezeNet v1.1):
  conv1 64 3x3/2 and the pools moved earlier (after conv1, fire3 and fire5), announced as 2.4x
  less compute for the same accuracy (1,235,496 parameters; 0.349 against 0.819 GMACs at 224x224
  by ``archzoo.count_flops``, a ratio of 2.35).

Names, pooling (3x3 stride 2, ceil mode) and initialisation follow torchvision's ``squeezenet*``
so its weights load as they are: Kaiming uniform convolutions, N(0, 0.01) for conv10, zero biases.
The paper's variants with bypass connections are not built.

Small inputs (``small_input=True``): conv1 becomes a 3x3 stride-1 convolution with padding 1, so a
28x28 image reaches the last fire module as a 3x3 map (4x4 for 32x32) instead of 1x1. The default
networks already accept 28x28 (they need 21x21 and 17x17) but squeeze such an image to 1x1, where
the 3x3 expand filters see only their centre tap.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.registry import register_model


@dataclass(frozen=True)
class SqueezeNetConfig:
    """``fires[i]`` = (squeeze, expand1x1, expand3x3) channels; a max-pool follows the stem and each
    fire whose index is in ``pool_after``."""

    stem_channels: int
    stem_kernel: int
    fires: tuple[tuple[int, int, int], ...]
    pool_after: tuple[int, ...]
    num_classes: int = 1000
    in_channels: int = 3
    dropout: float = 0.5
    small_input: bool = False

    def __post_init__(self) -> None:
        if self.stem_channels < 1 or self.stem_kernel < 1:
            raise ValueError("stem_channels and stem_kernel must be >= 1")
        if not self.fires or any(len(f) != 3 or min(f) < 1 for f in self.fires):
            raise ValueError(f"fires must be positive (squeeze, expand1x1, expand3x3) triples: {self.fires}")
        if any(not 0 <= i < len(self.fires) - 1 for i in self.pool_after):
            raise ValueError(f"pool_after must index fires before the last one, got {self.pool_after}")
        if self.num_classes < 1 or self.in_channels < 1:
            raise ValueError(
                f"num_classes and in_channels must be >= 1, got {self.num_classes} and {self.in_channels}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def _pool_size(n: int) -> int:
    """Output side of MaxPool2d(3, stride 2, ceil_mode=True) on n pixels (0 when it fails)."""
    out = (n - 3 + 1) // 2 + 1
    if (out - 1) * 2 >= n:  # the last window would start past the input
        out -= 1
    return max(out, 0)


def min_image_size(cfg: SqueezeNetConfig) -> int:
    """Smallest input side for which every pool still produces at least one pixel."""
    pools = 1 + len(cfg.pool_after)
    n = 1
    while True:
        size = n if cfg.small_input else (n - cfg.stem_kernel) // 2 + 1  # the unpadded stride-2 stem
        for _ in range(pools):
            size = _pool_size(size) if size >= 1 else 0
        if size >= 1:
            return n
        n += 1


class Fire(nn.Module):
    """(B, C, H, W) -> (B, e1 + e3, H, W): squeeze to s channels, expand by 1x1 and 3x3 in parallel."""

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        s = self.squeeze_activation(self.squeeze(x))
        e1 = self.expand1x1_activation(self.expand1x1(s))
        e3 = self.expand3x3_activation(self.expand3x3(s))
        return torch.cat([e1, e3], 1)  # (B, e1 + e3, H, W)


class SqueezeNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes)."""

    def __init__(self, cfg: SqueezeNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.min_size = min_image_size(cfg)
        if cfg.small_input:
            stem = nn.Conv2d(cfg.in_channels, cfg.stem_channels, kernel_size=3, padding=1)
        else:
            stem = nn.Conv2d(cfg.in_channels, cfg.stem_channels, kernel_size=cfg.stem_kernel, stride=2)
        layers: list[nn.Module] = [stem, nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, ceil_mode=True)]
        channels = cfg.stem_channels
        for i, (squeeze, e1, e3) in enumerate(cfg.fires):
            layers.append(Fire(channels, squeeze, e1, e3))
            channels = e1 + e3
            if i in cfg.pool_after:
                layers.append(nn.MaxPool2d(3, stride=2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        final_conv = nn.Conv2d(channels, cfg.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:  # small logits at the start
                    nn.init.normal_(m.weight, 0.0, 0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, 512, h, w): the last fire module's maps."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, 512, h, w) -> (B, num_classes): class maps, averaged."""
        return self.classifier(x).flatten(1)  # (B, num_classes, 1, 1) -> (B, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_size, self.min_size), "squeezenet")
        return self.forward_head(self.forward_features(x))


_F1 = ((16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128))
_F2 = ((48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256))
_VARIANTS = {  # name: (config, smallest input, torchvision 0.29's parameter count, notes)
    "squeezenet1_0": (
        SqueezeNetConfig(stem_channels=96, stem_kernel=7, fires=_F1 + _F2, pool_after=(2, 6)), 21, 1_248_424,
        "Table 1 of the paper (v1.0): conv1 96 7x7/2, pools after conv1, fire4, fire8",
    ),
    "squeezenet1_1": (
        SqueezeNetConfig(stem_channels=64, stem_kernel=3, fires=_F1 + _F2, pool_after=(1, 3)), 17, 1_235_496,
        "v1.1: conv1 64 3x3/2, pools after conv1, fire3, fire5; 2.35x fewer MACs than v1.0",
    ),
}
for _name, (_cfg, _min, _params, _notes) in _VARIANTS.items():
    register_model(
        _name, SqueezeNet, _cfg, family="squeezenet",
        paper="SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", year=2016,
        url="https://arxiv.org/abs/1602.07360", input_size=(3, 224, 224), min_input_size=(3, _min, _min),
        small_input="small_input=True: 3x3 stride-1 conv1 (padding 1), so a 28x28 image reaches the last "
                    f"fire module as a 3x3 map (smallest input 8x8); the default network needs {_min}x{_min}",
        reference_params=_params, reference="torchvision 0.29", torchvision_name=_name, notes=_notes,
        tags=("cnn", "imagenet"),
    )
