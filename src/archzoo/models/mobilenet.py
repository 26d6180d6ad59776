"""MobileNet V1, V2 and V3: depthwise-separable networks for phones.

V1: Andrew G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", 2017. https://arxiv.org/abs/1704.04861
V2: Mark Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018.
https://arxiv.org/abs/1801.04381
V3: Andrew Howard et al., "Searching for MobileNetV3", ICCV 2019. https://arxiv.org/abs/1905.02244

V1 (Table 1) replaces each 3x3 convolution by a depthwise 3x3 convolution (one filter per channel)
followed by a pointwise 1x1 convolution, each with BatchNorm and ReLU: a factor of about
1/N + 1/9 fewer multiply-adds. Two global knobs shrink it (section 3.3-3.4):

- width multiplier alpha: every layer has ``int(alpha * c)`` channels; ``mobilenet_v1`` (1.0),
  ``mobilenet_v1_075``, ``mobilenet_v1_050``, ``mobilenet_v1_025`` are the four of Table 6
  (4.2M, 2.6M, 1.3M, 0.5M parameters; 569M, 325M, 149M, 41M mult-adds at 224).
- resolution multiplier rho: the input size, 224, 192, 160 or 128 (rho = 1, 6/7, 5/7, 4/7). The
  network is fully convolutional up to its global pooling, so it is the same model at every rho
  (same parameters); the cost scales with rho**2 (Table 7: 569M, 418M, 290M, 186M mult-adds).
  It is therefore not a config field: feed 128..224 pixel images to the same model.

V2 stacks inverted residual blocks (``archzoo.layers.inverted_residual``): expand 1x1 (ReLU6),
depthwise 3x3 (ReLU6), linear 1x1 projection, residual between the thin ends (Table 2).
V3 is the block found by architecture search (Tables 1 and 2): the same inverted residual with
3x3 or 5x5 kernels, squeeze-and-excitation with a hard-sigmoid gate, ReLU or hard-swish, a 960- or
576-channel 1x1 conv after the last block and a two-layer head (1280 or 1024 hidden, hard-swish).

Deviations and choices:
- V1 has no torchvision counterpart; its names (``features.i.0`` depthwise, ``features.i.1``
  pointwise) and init are those of torchvision's V2. Table 1 lists the 13th depthwise layer as
  stride 2 on a 7x7 map that stays 7x7; it is stride 1 here, as in every released implementation.
  The paper's classifier has no dropout; ``dropout`` defaults to 0.
- V2 and V3 follow torchvision (channel rounding to multiples of 8, init, BatchNorm eps 1e-3 and
  momentum 0.01 for V3, dropout 0.2, the V3 head's dropout between its two linear layers).
  Momentum 0.01 suits torchvision's 600 ImageNet epochs; over a run of a few hundred steps the
  running statistics lag the network and eval-mode accuracy collapses (``mobilenet_v3_small``, one
  epoch of Fashion-MNIST: 13.24% test accuracy at 0.01, 86.84% at 0.1). The 28x28 recipes set
  ``bn_momentum=0.1``, PyTorch's default.
- V2's torchvision parameter names come from its older block layout (``features.i.conv.*``, the
  projection conv and its BatchNorm flat in the block); archzoo shares one inverted residual block
  between V2, V3 and EfficientNet, so ``mobilenet_v2`` loads torchvision weights through
  ``v2_from_torchvision`` (a rename, tested against torchvision's logits). V3 names match as they are.
- ``small_input=True`` (not in the papers) makes the stem and the first stride-2 block stride 1,
  as the usual CIFAR adaptations do: total stride 8 instead of 32, for 28x28 and 32x32 images.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.layers import ConvNormAct, DepthwiseSeparable, check_image_input, make_divisible
from archzoo.layers.init import init_cnn_
from archzoo.layers.inverted_residual import InvertedResidual
from archzoo.registry import register_model

__all__ = [
    "MobileNetV1", "MobileNetV1Config", "MobileNetV2", "MobileNetV2Config", "MobileNetV3",
    "MobileNetV3Config", "v2_from_torchvision",
]


def _validate(cfg: object, probabilities: tuple[str, ...], positive: tuple[str, ...]) -> None:
    for name in probabilities:
        if not 0.0 <= getattr(cfg, name) < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {getattr(cfg, name)}")
    for name in positive:
        if getattr(cfg, name) <= 0:
            raise ValueError(f"{name} must be > 0, got {getattr(cfg, name)}")


def _strides(stem: int, blocks: list[int], small_input: bool) -> tuple[int, list[int]]:
    """Stem and block strides; ``small_input`` turns the stem and the first stride-2 block to 1."""
    if small_input:
        stem, blocks = 1, list(blocks)
        first = next((i for i, s in enumerate(blocks) if s == 2), None)
        if first is not None:
            blocks[first] = 1
    return stem, blocks


class _Classifier(nn.Module):
    """Shared tail: forward = forward_head(forward_features(x)) after the input check."""

    in_channels: int
    min_hw: int
    features: nn.Sequential
    classifier: nn.Sequential

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, C, ceil(H / stride), ceil(W / stride))."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, C, h, w) -> (B, num_classes): global average pooling, then the classifier."""
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))  # (B, C)

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.in_channels, (self.min_hw, self.min_hw), type(self).__name__)
        return self.forward_head(self.forward_features(x))


