"""Classification: cross-entropy (with optional label smoothing); accuracy, top-5, per-class
accuracy and the confusion matrix."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data import Dataset
from archzoo.engine.config import TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.tasks.base import Batch, TensorPlan


class ClassificationTask:
    name = "classification"
    best_metric = "accuracy"
    higher_is_better = True

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> TensorPlan:
        return TensorPlan(ds, cfg)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch
        logits = model(x)
        loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]:
        k = self.num_classes
        confusion = torch.zeros(k, k, dtype=torch.long)
        loss_sum, top5, n = 0.0, 0, 0
        for x, y in batches:
            logits = model(x).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            pred = logits.argmax(1)
            confusion += torch.bincount((y * k + pred).cpu(), minlength=k * k).view(k, k)
            top = logits.topk(min(5, k), dim=1).indices
            top5 += (top == y[:, None]).any(1).sum().item()
            n += len(y)
        per_class = (confusion.diag().double() / confusion.sum(1).clamp(min=1)).tolist()
        return {
            "loss": loss_sum / max(n, 1),
            "accuracy": confusion.diag().sum().item() / max(n, 1),
            "top5": top5 / max(n, 1),
            "per_class_accuracy": [round(a, 6) for a in per_class],
            "confusion_matrix": confusion.tolist(),
            "samples": n,
        }
