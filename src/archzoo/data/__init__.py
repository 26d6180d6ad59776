"""Datasets: sources (files, checksums, download), in-memory tensors, batching, augmentation.

``load_dataset(name)`` returns a :class:`Dataset` whose splits are tensors in memory (or, for text,
a ``TextCorpus``, ``TextClassificationSet`` or ``ParallelCorpus`` from ``archzoo.data.text``).
Sources register themselves with :func:`register_dataset`; their modules live in
``archzoo.data.sources``.

Parameterised names (``text:PATH``, ``textcls:DIR``, ``parallel:DIR``) are registered by prefix with
:func:`register_dataset_prefix`: the part after the colon is handed to a factory that makes the loader.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from archzoo.data.core import AUGMENTATIONS, Batcher, DataError, Dataset, Split, carve_validation

if TYPE_CHECKING:
    from archzoo.data.text.corpus import TextClassificationSet, TextCorpus
    from archzoo.data.text.parallel import ParallelCorpus

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
    "register_dataset_prefix",
]

AnyDataset = Union[Dataset, "TextCorpus", "TextClassificationSet", "ParallelCorpus"]
Loader = Callable[..., AnyDataset]
"""``loader(root, download, **options) -> dataset``; its keyword parameters are the options it accepts."""


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: ``loader(root, download, **options)`` returns the dataset."""

    name: str
    task: str
    description: str
    loader: Loader
    source: str | None = None  # the files' source, where its name differs from the dataset's


@dataclass(frozen=True)
class _Prefix:
    factory: Callable[[str], Loader]
    task: str
    description: str
    metavar: str


_DATASETS: dict[str, DatasetInfo] = {}
_PREFIXES: dict[str, _Prefix] = {}
_SOURCES_LOADED = False


def register_dataset(name: str, loader: Loader, *, task: str, description: str, source: str | None = None) -> None:
    """Register ``name``; ``source`` names its files' source in archzoo.data.files.SOURCES when that is
    not ``name`` itself (``mr`` reads the source ``mr-polarity``)."""
    if name in _DATASETS:
        raise ValueError(f"dataset {name!r} is already registered")
    _DATASETS[name] = DatasetInfo(name, task, description, loader, source)


def register_dataset_prefix(
    prefix: str, factory: Callable[[str], Loader], *, task: str, description: str, metavar: str = "ARG"
) -> None:
    """Register the names ``prefix:ARGUMENT``: ``factory(ARGUMENT)`` makes their loader (without
    touching any file: listing datasets builds one for the placeholder ``prefix:METAVAR``)."""
    if not prefix or ":" in prefix:
        raise ValueError(f"a dataset prefix must be non-empty and without ':', got {prefix!r}")
    if prefix in _PREFIXES:
        raise ValueError(f"dataset prefix {prefix!r} is already registered")
    _PREFIXES[prefix] = _Prefix(factory, task, description, metavar)


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
    """Names of the registered datasets, sorted; a prefix shows as ``prefix:METAVAR`` (``text:PATH``)."""
    _load_sources()
    return sorted([*_DATASETS, *(f"{prefix}:{p.metavar}" for prefix, p in _PREFIXES.items())])


def dataset_info(name: str) -> DatasetInfo:
    _load_sources()
    if name in _DATASETS:
        return _DATASETS[name]
    prefix, colon, argument = name.partition(":")
    if colon and prefix in _PREFIXES:
        p = _PREFIXES[prefix]
        if not argument:
            raise DataError(f"dataset {name!r} needs a {p.metavar} after the colon: {prefix}:{p.metavar} "
                            f"({p.description})")
        return DatasetInfo(name, p.task, p.description, p.factory(argument))
    known = list_datasets()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise DataError(f"unknown dataset {name!r}{hint} (known: {', '.join(known)})")


def _check_options(info: DatasetInfo, options: dict[str, object]) -> None:
    """DataError naming the options ``info.loader`` does not take, and the ones it does."""
    params = list(inspect.signature(info.loader).parameters.values())[2:]  # after root, download
    if not options or any(p.kind is p.VAR_KEYWORD for p in params):
        return
    accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [key for key in options if key not in accepted]
    if unknown:
        takes = f"it accepts: {', '.join(accepted)}" if accepted else "it takes no options"
        raise DataError(f"dataset {info.name!r} has no option {', '.join(map(repr, unknown))}; {takes}")


def load_dataset(
    name: str, *, root: str | os.PathLike[str] | None = None, download: bool = True, **options: object
) -> AnyDataset:
    """Load ``name`` into memory from ``data_root(root)`` (downloading it if allowed and needed).

    ``options`` go to the dataset's loader (``encoding="cp1252"`` for ``text:PATH``); an option the
    loader does not take is a DataError that lists the ones it does.
    """
    info = dataset_info(name)
    _check_options(info, options)
    return info.loader(data_root(root), download, **options)