# --------------------------------------------------------------------------------------- V1

# Table 1 after the 32-channel stem: (pointwise output channels, depthwise stride)
V1_LAYERS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


@dataclass(frozen=True)
class MobileNetV1Config:
    """MobileNet V1 with width multiplier ``width_mult`` (the paper's alpha)."""

    width_mult: float = 1.0
    stem_channels: int = 32
    layers: tuple[tuple[int, int], ...] = V1_LAYERS
    dropout: float = 0.0
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False  # stride-1 stem and first stride-2 layer, for 28x28 / 32x32 images

    def __post_init__(self) -> None:
        _validate(self, ("dropout",), ("width_mult", "stem_channels", "num_classes", "in_channels"))
        if not self.layers or any(s not in (1, 2) for _, s in self.layers):
            raise ValueError("layers must be a non-empty tuple of (channels, stride 1|2)")

    def channels(self, c: int) -> int:
        return max(8, int(c * self.width_mult))  # the paper's alpha * c, floored at 8 as TF-slim


class MobileNetV1(_Classifier):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= ``self.min_hw``."""

    def __init__(self, cfg: MobileNetV1Config) -> None:
        super().__init__()
        self.cfg, self.in_channels = cfg, cfg.in_channels
        stem_stride, strides = _strides(2, [s for _, s in cfg.layers], cfg.small_input)
        self.min_hw = stem_stride * math.prod(strides)
        c = cfg.channels(cfg.stem_channels)
        layers: list[nn.Module] = [ConvNormAct(cfg.in_channels, c, 3, stem_stride, act="relu")]
        for (out, _), stride in zip(cfg.layers, strides, strict=True):
            layers.append(DepthwiseSeparable(c, cfg.channels(out), stride))
            c = cfg.channels(out)
        self.features = nn.Sequential(*layers)
        self.num_features = c
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(c, cfg.num_classes))
        init_cnn_(self)  # torchvision's: He fan-out convs, N(0, 0.01) linear layers


# --------------------------------------------------------------------------------------- V2

# Table 2 of the V2 paper: (expansion t, output channels c, repeats n, first stride s)
V2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)


@dataclass(frozen=True)
class MobileNetV2Config:
    """MobileNet V2 (Table 2) with width multiplier ``width_mult``."""

    width_mult: float = 1.0
    stem_channels: int = 32
    last_channels: int = 1280
    stages: tuple[tuple[int, int, int, int], ...] = V2_STAGES
    dropout: float = 0.2
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False  # stride-1 stem and first stride-2 block, for 28x28 / 32x32 images

    def __post_init__(self) -> None:
        _validate(self, ("dropout",),
                  ("width_mult", "stem_channels", "last_channels", "num_classes", "in_channels"))
        if not self.stages or any(len(s) != 4 or s[3] not in (1, 2) for s in self.stages):
            raise ValueError("stages must be a non-empty tuple of (t, c, n, stride 1|2)")


class MobileNetV2(_Classifier):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= ``self.min_hw``.

    ``features.0`` stem, ``features.1`` ... ``features.17`` inverted residual blocks, ``features.18``
    the 1x1 conv to 1280 channels; ``classifier`` dropout + linear.
    """

    def __init__(self, cfg: MobileNetV2Config) -> None:
        super().__init__()
        self.cfg, self.in_channels = cfg, cfg.in_channels
        plan = [(t, c, s if i == 0 else 1) for t, c, n, s in cfg.stages for i in range(n)]
        stem_stride, strides = _strides(2, [s for _, _, s in plan], cfg.small_input)
        self.min_hw = stem_stride * math.prod(strides)
        c_in = make_divisible(cfg.stem_channels * cfg.width_mult, 8)
        layers: list[nn.Module] = [ConvNormAct(cfg.in_channels, c_in, 3, stem_stride, act="relu6")]
        for (t, c, _), stride in zip(plan, strides, strict=True):
            c_out = make_divisible(c * cfg.width_mult, 8)
            layers.append(InvertedResidual(c_in, c_out, round(c_in * t), 3, stride, act="relu6"))
            c_in = c_out
        self.num_features = make_divisible(cfg.last_channels * max(1.0, cfg.width_mult), 8)
        layers.append(ConvNormAct(c_in, self.num_features, 1, act="relu6"))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(self.num_features, cfg.num_classes)
        )
        init_cnn_(self)  # torchvision's: He fan-out convs, N(0, 0.01) linear layers


