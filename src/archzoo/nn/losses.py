"""Losses written out: softmax cross-entropy, logistic loss, regression losses, Gaussian KL, GAN losses.

Each is the defining equation with the numerically stable rearrangement a kernel uses (the
log-sum-exp shift, |z| in the logistic loss). ``reduction`` is "mean", "sum" or "none", as in torch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "GAN_LOSSES",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gradient_penalty",
    "huber_loss",
    "kl_normal",
    "l1_loss",
    "log_softmax",
    "mse_loss",
    "softmax",
]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _finite_max(z: Tensor, dim: int) -> Tensor:
    """max_j z_j (kept dim, no gradient: the shift cancels), 0 where every entry is -inf."""
    m = z.detach().amax(dim=dim, keepdim=True)
    return torch.where(torch.isfinite(m), m, torch.zeros_like(m))


def log_softmax(z: Tensor, dim: int = -1) -> Tensor:
    """log softmax(z)_i = z_i - log sum_j e^(z_j), with the shift m = max_j z_j:
    log sum_j e^(z_j) = m + log sum_j e^(z_j - m), so no exponent exceeds 0."""
    m = _finite_max(z, dim)
    return z - m - torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    """softmax(z)_i = e^(z_i - m) / sum_j e^(z_j - m), m = max_j z_j.

    The denominator is >= 1 (the max term is e^0) unless every z_j is -inf (a fully masked
    attention row); clamping it at 1 makes that row all zeros instead of 0/0 = NaN.
    """
    e = torch.exp(z - _finite_max(z, dim))
    return e / e.sum(dim=dim, keepdim=True).clamp(min=1.0)


def cross_entropy(
    logits: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy with class indices: logits (N, C) or (N, C, d...), target (N,) or (N, d...).

    With smoothing e and q = (1 - e) onehot(y) + e / C:
        loss_n = -sum_c q_c log p_c = (1 - e) (-log p_y) + e (-(1/C) sum_c log p_c),
    p = softmax(logits). Targets equal to ignore_index contribute nothing, and "mean" divides by
    the number of targets that are not ignored.
    """
    if logits.dim() == 1:  # one unbatched sample (C,)
        logits, target = logits.unsqueeze(0), target.unsqueeze(0)
    logp = log_softmax(logits, dim=1)  # (N, C, d...)
    C = logits.shape[1]
    keep = target != ignore_index
    safe_target = torch.where(keep, target, torch.zeros_like(target))
    nll = -logp.gather(1, safe_target.unsqueeze(1)).squeeze(1)  # (N, d...)
    loss = nll if label_smoothing == 0.0 else (1 - label_smoothing) * nll - label_smoothing * logp.sum(1) / C
    loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "mean":
        return loss.sum() / keep.sum()
    return _reduce(loss, reduction)


def _softplus(z: Tensor) -> Tensor:
    """softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^(-|z|)), never exponentiating a positive number.

    Both pieces branch on z > 0 with ``where`` (not clamp/abs), so the derivative at z = 0 is the
    true sigma(0) = 1/2 rather than a one-sided value.
    """
    pos = z > 0
    return torch.where(pos, z, torch.zeros_like(z)) + torch.log1p(torch.exp(torch.where(pos, -z, z)))


