"""The protocol between the engine and a task, and the data side of tasks over tensors in memory.

A task turns (model, batch) into a loss and metrics. It owns its optimizers (a classifier has one,
a GAN two) and performs the whole step, so the engine never branches on the kind of model.

A task also owns the way its data reaches the model: :meth:`Task.plan` turns a loaded dataset and
the run's configuration into a :class:`DataPlan` (what the model must be built with, the batches of
each split, what a run directory must keep to rebuild them: a vocabulary, say). Images and tables
share :class:`TensorPlan`; text tasks bring their own. A batch is whatever the task needs; the
engine hands it to the task untouched.

Precision is the engine's: it runs ``train_step`` and ``evaluate`` under the run's autocast and hands
``train_step`` the :class:`~archzoo.engine.precision.Precision` whose ``optimize`` does backward
(with the fp16 gradient scaler where there is one), clipping and the step. Tasks never call autocast.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from archzoo.data import Batcher, Dataset, carve_validation
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.precision import Precision

Batch = tuple[Tensor, Tensor]


class Batches(Protocol):
    """The batches of one split: a pure function of (epoch, step), so that a resumed run (or one rank
    of many) sees exactly what an uninterrupted one would."""

    batch_size: int  # global: samples (or sequences) per optimizer step, over all processes

    def __len__(self) -> int: ...

    def epoch(self, epoch: int, start_step: int = 0) -> Iterator[Any]: ...


class DataPlan(Protocol):
    """How a task feeds one dataset to a model, as the run's configuration asks."""

    record: dict[str, Any]  # config.json's "dataset": name, source, split sizes, ...
    channels_last: bool  # image batches and the model in channels_last memory format

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        """Model settings that follow from the data (classes, channels, vocabulary size), among ``fields``."""
        ...

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[Batches, dict[str, Batches]]:
        """(training batches, {split: evaluation batches})."""
        ...

    def check_fits(self, model: nn.Module, batch: Any) -> None:
        """Run a little of ``batch`` through ``model`` (eval mode, no gradients) so that data that does not
        fit the model fails before training, with a ValueError that says what was expected."""
        ...

    def save(self, run_dir: Path) -> None:
        """Keep in ``run_dir`` what `eval`, `sample` and `--resume` need to rebuild this plan."""
        ...


class Task(Protocol):
    name: str
    best_metric: str  # the validation metric that chooses best.safetensors ("epoch": the latest evaluation)
    higher_is_better: bool

    def plan(self, ds: Any, cfg: TrainConfig, run_dir: Path | None = None) -> DataPlan:
        """The data plan for ``ds``; ``run_dir`` holds an earlier run's saved plan to reuse (resume, eval)."""
        ...

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]: ...

    def train_step(self, model: nn.Module, batch: Any, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        """One optimisation step (``precision.optimize`` for each optimizer it steps); returns
        detached scalars, always including 'loss'."""
        ...

    def evaluate(self, model: nn.Module, batches: Iterable[Any]) -> dict[str, Any]: ...


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside DistributedDataParallel (``.module``) and torch.compile (``._orig_mod``)."""
    inner = getattr(model, "module", model)
    return getattr(inner, "_orig_mod", inner)


# ---- tensors in memory: images and tables --------------------------------------------------------

def subset_and_carve(ds: Dataset, cfg: TrainConfig) -> Dataset:
    """Apply train_classes, --subset and the validation carve-out to a dataset of tensors, as config.json
    records."""
    if cfg.train_classes:
        ds = keep_classes(ds, cfg.train_classes)
    if cfg.subset and cfg.subset < len(ds.splits["train"]):
        g = torch.Generator().manual_seed(cfg.seed)
        idx = torch.randperm(len(ds.splits["train"]), generator=g)[: cfg.subset].sort().values
        tr = ds.splits["train"]
        ds = dataclasses.replace(ds, splits={**ds.splits, "train": type(tr)(tr.x[idx], tr.y[idx])})
    if "val" not in ds.splits and cfg.val_size > 0:
        size: int | float = int(cfg.val_size) if cfg.val_size >= 1 else float(cfg.val_size)
        ds = carve_validation(ds, size, cfg.seed)
    return ds


def keep_classes(ds: Dataset, classes: str) -> Dataset:
    """``ds`` with its training split (and validation split, if it has one) cut to the images of ``classes``
    ("3" or "0,1,2"); the test split keeps every class, so that a model of the normal classes can be
    asked about the others (anomaly detection)."""
    k = ds.num_classes or 0
    try:
        wanted = sorted({int(c) for c in str(classes).replace(" ", "").split(",") if c != ""})
    except ValueError:
        wanted = []
    if not wanted or k == 0 or not all(0 <= c < k for c in wanted):
        names = ", ".join(f"{i} ({n})" for i, n in enumerate(ds.classes)) if ds.classes else f"0..{k - 1}"
        raise ConfigError(f"train_classes must be class ids separated by commas, among {names}; got {classes!r}"
                          if k else f"train_classes needs a dataset of classes; {ds.name} has none")
    splits = dict(ds.splits)
    for name in ("train", "val"):
        if name in splits:
            split = splits[name]
            mask = torch.isin(split.y, torch.tensor(wanted))
            splits[name] = type(split)(split.x[mask], split.y[mask])
    return dataclasses.replace(ds, splits=splits)


class TensorPlan:
    """The data plan of tasks over a :class:`~archzoo.data.Dataset` of tensors: subset and validation
    carve-out, normalisation, augmentation and channels_last in :class:`~archzoo.data.Batcher`."""

    def __init__(self, ds: Dataset, cfg: TrainConfig) -> None:
        self.ds = subset_and_carve(ds, cfg)
        self.augment = cfg.augment if cfg.augment is not None else self.ds.augment
        self.channels_last = cfg.channels_last and self.ds.is_image
        self.record = {"name": self.ds.name, "source": self.ds.source,
                       "splits": {k: len(v) for k, v in self.ds.splits.items()},
                       "validation_carved_from_train": cfg.val_size > 0 and "val" in self.ds.splits}

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        ds, out = self.ds, {}
        if "num_classes" in fields:
            if ds.num_classes:
                out["num_classes"] = ds.num_classes
            elif ds.task == "regression":
                y = ds.splits["train"].y
                out["num_classes"] = 1 if y.ndim == 1 else int(y.shape[1])
        if "in_channels" in fields and ds.is_image:
            out["in_channels"] = ds.input_shape[0]
        if "in_features" in fields:
            out["in_features"] = math.prod(ds.input_shape)
        return out

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[Batcher, dict[str, Batcher]]:
        common = dict(mean=self.ds.mean, std=self.ds.std, device=device, channels_last=self.channels_last)
        train = Batcher(self.ds.splits["train"], cfg.batch_size, shuffle=True, seed=cfg.seed, augment=self.augment,
                        rank=rank, world_size=world_size, **common)
        evals = {name: Batcher(split, cfg.eval_batch_size, **common)
                 for name, split in self.ds.splits.items() if name != "train"}
        return train, evals

    def check_fits(self, model: nn.Module, batch: Batch) -> None:
        model(batch[0][:2])

    def save(self, run_dir: Path) -> None:
        pass  # tensors need nothing beyond config.json to be rebuilt


def check_fits(plan: DataPlan, model: nn.Module, batch: Any, data: str) -> None:
    """``plan.check_fits`` in eval mode without gradients; a ValueError becomes a one-line ConfigError."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            plan.check_fits(model, batch)
    except ValueError as exc:
        raise ConfigError(f"{data} does not fit the model: {str(exc).splitlines()[0]}") from None
    finally:
        model.train(was_training)
