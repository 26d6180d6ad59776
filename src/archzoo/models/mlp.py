"""The multilayer perceptron: affine layers and nonlinearities, trained by backpropagation.

Papers: D. E. Rumelhart, G. E. Hinton, R. J. Williams, "Learning representations by
back-propagating errors", Nature, 1986 (https://doi.org/10.1038/323533a0); the universal
approximation theorem of G. Cybenko, "Approximation by superpositions of a sigmoidal function",
1989, and K. Hornik, 1991.

h_0 = flatten(x);  h_l = act(BN(W_l h_{l-1} + b_l)) then dropout, for l = 1..depth;
y = W_out h_depth + b_out.

Batch norm (Ioffe & Szegedy 2015) and dropout (Srivastava et al. 2014) are options, off by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from archzoo.layers import ACTIVATIONS, get_activation
from archzoo.registry import register_model


@dataclass(frozen=True)
class MLPConfig:
    """``in_features`` inputs (any input is flattened), ``depth`` hidden layers of ``width`` units.

    ``num_classes`` is the number of outputs (classes, or regression targets).
    """

    in_features: int = 784
    num_classes: int = 10
    depth: int = 2
    width: int = 256
    act: str = "relu"
    dropout: float = 0.0
    batch_norm: bool = False

    def __post_init__(self) -> None:
        if self.act not in ACTIVATIONS:
            raise ValueError(f"unknown activation act={self.act!r}; choose one of: {', '.join(ACTIVATIONS)}")
        if self.in_features < 1 or self.num_classes < 1 or self.width < 1 or self.depth < 0:
            raise ValueError("in_features, num_classes and width must be >= 1 and depth >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class MLP(nn.Module):
    """Input (B, *) with prod(*) == in_features -> (B, num_classes)."""

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        fan_in = cfg.in_features
        for _ in range(cfg.depth):
            layers.append(nn.Linear(fan_in, cfg.width, bias=not cfg.batch_norm))
            if cfg.batch_norm:
                layers.append(nn.BatchNorm1d(cfg.width))
            layers.append(get_activation(cfg.act))
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            fan_in = cfg.width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(fan_in, cfg.num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or math.prod(x.shape[1:]) != self.cfg.in_features:
            raise ValueError(
                f"mlp expects inputs of shape (B, {self.cfg.in_features}) or any (B, ...) with "
                f"{self.cfg.in_features} values per sample, got {tuple(x.shape)}; set in_features"
            )
        return self.features(x.flatten(1))  # (B, in_features) -> (B, width)

    def forward_head(self, x: Tensor) -> Tensor:
        return self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


register_model(
    "mlp", MLP, MLPConfig(), family="mlp",
    paper="Learning representations by back-propagating errors", year=1986,
    url="https://doi.org/10.1038/323533a0", input_size=(784,), min_input_size=(784,),
    small_input="flattens any input; in_features is set from the data",
    notes="2 hidden layers of 256 ReLU units by default; depth, width, act, dropout, batch_norm are options",
)
