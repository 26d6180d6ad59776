"""Reference optimizers written as their update equations: SGD (momentum, Nesterov), Adam, AdamW, RMSprop.

Papers:
- Polyak, "Some methods of speeding up the convergence of iteration methods", 1964 (momentum);
  Sutskever et al., "On the importance of initialization and momentum in deep learning", 2013.
- Kingma & Ba, "Adam: A Method for Stochastic Optimization", 2015. https://arxiv.org/abs/1412.6980
  AMSGrad: Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond", 2018.
- Loshchilov & Hutter, "Decoupled Weight Decay Regularization", 2019. https://arxiv.org/abs/1711.05101
- Hinton, Srivastava & Swersky, Neural Networks for Machine Learning, lecture 6e, 2012 (RMSprop).

Each class subclasses torch.optim.Optimizer with torch.optim's constructor arguments, param-group
keys and per-parameter state names (``momentum_buffer``; ``step``, ``exp_avg``, ``exp_avg_sq``,
``max_exp_avg_sq``; ``square_avg``, ``grad_avg``), so LR schedulers drive them, and state dicts load
into torch.optim's optimizers and back. The update follows torch.optim's single-tensor algorithm
operation by operation (so the trajectories agree to rounding); the docstrings give the equations.
Unsupported: the foreach/fused/capturable/differentiable execution flags (only their defaults).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["OPTIMIZERS", "SGD", "Adam", "AdamW", "RMSprop", "create_optimizer"]

Params = Iterable[Tensor] | Iterable[dict[str, Any]]


def _check_execution_flags(**flags: Any) -> None:
    """Accept torch's foreach/fused/... flags (so code and state dicts move), only at their defaults."""
    bad = {k: v for k, v in flags.items() if v not in (None, False)}
    if bad:
        raise ValueError(f"archzoo.optim implements the plain single-tensor update only; unsupported: {bad}")


def _check_nonnegative(**values: float) -> None:
    for name, v in values.items():
        if v < 0.0:
            raise ValueError(f"Invalid {name} value: {v}")


def _scalar_dtype() -> torch.dtype:
    # torch.optim keeps ``step`` as a tensor of this dtype; the same keeps state dicts interchangeable
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class SGD(Optimizer):
    """Stochastic gradient descent with weight decay, momentum, dampening and Nesterov momentum.

    g_t = grad + lambda theta_{t-1}                          (weight_decay lambda: L2, coupled)
    b_t = mu b_{t-1} + (1 - tau) g_t,  b_1 = g_1              (momentum mu, dampening tau)
    g_t = g_t + mu b_t  if nesterov  else  b_t
    theta_t = theta_{t-1} - lr g_t
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_nonnegative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        _check_execution_flags(foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, tau, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad if group["maximize"] else p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                if mu != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = torch.clone(g).detach()
                    else:
                        buf.mul_(mu).add_(g, alpha=1 - tau)
                    g = g.add(buf, alpha=mu) if group["nesterov"] else buf
                p.add_(g, alpha=-lr)
        return loss


class Adam(Optimizer):
    """Adam: bias-corrected moment estimates; AMSGrad; L2 (Adam) or decoupled (AdamW) weight decay.

    g_t = grad + lambda theta_{t-1}                  (coupled L2, Adam)
    theta_{t-1} <- (1 - lr lambda) theta_{t-1}       (decoupled, AdamW, instead of the line above)
    m_t = beta1 m_{t-1} + (1 - beta1) g_t
    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
    v_max_t = max(v_max_{t-1}, v_t)                  (AMSGrad uses v_max_t in place of v_t)
    m^_t = m_t / (1 - beta1^t),   v^_t = v_t / (1 - beta2^t)
    theta_t = theta_{t-1} - lr m^_t / (sqrt(v^_t) + eps)
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps, weight_decay=weight_decay)
        _check_execution_flags(foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused)
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad if group["maximize"] else p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0, dtype=_scalar_dtype())
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                t = state["step"].item()
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        p.mul_(1 - lr * wd)
                    else:
                        g = g.add(p, alpha=wd)
                m.lerp_(g, 1 - beta1)  # m + (1 - beta1)(g - m) = beta1 m + (1 - beta1) g
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                if group["amsgrad"]:
                    torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    v = state["max_exp_avg_sq"]
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t
                # lr m^ / (sqrt(v^) + eps) = (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
                denom = (v.sqrt() / bias_correction2**0.5).add_(eps)
                p.addcdiv_(m, denom, value=-lr / bias_correction1)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: theta <- (1 - lr lambda) theta before the Adam step
    (equations in :class:`Adam`); weight_decay defaults to 1e-2, as torch.optim.AdamW's."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of its recent magnitudes.

    g_t = grad + lambda theta_{t-1}
    v_t = alpha v_{t-1} + (1 - alpha) g_t^2
    centered: gbar_t = alpha gbar_{t-1} + (1 - alpha) g_t,  v~_t = v_t - gbar_t^2,  else v~_t = v_t
    b_t = mu b_{t-1} + g_t / (sqrt(v~_t) + eps),   theta_t = theta_{t-1} - lr b_t     (momentum mu > 0)
    theta_t = theta_{t-1} - lr g_t / (sqrt(v~_t) + eps)                              (mu = 0)
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps, weight_decay=weight_decay, momentum=momentum, alpha=alpha)
        _check_execution_flags(foreach=foreach, capturable=capturable, differentiable=differentiable)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, eps, wd, mu = group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad if group["maximize"] else p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0, dtype=_scalar_dtype())
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if mu > 0:
                        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                if wd != 0:
                    g = g.add(p, alpha=wd)
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                if group["centered"]:
                    gbar = state["grad_avg"]
                    gbar.lerp_(g, 1 - alpha)
                    rms = v.addcmul(gbar, gbar, value=-1).sqrt_()
                else:
                    rms = v.sqrt()
                rms = rms.add_(eps)
                if mu > 0:
                    buf = state["momentum_buffer"]
                    buf.mul_(mu).addcdiv_(g, rms)
                    p.add_(buf, alpha=-lr)
                else:
                    p.addcdiv_(g, rms, value=-lr)
        return loss


# The names the training engine offers as --optimizer archzoo.NAME: each a torch.optim-style constructor.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": SGD,
    "momentum": lambda params, lr, **kw: SGD(params, lr, momentum=kw.pop("momentum", 0.9), **kw),
    "nesterov": lambda params, lr, **kw: SGD(params, lr, momentum=kw.pop("momentum", 0.9), nesterov=True, **kw),
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
}


def create_optimizer(name: str, params: Params, lr: float, **options: Any) -> Optimizer:
    """OPTIMIZERS[name](params, lr, **options), e.g. create_optimizer("nesterov", model.parameters(), 0.1,
    weight_decay=5e-4); momentum/nesterov default to momentum 0.9. The error lists the valid names."""
    try:
        make = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}") from None
    return make(params, lr, **options)