_FLAT = re.compile(r"^(features\.\d+)\.conv\.(\d+)\.([a-z_]+)$")
_NESTED = re.compile(r"^(features\.\d+)\.conv\.(\d+)\.(\d+\.[a-z_]+)$")


def v2_from_torchvision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map torchvision's ``mobilenet_v2`` state dict onto archzoo's names.

    torchvision's block is ``conv.{j}.{0|1}.*`` for its ConvNormAct layers, then the projection flat:
    ``conv.{p}.weight`` (conv) and ``conv.{p+1}.*`` (BatchNorm). Here the projection is one more
    ConvNormAct: ``block.{p}.0.weight`` and ``block.{p}.1.*``.
    """
    first_flat: dict[str, int] = {}
    for key in state:
        m = _FLAT.match(key)
        if m:
            first_flat[m[1]] = min(first_flat.get(m[1], 1 << 30), int(m[2]))
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if m := _NESTED.match(key):
            key = f"{m[1]}.block.{m[2]}.{m[3]}"
        elif m := _FLAT.match(key):
            p = first_flat[m[1]]
            key = f"{m[1]}.block.{p}.{int(m[2]) - p}.{m[3]}"
        out[key] = value
    return out


# --------------------------------------------------------------------------------------- V3

# Tables 1 and 2 of the V3 paper: (kernel, expanded channels, output channels, SE, activation, stride)
V3_LARGE: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, False, "relu", 1),
    (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hardswish", 2),
    (3, 200, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 480, 112, True, "hardswish", 1),
    (3, 672, 112, True, "hardswish", 1),
    (5, 672, 160, True, "hardswish", 2),
    (5, 960, 160, True, "hardswish", 1),
    (5, 960, 160, True, "hardswish", 1),
)
V3_SMALL: tuple[tuple[int, int, int, bool, str, int], ...] = (
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hardswish", 2),
    (5, 240, 40, True, "hardswish", 1),
    (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1),
    (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", 2),
    (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
)


@dataclass(frozen=True)
class MobileNetV3Config:
    """MobileNet V3: a table of blocks, the 1x1 conv to 6x the last width, a two-layer head."""

    blocks: tuple[tuple[int, int, int, bool, str, int], ...] = V3_LARGE
    stem_channels: int = 16
    head_channels: int = 1280  # hidden width of the head (1024 for Small)
    width_mult: float = 1.0
    dropout: float = 0.2
    bn_eps: float = 1e-3
    bn_momentum: float = 0.01
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False  # stride-1 stem and first stride-2 block, for 28x28 / 32x32 images

    def __post_init__(self) -> None:
        _validate(self, ("dropout",),
                  ("width_mult", "stem_channels", "head_channels", "num_classes", "in_channels"))
        if not self.blocks or any(len(b) != 6 or b[5] not in (1, 2) for b in self.blocks):
            raise ValueError("blocks must be a non-empty tuple of (kernel, expanded, out, se, act, stride)")

    def channels(self, c: int) -> int:
        return make_divisible(c * self.width_mult, 8)


class MobileNetV3(_Classifier):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= ``self.min_hw``.

    ``features.0`` stem, one ``features.i`` per block, then the 1x1 conv; ``classifier`` is
    linear (``.0``), hard-swish, dropout, linear (``.3``), as torchvision.
    """

    def __init__(self, cfg: MobileNetV3Config) -> None:
        super().__init__()
        self.cfg, self.in_channels = cfg, cfg.in_channels
        eps, mom = cfg.bn_eps, cfg.bn_momentum
        stem_stride, strides = _strides(2, [b[5] for b in cfg.blocks], cfg.small_input)
        self.min_hw = stem_stride * math.prod(strides)
        c_in = cfg.channels(cfg.stem_channels)
        layers: list[nn.Module] = [
            ConvNormAct(cfg.in_channels, c_in, 3, stem_stride, act="hardswish", bn_eps=eps, bn_momentum=mom)
        ]
        for (kernel, expanded, out, se, act, _), stride in zip(cfg.blocks, strides, strict=True):
            expanded, out = cfg.channels(expanded), cfg.channels(out)
            se_channels = make_divisible(expanded // 4, 8) if se else 0  # a quarter of the expansion
            layers.append(InvertedResidual(
                c_in, out, expanded, kernel, stride, act=act, se_channels=se_channels, se_act="relu",
                se_gate="hardsigmoid", bn_eps=eps, bn_momentum=mom,
            ))
            c_in = out
        self.num_features = 6 * c_in
        layers.append(ConvNormAct(c_in, self.num_features, 1, act="hardswish", bn_eps=eps, bn_momentum=mom))
        self.features = nn.Sequential(*layers)
        hidden = cfg.channels(cfg.head_channels)
        self.classifier = nn.Sequential(
            nn.Linear(self.num_features, hidden), nn.Hardswish(), nn.Dropout(cfg.dropout),
            nn.Linear(hidden, cfg.num_classes),
        )
        init_cnn_(self)  # torchvision's: He fan-out convs, N(0, 0.01) linear layers


# --------------------------------------------------------------------------------- variants

_V1_PAPER = "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications"
_V1_URL = "https://arxiv.org/abs/1704.04861"
_SMALL = ("small_input=True makes the stem and the first stride-2 layer stride 1 (total stride 8 instead "
          "of 32), for 1x28x28 and 3x32x32 images; the default config needs at least 32x32.")
_RHO = ("resolution multiplier: the paper's inputs 128, 160, 192 and 224 (rho = 4/7 ... 1) run on this "
        "same model (fully convolutional up to global pooling); cost scales with rho^2.")

# name: (alpha, the paper's Table 6 parameters and mult-adds at 224, for the notes)
_V1_VARIANTS = {
    "mobilenet_v1": (1.0, "4.2M parameters, 569M mult-adds"),
    "mobilenet_v1_075": (0.75, "2.6M parameters, 325M mult-adds"),
    "mobilenet_v1_050": (0.5, "1.3M parameters, 149M mult-adds"),
    "mobilenet_v1_025": (0.25, "0.5M parameters, 41M mult-adds"),
}
for _name, (_alpha, _table6) in _V1_VARIANTS.items():
    register_model(
        _name, MobileNetV1, MobileNetV1Config(width_mult=_alpha),
        family="mobilenet", paper=_V1_PAPER, year=2017, url=_V1_URL,
        input_size=(3, 224, 224), min_input_size=(3, 32, 32),
        notes=f"width multiplier alpha={_alpha} (paper Table 6: {_table6} at 224x224); {_RHO}",
        small_input=_SMALL, tags=("cnn", "imagenet", "mobile"),
    )

register_model(
    "mobilenet_v2", MobileNetV2, MobileNetV2Config(),
    family="mobilenet", paper="MobileNetV2: Inverted Residuals and Linear Bottlenecks", year=2018,
    url="https://arxiv.org/abs/1801.04381", input_size=(3, 224, 224), min_input_size=(3, 32, 32),
    notes="width multiplier 1.0; torchvision weights load through v2_from_torchvision (a rename)",
    small_input=_SMALL, reference_params=3_504_872, reference="torchvision 0.29",
    torchvision_name="mobilenet_v2", from_torchvision=v2_from_torchvision, tags=("cnn", "imagenet", "mobile"),
)

_V3_PAPER, _V3_URL = "Searching for MobileNetV3", "https://arxiv.org/abs/1905.02244"
register_model(
    "mobilenet_v3_large", MobileNetV3, MobileNetV3Config(),
    family="mobilenet", paper=_V3_PAPER, year=2019, url=_V3_URL,
    input_size=(3, 224, 224), min_input_size=(3, 32, 32), notes="MobileNetV3-Large 1.0 (Table 1)",
    small_input=_SMALL, reference_params=5_483_032, reference="torchvision 0.29",
    torchvision_name="mobilenet_v3_large", tags=("cnn", "imagenet", "mobile"),
)
register_model(
    "mobilenet_v3_small", MobileNetV3, MobileNetV3Config(blocks=V3_SMALL, head_channels=1024),
    family="mobilenet", paper=_V3_PAPER, year=2019, url=_V3_URL,
    input_size=(3, 224, 224), min_input_size=(3, 32, 32), notes="MobileNetV3-Small 1.0 (Table 2)",
    small_input=_SMALL, reference_params=2_542_856, reference="torchvision 0.29",
    torchvision_name="mobilenet_v3_small", tags=("cnn", "imagenet", "mobile"),
)
