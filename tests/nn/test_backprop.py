"""The hand-written backward pass of HandMLP against autograd and against finite differences."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

from archzoo.nn import HandMLP


def _autograd_grads(mlp: HandMLP, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    params = [p.clone().requires_grad_() for p in mlp.parameters()]
    act = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}[mlp.activation]
    a = x
    for i in range(0, len(params), 2):
        a = TF.linear(a, params[i], params[i + 1])
        if i < len(params) - 2:
            a = act(a)
    loss = TF.cross_entropy(a, y)
    return loss, list(torch.autograd.grad(loss, params))


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("sizes", [[5, 3], [6, 8, 4], [4, 7, 7, 5, 3]])
def test_hand_gradients_equal_autograd(sizes, activation) -> None:
    g = torch.Generator().manual_seed(0)
    mlp = HandMLP(sizes, activation, generator=g)
    x, y = torch.randn(9, sizes[0], dtype=torch.float64, generator=g), torch.randint(0, sizes[-1], (9,), generator=g)
    loss, dlogits = mlp.loss_and_grad(mlp(x), y)
    grads = mlp.backward(dlogits)
    ref_loss, ref_grads = _autograd_grads(mlp, x, y)
    torch.testing.assert_close(loss, ref_loss, atol=1e-12, rtol=0)
    assert [g.shape for g in grads] == [p.shape for p in mlp.parameters()]
    for ours, theirs in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=1e-10)


def test_hand_gradients_equal_finite_differences() -> None:
    """dL/dtheta_i ~ (L(theta + h e_i) - L(theta - h e_i)) / 2h, for every single parameter."""
    g = torch.Generator().manual_seed(1)
    mlp = HandMLP([3, 5, 4, 3], "tanh", generator=g)
    x, y = torch.randn(6, 3, dtype=torch.float64, generator=g), torch.randint(0, 3, (6,), generator=g)
    _, dlogits = mlp.loss_and_grad(mlp(x), y)
    grads = mlp.backward(dlogits)
    h = 1e-6
    for p, grad in zip(mlp.parameters(), grads, strict=True):
        flat, gflat = p.view(-1), grad.view(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            up = mlp.loss_and_grad(mlp(x), y)[0].item()
            flat[i] = old - h
            down = mlp.loss_and_grad(mlp(x), y)[0].item()
            flat[i] = old
            assert abs((up - down) / (2 * h) - gflat[i].item()) < 1e-8


def test_hand_backprop_learns() -> None:
    """Plain gradient descent on the hand gradients learns XOR-like quadrants."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, dtype=torch.float64, generator=g)
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # XOR of the signs: not linearly separable
    mlp = HandMLP([2, 16, 2], "tanh", generator=g)
    start = mlp.loss_and_grad(mlp(x), y)[0].item()
    for _ in range(1500):
        _, dlogits = mlp.loss_and_grad(mlp(x), y)
        mlp.sgd_step(mlp.backward(dlogits), lr=0.5)
    logits = mlp(x)
    assert mlp.loss_and_grad(logits, y)[0].item() < 0.3 * start
    assert (logits.argmax(1) == y).double().mean() > 0.9


def test_hand_mlp_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="tanh, sigmoid, relu"):
        HandMLP([2, 2], "gelu")
    with pytest.raises(ValueError, match="at least an input and an output"):
        HandMLP([2])
