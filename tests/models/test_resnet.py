"""ResNet: exact counts (ImageNet and CIFAR layouts), published MACs, shortcuts, small inputs, overfitting."""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.models.resnet import ZeroPadShortcut
from archzoo.registry import model_macs

# torchvision 0.29: ResNet*_Weights.DEFAULT.meta["num_params"] and meta["_ops"] (GMACs at 224x224;
# torchvision's "GFLOPS" column counts multiply-adds).
IMAGENET = {
    "resnet18": (11_689_512, 1.814), "resnet34": (21_797_672, 3.664), "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801), "resnet152": (60_192_808, 11.514),
}
# He et al. 2015, section 4.2: n blocks per stage. Exact counts from github.com/akamaster/
# pytorch_resnet_cifar10 (resnet.py counts them); Table 6 of the paper gives them rounded.
CIFAR = {
    "resnet20": (3, 269_722, 0.27), "resnet32": (5, 464_154, 0.46), "resnet44": (7, 658_586, 0.66),
    "resnet56": (9, 853_018, 0.85), "resnet110": (18, 1_727_962, 1.7),
}


@pytest.mark.parametrize("name", sorted(IMAGENET))
def test_imagenet_counts_match_torchvision(name: str) -> None:
    card = archzoo.model_card(name)
    assert card.num_params == IMAGENET[name][0]
    assert card.torchvision_name == name


@pytest.mark.parametrize("name", sorted(IMAGENET))
def test_imagenet_macs_match_torchvision_published_figure(name: str, check_published_macs) -> None:
    check_published_macs(name, IMAGENET[name][1])


@pytest.mark.parametrize("name", sorted(CIFAR))
def test_cifar_counts_match_reference_and_paper(name: str) -> None:
    n, exact, paper_millions = CIFAR[name]
    card = archzoo.model_card(name)
    assert card.num_params == exact
    assert card.input_size == (3, 32, 32) and card.config.num_classes == 10
    assert round(exact / 1e6, 2 if exact < 1e6 else 1) == paper_millions
    with torch.device("meta"):
        model = archzoo.create_model(name)
    weighted = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert len(weighted) == 6 * n + 2  # option A adds no layers: the count in the name


def test_cifar_macs_follow_from_the_layer_table() -> None:
    """resnet20 at 32x32, by hand: stem, 2n 3x3 convolutions per stage on 32/16/8 maps, the fc."""
    n = 3
    expected = (
        3 * 16 * 9 * 32 * 32
        + 2 * n * 16 * 16 * 9 * 32 * 32
        + (16 * 32 + (2 * n - 1) * 32 * 32) * 9 * 16 * 16
        + (32 * 64 + (2 * n - 1) * 64 * 64) * 9 * 8 * 8
        + 64 * 10
    )
    macs = model_macs("resnet20")
    assert macs == expected


def test_bottleneck_strides_on_its_3x3_convolution() -> None:
    """torchvision's v1.5: the stride sits on conv2 (3x3), not on conv1 (1x1) as in the paper."""
    with torch.device("meta"):
        model = archzoo.create_model("resnet50")
    first = model.layer2[0]
    assert first.conv1.stride == (1, 1) and first.conv2.stride == (2, 2)
    assert first.downsample[0].stride == (2, 2)


def test_option_a_shortcut_subsamples_and_zero_pads() -> None:
    shortcut = ZeroPadShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 7, 7)
    y = shortcut(x)
    assert y.shape == (2, 32, 4, 4)  # ceil(7 / 2), like the block's stride-2 3x3 convolution
    torch.testing.assert_close(y[:, 8:24], x[:, :, ::2, ::2])
    assert y[:, :8].abs().sum() == 0 and y[:, 24:].abs().sum() == 0
    assert not list(shortcut.parameters())
    with torch.device("meta"):
        model = archzoo.create_model("resnet20")
    assert isinstance(model.layer2[0].downsample, ZeroPadShortcut) and model.layer1[0].downsample is None


def test_cifar_stages_run_on_32_16_8_maps() -> None:
    model = archzoo.create_model("resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        x = model.relu(model.bn1(model.conv1(x)))
        shapes = []
        for stage in model.stages():
            x = stage(x)
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


def test_small_input_stem_on_28x28_and_32x32() -> None:
    model = archzoo.create_model("resnet18", small_input=True, in_channels=1, num_classes=10).eval()
    assert isinstance(model.maxpool, torch.nn.Identity) and model.conv1.kernel_size == (3, 3)
    with torch.no_grad():
        assert model.forward_features(torch.randn(2, 1, 28, 28)).shape == (2, 512, 4, 4)
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)  # the documented smallest input
    with pytest.raises(ValueError, match="at least 8x8"):
        model(torch.randn(1, 1, 7, 7))
    default = archzoo.create_model("resnet18", num_classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        default(torch.randn(1, 3, 28, 28))
    cifar = archzoo.create_model("resnet20", in_channels=1).eval()
    with torch.no_grad():
        assert cifar(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_zero_init_residual_zeroes_the_last_norm_of_each_branch() -> None:
    model = archzoo.create_model("resnet50", depths=(1, 1), widths=(4, 8), zero_init_residual=True)
    assert all(torch.count_nonzero(b.bn3.weight) == 0 for stage in model.stages() for b in stage)
    assert torch.count_nonzero(model.layer1[0].bn2.weight) == 4


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="block"):
        archzoo.create_model("resnet18", block="basicc")
    with pytest.raises(ValueError, match="shortcut"):
        archzoo.create_model("resnet18", shortcut="option_c")
    with pytest.raises(ValueError, match="depths and widths"):
        archzoo.create_model("resnet18", depths=(2, 2))


TINY = {
    "basic": ("resnet18", dict(depths=(1, 1), widths=(16, 32), stem_width=16, small_input=True)),
    "bottleneck": ("resnet50", dict(depths=(1, 1), widths=(8, 16), stem_width=16, small_input=True)),
    "cifar": ("resnet20", dict(depths=(1, 1, 1), widths=(8, 16, 32), stem_width=8)),
}


@pytest.mark.parametrize("kind", sorted(TINY))
def test_tiny_resnet_overfits_one_batch(kind: str, overfit_losses) -> None:
    name, overrides = TINY[kind]
    torch.manual_seed(0)
    model = archzoo.create_model(name, in_channels=1, num_classes=10, **overrides)
    losses = overfit_losses(model, steps=60, lr=3e-3)
    assert losses[0] > 2.0 and losses[-1] < 0.05, losses[::10]
