"""BatchNorm1d/2d, LayerNorm, Dropout and PReLU modules against torch.nn: values, gradients, buffers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import archzoo.nn as ann


def _twins(ours: nn.Module, theirs: nn.Module) -> tuple[nn.Module, nn.Module]:
    theirs.load_state_dict(ours.state_dict())  # same names, same shapes: loads without remapping
    return ours.double(), theirs.double()


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize(
    ("cls", "tcls", "shape"),
    [
        (ann.BatchNorm1d, nn.BatchNorm1d, (8, 4)),
        (ann.BatchNorm1d, nn.BatchNorm1d, (4, 4, 6)),
        (ann.BatchNorm2d, nn.BatchNorm2d, (3, 4, 5, 5)),
    ],
)
def test_batch_norm_module_trains_and_evaluates_like_torch(cls, tcls, shape, momentum) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(cls(4, momentum=momentum), tcls(4, momentum=momentum))
    with torch.no_grad():
        ours.weight.uniform_(0.5, 1.5)
        ours.bias.normal_()
        theirs.load_state_dict(ours.state_dict())
    for step in range(3):  # three training steps: outputs, gradients, running stats, counters
        x = torch.randn(shape, dtype=torch.float64) * (step + 1) + step
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(xa), theirs(xb)
        torch.testing.assert_close(ya, yb, atol=1e-10, rtol=1e-10)
        cot = torch.randn_like(ya)
        ya.backward(cot)
        yb.backward(cot)
        torch.testing.assert_close(xa.grad, xb.grad, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, atol=1e-10, rtol=1e-10)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(ours, name), getattr(theirs, name), atol=1e-12, rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-10, rtol=1e-10)


def test_batch_norm_without_running_stats_or_affine() -> None:
    torch.manual_seed(0)
    ours = ann.BatchNorm2d(3, affine=False, track_running_stats=False).eval()
    theirs = nn.BatchNorm2d(3, affine=False, track_running_stats=False).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    x = torch.randn(4, 3, 2, 2)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)  # batch stats even in eval


def test_batch_norm_names_a_wrong_input() -> None:
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects \(4,\)-d input with 3 channels"):
        ann.BatchNorm2d(3)(torch.randn(2, 3, 4))


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 6)])
def test_layer_norm_module_matches_torch(shape) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(ann.LayerNorm(6), nn.LayerNorm(6))
    with torch.no_grad():
        ours.weight.normal_()
        theirs.load_state_dict(ours.state_dict())
    x = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x), atol=1e-10, rtol=1e-10)
    assert ann.LayerNorm(6, bias=False).bias is None
    assert ann.LayerNorm((2, 3), elementwise_affine=False).weight is None


def test_dropout_module_train_and_eval() -> None:
    torch.manual_seed(0)
    d = ann.Dropout(0.25)
    x = torch.ones(10_000, dtype=torch.float64)
    y = d(x)
    assert set(y.unique().tolist()) == {0.0, 1 / 0.75}
    d.eval()
    assert torch.equal(d(x), x)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ann.Dropout(-0.1)


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_module_matches_torch(num_parameters) -> None:
    torch.manual_seed(0)
    ours, theirs = _twins(ann.PReLU(num_parameters), nn.PReLU(num_parameters))
    x = torch.randn(4, 3, 5, dtype=torch.float64)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = ours(xa), theirs(xb)
    torch.testing.assert_close(ya, yb, atol=1e-12, rtol=0)
    ya.sum().backward()
    yb.sum().backward()
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=1e-12, rtol=0)
    torch.testing.assert_close(xa.grad, xb.grad, atol=1e-12, rtol=0)
