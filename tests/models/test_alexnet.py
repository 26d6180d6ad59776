"""AlexNet: exact parameter count, published MACs, small-input option, overfitting one batch."""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.registry import model_macs


def test_parameter_count_matches_torchvision() -> None:
    card = archzoo.model_card("alexnet")
    assert card.num_params == 61_100_840  # torchvision 0.29, AlexNet_Weights.IMAGENET1K_V1 meta
    assert card.torchvision_name == "alexnet"


def test_paper_two_gpu_network_has_the_documented_count() -> None:
    """The docstring's 60,965,224: the 2012 layout, with conv2/4/5 grouped over the two GPUs."""
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 96, 11, 4), torch.nn.Conv2d(96, 256, 5, padding=2, groups=2),
        torch.nn.Conv2d(256, 384, 3, padding=1), torch.nn.Conv2d(384, 384, 3, padding=1, groups=2),
        torch.nn.Conv2d(384, 256, 3, padding=1, groups=2),
        torch.nn.Linear(9216, 4096), torch.nn.Linear(4096, 4096), torch.nn.Linear(4096, 1000),
    ).to("meta")
    assert archzoo.count_params(m) == 60_965_224


def test_macs_match_torchvision_published_figure() -> None:
    published = 0.714e9  # torchvision 0.29 AlexNet_Weights meta["_ops"] ("GFLOPS" column = GMACs)
    macs = model_macs("alexnet")
    assert abs(macs - published) / published < 0.02


def test_small_input_gives_the_imagenet_feature_map_on_28x28() -> None:
    model = archzoo.create_model("alexnet", small_input=True, in_channels=1, num_classes=10).eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert model.forward_features(x).shape == (2, 256, 6, 6)  # as a 224x224 image in the default net
        assert model(x).shape == (2, 10)
        assert model(torch.randn(2, 1, 7, 7)).shape == (2, 10)  # the documented smallest input
    with pytest.raises(ValueError, match="at least 7x7"):
        model(torch.randn(1, 1, 6, 6))


def test_default_network_rejects_28x28_with_a_hint() -> None:
    model = archzoo.create_model("alexnet", num_classes=10)
    with pytest.raises(ValueError, match="at least 63x63"):
        model(torch.randn(1, 3, 28, 28))


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="dropout"):
        archzoo.create_model("alexnet", dropout=1.0)
    with pytest.raises(ValueError, match="channels"):
        archzoo.create_model("alexnet", channels=(64, 192))


def test_tiny_alexnet_overfits_one_batch(overfit_losses) -> None:
    """A narrow AlexNet memorises 8 random 28x28 images.

    With PyTorch's default initialisation (torchvision's) and no normalisation, the loss first sits
    on a plateau near the label entropy for some 40 Adam steps before it falls, hence 100 steps.
    """
    torch.manual_seed(0)
    model = archzoo.create_model(
        "alexnet", small_input=True, in_channels=1, num_classes=10, channels=(32, 64, 64, 64, 32),
        hidden_features=128, dropout=0.0,
    )
    losses = overfit_losses(model, steps=100, lr=1e-3)
    assert losses[0] > 2.0 and losses[-1] < 0.05, losses[::10]
