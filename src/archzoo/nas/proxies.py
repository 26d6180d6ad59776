"""Zero-cost proxies: scores of an untrained network that are meant to rank networks as training would.

- ``synflow``: Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving
  synaptic flow", https://arxiv.org/abs/2006.05467, equation 5, as Abdelfattah et al. 2021 ("Zero-Cost
  Proxies for Lightweight NAS", https://arxiv.org/abs/2101.08134) use it to rank whole networks: with every
  weight replaced by its absolute value, an input of ones, R = sum of the outputs, the score is
  sum over weights of |theta * dR/dtheta|. Computed in float64 (the products overflow float32) with
  BatchNorm in eval mode at its initial statistics (the identity), as the data-free method intends.
- ``naswot``: Mellor et al. 2021, "Neural Architecture Search without Training", ICML,
  https://arxiv.org/abs/2006.04647, section 3: each ReLU's on/off pattern on each of N images is a binary
  code; K[i, j] counts the units where images i and j agree (N_A minus the Hamming distance), and the score
  is log |det K|. Networks whose units separate the images score higher.

Both score a fresh network built with a fixed seed, so a score is a pure function of the genotype.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


def synflow(model: nn.Module, batch: Tensor) -> float:
    """log of the synaptic-flow score of ``model`` (only ``batch``'s shape is used)."""
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    x = torch.ones((1, *batch.shape[1:]), dtype=torch.float64)
    net.zero_grad()
    net(x).sum().backward()
    with torch.no_grad():  # weights of convolutions and linear layers, as the paper
        value = float(sum((p * p.grad).abs().sum() for p in net.parameters() if p.grad is not None and p.ndim > 1))
    return math.log(value) if value > 0 and math.isfinite(value) else float("-inf")


def naswot(model: nn.Module, batch: Tensor) -> float:
    """log |det K| of the ReLU codes of ``batch`` (N images) in ``model``."""
    net = copy.deepcopy(model).train()  # BatchNorm normalises by the batch, as at the start of training
    n = batch.shape[0]
    k = torch.zeros(n, n, dtype=torch.float64)

    def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()  # (N, units)
        k.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)  # agreements: both on, or both off

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    try:
        with torch.no_grad():
            net(batch)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if float(sign) != 0 else float("-inf")


PROXIES: dict[str, Callable[[nn.Module, Tensor], float]] = {"synflow": synflow, "naswot": naswot}


def get_proxy(name: str) -> Callable[[nn.Module, Tensor], float]:
    if name not in PROXIES:
        raise ValueError(f"unknown zero-cost proxy {name!r}; valid: {', '.join(PROXIES)}")
    return PROXIES[name]
