"""Regression: mean squared error; reports MSE, MAE and the maximum absolute error."""

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


class RegressionTask:
    name = "regression"
    best_metric = "mse"
    higher_is_better = False

    def plan(self, ds: Dataset, cfg: TrainConfig, run_dir: Path | None = None) -> TensorPlan:
        return TensorPlan(ds, cfg)

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch
        loss = F.mse_loss(model(x), y)
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]:
        se, ae, worst, n = 0.0, 0.0, 0.0, 0
        for x, y in batches:
            err = (model(x).float() - y).abs()
            se += err.square().sum().item()
            ae += err.sum().item()
            worst = max(worst, err.max().item())
            n += err.numel()
        return {"loss": se / max(n, 1), "mse": se / max(n, 1), "mae": ae / max(n, 1), "max_error": worst}
