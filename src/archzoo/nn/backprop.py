"""Backpropagation by hand: a multilayer perceptron whose backward pass is the chain rule, written out.

Paper: Rumelhart, Hinton & Williams, "Learning representations by back-propagating errors", 1986.
https://doi.org/10.1038/323533a0

Forward, for layers l = 1..L with a_0 = x (B, n_0) and W_l (n_l, n_{l-1}) as in nn.Linear:

    z_l = a_{l-1} W_l^T + b_l,    a_l = phi(z_l) for l < L,    logits = z_L
    loss = (1/B) sum_n -log softmax(z_L)[n, y_n]

Backward (delta_l = dloss/dz_l, no autograd anywhere):

    delta_L = (softmax(z_L) - onehot(y)) / B                  softmax + cross-entropy together
    dloss/dW_l = delta_l^T a_{l-1},   dloss/db_l = sum_n delta_l[n]
    delta_{l-1} = (delta_l W_l) * phi'(z_{l-1})                the chain rule through layer l

tests/nn/test_backprop.py checks every gradient against autograd and against finite differences.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["ACTIVATION_DERIVATIVES", "HandMLP"]

# name -> (phi, phi' as a function of (z, phi(z)))
ACTIVATION_DERIVATIVES: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor], Tensor]]] = {
    "tanh": (torch.tanh, lambda z, a: 1.0 - a * a),
    "sigmoid": (torch.sigmoid, lambda z, a: a * (1.0 - a)),
    "relu": (torch.relu, lambda z, a: (z > 0).to(z.dtype)),
}


class HandMLP:
    """An MLP classifier trained with a hand-derived gradient.

    ``sizes`` = [n_0, n_1, ..., n_L]: n_0 inputs, n_L classes. Weights start as nn.Linear's,
    U(-1/sqrt(n_in), 1/sqrt(n_in)). Not an nn.Module on purpose: nothing records a graph.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        dtype: torch.dtype = torch.float64,
        generator: torch.Generator | None = None,
    ) -> None:
        if activation not in ACTIVATION_DERIVATIVES:
            raise ValueError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATION_DERIVATIVES)}")
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {list(sizes)}")
        self.activation = activation
        self.weights: list[Tensor] = []
        self.biases: list[Tensor] = []
        for n_in, n_out in itertools.pairwise(sizes):
            bound = 1.0 / math.sqrt(n_in)
            self.weights.append((torch.rand(n_out, n_in, dtype=dtype, generator=generator) * 2 - 1) * bound)
            self.biases.append((torch.rand(n_out, dtype=dtype, generator=generator) * 2 - 1) * bound)
        self._cache: list[tuple[Tensor, Tensor, Tensor]] = []

    def parameters(self) -> list[Tensor]:
        """[W_1, b_1, W_2, b_2, ...], the order of :meth:`backward`'s gradients."""
        return [t for pair in zip(self.weights, self.biases, strict=True) for t in pair]

    def forward(self, x: Tensor) -> Tensor:
        """x (B, n_0) -> logits (B, n_L); keeps (a_{l-1}, z_l, a_l) of every layer for backward."""
        phi = ACTIVATION_DERIVATIVES[self.activation][0]
        self._cache = []
        a = x
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = a @ w.t() + b  # (B, n_l)
            a_next = z if layer == len(self.weights) - 1 else phi(z)
            self._cache.append((a, z, a_next))
            a = a_next
        return a

    __call__ = forward

    @staticmethod
    def loss_and_grad(logits: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Mean softmax cross-entropy and its gradient w.r.t. the logits, (softmax - onehot) / B."""
        B = logits.shape[0]
        shifted = logits - logits.max(dim=1, keepdim=True).values  # log-sum-exp shift
        logp = shifted - shifted.exp().sum(dim=1, keepdim=True).log()  # (B, C)
        loss = -logp[torch.arange(B), target].mean()
        delta = logp.exp()
        delta[torch.arange(B), target] -= 1.0
        return loss, delta / B

    def backward(self, dlogits: Tensor) -> list[Tensor]:
        """Gradients [dW_1, db_1, ...] from dloss/dlogits (B, n_L), by the chain rule (module docstring)."""
        dphi = ACTIVATION_DERIVATIVES[self.activation][1]
        grads: list[Tensor] = []
        delta = dlogits  # dloss/dz_L
        for layer in range(len(self.weights) - 1, -1, -1):
            a_prev, _, _ = self._cache[layer]
            grads[:0] = [delta.t() @ a_prev, delta.sum(dim=0)]  # dW_l (n_l, n_{l-1}), db_l (n_l,)
            if layer > 0:
                _, z_prev, a_prev_act = self._cache[layer - 1]
                delta = (delta @ self.weights[layer]) * dphi(z_prev, a_prev_act)  # dloss/dz_{l-1}
        return grads

    def sgd_step(self, grads: Sequence[Tensor], lr: float) -> None:
        """theta <- theta - lr * dloss/dtheta, for every weight and bias."""
        for p, g in zip(self.parameters(), grads, strict=True):
            p.sub_(lr * g)
