"""Convolution blocks shared by the CNN families.

Names follow torchvision (``Conv2dNormActivation``, ``SqueezeExcitation``) so that its state
dicts load without renaming: a ConvNormAct is a Sequential whose children are ``0`` (conv),
``1`` (norm) and ``2`` (activation).
"""

from __future__ import annotations

from torch import Tensor, nn

from archzoo.layers.activations import get_activation


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor`` without going below 90% of ``v``.

    The channel rounding of MobileNet and EfficientNet (TensorFlow reference ``_make_divisible``).
    """
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # rounding down must not remove more than 10%
        new_v += divisor
    return new_v


class ConvNormAct(nn.Sequential):
    """Conv2d -> BatchNorm2d -> activation, with 'same' padding for odd kernels and no conv bias."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: str | None = "relu",
        norm: bool = True,
        dilation: int = 1,
        bn_eps: float = 1e-5,
        bn_momentum: float = 0.1,
    ) -> None:
        padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                      groups=groups, bias=not norm)
        ]
        if norm:
            layers.append(nn.BatchNorm2d(out_channels, eps=bn_eps, momentum=bn_momentum))
        if act is not None:
            layers.append(get_activation(act))
        super().__init__(*layers)
        self.out_channels = out_channels


class DepthwiseSeparable(nn.Sequential):
    """(B, C_in, H, W) -> (B, C_out, H / stride, W / stride): ``0`` a depthwise kxk ConvNormAct, ``1`` a
    pointwise 1x1 ConvNormAct (MobileNetV1's block, Howard et al. 2017, figure 3)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3,
                 act: str = "relu") -> None:
        super().__init__(
            ConvNormAct(in_channels, in_channels, kernel_size, stride, groups=in_channels, act=act),
            ConvNormAct(in_channels, out_channels, 1, act=act),
        )
        self.out_channels = out_channels


class SqueezeExcite(nn.Module):
    """Squeeze-and-Excitation (Hu et al. 2018): x * gate(fc2(act(fc1(avgpool(x))))).

    ``fc1``/``fc2`` are 1x1 convolutions, as in torchvision, so the block works on (B, C, H, W)
    in either memory format.
    """

    def __init__(self, channels: int, squeeze_channels: int, act: str = "relu", gate: str = "sigmoid") -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = get_activation(act)
        self.scale_activation = get_activation(gate)

    def forward(self, x: Tensor) -> Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))  # (B, C, 1, 1)
        return x * s
