"""Shared checks for the reference implementations: same values and same gradients as torch."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch
from torch import Tensor

Fn = Callable[..., Tensor]


def _leaves(inputs: Sequence[Tensor]) -> list[Tensor]:
    return [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]


def assert_same(ours: Fn, theirs: Fn, *inputs: Tensor, atol: float, rtol: float = 0.0) -> None:
    """ours(*inputs) == theirs(*inputs) within atol + rtol |theirs|, and so are the gradients of
    <output, G> w.r.t. every floating input, for a random cotangent G."""
    a, b = _leaves(inputs), _leaves(inputs)
    ya, yb = ours(*a), theirs(*b)
    torch.testing.assert_close(ya, yb, atol=atol, rtol=rtol, equal_nan=True)
    if not ya.requires_grad:
        return
    cot = torch.randn_like(yb)
    wrt_a = [x for x in a if x.requires_grad]
    wrt_b = [x for x in b if x.requires_grad]
    ga = torch.autograd.grad(ya, wrt_a, cot, allow_unused=True)
    gb = torch.autograd.grad(yb, wrt_b, cot, allow_unused=True)
    for i, (u, v) in enumerate(zip(ga, gb, strict=True)):
        u = torch.zeros_like(wrt_a[i]) if u is None else u
        v = torch.zeros_like(wrt_b[i]) if v is None else v
        torch.testing.assert_close(u, v, atol=atol, rtol=rtol, msg=lambda m, i=i: f"gradient of input {i}: {m}")


@pytest.fixture(autouse=True)
def _one_thread():
    """These tests run thousands of tiny ops; on a loaded 2-core machine a second intra-op thread
    makes each op wait for the busy core (measured: ~100x slower), so they run on one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def same() -> Callable[..., None]:
    """The :func:`assert_same` check as a fixture."""
    return assert_same


def tolerance(dtype: torch.dtype) -> dict[str, float]:
    """float64: 1e-10 where the arithmetic is the same; float32: 1e-5."""
    return {"atol": 1e-10, "rtol": 1e-10} if dtype == torch.float64 else {"atol": 1e-5, "rtol": 1e-5}


@pytest.fixture
def tol() -> Callable[[torch.dtype], dict[str, float]]:
    return tolerance
