"""The networks of archzoo's architecture-search spaces: a genotype (a tuple of small integers) in, a plain
CNN out. The spaces themselves (sampling, mutation, the choices a controller makes) are in archzoo.nas.

``nas_macro`` -- a CNN of three stages, each a searched width, depth and operation per layer, in the
manner of MnasNet's factorized hierarchical space (Tan et al. 2019, "MnasNet: Platform-Aware Neural
Architecture Search for Mobile", https://arxiv.org/abs/1807.11626, section 4.1), built from archzoo's
own blocks::

    stem ConvNormAct 3x3 (full resolution) -> stage 1 (/2) -> stage 2 (/4) -> stage 3 (/8) -> avg pool -> linear

The genotype holds, per stage, ``(width index, depth index, op 1, op 2, op 3)``: 15 integers. A stage's
first layer changes the width and halves the resolution; the ops past the stage's
depth are unused (archzoo.nas writes them as 0). The operations (``MACRO_OPS``):

- ``conv3x3``, ``conv5x5``: ConvNormAct (convolution, BatchNorm, ReLU);
- ``sep3x3``, ``sep5x5``: DepthwiseSeparable (MobileNetV1: depthwise kxk, then pointwise 1x1);
- ``mbconv_e3``, ``mbconv_e6``: InvertedResidual with a 3x3 depthwise kernel and expansion 3 or 6
  (MobileNetV2; it adds its input back when it keeps the shape);
- ``maxpool``: 3x3 max pooling; where the layer must change the width, a 1x1 ConvNormAct follows;
- ``identity``: the input; where the layer must change the shape, a 1x1 ConvNormAct with the layer's
  stride (a projection, as in ResNet's shortcut).

``nas_cell`` -- the NAS-Bench-201 search space (Dong & Yang 2020, "NAS-Bench-201: Extending the Scope of
Reproducible Neural Architecture Search", ICLR, https://arxiv.org/abs/2001.00326, section 2.1): a cell
is a DAG of 4 nodes whose 6 edges (j -> i, j < i) each carry one of ``CELL_OPS``; node i is the sum of
its incoming edges, node 0 the cell's input, node 3 its output. The genotype lists the edges in the
benchmark's order, (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2): 5^6 = 15,625 cells. The network
stacks them as the benchmark does: stem conv 3x3 + BN, ``cells`` cells at C channels, a ResNet basic
block that halves the resolution and doubles the width, ``cells`` cells at 2C, another reduction,
``cells`` cells at 4C, then BN, ReLU, global average pooling and a linear classifier.
Deviation: the benchmark stacks 5 cells per stage at C = 16 on CIFAR; archzoo's defaults are 1 cell per
stage at C = 8 (``cells=1, channels=8``), sized for short trials on a CPU, and the input channels follow the
data. ``--set cells=5 --set channels=16`` builds the benchmark's network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.layers import ConvNormAct, DepthwiseSeparable, InvertedResidual, check_image_input
from archzoo.layers.init import init_cnn_
from archzoo.registry import register_model

__all__ = ["CELL_EDGES", "CELL_OPS", "MACRO_DEPTHS", "MACRO_OPS", "MACRO_WIDTHS", "CellConfig", "CellNet",
           "MacroConfig", "MacroNet", "cell_string", "macro_string"]

MACRO_OPS = ("conv3x3", "conv5x5", "sep3x3", "sep5x5", "mbconv_e3", "mbconv_e6", "maxpool", "identity")
MACRO_WIDTHS = ((8, 16, 24), (16, 32, 48), (32, 64, 96))  # the widths each stage chooses among
MACRO_DEPTHS = (1, 2, 3)
MACRO_GENES_PER_STAGE = 2 + max(MACRO_DEPTHS)  # width, depth, one op per possible layer

CELL_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
CELL_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), NAS-Bench-201's order


def _check_genotype(genotype: Sequence[int], choices: Sequence[int], what: str) -> tuple[int, ...]:
    """The genotype as a tuple of ints, each below its gene's number of choices; else ValueError."""
    try:
        genes = tuple(int(g) for g in genotype)
    except (TypeError, ValueError):
        raise ValueError(f"genotype must be {len(choices)} integers ({what}), got {genotype!r}") from None
    if len(genes) != len(choices) or any(not 0 <= g < n for g, n in zip(genes, choices, strict=False)):
        raise ValueError(f"genotype must be {len(choices)} integers ({what}), each below "
                         f"{', '.join(map(str, choices))} in turn; got {list(genotype)}")
    return genes


