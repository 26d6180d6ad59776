"""AlexNet: five convolutions and three fully connected layers, in torchvision's single-tower layout.

Paper: A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NeurIPS 2012.
https://papers.nips.cc/paper_files/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html

The 2012 network was split over two GPUs of 3 GB each. Every layer's kernels were divided in two
halves, one per GPU, and the halves talked to each other only at some layers:

- conv1: 96 kernels 11x11x3, stride 4 (48 per GPU), ReLU, local response normalisation, then
  overlapping max-pooling (3x3, stride 2);
- conv2: 256 kernels 5x5x48: each GPU's half sees only the 48 maps of its own GPU (a grouped
  convolution, groups=2), LRN, max-pool;
- conv3: 384 kernels 3x3x256: the one convolution that reads the maps of both GPUs;
- conv4: 384 kernels 3x3x192 and conv5: 256 kernels 3x3x192, both within-GPU (groups=2), then
  max-pool;
- fc6, fc7: 4096 units each (fully connected across the GPUs), dropout 0.5; fc8: 1000-way softmax.

That grouped network has 60,965,224 parameters (the "60 million" of the abstract).

archzoo follows torchvision's ``alexnet``, the single-tower variant of Krizhevsky's "One weird
trick for parallelizing convolutional neural networks" (2014, https://arxiv.org/abs/1404.5997),
so that torchvision's weights load without renaming: 64-192-384-256-256 kernels, no grouping
(every layer sees all maps of the layer below), no LRN, conv1 padded by 2, and an adaptive average
pool to 6x6 in front of the classifier so that any input of at least 63x63 pixels works.
It has 61,100,840 parameters at 1000 classes.

Small inputs (``small_input=True``, for 28-32 pixel images): conv1 becomes a 3x3 stride-1
convolution and the last max-pool is dropped. A 28x28 image then reaches the classifier as the
same 6x6 map a 224x224 image gives the ImageNet network (28 -> 13 -> 6), so the 9216-input fc6 sees
real features, not a 1x1 map stretched to 6x6 (which is what a 63x63 input gives the default
network). Weights start from PyTorch's default initialisation, as in torchvision.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from archzoo.layers import check_image_input
from archzoo.registry import register_model


@dataclass(frozen=True)
class AlexNetConfig:
    """``channels`` are the kernels of conv1..conv5; ``hidden_features`` the width of fc6 and fc7."""

    num_classes: int = 1000
    in_channels: int = 3
    channels: tuple[int, int, int, int, int] = (64, 192, 384, 256, 256)
    hidden_features: int = 4096
    dropout: float = 0.5
    small_input: bool = False

    def __post_init__(self) -> None:
        if self.num_classes < 1 or self.in_channels < 1:
            raise ValueError(
                f"num_classes and in_channels must be >= 1, got {self.num_classes} and {self.in_channels}"
            )
        if len(self.channels) != 5 or min(self.channels) < 1:
            raise ValueError(f"channels must be five positive kernel counts (conv1..5), got {self.channels}")
        if self.hidden_features < 1:
            raise ValueError(f"hidden_features must be >= 1, got {self.hidden_features}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


def min_image_size(cfg: AlexNetConfig) -> int:
    """Smallest input side the network accepts.

    Each 3x3 stride-2 max-pool needs at least 3 pixels. Default: the third pool needs 3 -> the
    second pool's input needs 7 -> the first's 15 -> conv1 (11x11, stride 4, pad 2) needs 63.
    Small input: two pools, 3 -> 7, and conv1 keeps the size, so 7.
    """
    return 7 if cfg.small_input else 63


class AlexNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= 63 (>= 7 with ``small_input``)."""

    def __init__(self, cfg: AlexNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.min_size = min_image_size(cfg)
        c1, c2, c3, c4, c5 = cfg.channels
        stem = (nn.Conv2d(cfg.in_channels, c1, kernel_size=3, stride=1, padding=1) if cfg.small_input
                else nn.Conv2d(cfg.in_channels, c1, kernel_size=11, stride=4, padding=2))
        # The indices (0, 3, 6, 8, 10 for the convolutions) are torchvision's; an Identity keeps
        # them when the small-input network drops the last pool.
        self.features = nn.Sequential(
            stem,
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Identity() if cfg.small_input else nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout),
            nn.Linear(c5 * 6 * 6, cfg.hidden_features),
            nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden_features, cfg.hidden_features),
            nn.ReLU(inplace=True),
            nn.Linear(cfg.hidden_features, cfg.num_classes),
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, c5, h, w): the conv5 maps after the last pool."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, c5, h, w) -> (B, num_classes)."""
        x = self.avgpool(x).flatten(1)  # (B, c5 * 36)
        return self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_size, self.min_size), "alexnet")
        return self.forward_head(self.forward_features(x))


register_model(
    "alexnet", AlexNet, AlexNetConfig(), family="alexnet",
    paper="ImageNet Classification with Deep Convolutional Neural Networks", year=2012,
    url="https://papers.nips.cc/paper_files/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b-Abstract.html",
    input_size=(3, 224, 224), min_input_size=(3, 63, 63),
    small_input="small_input=True: 3x3 stride-1 conv1 and no last max-pool, so a 28x28 image reaches "
                "the classifier as a 6x6 map (smallest input 7x7); the default network needs 63x63",
    reference_params=61_100_840, reference="torchvision 0.29", torchvision_name="alexnet",
    notes="torchvision's single-tower layout (64-192-384-256-256, no LRN, no grouping); the paper's "
          "two-GPU grouped network has 60,965,224 parameters",
    tags=("cnn", "imagenet"),
)
