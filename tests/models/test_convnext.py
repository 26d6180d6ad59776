"""ConvNeXt T/S/B/L: exact counts, published MACs, LayerNorm2d, layer scale, small inputs, overfitting."""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.layers.norm import LayerNorm2d

# torchvision 0.29, ConvNeXt_*_Weights.IMAGENET1K_V1.meta: "num_params" and "_ops" (GMACs at 224)
TORCHVISION = {
    "convnext_tiny": (28_589_128, 4.456),
    "convnext_small": (50_223_688, 8.684),
    "convnext_base": (88_591_464, 15.355),
    "convnext_large": (197_767_336, 34.361),
}


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_counts_and_macs_match_torchvision(name: str) -> None:
    params, gmacs = TORCHVISION[name]
    assert archzoo.model_card(name).num_params == params
    with torch.device("meta"):
        model = archzoo.create_model(name).eval()
        macs = archzoo.count_flops(model, torch.empty(1, 3, 224, 224)).macs
    assert abs(macs / (gmacs * 1e9) - 1) < 0.02, f"{name}: {macs / 1e9:.3f} vs torchvision {gmacs} GMACs"


def test_layernorm2d_normalises_each_pixel_over_channels() -> None:
    torch.manual_seed(0)
    norm = LayerNorm2d(6)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(2, 6, 5, 4) * 3 + 1
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-6) * norm.weight[:, None, None] + norm.bias[:, None, None]
    torch.testing.assert_close(norm(x), expected)
    # same result on a channels_last tensor
    torch.testing.assert_close(norm(x.contiguous(memory_format=torch.channels_last)), expected)


def test_layer_scale_and_stochastic_depth_follow_torchvision() -> None:
    with torch.device("meta"):
        model = archzoo.create_model("convnext_tiny")
    blocks = [b for i in (1, 3, 5, 7) for b in model.features[i]]
    assert len(blocks) == 18
    assert all(b.layer_scale.shape == (b.layer_scale.shape[0], 1, 1) for b in blocks)
    assert [b.stochastic_depth.p for b in blocks] == [0.1 * i / 17 for i in range(18)]
    model = archzoo.create_model("convnext_tiny", depths=(1, 1), dims=(8, 16))
    assert torch.all(model.features[1][0].layer_scale == 1e-6)


def test_forward_on_32x32_colour_images() -> None:
    model = archzoo.create_model("convnext_tiny", num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_small_input_flag_on_fashion_mnist_shape() -> None:
    model = archzoo.create_model("convnext_tiny", in_channels=1, num_classes=10, small_input=True)
    assert model.min_hw == 16
    x = torch.randn(2, 1, 28, 28)
    assert model(x).shape == (2, 10)
    assert model.forward_features(x).shape[-2:] == (1, 1)  # 28 -> 14 -> 7 -> 3 -> 1
    with pytest.raises(ValueError, match="at least 32x32"):
        archzoo.create_model("convnext_tiny", in_channels=1)(x)


def test_bad_config_values_name_the_field() -> None:
    with pytest.raises(ValueError, match="depths"):
        archzoo.create_model("convnext_tiny", depths=(3, 3))
    with pytest.raises(ValueError, match="stochastic_depth_prob"):
        archzoo.create_model("convnext_tiny", stochastic_depth_prob=1.0)


def test_tiny_config_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model(
        "convnext_tiny", depths=(1, 1, 1), dims=(16, 32, 64), num_classes=4, in_channels=1,
        small_input=True, stochastic_depth_prob=0.0, layer_scale=1.0,
    )
    x, y = torch.randn(8, 1, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