# ---- the macro space ---------------------------------------------------------------------------------

MACRO_CHOICES = tuple(n for s in range(len(MACRO_WIDTHS))
                      for n in (len(MACRO_WIDTHS[s]), len(MACRO_DEPTHS), *[len(MACRO_OPS)] * max(MACRO_DEPTHS)))


@dataclass(frozen=True)
class MacroConfig:
    # per stage: width index, depth index, three op indices (see the module docstring)
    genotype: tuple[int, ...] = (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0)
    in_channels: int = 3
    num_classes: int = 1000

    def __post_init__(self) -> None:
        genes = _check_genotype(self.genotype, MACRO_CHOICES, "per stage: width, depth and three operations")
        object.__setattr__(self, "genotype", genes)  # a list read back from config.json becomes a tuple
        if self.in_channels < 1 or self.num_classes < 1:
            raise ValueError(f"in_channels and num_classes must be positive, got {self.in_channels} and "
                             f"{self.num_classes}")

    def stages(self) -> list[tuple[int, tuple[str, ...]]]:
        """(width, operations) of each stage, the unused op genes dropped."""
        out = []
        for s in range(len(MACRO_WIDTHS)):
            w, d, *ops = self.genotype[s * MACRO_GENES_PER_STAGE:(s + 1) * MACRO_GENES_PER_STAGE]
            out.append((MACRO_WIDTHS[s][w], tuple(MACRO_OPS[o] for o in ops[:MACRO_DEPTHS[d]])))
        return out


def macro_string(genotype: Sequence[int]) -> str:
    """A genotype of the macro space as text: ``16:conv3x3 | 32:sep5x5,mbconv_e6 | 64:maxpool``."""
    stages = MacroConfig(genotype=tuple(genotype), num_classes=1).stages()
    return " | ".join(f"{w}:{','.join(ops)}" for w, ops in stages)


def macro_op(name: str, cin: int, cout: int, stride: int) -> nn.Module:
    """One layer of the macro space: (B, cin, H, W) -> (B, cout, H / stride, W / stride)."""
    reshape = stride != 1 or cin != cout
    if name in ("conv3x3", "conv5x5"):
        return ConvNormAct(cin, cout, int(name[-1]), stride)
    if name in ("sep3x3", "sep5x5"):
        return DepthwiseSeparable(cin, cout, stride, int(name[-1]))
    if name in ("mbconv_e3", "mbconv_e6"):
        return InvertedResidual(cin, cout, cin * int(name[-1]), 3, stride, act="relu")
    if name == "maxpool":
        pool = nn.MaxPool2d(3, stride, 1)
        return nn.Sequential(pool, ConvNormAct(cin, cout, 1)) if cin != cout else pool
    if name == "identity":
        return ConvNormAct(cin, cout, 1, stride) if reshape else nn.Identity()
    raise ValueError(f"unknown macro operation {name!r}; valid: {', '.join(MACRO_OPS)}")


class MacroNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= 8."""

    min_hw = (8, 8)

    def __init__(self, cfg: MacroConfig) -> None:
        super().__init__()
        self.cfg = cfg
        stages = cfg.stages()
        width = stages[0][0]
        self.stem = ConvNormAct(cfg.in_channels, width, 3)
        blocks: list[nn.Module] = []
        for out, ops in stages:
            layers = []
            for i, op in enumerate(ops):
                layers.append(macro_op(op, width, out, 2 if i == 0 else 1))
                width = out
            blocks.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*blocks)
        self.classifier = nn.Linear(width, cfg.num_classes)
        init_cnn_(self)

    def forward_features(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, self.min_hw, "nas_macro")
        return self.stages(self.stem(x))

    def forward_head(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))  # (B, C) -> (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


# ---- the cell space (NAS-Bench-201) -------------------------------------------------------------------

@dataclass(frozen=True)
class CellConfig:
    # the op of each edge, in CELL_EDGES order; the default is the benchmark's best CIFAR-10 cell
    genotype: tuple[int, ...] = (3, 3, 3, 1, 3, 3)
    channels: int = 8  # C: the first stage's width (then 2C, 4C); the benchmark: 16
    cells: int = 1  # cells per stage (the benchmark: 5)
    in_channels: int = 3
    num_classes: int = 1000

    def __post_init__(self) -> None:
        genes = _check_genotype(self.genotype, [len(CELL_OPS)] * len(CELL_EDGES), "one operation per edge")
        object.__setattr__(self, "genotype", genes)
        if min(self.channels, self.cells, self.in_channels, self.num_classes) < 1:
            raise ValueError(f"channels, cells, in_channels and num_classes must be positive, got {self.channels}, "
                             f"{self.cells}, {self.in_channels}, {self.num_classes}")


def cell_string(genotype: Sequence[int]) -> str:
    """NAS-Bench-201's text form: ``|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|...|``."""
    genes = _check_genotype(genotype, [len(CELL_OPS)] * len(CELL_EDGES), "one operation per edge")
    nodes = []
    for node in (1, 2, 3):
        edges = [f"{CELL_OPS[g]}~{j}" for (i, j), g in zip(CELL_EDGES, genes, strict=True) if i == node]
        nodes.append("|" + "|".join(edges) + "|")
    return "+".join(nodes)


