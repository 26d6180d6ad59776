"""SqueezeNet: exact counts, published MACs, fire modules, small inputs, overfitting one batch."""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.models.squeezenet import Fire
from archzoo.registry import model_macs

# torchvision 0.29: SqueezeNet1_*_Weights.IMAGENET1K_V1.meta["num_params"], meta["_ops"] (GMACs at
# 224x224; torchvision's "GFLOPS" column counts multiply-adds) and meta["min_size"].
PUBLISHED = {"squeezenet1_0": (1_248_424, 0.819, 21), "squeezenet1_1": (1_235_496, 0.349, 17)}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_and_min_size_match_torchvision(name: str) -> None:
    card = archzoo.model_card(name)
    params, _, min_size = PUBLISHED[name]
    assert card.num_params == params
    assert card.min_input_size == (3, min_size, min_size)
    assert card.torchvision_name == name


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_macs_match_torchvision_published_figure(name: str, check_published_macs) -> None:
    check_published_macs(name, PUBLISHED[name][1])


def test_fire_squeezes_then_expands() -> None:
    fire = Fire(96, 16, 64, 64)
    x = torch.randn(2, 96, 13, 13)
    y = fire(x)
    assert y.shape == (2, 128, 13, 13)
    assert fire.expand3x3.in_channels == 16  # the 3x3 filters see only the squeezed channels
    assert (y >= 0).all()  # both expand paths end in ReLU
    with torch.no_grad():
        s = torch.relu(fire.squeeze(x))
        torch.testing.assert_close(y[:, :64], torch.relu(fire.expand1x1(s)))


def test_compute_saving_of_version_1_1() -> None:
    """v1.1 has 2.4x less compute than v1.0 for about the same parameters."""
    macs = [model_macs(n) for n in ("squeezenet1_0", "squeezenet1_1")]
    assert 2.3 < macs[0] / macs[1] < 2.4


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_small_input_on_28x28_and_32x32(name: str) -> None:
    model = archzoo.create_model(name, small_input=True, in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        assert model.forward_features(torch.randn(2, 1, 28, 28)).shape == (2, 512, 3, 3)
        assert model.forward_features(torch.randn(2, 1, 32, 32)).shape == (2, 512, 4, 4)
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)  # the documented smallest input
    with pytest.raises(ValueError, match="at least 8x8"):
        model(torch.randn(1, 1, 7, 7))
    default = archzoo.create_model(name, in_channels=1, num_classes=10).eval()
    with torch.no_grad():  # the default network accepts 28x28 too, but squeezes it to 1x1
        assert default.forward_features(torch.randn(2, 1, 28, 28)).shape[-2:] == (1, 1)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="pool_after"):
        archzoo.create_model("squeezenet1_1", pool_after=(7,))
    with pytest.raises(ValueError, match="fires"):
        archzoo.create_model("squeezenet1_1", fires=((16, 64),))


def test_tiny_squeezenet_overfits_one_batch(overfit_losses) -> None:
    """A narrow SqueezeNet memorises 8 random 28x28 images.

    The ReLU on the class maps (torchvision's, from the reference Caffe model) means a sample whose
    true-class map turns negative everywhere gets a zero logit and no gradient to recover it; with
    other seeds, one or two of the eight samples can stall this way, so the seed is fixed.
    """
    torch.manual_seed(0)
    model = archzoo.create_model(
        "squeezenet1_1", stem_channels=64, fires=((16, 64, 64), (16, 64, 64), (32, 128, 128)), pool_after=(0,),
        small_input=True, in_channels=1, num_classes=10, dropout=0.0,
    )
    losses = overfit_losses(model, steps=80, lr=1e-3)
    assert losses[0] > 2.0 and losses[-1] < 0.05, losses[::10]
