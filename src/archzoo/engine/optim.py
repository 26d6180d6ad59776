"""Optimizers and learning-rate schedules by name.

Schedules are pure functions of the step (lr = base_lr * factor(step, total)), so they carry no
state: a resumed run sets the same learning rate at the same step by construction.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from archzoo.engine.config import ConfigError, TrainConfig

_FUSED = ("SGD", "Adam", "AdamW")


def _torch(cls_name: str, **fixed: Any) -> Callable[..., torch.optim.Optimizer]:
    def make(params: Iterable[Any], cfg: TrainConfig) -> torch.optim.Optimizer:
        # fused (SGD, Adam, AdamW): one kernel per parameter that reads and writes each state tensor once
        # (on CPU, Adam's step for vae_mlp's 650k parameters is 2.6x faster than foreach); otherwise foreach:
        # one multi-tensor kernel per operation of the update. torch picks neither by default on CPU.
        kernel = {"fused": True} if cls_name in _FUSED else {"foreach": True}
        kwargs: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, **kernel, **fixed}
        if "momentum" in fixed:
            kwargs["momentum"] = cfg.momentum
        if cls_name in ("Adam", "AdamW"):
            kwargs["betas"] = (cfg.beta1, cfg.beta2)
        return getattr(torch.optim, cls_name)(params, **kwargs)

    return make


def _reference(cls_name: str, **fixed: Any) -> Callable[..., torch.optim.Optimizer]:
    """The equations of archzoo.optim, written out (slower than torch's, same trajectory)."""

    def make(params: Iterable[Any], cfg: TrainConfig) -> torch.optim.Optimizer:
        module = importlib.import_module("archzoo.optim")
        kwargs: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay, **fixed}
        if "momentum" in fixed:
            kwargs["momentum"] = cfg.momentum
        return getattr(module, cls_name)(params, **kwargs)

    return make


OPTIMIZERS: dict[str, Callable[[Iterable[Any], TrainConfig], torch.optim.Optimizer]] = {
    "sgd": _torch("SGD"),
    "momentum": _torch("SGD", momentum=0.9),
    "nesterov": _torch("SGD", momentum=0.9, nesterov=True),
    "adam": _torch("Adam"),
    "adamw": _torch("AdamW"),
    "rmsprop": _torch("RMSprop"),
    "adadelta": _torch("Adadelta", rho=0.95),  # Zeiler 2012 with Kim 2014's rho (lr 1.0 is Adadelta's own scale)
    "archzoo.sgd": _reference("SGD"),
    "archzoo.momentum": _reference("SGD", momentum=0.9),
    "archzoo.nesterov": _reference("SGD", momentum=0.9, nesterov=True),
    "archzoo.adam": _reference("Adam"),
    "archzoo.adamw": _reference("AdamW"),
    "archzoo.rmsprop": _reference("RMSprop"),
}


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay weights only: biases and normalisation parameters (1-D tensors) are not decayed."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {cfg.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[cfg.optimizer](param_groups(model, cfg.weight_decay), cfg)


# --- schedules: factor(step, total_steps, cfg, steps_per_epoch) -> multiplier of the base lr ----------

def _warmup(step: int, cfg: TrainConfig, steps_per_epoch: int) -> float:
    warm = cfg.warmup_epochs * steps_per_epoch
    return min(1.0, (step + 1) / warm) if warm > 0 else 1.0


def _constant(step: int, total: int, cfg: TrainConfig, spe: int) -> float:
    return _warmup(step, cfg, spe)


def _step(step: int, total: int, cfg: TrainConfig, spe: int) -> float:
    every = (cfg.step_epochs or max(1, cfg.epochs // 3)) * spe
    return _warmup(step, cfg, spe) * cfg.gamma ** (step // every)


def _floor(cfg: TrainConfig) -> float:
    """``min_lr`` as a fraction of the base lr."""
    return min(1.0, cfg.min_lr / cfg.lr) if cfg.lr > 0 else 0.0


def _cosine(step: int, total: int, cfg: TrainConfig, spe: int) -> float:
    warm = int(cfg.warmup_epochs * spe)
    if step < warm:
        return (step + 1) / warm
    t = (step - warm) / max(1, total - warm)
    low = _floor(cfg)
    return low + (1.0 - low) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def _onecycle(step: int, total: int, cfg: TrainConfig, spe: int) -> float:
    """Smith & Topin 2017 as torch's OneCycleLR: cosine from lr/25 up to lr over the first 30% (or
    ``warmup_epochs``), then cosine down to lr/25e4."""
    up = int(cfg.warmup_epochs * spe) if cfg.warmup_epochs > 0 else int(0.3 * total)
    start, end = 1.0 / 25.0, 1.0 / 25e4
    if step < up:
        t = step / max(1, up)
        return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * t))
    t = (step - up) / max(1, total - up)
    return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def _linear(step: int, total: int, cfg: TrainConfig, spe: int) -> float:
    warm = int(cfg.warmup_epochs * spe)
    if step < warm:
        return (step + 1) / warm
    low = _floor(cfg)
    return low + (1.0 - low) * max(0.0, 1.0 - (step - warm) / max(1, total - warm))


def _inverse_sqrt(step: int, total: int, cfg: TrainConfig, spe: int) -> float:
    """Vaswani et al. 2017 (eq. 3): a linear warmup to the peak, then decay as 1/sqrt(step). The paper's
    lrate = d_model^-0.5 min(step^-0.5, step warmup^-1.5) is this with lr = (d_model warmup)^-0.5 and
    warmup_epochs = warmup / steps_per_epoch (its steps counted from 1)."""
    warm = max(1.0, cfg.warmup_epochs * spe)
    n = step + 1
    return min(n / warm, math.sqrt(warm / n))


SCHEDULES: dict[str, Callable[[int, int, TrainConfig, int], float]] = {
    "constant": _constant,
    "step": _step,
    "cosine": _cosine,
    "onecycle": _onecycle,
    "linear": _linear,
    "warmup": _constant,  # linear warmup over warmup_epochs, then constant
    "inverse_sqrt": _inverse_sqrt,  # the Transformer's: linear warmup, then 1/sqrt(step)
}


class Schedule:
    """Sets each param group's lr to base_lr * factor(step) before every step."""

    def __init__(self, optimizers: Iterable[torch.optim.Optimizer], cfg: TrainConfig, steps_per_epoch: int) -> None:
        if cfg.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {cfg.schedule!r}; choose one of: {', '.join(SCHEDULES)}")
        self.fn = SCHEDULES[cfg.schedule]
        self.cfg, self.spe = cfg, steps_per_epoch
        self.total = cfg.epochs * steps_per_epoch
        self.optimizers = list(optimizers)
        for opt in self.optimizers:
            for group in opt.param_groups:
                group.setdefault("base_lr", group["lr"])  # saved with the optimizer's state

    def set(self, step: int) -> float:
        """Set the learning rate of ``step``; the groups are looked up each time because loading a
        checkpoint replaces an optimizer's param_groups."""
        factor = self.fn(step, self.total, self.cfg, self.spe)
        lr = 0.0
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr = group["base_lr"] * factor
        return lr
