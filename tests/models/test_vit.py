"""Vision Transformer: exact counts, MACs, torchvision layout, small inputs, training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import archzoo
from archzoo.models.vit import SelfAttention

# Trainable parameters at num_classes=1000, in_channels=3. torchvision 0.29:
# torchvision.models.get_model_weights(name).DEFAULT.meta["num_params"]; timm: the parameter count
# of timm's vit_tiny_patch16_224 / vit_small_patch16_224 (model cards: 5.7M / 22.1M).
COUNTS = {
    "vit_ti_16": 5_717_416,  # timm
    "vit_s_16": 22_050_664,  # timm
    "vit_b_16": 86_567_656,  # torchvision 0.29
    "vit_b_32": 88_224_232,  # torchvision 0.29
    "vit_l_16": 304_326_632,  # torchvision 0.29
}

# GMACs at 224x224, torchvision 0.29: get_model_weights(name).DEFAULT.meta["_ops"]
TORCHVISION_GMACS = {"vit_b_16": 17.564, "vit_b_32": 4.409, "vit_l_16": 61.555}


@pytest.mark.parametrize(("name", "count"), COUNTS.items())
def test_exact_parameter_count(name: str, count: int) -> None:
    assert archzoo.model_card(name).num_params == count


def _meta_macs(name: str, size: int = 224) -> int:
    with torch.device("meta"):
        model = archzoo.create_model(name)
        return archzoo.count_flops(model, torch.empty(1, 3, size, size)).macs


@pytest.mark.parametrize(("name", "gmacs"), TORCHVISION_GMACS.items())
def test_macs_match_torchvision(name: str, gmacs: float) -> None:
    assert _meta_macs(name) / 1e9 == pytest.approx(gmacs, rel=0.02)


@pytest.mark.parametrize("name", ["vit_ti_16", "vit_s_16"])
def test_macs_match_closed_form(name: str) -> None:
    """No torchvision figure for Ti/S: check the counter against the count written out by hand."""
    cfg = archzoo.model_card(name).config
    d, p, s = cfg.hidden_dim, cfg.patch_size, cfg.image_size
    n = (s // p) ** 2
    t = n + 1
    per_layer = t * 4 * d * d + 2 * t * t * d + t * 2 * int(cfg.mlp_ratio * d) * d  # proj, attention, MLP
    expected = n * 3 * p * p * d + cfg.num_layers * per_layer + d * cfg.num_classes
    assert _meta_macs(name) == pytest.approx(expected, rel=1e-3)


def test_parameter_names_follow_torchvision() -> None:
    with torch.device("meta"):
        keys = set(archzoo.create_model("vit_b_16").state_dict())
    for key in ("conv_proj.weight", "class_token", "encoder.pos_embedding", "encoder.ln.weight",
                "encoder.layers.encoder_layer_0.ln_1.weight",
                "encoder.layers.encoder_layer_0.self_attention.in_proj_weight",
                "encoder.layers.encoder_layer_0.self_attention.in_proj_bias",
                "encoder.layers.encoder_layer_0.self_attention.out_proj.weight",
                "encoder.layers.encoder_layer_11.mlp.0.weight", "encoder.layers.encoder_layer_11.mlp.3.bias",
                "heads.head.weight"):
        assert key in keys, key
    assert archzoo.model_card("vit_b_16").torchvision_name == "vit_b_16"


def test_self_attention_equals_torch_multihead_attention() -> None:
    torch.manual_seed(0)
    ours = SelfAttention(48, 4).eval()
    ref = nn.MultiheadAttention(48, 4, batch_first=True).eval()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(3, 11, 48)
    with torch.no_grad():
        expected, _ = ref(x, x, x, need_weights=False)
        torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("shape", "patch"), [((1, 28, 28), 4), ((1, 28, 28), 7), ((3, 32, 32), 4)])
def test_small_inputs(shape: tuple[int, int, int], patch: int) -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("vit_ti_16", image_size=shape[1], patch_size=patch,
                                 in_channels=shape[0], num_classes=10)
    tokens = model.forward_features(torch.randn(2, *shape))
    assert tokens.shape == (2, (shape[1] // patch) ** 2 + 1, 192)
    out = model.forward_head(tokens)
    assert out.shape == (2, 10)
    out.sum().backward()
    assert model.conv_proj.weight.grad is not None


def test_wrong_image_size_is_a_clear_error() -> None:
    model = archzoo.create_model("vit_ti_16", image_size=28, patch_size=4, in_channels=1)
    with pytest.raises(ValueError, match="at least 28x28"):
        model(torch.randn(1, 1, 27, 28))
    with pytest.raises(ValueError, match="image_size=32"):
        model(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match="in_channels"):
        model(torch.randn(1, 3, 28, 28))


@pytest.mark.parametrize(("override", "field"), [
    ({"image_size": 30, "patch_size": 4}, "image_size"),
    ({"hidden_dim": 100, "num_heads": 3}, "hidden_dim"),
    ({"stochastic_depth_prob": 1.0}, "stochastic_depth_prob"),
])
def test_bad_config_names_the_field(override: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        archzoo.create_model("vit_ti_16", **override)


def test_stochastic_depth_rises_linearly() -> None:
    with torch.device("meta"):
        model = archzoo.create_model("vit_ti_16", stochastic_depth_prob=0.1)
    probs = [blk.drop_path.p for blk in model.encoder.layers]
    assert probs[0] == 0.0 and probs[-1] == pytest.approx(0.1)
    assert probs == sorted(probs)


def test_tiny_vit_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("vit_ti_16", image_size=28, patch_size=7, hidden_dim=32, num_layers=2,
                                 num_heads=2, in_channels=1, num_classes=4)
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (model.eval()(x).argmax(1) == y).all()
