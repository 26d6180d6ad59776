"""The protocol between the engine and a task.

A task turns (model, batch) into a loss and metrics. It owns its optimizers (a classifier has one,
a GAN two) and performs the whole step, so the engine never branches on the kind of model.

Precision is the engine's: it runs ``train_step`` and ``evaluate`` under the run's autocast and hands
``train_step`` the :class:`~archzoo.engine.precision.Precision` whose ``optimize`` does backward
(with the fp16 gradient scaler where there is one), clipping and the step. Tasks never call autocast.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from archzoo.engine.config import TrainConfig
from archzoo.engine.precision import Precision

Batch = tuple[Tensor, Tensor]


class Task(Protocol):
    name: str
    best_metric: str  # the validation metric that chooses best.safetensors
    higher_is_better: bool

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]: ...

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        """One optimisation step (``precision.optimize`` for each optimizer it steps); returns
        detached scalars, always including 'loss'."""
        ...

    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]: ...
