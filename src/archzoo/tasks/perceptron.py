"""The perceptron learning rule as a task: no gradients and no optimizer, one pass of the rule per
batch (archzoo.models.perceptron.perceptron_update). Evaluated like a classifier."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from archzoo.data import Dataset
from archzoo.engine.config import TrainConfig
from archzoo.engine.precision import Precision
from archzoo.models.perceptron import perceptron_update
from archzoo.tasks.base import Batch, TensorPlan
from archzoo.tasks.classification import ClassificationTask


class PerceptronTask:
    name = "perceptron"
    best_metric = "accuracy"
    higher_is_better = True

    def __init__(self, num_classes: int) -> None:
        self._eval = ClassificationTask(num_classes)

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> TensorPlan:
        return TensorPlan(ds, cfg)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {}

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch
        rule_model = getattr(model, "module", model)  # the rule acts on the weights themselves
        mistakes = perceptron_update(rule_model, x, y, lr=cfg.lr)
        return {"loss": torch.tensor(mistakes / len(y))}  # the fraction of mistakes in the pass

    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]:
        return self._eval.evaluate(model, batches)
