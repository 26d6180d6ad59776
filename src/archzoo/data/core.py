"""Datasets as tensors in memory, and the batcher that cuts and augments whole batches at once.

A :class:`Dataset` holds its splits as tensors (images as uint8, the rest as float or long), so an
epoch is a permutation and a batch is one index gather: no per-sample Python code anywhere.

Randomness is a pure function of ``(seed, epoch, step)``: the shuffle of an epoch and the
augmentation of a batch are drawn from generators seeded from those numbers alone, so a resumed run
(or one rank of a distributed run) reproduces exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
from torch import Tensor

__all__ = ["AUGMENTATIONS", "Batcher", "DataError", "Dataset", "Split", "carve_validation"]


class DataError(ValueError):
    """A dataset could not be found, read or verified. The message says what to do."""


@dataclass
class Split:
    """One split: inputs ``x`` (N, ...) and targets ``y`` (N,) or (N, ...)."""

    x: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise DataError(f"split has {len(self.x)} inputs but {len(self.y)} targets")

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Dataset:
    """A dataset in memory.

    ``task`` names the objective it serves ("classification", "regression"). Image datasets keep
    ``x`` as uint8 (N, C, H, W); ``mean``/``std`` (per channel, on the 0..1 scale) normalise them
    when batched. ``augment`` is the augmentation recipes use for training by default.
    """

    name: str
    task: str
    splits: dict[str, Split]
    input_shape: tuple[int, ...]
    num_classes: int | None = None
    classes: tuple[str, ...] = ()
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    augment: str = "none"
    source: str = ""
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.splits.items())
        return f"Dataset({self.name!r}, task={self.task!r}, input_shape={self.input_shape}, {sizes})"


def carve_validation(ds: Dataset, size: int | float, seed: int) -> Dataset:
    """Split a validation set of ``size`` samples (or that fraction) off ``train``, reproducibly.

    Classification sets are carved per class (stratified) so the validation set keeps the class
    balance. Returns a new Dataset; ``ds`` is not changed.
    """
    train = ds.splits["train"]
    n = len(train)
    n_val = round(size * n) if isinstance(size, float) else int(size)
    if not 0 < n_val < n:
        raise DataError(f"validation size {size} leaves no training or no validation data in {n} samples")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    if ds.task == "classification" and train.y.ndim == 1:
        # stable sort of the shuffled labels groups each class; take every k-th for a stratified split
        order = perm[torch.sort(train.y[perm], stable=True).indices]
        pick = torch.zeros(n, dtype=torch.bool)
        pick[torch.linspace(0, n - 1, n_val).round().long()] = True
        val_idx, train_idx = order[pick], order[~pick]
    else:
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    val_idx, train_idx = val_idx.sort().values, train_idx.sort().values
    splits = dict(ds.splits)
    splits["train"] = Split(train.x[train_idx], train.y[train_idx])
    splits["val"] = Split(train.x[val_idx], train.y[val_idx])
    return replace(ds, splits=splits)


# ---------------------------------------------------------------------------------------------
# Batch-level augmentation: functions of (float batch (B, C, H, W), generator) -> batch.

def random_crop(x: Tensor, g: torch.Generator, padding: int = 2) -> Tensor:
    """Pad every image by ``padding`` (zeros) and crop it back at a random offset, per image."""
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    oy = torch.randint(0, 2 * padding + 1, (b,), generator=g).to(x.device)
    ox = torch.randint(0, 2 * padding + 1, (b,), generator=g).to(x.device)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # (B, 1, H, 1)
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # (B, 1, 1, W)
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[bi, ci, rows, cols]  # (B, C, H, W)


def random_flip(x: Tensor, g: torch.Generator) -> Tensor:
    """Flip each image left-right with probability 1/2."""
    flip = (torch.rand(x.shape[0], generator=g) < 0.5).to(x.device)[:, None, None, None]
    return torch.where(flip, x.flip(-1), x)


AUGMENTATIONS: dict[str, Callable[[Tensor, torch.Generator], Tensor]] = {
    "none": lambda x, g: x,
    "crop": random_crop,
    "flip": random_flip,
    "crop_flip": lambda x, g: random_flip(random_crop(x, g), g),
}


def _mix(*numbers: int) -> int:
    """A 63-bit seed from a few integers (splitmix-style), so nearby tuples give unrelated streams."""
    h = 0x9E3779B97F4A7C15
    for n in numbers:
        h = (h ^ (n + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2))) & 0xFFFFFFFFFFFFFFFF
        h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return h & 0x7FFFFFFFFFFFFFFF


def num_batches(n: int, batch_size: int, drop_last: bool) -> int:
    """Steps in an epoch of ``n`` samples: a last partial batch counts unless ``drop_last``."""
    full, rest = divmod(n, batch_size)
    return full if drop_last or rest == 0 else full + 1


def batch_indices(n: int, batch_size: int, *, shuffle: bool, seed: int, epoch: int, start_step: int = 0,
                  drop_last: bool = False) -> Iterator[Tensor]:
    """The sample indices of every step of ``epoch`` from ``start_step`` on: consecutive slices of
    ``randperm`` seeded from (seed, epoch) alone (with ``shuffle``; else of 0..n-1), so step s of
    epoch e is the same batch in any run, resumed or not."""
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(_mix(seed, epoch)))
    else:
        order = torch.arange(n)
    for step in range(start_step, num_batches(n, batch_size, drop_last)):
        yield order[step * batch_size:(step + 1) * batch_size]


class Batcher:
    """Cuts a :class:`Split` into batches of tensors on ``device``.

    Inputs are converted once to float32 and normalised (``mean``/``std`` on the 0..1 scale for
    uint8 images) and kept in that form, so a batch costs one gather. With ``shuffle`` the order of
    epoch ``e`` is ``randperm`` seeded from ``(seed, e)``; ``augment`` (a name in
    :data:`AUGMENTATIONS`) is drawn per batch from ``(seed, e, step)``.

    Distributed: with ``world_size > 1`` every rank walks the same global batches and keeps rows
    ``rank::world_size`` of each, so the ranks together see exactly what one process would.
    Training drops the last partial batch (so every step has the same size); evaluation keeps it.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int = 0,
        augment: str = "none",
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        drop_last: bool | None = None,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | str = "cpu",
        channels_last: bool = False,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch size must be positive, got {batch_size}")
        if augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {augment!r}; choose one of: {', '.join(AUGMENTATIONS)}")
        self.batch_size = min(batch_size, len(split))
        if world_size > 1 and self.batch_size % world_size:
            raise ValueError(
                f"batch size {self.batch_size} is not divisible by the {world_size} processes; "
                f"use a multiple of {world_size}"
            )
        self.shuffle, self.seed, self.augment = shuffle, seed, AUGMENTATIONS[augment]
        self.drop_last = shuffle if drop_last is None else drop_last
        self.rank, self.world_size = rank, world_size
        self.device = torch.device(device)
        self.channels_last = channels_last
        self.x = self._prepare_inputs(split.x, mean, std)
        self.y = split.y
        self.n = len(split)

    @staticmethod
    def _prepare_inputs(x: Tensor, mean: tuple[float, ...] | None, std: tuple[float, ...] | None) -> Tensor:
        if x.dtype == torch.uint8:
            x = x.float().div_(255.0)
        elif not x.is_floating_point():
            return x  # token ids and the like stay integer
        if mean is not None and std is not None:
            shape = (1, -1) + (1,) * (x.ndim - 2)
            x = (x - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)
        return x.contiguous()

    def __len__(self) -> int:
        return num_batches(self.n, self.batch_size, self.drop_last)

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[Tensor, Tensor]]:
        """The batches of ``epoch``, from ``start_step`` on (to resume inside an epoch)."""
        for step, idx in enumerate(batch_indices(self.n, self.batch_size, shuffle=self.shuffle, seed=self.seed,
                                                 epoch=epoch, start_step=start_step, drop_last=self.drop_last),
                                   start=start_step):
            xb, yb = self.x[idx], self.y[idx]
            if self.augment is not AUGMENTATIONS["none"]:
                xb = self.augment(xb, torch.Generator().manual_seed(_mix(self.seed, epoch, step, 1)))
            if self.world_size > 1:
                xb, yb = xb[self.rank::self.world_size], yb[self.rank::self.world_size]
            xb = xb.to(self.device, non_blocking=True)
            if self.channels_last and xb.ndim == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, yb.to(self.device, non_blocking=True)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return self.epoch(0)
