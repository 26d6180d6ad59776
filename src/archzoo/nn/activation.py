"""Activation modules with learnable parameters: PReLU (He et al. 2015, https://arxiv.org/abs/1502.01852)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from archzoo.nn import functional as F

__all__ = ["PReLU"]


class PReLU(nn.Module):
    """Parametric ReLU: z for z > 0 else a_c z, with a learned slope a per channel (or one shared).

    Same parameter (``weight``, shape (num_parameters,), initialised to ``init``) as torch.nn.PReLU.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = nn.Parameter(torch.full((num_parameters,), float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
