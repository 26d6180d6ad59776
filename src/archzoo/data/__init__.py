"""Datasets: sources (files, checksums, download), in-memory tensors, batching, augmentation.

``load_dataset(name)`` returns a :class:`Dataset` whose splits are tensors in memory. Sources
register themselves with :func:`register_dataset`; their modules live in ``archzoo.data.sources``.
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archzoo.data.core import AUGMENTATIONS, Batcher, DataError, Dataset, Split, carve_validation

__all__ = [
    "AUGMENTATIONS",
    "Batcher",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Split",
    "carve_validation",
    "data_root",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]

Loader = Callable[[Path, bool], Dataset]


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: ``loader(root, download)`` returns the Dataset."""

    name: str
    task: str
    description: str
    loader: Loader


_DATASETS: dict[str, DatasetInfo] = {}
_SOURCES_LOADED = False


def register_dataset(name: str, loader: Loader, *, task: str, description: str) -> None:
    if name in _DATASETS:
        raise ValueError(f"dataset {name!r} is already registered")
    _DATASETS[name] = DatasetInfo(name, task, description, loader)


def _load_sources() -> None:
    global _SOURCES_LOADED
    if not _SOURCES_LOADED:
        _SOURCES_LOADED = True
        from archzoo.data import sources

        for info in pkgutil.iter_modules(sources.__path__):
            importlib.import_module(f"{sources.__name__}.{info.name}")


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The data root: ``root`` if given, else $ARCHZOO_DATA, else ~/.cache/archzoo."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("ARCHZOO_DATA")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "archzoo"


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    _load_sources()
    return sorted(_DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    _load_sources()
    if name not in _DATASETS:
        close = difflib.get_close_matches(name, list(_DATASETS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DataError(f"unknown dataset {name!r}{hint} (known: {', '.join(sorted(_DATASETS))})")
    return _DATASETS[name]


def load_dataset(name: str, *, root: str | os.PathLike[str] | None = None, download: bool = True) -> Dataset:
    """Load ``name`` into memory from ``data_root(root)`` (downloading it if allowed and needed)."""
    return dataset_info(name).loader(data_root(root), download)
