"""Differentiable augmentation for GANs trained on few images (DiffAugment: Zhao et al. 2020).

A discriminator shown the same few hundred images memorises them and wins outright, and the generator gets
no useful gradient. Augmenting the real images alone would teach G the augmented distribution (crops and
all); DiffAugment applies one random transform T to every image D sees, real and generated, in D's step and
in G's step alike, so D compares T(x) with T(G(z)) and G, whose gradient flows back through T, still learns
the un-augmented data. Every operation here is differentiable in its input. Images are (B, C, H, W) in the
generator's range, [-1, 1] for tanh:

- ``color``: brightness x + (u - 0.5), saturation (x - mean_c) * 2u + mean_c, contrast (x - mean) * (u + 0.5)
  + mean, with u ~ U(0, 1) drawn per image for each (mean_c: over the channels; mean: over the image);
- ``translation``: a shift of up to 1/8 of the height and width, zeros shifted in;
- ``cutout``: a square of half the height and width, centred anywhere, set to zero.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["DIFFAUGMENT_OPS", "check_policy", "diff_augment"]


def _uniform(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """One U(0, 1) per image, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=x.device, dtype=x.dtype)


def _color(x: Tensor, g: torch.Generator | None) -> Tensor:
    x = x + (_uniform(x, g) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (_uniform(x, g) * 2) + mean_c
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, g) + 0.5) + mean


def _offsets(n: int, low: int, high: int, x: Tensor, g: torch.Generator | None) -> Tensor:
    return torch.randint(low, high, (n,), generator=g, device=x.device)


def _translation(x: Tensor, g: torch.Generator | None, ratio: float = 0.125) -> Tensor:
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _offsets(b, -sh, sh + 1, x, g).view(b, 1, 1)
    dx = _offsets(b, -sw, sw + 1, x, g).view(b, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # (B, H, 1): the source row of each output row
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx  # (B, 1, W)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)  # (B, H, W): False where zeros shift in
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    moved = x.permute(0, 2, 3, 1)[batch, rows.clamp(0, h - 1), cols.clamp(0, w - 1)]  # (B, H, W, C)
    return moved.permute(0, 3, 1, 2) * inside.unsqueeze(1).to(x.dtype)


def _cutout(x: Tensor, g: torch.Generator | None, ratio: float = 0.5) -> Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _offsets(b, 0, h + (1 - ch % 2), x, g).view(b, 1, 1)  # the square's centre, anywhere in the image
    cx = _offsets(b, 0, w + (1 - cw % 2), x, g).view(b, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    dy, dx = rows - (cy - ch // 2), cols - (cx - cw // 2)  # the position within the square
    hole = (dy >= 0) & (dy < ch) & (dx >= 0) & (dx < cw)  # (B, H, W); the part inside the image
    return x * (~hole).unsqueeze(1).to(x.dtype)


DIFFAUGMENT_OPS: dict[str, Callable[[Tensor, torch.Generator | None], Tensor]] = {
    "color": _color, "translation": _translation, "cutout": _cutout}


def check_policy(policy: str) -> tuple[str, ...]:
    """The operations of a policy ("color,translation,cutout"; "" or "none": none), or ValueError naming the
    valid ones."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none")
    unknown = [n for n in names if n not in DIFFAUGMENT_OPS]
    if unknown:
        raise ValueError(f"unknown DiffAugment operation(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(DIFFAUGMENT_OPS)} joined by commas, or none")
    return names


def diff_augment(x: Tensor, policy: tuple[str, ...] | str, generator: torch.Generator | None = None) -> Tensor:
    """``x`` (B, C, H, W) through each operation of ``policy`` in turn, each drawn anew per image."""
    for name in check_policy(policy) if isinstance(policy, str) else policy:
        x = DIFFAUGMENT_OPS[name](x, generator)
    return x
