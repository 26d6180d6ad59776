"""Small classic datasets bundled with scikit-learn (an optional dependency: ``pip install scikit-learn``).

- ``digits``: 1,797 handwritten digits of 8x8 (UCI "Optical Recognition of Handwritten Digits",
  Alpaydin & Kaynak, 1998), stored as uint8 images (N, 1, 8, 8): the 0..16 counts are scaled to
  0..255 so they batch like every other image set.
- ``iris``: Fisher's 150 irises, 4 measurements, 3 species (Fisher, 1936). Setosa (0) and
  versicolor (1) are linearly separable: the perceptron's set.
- ``breast-cancer``: the 569 Wisconsin diagnostic cases, 30 features, malignant (0) / benign (1)
  (Street, Wolberg, Mangasarian, 1993).

Each is split once into a fixed stratified 80/20 train/test (seed 0), so results are comparable
across runs and machines. Tabular features are float32; ``mean``/``std`` are those of the training
split, per feature (per channel for ``digits``), which the batcher uses to normalise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from archzoo.data import register_dataset
from archzoo.data.core import DataError, Dataset, Split

TEST_FRACTION = 0.2
SPLIT_SEED = 0


def _sklearn_datasets(name: str) -> ModuleType:
    try:
        import sklearn.datasets
    except ImportError as e:
        raise DataError(
            f"dataset {name!r} comes with scikit-learn, which is not installed: "
            "`pip install scikit-learn` (or `pip install 'archzoo[sklearn]'`)"
        ) from e
    return sklearn.datasets


def stratified_split(y: Tensor, test_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Train and test indices (sorted) with ``test_fraction`` of every class in the test part."""
    n = len(y)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    order = perm[torch.sort(y[perm], stable=True).indices]  # shuffled within each class, classes grouped
    counts = torch.bincount(y)
    starts = torch.cumsum(counts, 0) - counts
    labels = y[order]
    rank = torch.arange(n) - starts[labels]  # position of each sample inside its class
    n_test = torch.round(counts.double() * test_fraction).long()
    is_test = rank < n_test[labels]
    return order[~is_test].sort().values, order[is_test].sort().values


def _split(x: Tensor, y: Tensor) -> dict[str, Split]:
    train, test = stratified_split(y, TEST_FRACTION, SPLIT_SEED)
    return {"train": Split(x[train], y[train]), "test": Split(x[test], y[test])}


def _feature_stats(x: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-feature mean and std (std 1 where a feature is constant, so nothing divides by zero)."""
    mean, std = x.double().mean(0), x.double().std(0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return tuple(mean.tolist()), tuple(std.tolist())


def _load_tabular(name: str, fetch: Callable[[Any], Any], citation: str) -> Dataset:
    bunch = fetch(_sklearn_datasets(name))
    x = torch.from_numpy(np.asarray(bunch.data, dtype=np.float32))  # (N, features)
    y = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))  # (N,)
    splits = _split(x, y)
    mean, std = _feature_stats(splits["train"].x)
    return Dataset(
        name=name,
        task="classification",
        splits=splits,
        input_shape=(x.shape[1],),
        num_classes=len(bunch.target_names),
        classes=tuple(str(c) for c in bunch.target_names),
        mean=mean,
        std=std,
        source=citation,
        notes={"features": tuple(str(f) for f in bunch.feature_names)},
    )


def _iris(root: Path, download: bool) -> Dataset:
    return _load_tabular("iris", lambda d: d.load_iris(), "scikit-learn: sklearn.datasets.load_iris")


def _breast_cancer(root: Path, download: bool) -> Dataset:
    return _load_tabular(
        "breast-cancer", lambda d: d.load_breast_cancer(), "scikit-learn: sklearn.datasets.load_breast_cancer"
    )


def _digits(root: Path, download: bool) -> Dataset:
    bunch = _sklearn_datasets("digits").load_digits()
    counts = np.asarray(bunch.images, dtype=np.float64)  # (N, 8, 8), values 0..16
    x = torch.from_numpy(np.rint(counts * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)  # (N, 1, 8, 8)
    y = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    splits = _split(x, y)
    pixels = splits["train"].x.double() / 255.0
    return Dataset(
        name="digits",
        task="classification",
        splits=splits,
        input_shape=(1, 8, 8),
        num_classes=10,
        classes=tuple(str(d) for d in range(10)),
        mean=(pixels.mean().item(),),
        std=(pixels.std(unbiased=False).item(),),
        augment="none",
        source="scikit-learn: sklearn.datasets.load_digits",
    )


register_dataset(
    "digits", _digits, task="classification",
    description="scikit-learn's 8x8 handwritten digits: 1,797 images, 10 classes, fixed 80/20 split",
)
register_dataset(
    "iris", _iris, task="classification",
    description="Fisher's iris: 150 samples, 4 features, 3 species, fixed stratified 80/20 split",
)
register_dataset(
    "breast-cancer", _breast_cancer, task="classification",
    description="Wisconsin diagnostic breast cancer: 569 samples, 30 features, 2 classes, fixed 80/20 split",
)
