"""The inverted residual (MBConv) block of MobileNetV2, MobileNetV3 and EfficientNet.

Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks", section 3.3::

    x --1x1 expand--> BN act --kxk depthwise, stride s--> BN act --[SE]--> 1x1 project --> BN --(+ x)

The block widens a thin input by the expansion factor, filters each channel with one depthwise
kernel, optionally reweights channels by squeeze-and-excitation (MobileNetV3, EfficientNet) and
projects back to a thin, *linear* output (no activation: a ReLU on a low-dimensional manifold
destroys information). The residual connects the thin ends when the shape is kept.

Parameter names follow torchvision's MobileNetV3 ``InvertedResidual`` and EfficientNet ``MBConv``:
``block.0`` expand (absent when the expansion keeps the width), then depthwise, SE and project, each
a :class:`ConvNormAct` (``.0`` conv, ``.1`` BN) or :class:`SqueezeExcite` (``fc1``, ``fc2``).
"""

from __future__ import annotations

from torch import Tensor, nn

from archzoo.layers.conv import ConvNormAct, SqueezeExcite
from archzoo.layers.drop import DropPath

__all__ = ["InvertedResidual"]


class InvertedResidual(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, ceil(H / stride), ceil(W / stride)).

    ``expanded_channels`` is the width of the depthwise stage; when it equals ``in_channels`` the
    1x1 expansion is skipped (MobileNetV2's t=1 blocks). ``se_channels`` > 0 inserts a
    squeeze-and-excitation with that bottleneck width, ``se_act`` inside and ``se_gate`` as the
    gate. ``drop_path`` is the stochastic-depth probability of the residual branch, applied only
    when the block has a residual connection (EfficientNet; torchvision's ``StochasticDepth(p, "row")``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expanded_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        act: str = "relu6",
        se_channels: int = 0,
        se_act: str = "relu",
        se_gate: str = "sigmoid",
        drop_path: float = 0.0,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.use_res_connect = stride == 1 and in_channels == out_channels
        eps, mom = bn_eps, bn_momentum
        layers: list[nn.Module] = []
        if expanded_channels != in_channels:
            layers.append(
                ConvNormAct(in_channels, expanded_channels, 1, act=act, bn_eps=eps, bn_momentum=mom)
            )
        layers.append(
            ConvNormAct(expanded_channels, expanded_channels, kernel_size, stride, groups=expanded_channels,
                        act=act, bn_eps=eps, bn_momentum=mom)
        )
        if se_channels > 0:
            layers.append(SqueezeExcite(expanded_channels, se_channels, act=se_act, gate=se_gate))
        # linear bottleneck: no activation after the projection
        layers.append(ConvNormAct(expanded_channels, out_channels, 1, act=None, bn_eps=eps, bn_momentum=mom))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = DropPath(drop_path) if self.use_res_connect else nn.Identity()
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out) + x
        return out
