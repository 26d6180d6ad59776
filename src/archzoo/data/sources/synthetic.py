"""Synthetic toy problems, generated from a fixed seed (no files): the same tensors on every machine.

- ``xor``: 2-D points scattered (Gaussian, std 0.3) around the corners (±1, ±1), label 1 where the
  corner's coordinates have different signs: the classic problem a single perceptron cannot solve
  (Minsky & Papert, "Perceptrons", 1969) and one hidden layer can.
- ``spirals``: two interleaved spirals of 1.5 turns, one per class (Lang & Witbrock, "Learning to
  tell two spirals apart", 1988), with a little Gaussian noise: needs a deep or wide network.
- ``sine``: regression of y = sin(x) for x uniform on [-pi, pi]; x and y are (N, 1).

Train and test are drawn from one generator, train first, so they are disjoint draws of the same
distribution. Classification sets are balanced exactly (as many points of each class).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from archzoo.data import register_dataset
from archzoo.data.core import Dataset, Split

SEED = 0
N_TRAIN, N_TEST = 400, 200  # xor and spirals
N_TRAIN_SINE, N_TEST_SINE = 256, 128
XOR_NOISE = 0.3
SPIRAL_TURNS, SPIRAL_NOISE = 1.5, 0.03


def _generator(name: str) -> torch.Generator:
    # a different stream per dataset, so adding one never changes another
    return torch.Generator().manual_seed(SEED + sum(name.encode()))


def _splits(x: Tensor, y: Tensor, n_train: int) -> dict[str, Split]:
    return {"train": Split(x[:n_train], y[:n_train]), "test": Split(x[n_train:], y[n_train:])}


def make_xor(n: int, g: torch.Generator, noise: float = XOR_NOISE) -> tuple[Tensor, Tensor]:
    """``n`` points (n, 2) around the four corners (n/4 each, shuffled) and their XOR labels (n,)."""
    corner = torch.arange(n)[torch.randperm(n, generator=g)] % 4
    signs = torch.stack([corner // 2, corner % 2], dim=1).float() * 2 - 1  # (n, 2), entries ±1
    x = signs + noise * torch.randn(n, 2, generator=g)
    y = (signs[:, 0] != signs[:, 1]).long()
    return x, y


def make_spirals(n: int, g: torch.Generator, turns: float = SPIRAL_TURNS, noise: float = SPIRAL_NOISE
                 ) -> tuple[Tensor, Tensor]:
    """``n`` points (n, 2) on two interleaved spirals (n/2 each, shuffled) and their spiral (n,)."""
    y = torch.arange(n)[torch.randperm(n, generator=g)] % 2
    t = 0.05 + 0.95 * torch.rand(n, generator=g)  # distance along the spiral, 0..1 = radius
    angle = 2 * math.pi * turns * t + math.pi * y  # the second spiral is the first turned by 180 degrees
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)  # (n, 2)
    return x + noise * torch.randn(n, 2, generator=g), y


def make_sine(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """x uniform on [-pi, pi] and y = sin(x), both (n, 1)."""
    x = (torch.rand(n, 1, generator=g) * 2 - 1) * math.pi
    return x, torch.sin(x)


def _two_class(name: str, x: Tensor, y: Tensor, description: str) -> Dataset:
    return Dataset(
        name=name,
        task="classification",
        splits=_splits(x, y, N_TRAIN),
        input_shape=(2,),
        num_classes=2,
        classes=("0", "1"),
        source=f"synthetic, seed {SEED}: {description}",
    )


def _xor(root: Path, download: bool) -> Dataset:
    x, y = make_xor(N_TRAIN + N_TEST, _generator("xor"))
    return _two_class("xor", x, y, f"corners (±1, ±1) + N(0, {XOR_NOISE}^2)")


def _spirals(root: Path, download: bool) -> Dataset:
    x, y = make_spirals(N_TRAIN + N_TEST, _generator("spirals"))
    return _two_class("spirals", x, y, f"two spirals of {SPIRAL_TURNS} turns + N(0, {SPIRAL_NOISE}^2)")


def _sine(root: Path, download: bool) -> Dataset:
    x, y = make_sine(N_TRAIN_SINE + N_TEST_SINE, _generator("sine"))
    return Dataset(
        name="sine",
        task="regression",
        splits=_splits(x, y, N_TRAIN_SINE),
        input_shape=(1,),
        source=f"synthetic, seed {SEED}: y = sin(x), x ~ U(-pi, pi)",
    )


register_dataset(
    "xor", _xor, task="classification",
    description=f"noisy XOR of 2-D points: {N_TRAIN} train / {N_TEST} test, 2 classes",
)
register_dataset(
    "spirals", _spirals, task="classification",
    description=f"two interleaved spirals: {N_TRAIN} train / {N_TEST} test, 2 classes",
)
register_dataset(
    "sine", _sine, task="regression",
    description=f"y = sin(x) on [-pi, pi]: {N_TRAIN_SINE} train / {N_TEST_SINE} test",
)