class ReluConvBn(nn.Sequential):
    """NAS-Bench-201's ``nor_conv``: ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, cin: int, cout: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, kernel_size, stride, kernel_size // 2, bias=False),
                         nn.BatchNorm2d(cout))


def cell_op(name: str, channels: int) -> nn.Module:
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReluConvBn(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReluConvBn(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise ValueError(f"unknown cell operation {name!r}; valid: {', '.join(CELL_OPS[1:])}")


class Cell(nn.Module):
    """(B, C, H, W) -> (B, C, H, W): node i = sum over its incoming edges of op(node j); 'none' edges are left
    out, and a node with no edge left is zero."""

    def __init__(self, genotype: tuple[int, ...], channels: int) -> None:
        super().__init__()
        self.edges = [(i, j) for (i, j), g in zip(CELL_EDGES, genotype, strict=True) if CELL_OPS[g] != "none"]
        self.ops = nn.ModuleList(cell_op(CELL_OPS[g], channels) for g in genotype if CELL_OPS[g] != "none")

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        for node in (1, 2, 3):
            inputs = [op(nodes[j]) for (i, j), op in zip(self.edges, self.ops, strict=True) if i == node]
            nodes.append(torch.stack(inputs).sum(0) if inputs else torch.zeros_like(x))
        return nodes[-1]


class ResNetReduction(nn.Module):
    """NAS-Bench-201's reduction block, a ResNet basic block with stride 2: (B, cin, H, W) -> (B, cout, H/2, W/2).
    Residual branch ReLUConvBN 3x3 /2 -> ReLUConvBN 3x3; shortcut 2x2 average pooling -> 1x1 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv_a = ReluConvBn(cin, cout, 3, 2)
        self.conv_b = ReluConvBn(cout, cout, 3)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class CellNet(nn.Module):
    """(B, in_channels, H, W) -> (B, num_classes); H, W >= 4."""

    min_hw = (4, 4)

    def __init__(self, cfg: CellConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.stem = nn.Sequential(nn.Conv2d(cfg.in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetReduction(c, 2 * c))
                c *= 2
            layers += [Cell(cfg.genotype, c) for _ in range(cfg.cells)]
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())
        self.classifier = nn.Linear(c, cfg.num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        check_image_input(x, self.cfg.in_channels, self.min_hw, "nas_cell")
        return self.lastact(self.cells(self.stem(x)))

    def forward_head(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))  # (B, C) -> (B, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


# ---- registered variants ------------------------------------------------------------------------------

register_model(
    "nas_macro", MacroNet, MacroConfig(), family="nas",
    paper="MnasNet: Platform-Aware Neural Architecture Search for Mobile (the factorized hierarchical space)",
    year=2019, url="https://arxiv.org/abs/1807.11626", input_size=(3, 32, 32), min_input_size=(3, 8, 8),
    small_input="stride 1 in the stem and the first stage; 28x28 images reach stage 3 at 7x7",
    notes="a candidate of archzoo's macro search space: --set genotype=(...) (15 genes), or nas:RUN from a "
          "search; the default is widths 16-32-64, one 3x3 convolution per stage",
)
register_model(
    "nas_cell", CellNet, CellConfig(), family="nas",
    paper="NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search", year=2020,
    url="https://arxiv.org/abs/2001.00326", input_size=(3, 32, 32), min_input_size=(3, 4, 4),
    small_input="the benchmark's own layout at any size (stride 1 stem, two reductions)",
    notes="a cell of the NAS-Bench-201 space (6 edges, 5 operations) stacked 1 per stage (the benchmark: 5); "
          "--set genotype=(...) or nas:RUN from a search; the default is the benchmark's best CIFAR-10 cell",
)
