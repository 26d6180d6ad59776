"""EfficientNet B0-B7: exact counts, published MACs, compound scaling, small inputs, overfitting."""

from __future__ import annotations

import math

import pytest
import torch

import archzoo
from archzoo.layers import make_divisible
from archzoo.models.efficientnet import ALPHA, B0_STAGES, BETA, GAMMA, VARIANTS, compound_scaling, fitted_phi

# torchvision 0.29, EfficientNet_B*_Weights.IMAGENET1K_V1.meta: "num_params" and "_ops" (GMACs, at the
# weights' evaluation crop: 224, 240, 288, 300, 380, 456, 528, 600)
TORCHVISION = {
    "efficientnet_b0": (5_288_548, 0.386),
    "efficientnet_b1": (7_794_184, 0.687),
    "efficientnet_b2": (9_109_994, 1.088),
    "efficientnet_b3": (12_233_232, 1.827),
    "efficientnet_b4": (19_341_616, 4.394),
    "efficientnet_b5": (30_389_784, 10.266),
    "efficientnet_b6": (43_040_704, 19.068),
    "efficientnet_b7": (66_347_960, 37.746),
}


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_parameter_count_equals_torchvision(name: str) -> None:
    assert archzoo.model_card(name).num_params == TORCHVISION[name][0]


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_macs_match_torchvision_at_default_resolution(name: str) -> None:
    card = archzoo.model_card(name)
    with torch.device("meta"):
        model = archzoo.create_model(name).eval()
        macs = archzoo.count_flops(model, torch.empty(1, *card.input_size)).macs
    published = TORCHVISION[name][1] * 1e9
    assert abs(macs / published - 1) < 0.02, f"{name}: {macs / 1e9:.3f} vs torchvision {published / 1e9} GMACs"


def test_compound_scaling_rule() -> None:
    w, d, r = compound_scaling(1.0)
    assert (w, d) == (BETA, ALPHA) and r == pytest.approx(224 * GAMMA)
    # the constraint of equation 3: doubling phi's budget doubles FLOPs (about)
    flops_growth = ALPHA * BETA**2 * GAMMA**2
    assert flops_growth == pytest.approx(2.0, rel=0.05)
    # B2's published multipliers are the rule at phi = 1 (docs/efficientnet.md)
    assert fitted_phi(1.1, 1.2, 260) == pytest.approx(1.0, abs=0.05)
    assert fitted_phi(1.0, 1.0, 224) == 0.0


@pytest.mark.parametrize("name", ["efficientnet_b0", "efficientnet_b3", "efficientnet_b7"])
def test_variants_are_b0_scaled_in_width_and_depth(name: str) -> None:
    width, depth = VARIANTS[name][0], VARIANTS[name][1]
    with torch.device("meta"):
        model = archzoo.create_model(name)
    stages = list(model.features)[1:-1]
    assert [len(s) for s in stages] == [math.ceil(n * depth) for *_, n in B0_STAGES]
    widths = [make_divisible(stage[4] * width, 8) for stage in B0_STAGES]
    assert [s[-1].out_channels for s in stages] == widths
    assert model.features[0].out_channels == make_divisible(32 * width, 8)
    assert model.num_features == 4 * make_divisible(320 * width, 8)


def test_stochastic_depth_grows_linearly_to_0_2() -> None:
    model = archzoo.create_model("efficientnet_b0")
    blocks = [b for stage in list(model.features)[1:-1] for b in stage]
    probs = [b.stochastic_depth.p if b.use_res_connect else None for b in blocks]
    n = len(blocks)
    assert n == 16
    assert probs == [0.2 * i / n if b.use_res_connect else None for i, b in enumerate(blocks)]


def test_b5_to_b7_use_tensorflow_batchnorm() -> None:
    for name, eps in [("efficientnet_b4", 1e-5), ("efficientnet_b5", 1e-3)]:
        with torch.device("meta"):
            bn = archzoo.create_model(name).features[0][1]
        assert bn.eps == eps


def test_forward_on_32x32_colour_images() -> None:
    model = archzoo.create_model("efficientnet_b0", num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_small_input_flag_on_fashion_mnist_shape() -> None:
    model = archzoo.create_model("efficientnet_b0", in_channels=1, num_classes=10, small_input=True)
    assert model.min_hw == 8
    out = model(torch.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)
    assert model.forward_features(torch.randn(2, 1, 28, 28)).shape[-2:] == (4, 4)  # total stride 8
    with pytest.raises(ValueError, match="at least 32x32"):
        archzoo.create_model("efficientnet_b0", in_channels=1)(torch.randn(2, 1, 28, 28))


def test_bad_config_values_name_the_field() -> None:
    with pytest.raises(ValueError, match="width_mult"):
        archzoo.create_model("efficientnet_b0", width_mult=0.0)
    with pytest.raises(ValueError, match="dropout"):
        archzoo.create_model("efficientnet_b0", dropout=1.0)


def test_tiny_config_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model(
        "efficientnet_b0", width_mult=0.25, depth_mult=0.25, num_classes=4, in_channels=1,
        small_input=True, dropout=0.0, stochastic_depth_prob=0.0,
    )
    x, y = torch.randn(8, 1, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
