"""EfficientNet B0-B7: one baseline network scaled in depth, width and resolution together.

Paper: Mingxing Tan, Quoc V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019. https://arxiv.org/abs/1905.11946

B0 (Table 1) is a stem 3x3/2 conv, seven stages of MBConv blocks (the inverted residual of
MobileNetV2 with squeeze-and-excitation and SiLU, see ``archzoo.layers.inverted_residual``), a 1x1
head conv to 4x the last stage's width, global pooling, dropout and a linear classifier.

Compound scaling (section 3.3, equation 3). One coefficient phi scales all three dimensions::

    depth d = alpha ** phi,  width w = beta ** phi,  resolution r = gamma ** phi,
    alpha = 1.2, beta = 1.1, gamma = 1.15,   chosen so that alpha * beta**2 * gamma**2 ~= 2

so the FLOPs (proportional to d * w**2 * r**2) grow by about 2**phi. A variant's channel counts are
``make_divisible(c * w, 8)`` and its stage depths ``ceil(n * d)``. The released B1-B7 multipliers
(the official TPU repository's table, also torchvision's) are *not* phi = 1..7 plugged into the
rule: they are rounded by hand, and each dimension corresponds to a different phi.
``scaling_table()`` prints, per variant, the phi that fits the published triple best (least squares
on the logarithms), the rule's prediction at that phi, and the published values::

    model  phi (fit)  1.1^phi  1.2^phi  224*1.15^phi | width  depth  resolution (published)
    b0       0.00     1.000    1.000       224      |  1.0    1.0      224
    b1       0.44     1.043    1.083       238      |  1.0    1.1      240
    b2       1.02     1.102    1.205       258      |  1.1    1.2      260
    b3       1.93     1.202    1.422       293      |  1.2    1.4      300
    b4       3.45     1.389    1.874       363      |  1.4    1.8      380
    b5       4.65     1.558    2.336       429      |  1.6    2.2      456
    b6       5.66     1.715    2.806       494      |  1.8    2.6      528
    b7       6.63     1.881    3.349       566      |  2.0    3.1      600

B2 is the rule at phi = 1 almost exactly; the larger models' published widths and resolutions run
ahead of the rule and their depths behind it. Reading the names as phi (B7: phi = 7) would give
(1.95, 3.58, 596) for B7 instead of (2.0, 3.1, 600). docs/efficientnet.md has both tables and the
measured MACs, which grow by 2**phi (fitted) within 6% from B4 on.

Deviations and choices (all torchvision's, so its weights load without renaming):
- Squeeze-and-excitation width is ``in_channels // 4`` of the block *input*, SiLU inside, sigmoid gate.
- Stochastic depth (Huang et al. 2016) on every residual block, probability growing linearly from 0 to
  0.2 over the blocks (block i of N: 0.2 * i / N), as torchvision; the paper mentions a "survival
  probability 0.8" without the schedule.
- BatchNorm: PyTorch defaults (eps 1e-5, momentum 0.1) for B0-B4 and TensorFlow's (eps 1e-3,
  momentum 0.01) for B5-B7, matching the weights torchvision ships.
- Dropout before the classifier: 0.2 (B0, B1), 0.3 (B2, B3), 0.4 (B4, B5), 0.5 (B6, B7).
- Default input size: the paper's resolution, except B2 at 288 instead of 260: torchvision evaluates
  its B2 weights at 288 and publishes its MACs there (0.99 GMACs at 260, 1.09 at 288).
- ``small_input=True`` (not in the paper) makes the stem and the first stride-2 stage stride 1,
  for 28x28 and 32x32 images: the total stride drops from 32 to 8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.layers import ConvNormAct, check_image_input, make_divisible
from archzoo.layers.init import init_cnn_, linear_uniform_fan_out_
from archzoo.layers.inverted_residual import InvertedResidual
from archzoo.registry import count_flops, create_model, register_model

__all__ = ["EfficientNet", "EfficientNetConfig", "compound_scaling", "scaling_table"]

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width and resolution bases of equation 3

# B0, Table 1 of the paper: (expand ratio, kernel, stride, in channels, out channels, layers)
B0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


@dataclass(frozen=True)
class EfficientNetConfig:
    """An EfficientNet: the B0 stage table scaled by ``width_mult`` and ``depth_mult``."""

    width_mult: float = 1.0
    depth_mult: float = 1.0
    dropout: float = 0.2
    stochastic_depth_prob: float = 0.2  # of the last block; block i of N gets p * i / N
    stages: tuple[tuple[int, int, int, int, int, int], ...] = B0_STAGES
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    num_classes: int = 1000
    in_channels: int = 3
    small_input: bool = False  # stride-1 stem and first stride-2 stage, for 28x28 / 32x32 images

    def __post_init__(self) -> None:
        for name in ("width_mult", "depth_mult"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("dropout", "stochastic_depth_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("num_classes", "in_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.stages or any(len(s) != 6 or s[2] not in (1, 2) for s in self.stages):
            raise ValueError("stages must be a non-empty tuple of (expand, kernel, stride 1|2, in, out, n)")

    def channels(self, c: int) -> int:
        return make_divisible(c * self.width_mult, 8)

    def depth(self, n: int) -> int:
        return math.ceil(n * self.depth_mult)


class EfficientNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes) logits; H, W >= ``self.min_hw``.

    ``features`` holds the stem (``features.0``), one Sequential of MBConv blocks per stage
    (``features.1`` ... ``features.7``) and the 1x1 head conv (``features.8``), as torchvision.
    """

    def __init__(self, cfg: EfficientNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        eps, mom = cfg.bn_eps, cfg.bn_momentum
        strides = [2] + [s[2] for s in cfg.stages]
        if cfg.small_input:  # stem and first downsampling stage keep the resolution
            strides[0] = 1
            first = next((i for i in range(1, len(strides)) if strides[i] == 2), None)
            if first is not None:
                strides[first] = 1
        self.min_hw = math.prod(strides)

        stem_out = cfg.channels(cfg.stages[0][3])
        layers: list[nn.Module] = [
            ConvNormAct(cfg.in_channels, stem_out, 3, strides[0], act="silu", bn_eps=eps, bn_momentum=mom)
        ]
        total = sum(cfg.depth(s[5]) for s in cfg.stages)
        block_id = 0
        for (expand, kernel, _, c_in, c_out, n), stride in zip(cfg.stages, strides[1:], strict=True):
            c_in, c_out = cfg.channels(c_in), cfg.channels(c_out)
            stage: list[nn.Module] = []
            for i in range(cfg.depth(n)):
                block_in = c_in if i == 0 else c_out
                stage.append(InvertedResidual(
                    block_in, c_out, make_divisible(block_in * expand, 8), kernel, stride if i == 0 else 1,
                    act="silu", se_channels=max(1, block_in // 4), se_act="silu", se_gate="sigmoid",
                    drop_path=cfg.stochastic_depth_prob * block_id / total, bn_eps=eps, bn_momentum=mom,
                ))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last = cfg.channels(cfg.stages[-1][4])
        self.num_features = 4 * last
        layers.append(ConvNormAct(last, self.num_features, 1, act="silu", bn_eps=eps, bn_momentum=mom))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(self.num_features, cfg.num_classes)
        )
        init_cnn_(self, linear=linear_uniform_fan_out_)  # torchvision's EfficientNet init

    def forward_features(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, num_features, H / stride, W / stride)."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """(B, num_features, h, w) -> (B, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))  # (B, num_features)

    def forward(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, (self.min_hw, self.min_hw), "EfficientNet")
        return self.forward_head(self.forward_features(x))


