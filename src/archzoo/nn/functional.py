"""The seed equations as functions: activations, normalisation, dropout and attention.

Every function here is the textbook equation written with elementary tensor operations (exp, log,
matmul, sums), so a reader can hold it next to the paper; ``tests/nn/`` proves each one equal to its
``torch.nn.functional`` counterpart on values and gradients. Signatures mirror torch's so that code
moves both ways. Convolution and pooling live in :mod:`archzoo.nn.conv`, losses in
:mod:`archzoo.nn.losses`; both are re-exported here, so ``archzoo.nn.functional`` is the one place
to import from.

Equations (see docs/equations.md for the table equation -> function -> test):

- sigmoid      sigma(z) = 1 / (1 + e^(-z))
- tanh         tanh(z) = 2 sigma(2z) - 1
- relu         max(0, z)
- leaky_relu   z if z > 0 else a z
- elu          z if z > 0 else alpha (e^z - 1)
- swish        z sigma(beta z)             (beta = 1 is SiLU)
- gelu         0.5 z (1 + erf(z / sqrt 2)), or 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
- batch_norm   gamma (x - mu_B) / sqrt(var_B + eps) + beta
- layer_norm   gamma (x - mu) / sqrt(var + eps) + beta, statistics over the trailing dims
- dropout      m x / (1 - p), m ~ Bernoulli(1 - p)
- attention    softmax(Q K^T / sqrt(d_k) + M) V
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from archzoo.nn.conv import avg_pool2d, conv2d, conv_transpose2d, max_pool2d
from archzoo.nn.losses import (
    GAN_LOSSES,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gan_discriminator_loss,
    gan_generator_loss,
    gradient_penalty,
    huber_loss,
    kl_normal,
    l1_loss,
    log_softmax,
    mse_loss,
    softmax,
)

__all__ = [
    "GAN_LOSSES",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv_transpose2d",
    "cross_entropy",
    "dropout",
    "elu",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gelu",
    "gradient_penalty",
    "huber_loss",
    "kl_normal",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "prelu",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "silu",
    "softmax",
    "swish",
    "tanh",
]


# ----------------------------------------------------------------------------------------------
# Activations
# ----------------------------------------------------------------------------------------------


def sigmoid(x: Tensor) -> Tensor:
    """Logistic sigmoid, sigma(z) = 1 / (1 + e^(-z)), computed stably for large |z|.

    e^(-z) overflows for z << 0, so with e = e^(-|z|) (always in (0, 1]):
    sigma(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0 (multiply through by e^z).
    Derivative: sigma'(z) = sigma(z) (1 - sigma(z)).
    """
    pos = x >= 0
    e = torch.exp(torch.where(pos, -x, x))  # e^(-|z|); not x.abs(), whose derivative at 0 is 0
    return torch.where(pos, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, tanh(z) = (e^z - e^(-z)) / (e^z + e^(-z)) = 2 sigma(2z) - 1.

    The sigmoid form inherits the stable sigmoid, so no e^z ever overflows.
    Derivative: tanh'(z) = 1 - tanh(z)^2.
    """
    return 2.0 * sigmoid(2.0 * x) - 1.0


def relu(x: Tensor) -> Tensor:
    """Rectified linear unit, relu(z) = max(0, z); its derivative is 1 for z > 0, else 0."""
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU, z for z > 0 else a z (a = negative_slope); derivative 1 or a."""
    return torch.where(x > 0, x, negative_slope * x)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """Parametric ReLU (He et al. 2015), z for z > 0 else a_c z with a learned a per channel.

    ``weight`` has 1 or C entries; C is dim 1 of ``x`` (the channel dim), as in torch.
    """
    if weight.numel() != 1 and x.dim() >= 2:
        weight = weight.reshape([1, -1] + [1] * (x.dim() - 2))  # (1, C, 1, ...) broadcasts over C
    return torch.where(x > 0, x, weight * x)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit (Clevert et al. 2015), z for z > 0 else alpha (e^z - 1).

    expm1 is e^z - 1 without the cancellation near 0; clamping at 0 keeps the unused branch of the
    ``where`` finite for large z, so no inf * 0 reaches the gradient.
    """
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))


def swish(x: Tensor, beta: float = 1.0) -> Tensor:
    """Swish (Ramachandran et al. 2017), z sigma(beta z); beta = 1 is SiLU (Elfwing et al. 2017).

    Derivative: sigma(beta z) + beta z sigma(beta z) (1 - sigma(beta z)).
    """
    return x * sigmoid(beta * x)


