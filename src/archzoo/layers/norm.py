"""Normalisation layers that PyTorch does not ship in the layout the models need."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["LayerNorm2d"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, H, W) map, each pixel normalised on its own.

    y[b, :, h, w] = (x[b, :, h, w] - mean) / sqrt(var + eps) * weight + bias, the statistics taken
    over C only (ConvNeXt's "channels_first" LayerNorm). Parameters are those of
    ``nn.LayerNorm(C)``, so torchvision's ``LayerNorm2d`` state dicts load as they are. On a
    channels_last tensor the permute below is free: the channels are already the innermost dimension.
    """

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__(num_channels, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)  # (B, H, W, C)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)  # (B, C, H, W)
