"""Mixtures of 2-D Gaussians, the toy benchmarks of mode collapse, generated from a fixed seed (no files).

- ``gaussians25``: 25 Gaussians of std 0.05 centred on the grid {-4, -2, 0, 2, 4}^2.
- ``gaussians8``: 8 Gaussians of std 0.02 centred evenly on a ring of radius 2.

As in Metz et al., "Unrolled Generative Adversarial Networks" (ICLR 2017, https://arxiv.org/abs/1611.02163),
Srivastava et al., "VEEGAN" (NeurIPS 2017, https://arxiv.org/abs/1705.07761) and Lin et al., "PacGAN"
(NeurIPS 2018, https://arxiv.org/abs/1712.04086): every mode is equally likely, so a generator that
drops one is seen at once (see archzoo.tasks.adversarial's ``modes_covered``).

Each split is its own draw of the mixture (train, then val, then test, from one generator): points
``x`` (N, 2) float32 and the index of the mode they were drawn from ``y`` (N,). The dataset's notes
carry ``modes`` (the K centres, as a list of [x, y]) and ``mode_std``, which the metrics use.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from archzoo.data import register_dataset
from archzoo.data.core import Dataset, Split

SEED = 0
SIZES = {"train": 100_000, "val": 5_000, "test": 5_000}
GRID_STD, RING_STD, RING_RADIUS = 0.05, 0.02, 2.0


def grid_modes() -> Tensor:
    """The 25 centres (25, 2) of the 5x5 grid {-4, -2, 0, 2, 4}^2, row by row."""
    axis = torch.arange(-4.0, 5.0, 2.0)
    return torch.cartesian_prod(axis, axis)


def ring_modes(k: int = 8, radius: float = RING_RADIUS) -> Tensor:
    """``k`` centres (k, 2) evenly spaced on a circle of ``radius``, the first on the positive x axis."""
    angle = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return (radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)).float()


def sample_mixture(modes: Tensor, std: float, n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` points (n, 2) of the equal mixture of N(mode, std^2 I) and their modes' indices (n,)."""
    y = torch.randint(0, len(modes), (n,), generator=g)
    return modes[y] + std * torch.randn(n, 2, generator=g), y


def _mixture(name: str, modes: Tensor, std: float, description: str) -> Dataset:
    g = torch.Generator().manual_seed(SEED + sum(name.encode()))  # a stream per dataset, as archzoo's other toys
    splits = {split: Split(*sample_mixture(modes, std, n, g)) for split, n in SIZES.items()}
    return Dataset(name=name, task="generative", splits=splits, input_shape=(2,), num_classes=len(modes),
                   classes=tuple(str(i) for i in range(len(modes))), source=f"synthetic, seed {SEED}: {description}",
                   notes={"modes": modes.tolist(), "mode_std": std})


def _gaussians25(root: Path, download: bool) -> Dataset:
    return _mixture("gaussians25", grid_modes(), GRID_STD, f"25 Gaussians on {{-4,-2,0,2,4}}^2, std {GRID_STD}")


def _gaussians8(root: Path, download: bool) -> Dataset:
    return _mixture("gaussians8", ring_modes(), RING_STD,
                    f"8 Gaussians on a ring of radius {RING_RADIUS}, std {RING_STD}")


_SPLITS = " / ".join(f"{n:,}" for n in SIZES.values())
register_dataset("gaussians25", _gaussians25, task="generative",
                 description=f"25 2-D Gaussians on a 5x5 grid (std {GRID_STD}): {_SPLITS} train/val/test points")
register_dataset("gaussians8", _gaussians8, task="generative",
                 description=f"8 2-D Gaussians on a ring of radius 2 (std {RING_STD}): {_SPLITS} train/val/test points")
