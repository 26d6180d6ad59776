"""DenseNet-BC: exact counts, published MACs, channel arithmetic, small inputs, overfitting one batch."""

from __future__ import annotations

import pytest
import torch

import archzoo

# torchvision 0.29: DenseNet*_Weights.IMAGENET1K_V1.meta["num_params"] and meta["_ops"] (GMACs at
# 224x224; torchvision's "GFLOPS" column counts multiply-adds). The last entry is the channel count
# that reaches the classifier.
PUBLISHED = {
    "densenet121": (7_978_856, 2.834, 1024),
    "densenet161": (28_681_000, 7.728, 2208),
    "densenet169": (14_149_480, 3.36, 1664),
    "densenet201": (20_013_928, 4.291, 1920),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_matches_torchvision(name: str) -> None:
    card = archzoo.model_card(name)
    assert card.num_params == PUBLISHED[name][0]
    assert card.torchvision_name == name


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_macs_match_torchvision_published_figure(name: str, check_published_macs) -> None:
    check_published_macs(name, PUBLISHED[name][1])
    with torch.device("meta"):
        assert archzoo.create_model(name).num_features == PUBLISHED[name][2]


def test_growth_and_compression() -> None:
    """densenet121: 64 + 6*32 = 256 -> 128, + 12*32 = 512 -> 256, + 24*32 = 1024 -> 512, + 16*32 = 1024."""
    with torch.device("meta"):
        f = archzoo.create_model("densenet121").features
    assert [f.get_submodule(f"transition{i}").conv.out_channels for i in (1, 2, 3)] == [128, 256, 512]
    layer = f.denseblock2.denselayer3
    assert layer.conv1.in_channels == 128 + 2 * 32 and layer.conv1.out_channels == 4 * 32
    assert layer.conv2.out_channels == 32


def test_small_input_stem_on_28x28_and_32x32() -> None:
    tiny = dict(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, num_classes=10)
    model = archzoo.create_model("densenet121", small_input=True, in_channels=1, **tiny).eval()
    with torch.no_grad():
        assert model.forward_features(torch.randn(2, 1, 28, 28)).shape[-2:] == (3, 3)  # 28 -> 14 -> 7 -> 3
        assert model.forward_features(torch.randn(2, 1, 32, 32)).shape[-2:] == (4, 4)
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)  # the documented smallest input
    with pytest.raises(ValueError, match="at least 8x8"):
        model(torch.randn(1, 1, 7, 7))
    default = archzoo.create_model("densenet121", **tiny).eval()
    with torch.no_grad():
        assert default(torch.randn(2, 3, 29, 29)).shape == (2, 10)  # 29x29, as torchvision's min_size
    with pytest.raises(ValueError, match="at least 29x29"):
        default(torch.randn(1, 3, 28, 28))


def test_full_densenet121_runs_on_fashion_mnist_shape() -> None:
    model = archzoo.create_model("densenet121", small_input=True, in_channels=1, num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="compression"):
        archzoo.create_model("densenet121", compression=0.0)
    with pytest.raises(ValueError, match="block_config"):
        archzoo.create_model("densenet121", block_config=())


def test_tiny_densenet_overfits_one_batch(overfit_losses) -> None:
    torch.manual_seed(0)
    model = archzoo.create_model(
        "densenet121", growth_rate=12, block_config=(2, 2), num_init_features=24, small_input=True,
        in_channels=1, num_classes=10,
    )
    losses = overfit_losses(model, steps=60, lr=3e-3)
    assert losses[0] > 2.0 and losses[-1] < 0.05, losses[::10]
