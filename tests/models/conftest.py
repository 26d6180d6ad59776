"""Checks shared by the model-family tests, as fixtures that return the check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from archzoo.registry import model_macs


def _overfit_losses(model: torch.nn.Module, steps: int, lr: float) -> list[float]:
    """Adam on one fixed batch of 8 random 1x28x28 images with 10 labels; the loss of every step."""
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses


def _check_published_macs(name: str, published_gmacs: float) -> None:
    """archzoo's MACs at the card's input are within 2% of a published figure (in GMACs)."""
    macs = model_macs(name)
    published = published_gmacs * 1e9
    assert abs(macs - published) / published < 0.02, f"{name}: {macs / 1e9:.3f} vs {published / 1e9:.3f} GMACs"


@pytest.fixture
def overfit_losses() -> Callable[[torch.nn.Module, int, float], list[float]]:
    return _overfit_losses


@pytest.fixture
def check_published_macs() -> Callable[[str, float], None]:
    return _check_published_macs
