"""The protocol between the engine and a task.

A task turns (model, batch) into a loss and metrics. It owns its optimizers (a classifier has one,
a GAN two) and performs the whole step, so the engine never branches on the kind of model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from archzoo.engine.config import TrainConfig

Batch = tuple[Tensor, Tensor]


class Task(Protocol):
    name: str
    best_metric: str  # the validation metric that chooses best.safetensors
    higher_is_better: bool

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]: ...

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig) -> dict[str, Tensor]:
        """One optimisation step; returns detached scalars, always including 'loss'."""
        ...

    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]: ...


def optimize(loss: Tensor, model: nn.Module, optimizer: torch.optim.Optimizer, grad_clip: float) -> None:
    """backward, optional gradient-norm clipping, step. Gradients are freed (set to None) first."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
