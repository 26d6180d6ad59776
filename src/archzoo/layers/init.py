"""torchvision's initialisation of its plain CNNs (VGG, MobileNet, EfficientNet), written once."""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn


def linear_normal_(m: nn.Linear) -> None:
    """N(0, 0.01) weights (VGG, MobileNet)."""
    nn.init.normal_(m.weight, 0.0, 0.01)


def linear_uniform_fan_out_(m: nn.Linear) -> None:
    """U(-1/sqrt(out), 1/sqrt(out)) weights (EfficientNet)."""
    bound = 1.0 / math.sqrt(m.out_features)
    nn.init.uniform_(m.weight, -bound, bound)


def init_cnn_(model: nn.Module, linear: Callable[[nn.Linear], None] = linear_normal_) -> None:
    """He normal (fan-out, ReLU gain) convolutions, BatchNorm at (1, 0), ``linear`` for the linear
    layers' weights; every bias zero. Modules are visited in ``model.modules()`` order."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear(m)
            nn.init.zeros_(m.bias)
