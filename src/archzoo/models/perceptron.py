"""Rosenblatt's perceptron and its learning rule.

Paper: F. Rosenblatt, "The Perceptron: A Probabilistic Model for Information Storage and
Organization in the Brain", Psychological Review, 1958. https://doi.org/10.1037/h0042519

A single layer of threshold units: y = step(w . x + b), with step(a) = 1 if a > 0 else 0.
The perceptron learning rule (Rosenblatt 1958; Novikoff's convergence theorem, 1962) visits the
samples one at a time and, on a mistake, moves the weights toward the sample:

    w <- w + lr * (t - y) * x,    b <- b + lr * (t - y)

It reaches zero mistakes in finitely many updates when the classes are linearly separable, and
never does otherwise: XOR (Minsky & Papert 1969) has no separating line, since w1 > -b, w2 > -b,
b <= 0 and w1 + w2 + b <= 0 cannot all hold (adding the first two gives w1 + w2 + 2b > 0, so
w1 + w2 + b > -b >= 0).

For K > 2 classes this module uses the multi-class perceptron (one weight vector per class,
y = argmax_k w_k . x + b_k; on a mistake the true class's vector moves toward x and the
predicted class's away), which reduces to Rosenblatt's rule for K = 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archzoo.registry import register_model


@dataclass(frozen=True)
class PerceptronConfig:
    in_features: int = 4
    num_classes: int = 2

    def __post_init__(self) -> None:
        if self.in_features < 1 or self.num_classes < 2:
            raise ValueError("a perceptron needs in_features >= 1 and num_classes >= 2")


class Perceptron(nn.Module):
    """Threshold units. ``forward`` returns scores (B, K) for K > 2, or (B, 2) as [0, w.x+b] for K = 2,
    so that argmax of the scores is the perceptron's decision. ``predict`` gives the class."""

    def __init__(self, cfg: PerceptronConfig) -> None:
        super().__init__()
        self.cfg = cfg
        rows = 1 if cfg.num_classes == 2 else cfg.num_classes
        self.weight = nn.Parameter(torch.zeros(rows, cfg.in_features))  # the rule starts from zero
        self.bias = nn.Parameter(torch.zeros(rows))

    def activation(self, x: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.cfg.in_features:
            raise ValueError(f"perceptron expects inputs (B, {self.cfg.in_features}), got {tuple(x.shape)}")
        return x @ self.weight.T + self.bias  # (B, rows)

    def forward(self, x: Tensor) -> Tensor:
        a = self.activation(x)
        if self.cfg.num_classes == 2:
            return torch.cat([torch.zeros_like(a), a], dim=1)  # step(a) == argmax([0, a])
        return a

    def predict(self, x: Tensor) -> Tensor:
        """Class index: step(w.x + b) for two classes, argmax otherwise. (B,) int64."""
        a = self.activation(x)
        return (a[:, 0] > 0).long() if self.cfg.num_classes == 2 else a.argmax(1)


@torch.no_grad()
def perceptron_update(model: Perceptron, x: Tensor, t: Tensor, lr: float = 1.0) -> int:
    """Apply the perceptron learning rule to the samples of ``x`` in order; return the mistakes made.

    The rule is online by definition (each update changes the next prediction), so it walks the
    samples one by one; this is the algorithm itself, not a batching shortcut.
    """
    mistakes = 0
    for xi, ti in zip(x, t.tolist(), strict=True):
        y = int(model.predict(xi[None])[0])
        if y == ti:
            continue
        mistakes += 1
        if model.cfg.num_classes == 2:
            sign = 1.0 if ti == 1 else -1.0  # (t - y) in {-1, +1}
            model.weight[0] += lr * sign * xi
            model.bias[0] += lr * sign
        else:
            model.weight[ti] += lr * xi
            model.bias[ti] += lr
            model.weight[y] -= lr * xi
            model.bias[y] -= lr
    return mistakes


def train_perceptron(model: Perceptron, x: Tensor, t: Tensor, *, epochs: int = 100, lr: float = 1.0) -> list[int]:
    """Run the rule for up to ``epochs`` passes; stop after a pass with no mistake.

    Returns the mistakes of each pass (the last is 0 exactly when the rule converged).
    """
    history = []
    for _ in range(epochs):
        history.append(perceptron_update(model, x, t, lr))
        if history[-1] == 0:
            break
    return history


register_model(
    "perceptron", Perceptron, PerceptronConfig(), family="perceptron", task="perceptron",
    paper="The Perceptron: A Probabilistic Model for Information Storage and Organization in the Brain",
    year=1958, url="https://doi.org/10.1037/h0042519", input_size=(4,), min_input_size=(4,),
    notes="trained by the perceptron learning rule, not gradient descent; multi-class rule for K > 2",
)
