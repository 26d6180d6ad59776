"""Same weights, same logits: every archzoo model with a torchvision counterpart against torchvision.

Run by `make test-interop` in a separate environment that has torchvision.
"""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.interop import convert_state_dict
from archzoo.registry import torchvision_converter

torchvision = pytest.importorskip("torchvision")

PAIRS = [(n, archzoo.model_card(n).torchvision_name) for n in archzoo.list_models()
         if archzoo.model_card(n).torchvision_name]


def _randomise_buffers(model: torch.nn.Module) -> None:
    """Give BatchNorm statistics and zero-initialised parameters (heads, class tokens) non-trivial
    values, so that a wrong mapping cannot hide behind zeros."""
    g = torch.Generator().manual_seed(1)
    for p in model.parameters():
        if p.numel() and p.abs().max() == 0:
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    for name, buf in model.named_buffers():
        if name.endswith("running_mean"):
            buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
        elif name.endswith("running_var"):
            buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)


@pytest.mark.parametrize(("name", "tv_name"), PAIRS)
def test_same_weights_same_logits(name: str, tv_name: str) -> None:
    torch.manual_seed(0)
    tv = torchvision.models.get_model(tv_name, weights=None).eval()
    with torch.no_grad():
        _randomise_buffers(tv)
    ours = archzoo.create_model(name).eval()
    ours.load_state_dict(convert_state_dict(tv.state_dict(), torchvision_converter(name)), strict=True)
    assert archzoo.count_params(ours) == sum(p.numel() for p in tv.parameters())
    x = torch.randn(2, *archzoo.model_card(name).input_size)
    with torch.no_grad():
        diff = (ours(x) - tv(x)).abs().max().item()
    assert diff <= 1e-4, f"{name} vs torchvision {tv_name}: max abs logit difference {diff:.2e}"


def test_pretrained_torchvision_goes_through_the_converter(monkeypatch) -> None:
    """create_model(..., pretrained="torchvision") loads what torchvision's loader returns, renamed
    where needed (mobilenet_v2 has a converter). The download itself is torchvision's own."""
    import archzoo.interop as interop

    for name in ("resnet18", "mobilenet_v2"):
        tv = torchvision.models.get_model(archzoo.model_card(name).torchvision_name, weights=None).eval()
        monkeypatch.setattr(interop, "torchvision_state_dict",
                            lambda tv_name, weights="DEFAULT", tv=tv: tv.state_dict())
        ours = archzoo.create_model(name, pretrained="torchvision").eval()
        x = torch.randn(1, 3, 224, 224)
        with torch.no_grad():
            assert (ours(x) - tv(x)).abs().max().item() <= 1e-4
    with pytest.raises(ValueError, match="1000 classes"):
        archzoo.create_model("resnet18", pretrained="torchvision", num_classes=10)
