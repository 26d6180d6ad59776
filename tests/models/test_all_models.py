"""Generated from the registry: every registered model builds and trains a step on its smallest input."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_model, save_model

import archzoo
from archzoo.registry import example_input, resolve_config

ALL = archzoo.list_models()
BIG = 40_000_000  # models above this many parameters are exercised in the slow lane


def _marks(name: str):
    return [pytest.mark.slow] if archzoo.model_card(name).num_params > BIG else []


def _input_for(card: archzoo.ModelCard, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """The model's arguments: one tensor, or (source, target) for a translation model."""
    x = example_input(card.name, batch, card.min_input_size, generator=torch.Generator().manual_seed(0))
    return x if isinstance(x, tuple) else (x,)


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in ALL])
def test_forward_backward_roundtrip(name: str, tmp_path) -> None:
    card = archzoo.model_card(name)
    torch.manual_seed(0)
    model = archzoo.create_model(name)
    assert archzoo.count_params(model) == card.num_params
    x = _input_for(card)
    model.train()
    out = model(*x)
    out = out[0] if isinstance(out, tuple) else out
    assert torch.isfinite(out).all(), f"{name} produced NaN/inf on its smallest input"
    out.float().square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"{name}: parameters without gradient: {missing[:5]}"
    # safetensors round trip: same tensors, same eval output
    path = tmp_path / "m.safetensors"
    save_model(model, str(path))  # stores tied weights (a language model's embedding and head) once
    clone = archzoo.create_model(name)
    load_model(clone, str(path))
    model.eval()
    clone.eval()
    with torch.no_grad():
        a, b = model(*x), clone(*x)
    a = a[0] if isinstance(a, tuple) else a
    b = b[0] if isinstance(b, tuple) else b
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ALL)
def test_card_is_complete(name: str) -> None:
    card = archzoo.model_card(name)
    assert card.paper and card.year > 1950 and card.url.startswith("http")
    assert len(card.min_input_size) == len(card.input_size)
    assert all(m <= d for m, d in zip(card.min_input_size, card.input_size, strict=True))
    if card.reference_params is not None:
        assert card.num_params == card.reference_params, f"{name}: {card.num_params} != {card.reference_params}"
        assert card.reference, f"{name} pins a reference count but does not say whose"
    cfg = resolve_config(name)
    if card.task == "classification" and len(card.input_size) == 3:
        assert hasattr(cfg, "num_classes") and hasattr(cfg, "in_channels")
        assert card.small_input, f"{name}: the card must say how the model fits small inputs"


@pytest.mark.parametrize("name", [n for n in ALL if len(archzoo.model_card(n).input_size) == 3])
def test_too_small_input_is_a_clear_error(name: str) -> None:
    card = archzoo.model_card(name)
    c, h, w = card.min_input_size
    model = archzoo.create_model(name).eval()
    with pytest.raises(ValueError, match="at least"):
        model(torch.randn(1, c, max(h - 1, 1), w))
    with pytest.raises(ValueError, match="in_channels"):
        model(torch.randn(1, c + 1, h, w))
