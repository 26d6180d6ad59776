"""The perceptron learning rule on real separable data; XOR beyond it; the MLP as a universal approximator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

import archzoo
from archzoo.models.perceptron import train_perceptron


def _iris_two_classes() -> tuple[torch.Tensor, torch.Tensor]:
    ds = archzoo.load_dataset("iris")
    x = torch.cat([ds.splits["train"].x, ds.splits["test"].x])
    y = torch.cat([ds.splits["train"].y, ds.splits["test"].y])
    keep = y < 2  # setosa vs versicolor: linearly separable
    return x[keep].float(), y[keep]


def test_perceptron_rule_separates_setosa_from_versicolor() -> None:
    x, y = _iris_two_classes()
    model = archzoo.create_model("perceptron", in_features=x.shape[1], num_classes=2)
    history = train_perceptron(model, x, y, epochs=100)
    assert history[-1] == 0, f"no convergence: mistakes per pass {history}"
    assert history[0] > 0  # it did have to learn
    assert torch.equal(model.predict(x), y)


def _xor() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return x, torch.tensor([0, 1, 1, 0])


def test_no_perceptron_separates_xor() -> None:
    x, y = _xor()
    model = archzoo.create_model("perceptron", in_features=2, num_classes=2)
    history = train_perceptron(model, x, y, epochs=1000)
    assert len(history) == 1000 and min(history) >= 1  # the rule never reaches a mistake-free pass
    # and no line at all does: search a dense grid of (w1, w2, b)
    g = torch.linspace(-3, 3, 61)
    w1, w2, b = torch.meshgrid(g, g, g, indexing="ij")
    out = (w1[..., None] * x[:, 0] + w2[..., None] * x[:, 1] + b[..., None] > 0).long()
    assert not (out == y).all(-1).any()


def test_two_layer_mlp_learns_xor() -> None:
    x, y = _xor()
    torch.manual_seed(0)
    model = archzoo.create_model("mlp", in_features=2, num_classes=2, depth=1, width=4, act="tanh")
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(500):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.equal(model(x).argmax(1), y)


def test_one_hidden_layer_mlp_fits_sine() -> None:
    """Universal approximation: max |f(x) - sin x| < 0.05 on [-pi, pi]."""
    torch.manual_seed(0)
    model = archzoo.create_model("mlp", in_features=1, num_classes=1, depth=1, width=32, act="tanh")
    x = torch.linspace(-math.pi, math.pi, 256)[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 2000)
    for _ in range(2000):
        loss = F.mse_loss(model(x), torch.sin(x))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    grid = torch.linspace(-math.pi, math.pi, 2001)[:, None]  # denser than the training points
    with torch.no_grad():
        worst = (model(grid) - torch.sin(grid)).abs().max().item()
    assert worst < 0.05, worst


def test_mlp_options() -> None:
    m = archzoo.create_model("mlp", depth=3, width=16, act="gelu", dropout=0.1, batch_norm=True)
    kinds = [type(layer).__name__ for layer in m.features]
    assert kinds.count("Linear") == 3 and kinds.count("BatchNorm1d") == 3 and kinds.count("Dropout") == 3
    assert kinds.count("GELU") == 3
    for act in ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "swish", "gelu"):
        assert archzoo.create_model("mlp", act=act, in_features=4)(torch.randn(2, 4)).shape == (2, 10)
