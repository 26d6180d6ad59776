"""VGG: stacks of 3x3 convolutions, five max-pools, three fully connected layers.

Paper: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (arXiv 2014). https://arxiv.org/abs/1409.1556

Table 1 of the paper: five stages of 3x3 convolutions (stride 1, padding 1, ReLU), each closed by
a 2x2 stride-2 max-pool, with 64, 128, 256, 512, 512 channels; configurations A (11 weight
layers), B (13), D (16) and E (19) differ only in how many convolutions each stage has. Then
fc6 and fc7 of 4096 units with dropout 0.5, and fc8 with one unit per class.

archzoo follows torchvision's ``vgg*`` (same parameter names, so its weights load as they are):

- an adaptive average pool to 7x7 in front of fc6, so that any input of at least 32x32 works (the
  paper's dense evaluation turned the FC layers into convolutions instead);
- ``vgg*_bn``: batch normalisation (Ioffe & Szegedy 2015, after the paper) between every
  convolution and its ReLU; the convolutions keep their biases, as in torchvision;
- the paper's configurations A-LRN and C (with 1x1 convolutions) are not built;
- initialisation as torchvision: Kaiming normal (fan-out) convolutions, N(0, 0.01) linear weights,
  zero biases (the paper initialised the deeper nets from the trained configuration A).

Small inputs (``small_input=True``, for 28-32 pixel images): the last max-pool is dropped, so a
28x28 image still ends at 1x1 after four pools (five would need 32x32), and the features are
averaged to 1x1 rather than stretched to 7x7, which would feed fc6 49 copies of each value. fc6
then has 512 inputs instead of 25,088 (vgg16: 33.6M parameters at 10 classes instead of 134M).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.layers.init import init_cnn_
from archzoo.registry import register_model


@dataclass(frozen=True)
class VGGConfig:
    """``stages[i]`` lists the output channels of stage i's 3x3 convolutions; a max-pool ends each stage."""

    stages: tuple[tuple[int, ...], ...]
    batch_norm: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    hidden_features: int = 4096
    dropout: float = 0.5
    small_input: bool = False

    def __post_init__(self) -> None:
        if not self.stages or any(not s or min(s) < 1 for s in self.stages):
            raise ValueError(f"stages must be non-empty tuples of positive channel counts, got {self.stages}")
        if self.small_input and len(self.stages) < 2:
            raise ValueError("small_input drops the last max-pool, so stages needs at least two stages")
        if self.num_classes < 1 or self.in_channels < 1 or self.hidden_features < 1:
            raise ValueError("num_classes, in_channels and hidden_features must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def make_features(cfg: VGGConfig) -> nn.Sequential:
    """The convolutional trunk, flat as in torchvision: conv, [bn,] relu, ..., pool per stage."""
    layers: list[nn.Module] = []
    channels = cfg.in_channels
    for i, stage in enumerate(cfg.stages):
        for width in stage:
            layers.append(nn.Conv2d(channels, width, kernel_size=3, padding=1))
            if cfg.batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            channels = width
        last = i == len(cfg.stages) - 1
        # Identity keeps torchvision's indices when the small-input network drops the last pool.
        layers.append(nn.Identity() if last and cfg.small_input else nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= 2**len(stages) (half that with ``small_input``)."""

    def __init__(self, cfg: VGGConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.min_size = 2 ** (len(cfg.stages) - int(cfg.small_input))  # each 2x2 pool halves, flooring
        self.features = make_features(cfg)
        pool = 1 if cfg.small_input else 7
        self.avgpool = nn.AdaptiveAvgPool2d((pool, pool))
        self.classifier = nn.Sequential(
            nn.Linear(cfg.stages[-1][-1] * pool * pool, cfg.hidden_features),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden_features, cfg.hidden_features),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden_features, cfg.num_classes),
        )
        init_cnn_(self)  # torchvision's: He fan-out convs, N(0, 0.01) linear layers

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, 512, H/32, W/32) (H/16 with ``small_input``)."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, C, h, w) -> (B, num_classes)."""
        x = self.avgpool(x).flatten(1)  # (B, C * 49), or (B, C) with small_input
        return self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_size, self.min_size), "vgg")
        return self.forward_head(self.forward_features(x))


# Table 1 of the paper; the counts are torchvision 0.29's, read from its weights' metadata.
_STAGES = {
    "vgg11": ((64,), (128,), (256, 256), (512, 512), (512, 512)),  # A
    "vgg13": ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),  # B
    "vgg16": ((64, 64), (128, 128), (256,) * 3, (512,) * 3, (512,) * 3),  # D
    "vgg19": ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),  # E
}
_PARAMS = {
    "vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg13": 133_047_848, "vgg13_bn": 133_053_736,
    "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "vgg19": 143_667_240, "vgg19_bn": 143_678_248,
}
_SMALL = ("small_input=True: drops the last max-pool (28x28 -> 1x1 after four pools; smallest input "
          "16x16) and averages the maps to 1x1, so fc6 has 512 inputs; the default network needs 32x32")

for _base, _stages in _STAGES.items():
    for _bn in (False, True):
        _name = _base + ("_bn" if _bn else "")
        register_model(
            _name, VGG, VGGConfig(stages=_stages, batch_norm=_bn), family="vgg",
            paper="Very Deep Convolutional Networks for Large-Scale Image Recognition", year=2014,
            url="https://arxiv.org/abs/1409.1556", input_size=(3, 224, 224), min_input_size=(3, 32, 32),
            small_input=_SMALL, reference_params=_PARAMS[_name], reference="torchvision 0.29",
            torchvision_name=_name,
            notes=f"configuration {'ABDE'[list(_STAGES).index(_base)]} of Table 1"
                  + (", batch norm after every convolution" if _bn else ""),
            tags=("cnn", "imagenet"),
        )
