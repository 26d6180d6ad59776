"""MobileNet V1, V2, V3: published counts and MACs, the V2 name converter, small inputs, overfitting."""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.models.mobilenet import v2_from_torchvision

# torchvision 0.29, MobileNet_V*_Weights.IMAGENET1K_V1.meta: "num_params" and "_ops" (GMACs at 224)
TORCHVISION = {
    "mobilenet_v2": (3_504_872, 0.301),
    "mobilenet_v3_large": (5_483_032, 0.217),
    "mobilenet_v3_small": (2_542_856, 0.057),
}

# Howard et al. 2017, Table 6 (width multiplier, 224x224): millions of parameters, millions of mult-adds
V1_TABLE6 = {
    "mobilenet_v1": (4.2, 569),
    "mobilenet_v1_075": (2.6, 325),
    "mobilenet_v1_050": (1.3, 149),
    "mobilenet_v1_025": (0.5, 41),
}
# Table 7 (resolution multiplier, alpha = 1.0): input size -> millions of mult-adds (4.2M parameters)
V1_TABLE7 = {224: 569, 192: 418, 160: 290, 128: 186}


def _macs(name: str, size: int) -> int:
    with torch.device("meta"):
        model = archzoo.create_model(name).eval()
        return archzoo.count_flops(model, torch.empty(1, 3, size, size)).macs


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_counts_and_macs_match_torchvision(name: str) -> None:
    params, gmacs = TORCHVISION[name]
    assert archzoo.model_card(name).num_params == params
    macs = _macs(name, archzoo.model_card(name).input_size[-1])
    assert abs(macs / (gmacs * 1e9) - 1) < 0.02, f"{name}: {macs / 1e9:.4f} vs torchvision {gmacs} GMACs"


@pytest.mark.parametrize("name", list(V1_TABLE6))
def test_v1_width_multiplier_matches_table6(name: str) -> None:
    params_m, madds_m = V1_TABLE6[name]
    # the paper rounds parameters to 0.1M and mult-adds to 1M
    assert abs(archzoo.model_card(name).num_params / 1e6 - params_m) <= 0.05
    assert abs(_macs(name, 224) / 1e6 - madds_m) < 1.0


@pytest.mark.parametrize("size", list(V1_TABLE7))
def test_v1_resolution_multiplier_matches_table7(size: int) -> None:
    assert abs(_macs("mobilenet_v1", size) / 1e6 - V1_TABLE7[size]) < 1.0


def test_v1_exact_count_and_widths() -> None:
    # 1.0: 4,231,976 (the count of the Keras and TF-slim releases); alpha scales every width
    assert archzoo.model_card("mobilenet_v1").num_params == 4_231_976
    with torch.device("meta"):
        model = archzoo.create_model("mobilenet_v1_025")
    assert model.features[0].out_channels == 8 and model.num_features == 256


def test_v2_converter_maps_torchvision_names() -> None:
    tv = {
        "features.0.0.weight": torch.zeros(1),
        "features.1.conv.0.0.weight": torch.zeros(2),  # t=1: depthwise, then the flat projection
        "features.1.conv.1.weight": torch.zeros(3),
        "features.1.conv.2.running_var": torch.zeros(4),
        "features.2.conv.1.1.bias": torch.zeros(5),  # t=6: expand, depthwise, flat projection
        "features.2.conv.2.weight": torch.zeros(6),
        "features.2.conv.3.num_batches_tracked": torch.zeros(7),
        "classifier.1.weight": torch.zeros(8),
    }
    out = v2_from_torchvision(tv)
    assert {k: v.numel() for k, v in out.items()} == {
        "features.0.0.weight": 1,
        "features.1.block.0.0.weight": 2,
        "features.1.block.1.0.weight": 3,
        "features.1.block.1.1.running_var": 4,
        "features.2.block.1.1.bias": 5,
        "features.2.block.2.0.weight": 6,
        "features.2.block.2.1.num_batches_tracked": 7,
        "classifier.1.weight": 8,
    }


def test_v2_converter_covers_every_parameter() -> None:
    ours = archzoo.create_model("mobilenet_v2").state_dict()
    # rebuild torchvision's layout from ours: the projection ConvNormAct flattens into two entries
    tv: dict[str, torch.Tensor] = {}
    for key, value in ours.items():
        parts = key.split(".")
        if len(parts) > 4 and parts[2] == "block":
            block, j, k = parts[1], int(parts[3]), int(parts[4])
            n_layers = 1 + max(int(q.split(".")[3]) for q in ours if q.startswith(f"features.{block}.block."))
            if j == n_layers - 1:  # the projection
                key = f"features.{block}.conv.{j + k}.{'.'.join(parts[5:])}"
            else:
                key = f"features.{block}.conv.{j}.{k}.{'.'.join(parts[5:])}"
        tv[key] = value
    assert "features.2.conv.3.running_mean" in tv
    assert set(v2_from_torchvision(tv)) == set(ours)


@pytest.mark.parametrize("name", ["mobilenet_v1_025", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"])
def test_forward_on_32x32_colour_images(name: str) -> None:
    model = archzoo.create_model(name, num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["mobilenet_v1_025", "mobilenet_v2", "mobilenet_v3_small"])
def test_small_input_flag_on_fashion_mnist_shape(name: str) -> None:
    model = archzoo.create_model(name, in_channels=1, num_classes=10, small_input=True)
    assert model.min_hw == 8
    x = torch.randn(2, 1, 28, 28)
    assert model(x).shape == (2, 10)
    assert model.forward_features(x).shape[-2:] == (4, 4)  # total stride 8
    with pytest.raises(ValueError, match="at least 32x32"):
        archzoo.create_model(name, in_channels=1)(x)


def test_bad_config_values_name_the_field() -> None:
    with pytest.raises(ValueError, match="width_mult"):
        archzoo.create_model("mobilenet_v1", width_mult=-1.0)
    with pytest.raises(ValueError, match="dropout"):
        archzoo.create_model("mobilenet_v3_small", dropout=1.5)


@pytest.mark.parametrize("name", ["mobilenet_v1_025", "mobilenet_v2", "mobilenet_v3_small"])
def test_tiny_config_overfits_one_batch(name: str) -> None:
    torch.manual_seed(0)
    model = archzoo.create_model(name, width_mult=0.25, num_classes=4, in_channels=1, small_input=True, dropout=0.0)
    x, y = torch.randn(8, 1, 16, 16), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
