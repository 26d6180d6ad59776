"""Swin Transformer: exact counts, MACs, window attention against a naive reference, small inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import archzoo
from archzoo.models.swin import PatchMerging, ShiftedWindowAttention, shift_mask

# torchvision 0.29: get_model_weights(name).DEFAULT.meta["num_params"] and ["_ops"] (GMACs at 224x224)
COUNTS = {"swin_t": 28_288_354, "swin_s": 49_606_258, "swin_b": 87_768_224}
TORCHVISION_GMACS = {"swin_t": 4.491, "swin_s": 8.741, "swin_b": 15.431}


@pytest.mark.parametrize(("name", "count"), COUNTS.items())
def test_exact_parameter_count(name: str, count: int) -> None:
    assert archzoo.model_card(name).num_params == count


@pytest.mark.parametrize(("name", "gmacs"), TORCHVISION_GMACS.items())
def test_macs_match_torchvision(name: str, gmacs: float) -> None:
    with torch.device("meta"):
        model = archzoo.create_model(name)
        macs = archzoo.count_flops(model, torch.empty(1, 3, 224, 224)).macs
    assert macs / 1e9 == pytest.approx(gmacs, rel=0.02)


def test_parameter_names_follow_torchvision() -> None:
    with torch.device("meta"):
        keys = set(archzoo.create_model("swin_t").state_dict())
    for key in ("features.0.0.weight", "features.0.2.weight", "features.1.0.norm1.weight",
                "features.1.0.attn.qkv.weight", "features.1.0.attn.proj.bias",
                "features.1.0.attn.relative_position_bias_table", "features.1.0.attn.relative_position_index",
                "features.1.1.mlp.0.weight", "features.1.1.mlp.3.weight", "features.2.reduction.weight",
                "features.2.norm.weight", "features.7.1.norm2.bias", "norm.weight", "head.weight"):
        assert key in keys, key
    assert archzoo.model_card("swin_t").torchvision_name == "swin_t"


def _naive_window_attention(attn: ShiftedWindowAttention, x: torch.Tensor) -> torch.Tensor:
    """Eq. 4 window by window, head by head, with the bias and the mask built from their definitions.

    Needs H, W multiples of the window and larger than it (no padding, shift active).
    """
    _, h, w, c = x.shape
    m, s, heads = attn.window_size, attn.shift, attn.num_heads
    d = c // heads
    table = attn.relative_position_bias_table
    rolled = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
    # after the roll, rows/cols >= size - s came from the other side of the image
    wrapped_y = torch.arange(h) >= h - s if s else torch.zeros(h, dtype=torch.bool)
    wrapped_x = torch.arange(w) >= w - s if s else torch.zeros(w, dtype=torch.bool)
    out = torch.zeros_like(x)
    for y0 in range(0, h, m):
        for x0 in range(0, w, m):
            pos = [(y0 + i, x0 + j) for i in range(m) for j in range(m)]
            tokens = torch.stack([rolled[:, py, px] for py, px in pos], dim=1)  # (B, N, C)
            q, k, v = attn.qkv(tokens).split(c, dim=-1)
            bias = torch.zeros(heads, m * m, m * m)
            mask = torch.zeros(m * m, m * m)
            for a, (ya, xa) in enumerate(pos):
                for bb, (yb, xb) in enumerate(pos):
                    row = (ya - yb + m - 1) * (2 * m - 1) + (xa - xb + m - 1)
                    bias[:, a, bb] = table[row]
                    if wrapped_y[ya] != wrapped_y[yb] or wrapped_x[xa] != wrapped_x[xb]:
                        mask[a, bb] = -100.0
            heads_out = []
            for hd in range(heads):
                sl = slice(hd * d, (hd + 1) * d)
                logits = q[..., sl] @ k[..., sl].transpose(-2, -1) / d**0.5 + bias[hd] + mask
                heads_out.append(logits.softmax(-1) @ v[..., sl])
            res = attn.proj(torch.cat(heads_out, dim=-1))  # (B, N, C)
            for n, (py, px) in enumerate(pos):
                out[:, py, px] = res[:, n]
    return torch.roll(out, shifts=(s, s), dims=(1, 2))


@pytest.mark.parametrize("shift", [0, 2])
def test_window_attention_matches_naive_reference(shift: int) -> None:
    torch.manual_seed(0)
    attn = ShiftedWindowAttention(dim=12, num_heads=3, window_size=4, shift=shift).eval()
    nn.init.normal_(attn.relative_position_bias_table, std=1.0)  # large enough to matter
    x = torch.randn(2, 8, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(attn(x), _naive_window_attention(attn, x), atol=1e-5, rtol=1e-5)


def test_shift_mask_separates_regions() -> None:
    mask = shift_mask(14, 14, 7, (3, 3), torch.device("cpu"))
    assert mask.shape == (4, 49, 49)
    assert (mask[0] == 0).all()  # the top-left window holds one region
    # the bottom-right window holds four regions of 4x4, 4x3, 3x4 and 3x3 tokens
    assert int((mask[3] == 0).sum()) == 16**2 + 12**2 + 12**2 + 9**2
    assert set(mask.unique().tolist()) == {0.0, -100.0}


@pytest.mark.parametrize(("h", "w"), [(6, 8), (5, 7)])
def test_patch_merging_order_and_padding(h: int, w: int) -> None:
    torch.manual_seed(0)
    merge = PatchMerging(4)
    x = torch.randn(2, h, w, 4)
    xp = nn.functional.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    cat = torch.cat([xp[:, 0::2, 0::2], xp[:, 1::2, 0::2], xp[:, 0::2, 1::2], xp[:, 1::2, 1::2]], dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(merge(x), merge.reduction(merge.norm(cat)))
    assert merge(x).shape == (2, (h + 1) // 2, (w + 1) // 2, 8)


@pytest.mark.parametrize(("shape", "window", "final_map"), [((1, 28, 28), 7, 2), ((3, 32, 32), 4, 2)])
def test_small_inputs(shape: tuple[int, int, int], window: int, final_map: int) -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("swin_t", patch_size=2, window_size=window, in_channels=shape[0],
                                 num_classes=10)
    feats = model.forward_features(torch.randn(2, *shape))
    assert feats.shape == (2, final_map, final_map, 768)
    out = model.forward_head(feats)
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_too_small_input_is_a_clear_error() -> None:
    model = archzoo.create_model("swin_t", patch_size=2, in_channels=1)
    with pytest.raises(ValueError, match="at least 2x2"):
        model(torch.randn(1, 1, 1, 8))
    with pytest.raises(ValueError, match="in_channels"):
        model(torch.randn(1, 3, 28, 28))


@pytest.mark.parametrize(("override", "field"), [
    ({"num_heads": (3, 6, 12)}, "depths"),
    ({"num_heads": (5, 6, 12, 24)}, "num_heads"),
    ({"window_size": 0}, "window_size"),
])
def test_bad_config_names_the_field(override: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        archzoo.create_model("swin_t", **override)


def test_stochastic_depth_and_shifts_follow_torchvision() -> None:
    with torch.device("meta"):
        model = archzoo.create_model("swin_t")
    blocks = [blk for stage in model.features[1::2] for blk in stage]
    probs = [blk.drop_path.p for blk in blocks]
    assert probs[0] == 0.0 and probs[-1] == pytest.approx(0.2) and probs == sorted(probs)
    assert [blk.attn.shift for blk in model.features[3]] == [0, 3]


def test_tiny_swin_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = archzoo.create_model("swin_t", patch_size=2, window_size=7, embed_dim=16, depths=(1, 1),
                                 num_heads=(2, 2), stochastic_depth_prob=0.0, in_channels=1, num_classes=4)
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 4
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.05
    assert (model.eval()(x).argmax(1) == y).all()
