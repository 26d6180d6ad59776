"""VGG: exact parameter counts, published MACs, small-input option, overfitting one batch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import archzoo

# torchvision 0.29: VGG*_Weights.IMAGENET1K_V1.meta["num_params"] and meta["_ops"] (GMACs at 224x224;
# torchvision's "GFLOPS" column counts multiply-adds).
PUBLISHED = {
    "vgg11": (132_863_336, 7.609), "vgg11_bn": (132_868_840, 7.609),
    "vgg13": (133_047_848, 11.308), "vgg13_bn": (133_053_736, 11.308),
    "vgg16": (138_357_544, 15.47), "vgg16_bn": (138_365_992, 15.47),
    "vgg19": (143_667_240, 19.632), "vgg19_bn": (143_678_248, 19.632),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_matches_torchvision(name: str) -> None:
    card = archzoo.model_card(name)
    assert card.num_params == PUBLISHED[name][0]
    assert card.torchvision_name == name


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_macs_match_torchvision_published_figure(name: str, check_published_macs) -> None:
    check_published_macs(name, PUBLISHED[name][1])


def test_bn_variant_puts_batch_norm_between_conv_and_relu() -> None:
    with torch.device("meta"):
        features = archzoo.create_model("vgg11_bn").features
    kinds = [type(m).__name__ for m in features[:4]]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert sum(isinstance(m, torch.nn.Conv2d) for m in features) == 8  # configuration A: 8 conv + 3 FC


def test_small_input_on_28x28_and_32x32() -> None:
    model = archzoo.create_model("vgg11", small_input=True, in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        assert model.forward_features(torch.randn(2, 1, 28, 28)).shape == (2, 512, 1, 1)
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
        assert model(torch.randn(2, 1, 16, 16)).shape == (2, 10)  # the documented smallest input
    with pytest.raises(ValueError, match="at least 16x16"):
        model(torch.randn(1, 1, 15, 15))
    rgb = archzoo.create_model("vgg11_bn", small_input=True, num_classes=10).eval()
    with torch.no_grad():
        assert rgb.forward_features(torch.randn(2, 3, 32, 32)).shape == (2, 512, 2, 2)


def test_small_input_head_has_512_inputs() -> None:
    """The docstring's figure: vgg16 at 10 classes, 33.6M parameters with small_input, 134M without."""
    with torch.device("meta"):
        small = archzoo.count_params(archzoo.create_model("vgg16", small_input=True, num_classes=10))
        full = archzoo.count_params(archzoo.create_model("vgg16", num_classes=10))
    assert small == 33_638_218 and full == 134_301_514


def test_default_network_needs_32x32() -> None:
    model = archzoo.create_model("vgg11", num_classes=10, hidden_features=16)
    with pytest.raises(ValueError, match="at least 32x32"):
        model(torch.randn(1, 3, 28, 28))


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="stages"):
        archzoo.create_model("vgg11", stages=())
    with pytest.raises(ValueError, match="dropout"):
        archzoo.create_model("vgg11", dropout=-0.1)


def test_tiny_vgg_bn_overfits_one_batch(overfit_losses) -> None:
    """A narrow vgg11_bn memorises 8 random 28x28 images.

    The test uses the batch-norm variant: without normalisation, a deep ReLU stack at
    torchvision's initialisation maps random images to nearly parallel features (mean cosine 0.98
    between samples after the fifth stage of vgg11 at init), and the loss stalls on a plateau for
    well over a hundred steps, the instability the paper avoided by initialising the deeper
    configurations from the trained configuration A.
    """
    torch.manual_seed(0)
    model = archzoo.create_model(
        "vgg11_bn", stages=((16,), (32,), (64, 64), (128, 128), (128, 128)), small_input=True,
        in_channels=1, num_classes=10, hidden_features=128, dropout=0.0,
    )
    losses = overfit_losses(model, steps=80, lr=3e-3)
    assert losses[0] > 2.0 and losses[-1] < 0.05, losses[::10]


def test_plain_vgg_features_collapse_at_init() -> None:
    """The figure quoted above: random images give nearly parallel features in plain vgg11."""
    torch.manual_seed(0)
    feats = {}
    for bn in (False, True):
        model = archzoo.create_model("vgg11", small_input=True, in_channels=1, num_classes=10, batch_norm=bn)
        with torch.no_grad():
            f = F.normalize(model.forward_features(torch.randn(8, 1, 28, 28)).flatten(1), dim=1)
        feats[bn] = ((f @ f.T).sum() - 8).item() / 56  # mean cosine over the 56 ordered pairs
    assert feats[False] > 0.95 and feats[True] < 0.5, feats