def binary_cross_entropy_with_logits(
    logits: Tensor, target: Tensor, reduction: str = "mean", pos_weight: Tensor | None = None
) -> Tensor:
    """Logistic loss from logits: -[w_p y log sigma(z) + (1 - y) log(1 - sigma(z))].

    With log sigma(z) = -softplus(-z), log(1 - sigma(z)) = -softplus(z) and the stable
    softplus(z) = max(z, 0) + log(1 + e^(-|z|)):
        loss = (1 - y) z + (1 + (w_p - 1) y) softplus(-z),
    which is max(z, 0) - z y + log(1 + e^(-|z|)) when w_p = 1.
    """
    w = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * target
    loss = (1.0 - target) * logits + w * _softplus(-logits)
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error, (x - y)^2 averaged."""
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error, |x - y| averaged."""
    return _reduce((input - target).abs(), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss (Huber 1964): 0.5 r^2 for |r| <= delta, delta (|r| - 0.5 delta) beyond, r = x - y.

    Quadratic near zero, linear in the tails, so outliers pull with a bounded gradient (+-delta).
    """
    r = (input - target).abs()
    return _reduce(torch.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta)), reduction)


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) per sample, in closed form (Kingma & Welling 2014, app. B).

    KL = -0.5 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2), summed over every dim but the first.
    mu, logvar (B, ...) -> (B,).
    """
    kl = -0.5 * (1.0 + logvar - mu * mu - torch.exp(logvar))
    return kl.reshape(kl.shape[0], -1).sum(dim=1)  # (B,)


# ----------------------------------------------------------------------------------------------
# GAN losses, on the discriminator's logits D(x) = sigma(z)
# ----------------------------------------------------------------------------------------------


def _minimax_d(real: Tensor, fake: Tensor) -> Tensor:
    # -E[log D(x)] - E[log(1 - D(G(z)))], with -log sigma(z) = softplus(-z), -log(1 - sigma(z)) = softplus(z)
    return _softplus(-real).mean() + _softplus(fake).mean()


def _minimax_g(fake: Tensor) -> Tensor:
    # G minimises E[log(1 - D(G(z)))] = -E[softplus(z)]: saturates when D rejects the fakes
    return -_softplus(fake).mean()


def _nonsaturating_g(fake: Tensor) -> Tensor:
    # G minimises -E[log D(G(z))] = E[softplus(-z)] (Goodfellow et al. 2014, sec. 3)
    return _softplus(-fake).mean()


def _wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    # the critic maximises E[f(x)] - E[f(G(z))] (Arjovsky et al. 2017)
    return fake.mean() - real.mean()


def _wasserstein_g(fake: Tensor) -> Tensor:
    return -fake.mean()


GAN_LOSSES: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "minimax": (_minimax_d, _minimax_g),
    "nonsaturating": (_minimax_d, _nonsaturating_g),
    "wasserstein": (_wasserstein_d, _wasserstein_g),
}


def _gan(kind: str) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]:
    try:
        return GAN_LOSSES[kind]
    except KeyError:
        raise ValueError(f"unknown GAN loss {kind!r}; choose one of: {', '.join(GAN_LOSSES)}") from None


def gan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str = "nonsaturating") -> Tensor:
    """The discriminator's (critic's) loss to minimise, from its outputs on real and generated data.

    minimax / nonsaturating: -E[log D(x)] - E[log(1 - D(G(z)))];  wasserstein: E[f(G(z))] - E[f(x)].
    """
    return _gan(kind)[0](real_logits, fake_logits)


def gan_generator_loss(fake_logits: Tensor, kind: str = "nonsaturating") -> Tensor:
    """The generator's loss to minimise: minimax E[log(1 - D(G(z)))], nonsaturating -E[log D(G(z))],
    wasserstein -E[f(G(z))]."""
    return _gan(kind)[1](fake_logits)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor | None = None
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): E[(||grad_x f(x_hat)||_2 - 1)^2].

    x_hat = alpha x_real + (1 - alpha) x_fake with alpha ~ U(0, 1) per sample (pass ``alpha`` (B,)
    to fix it). The graph is kept (create_graph), so the penalty trains the critic's weights.
    """
    B = real.shape[0]
    if alpha is None:
        alpha = torch.rand(B, device=real.device, dtype=real.dtype)
    alpha = alpha.reshape([B] + [1] * (real.dim() - 1))  # (B, 1, ...)
    x_hat = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    norm = grad.reshape(B, -1).norm(2, dim=1)  # (B,)
    return ((norm - 1.0) ** 2).mean()