def silu(x: Tensor) -> Tensor:
    """SiLU, z sigma(z): swish with beta = 1."""
    return swish(x, 1.0)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (Hendrycks & Gimpel 2016), z Phi(z) with Phi the normal CDF.

    approximate="none":  0.5 z (1 + erf(z / sqrt 2))
    approximate="tanh":  0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))
    """
    if approximate == "none":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# ----------------------------------------------------------------------------------------------
# Normalisation and dropout
# ----------------------------------------------------------------------------------------------


def _channel_view(t: Tensor, dims: int) -> Tensor:
    """A per-channel vector (C,) as (1, C, 1, ...) so it broadcasts over an input of ``dims`` dims."""
    return t.reshape([1, -1] + [1] * (dims - 2))  # (1, C, 1, ...)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation (Ioffe & Szegedy 2015) over dim 1 (channels) of (B, C, ...).

    Training: mu_B = mean of x over every dim but C, var_B = the biased variance (divide by n),
        y = gamma (x - mu_B) / sqrt(var_B + eps) + beta,
        and in place: running = (1 - momentum) running + momentum * stat, where the running variance
        takes the unbiased batch variance var_B n / (n - 1).
    Eval: the same y with the running statistics in place of the batch's.
    """
    dims = [0, *range(2, x.dim())]
    if training:
        n = x.numel() // x.shape[1]
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel in training, got {n}")
        mean = x.mean(dim=dims)
        var = ((x - _channel_view(mean, x.dim())) ** 2).mean(dim=dims)
        if running_mean is not None and running_var is not None:
            with torch.no_grad():
                running_mean.mul_(1.0 - momentum).add_(momentum * mean)
                running_var.mul_(1.0 - momentum).add_(momentum * var * n / (n - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        mean, var = running_mean, running_var
    y = (x - _channel_view(mean, x.dim())) / torch.sqrt(_channel_view(var, x.dim()) + eps)
    if weight is not None:
        y = y * _channel_view(weight, x.dim())
    if bias is not None:
        y = y + _channel_view(bias, x.dim())
    return y


def layer_norm(
    x: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Layer normalisation (Ba et al. 2016): statistics over the trailing ``normalized_shape`` dims.

    mu = mean(x), var = mean((x - mu)^2) (biased), y = gamma (x - mu) / sqrt(var + eps) + beta.
    Each sample (each token) is normalised on its own, so training and eval behave the same.
    """
    normalized_shape = tuple(normalized_shape)
    if tuple(x.shape[x.dim() - len(normalized_shape) :]) != normalized_shape:
        raise ValueError(f"layer_norm: input {tuple(x.shape)} does not end in {normalized_shape}")
    dims = tuple(range(x.dim() - len(normalized_shape), x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout (Srivastava et al. 2014): y = m x / (1 - p), m ~ Bernoulli(1 - p) per element.

    Scaling the kept units by 1/(1 - p) in training keeps E[y] = x, so eval is the identity.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (torch.rand_like(x) >= p).to(x.dtype)
    return x * keep / (1.0 - p)


# ----------------------------------------------------------------------------------------------
# Attention
# ----------------------------------------------------------------------------------------------


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """Scaled dot-product attention (Vaswani et al. 2017): softmax(Q K^T / sqrt(d_k) + M) V.

    Shapes: query (..., L, d_k), key (..., S, d_k), value (..., S, d_v) -> (..., L, d_v).
    ``attn_mask`` follows F.scaled_dot_product_attention: a bool mask is True where a query MAY
    attend (False -> M = -inf); a float mask is added to the scores. ``is_causal`` lets query i see
    keys j <= i. A query row whose keys are all masked has no distribution to average over; like
    torch's kernel it returns zeros there (our softmax of an all -inf row is 0, not NaN).
    Dropout acts on the attention weights, inverted-scaled.
    """
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * scale  # (..., L, S)
    L, S = scores.shape[-2], scores.shape[-1]
    allowed: Tensor | None = None
    if is_causal:
        allowed = torch.ones(L, S, dtype=torch.bool, device=scores.device).tril()
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            allowed = attn_mask if allowed is None else allowed & attn_mask
        else:
            scores = scores + attn_mask
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = softmax(scores, dim=-1)  # (..., L, S)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value  # (..., L, d_v)