def compound_scaling(phi: float) -> tuple[float, float, float]:
    """Equation 3 at ``phi``: (width multiplier, depth multiplier, input resolution from 224)."""
    return BETA**phi, ALPHA**phi, 224 * GAMMA**phi


def fitted_phi(width: float, depth: float, resolution: int) -> float:
    """The phi whose rule best matches a published triple (least squares on the logarithms)."""
    logs = [(math.log(width), math.log(BETA)), (math.log(depth), math.log(ALPHA)),
            (math.log(resolution / 224), math.log(GAMMA))]
    return sum(a * b for a, b in logs) / sum(b * b for _, b in logs)


def scaling_table(fit_phi: bool = True, with_macs: bool = False) -> str:
    """The docs' table: phi, the rule's multipliers at it, the published ones (a markdown table).

    ``fit_phi`` picks, per variant, the phi that fits its published triple best; otherwise phi is
    the variant's index (B3: phi = 3), the naive reading of the names.
    ``with_macs`` adds each variant's forward MACs at its published resolution, counted on the
    meta device, and their ratio to B0's next to the rule's 2**phi.
    """
    cols = ["model", "phi (fit)" if fit_phi else "phi", "1.1^phi", "1.2^phi", "224*1.15^phi",
            "width", "depth", "resolution", "MBConv blocks"]
    cols += ["GMACs", "GMACs / B0", "2^phi"] if with_macs else []
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    b0_macs = 0
    for index, (name, (w, d, r, _, _, _)) in enumerate(VARIANTS.items()):
        phi = fitted_phi(w, d, r) if fit_phi else float(index)
        rw, rd, rr = compound_scaling(phi)
        blocks = sum(math.ceil(n * d) for *_, n in B0_STAGES)  # ceil per stage: more than d * 16
        cells = [name, f"{phi:.2f}", f"{rw:.3f}", f"{rd:.3f}", f"{rr:.0f}", f"{w}", f"{d}", f"{r}", f"{blocks}"]
        if with_macs:
            with torch.device("meta"):
                model = create_model(name).eval()
                macs = count_flops(model, torch.empty(1, 3, r, r)).macs
            b0_macs = b0_macs or macs
            cells += [f"{macs / 1e9:.3f}", f"{macs / b0_macs:.2f}", f"{2**phi:.2f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


_PAPER = "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"
_URL = "https://arxiv.org/abs/1905.11946"
_SMALL = ("small_input=True makes the stem and the first stride-2 stage stride 1 (total stride 8 "
          "instead of 32), for 1x28x28 and 3x32x32 images; the default config needs at least 32x32.")
_TF_BN = (1e-3, 0.01)

# name: (width, depth, published resolution, default input size, dropout, torchvision's param count)
VARIANTS: dict[str, tuple[float, float, int, int, float, int]] = {
    "efficientnet_b0": (1.0, 1.0, 224, 224, 0.2, 5_288_548),
    "efficientnet_b1": (1.0, 1.1, 240, 240, 0.2, 7_794_184),
    "efficientnet_b2": (1.1, 1.2, 260, 288, 0.3, 9_109_994),
    "efficientnet_b3": (1.2, 1.4, 300, 300, 0.3, 12_233_232),
    "efficientnet_b4": (1.4, 1.8, 380, 380, 0.4, 19_341_616),
    "efficientnet_b5": (1.6, 2.2, 456, 456, 0.4, 30_389_784),
    "efficientnet_b6": (1.8, 2.6, 528, 528, 0.5, 43_040_704),
    "efficientnet_b7": (2.0, 3.1, 600, 600, 0.5, 66_347_960),
}

for _name, (_w, _d, _r, _size, _drop, _params) in VARIANTS.items():
    _eps, _mom = _TF_BN if _w >= 1.6 else (1e-5, 0.1)
    register_model(
        _name, EfficientNet,
        EfficientNetConfig(width_mult=_w, depth_mult=_d, dropout=_drop, bn_eps=_eps, bn_momentum=_mom),
        family="efficientnet", paper=_PAPER, year=2019, url=_URL,
        input_size=(3, _size, _size), min_input_size=(3, 32, 32),
        notes=(f"compound scaling of B0: width x{_w}, depth x{_d}, resolution {_r} (default input {_size}, "
               "torchvision's evaluation size); stochastic depth 0.2. The default config runs on inputs "
               "down to 32x32 (total stride 32)."),
        small_input=_SMALL, reference_params=_params, reference="torchvision 0.29",
        torchvision_name=_name, tags=("cnn", "imagenet"),
    )
