from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import archzoo
from archzoo.models.lenet import C3_TABLE, scaled_tanh


def _per_layer(model: torch.nn.Module) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, p in model.named_parameters():
        counts[name.split(".")[0]] = counts.get(name.split(".")[0], 0) + p.numel()
    return counts


def test_lenet5_layer_counts_are_the_papers() -> None:
    m = archzoo.create_model("lenet5")
    assert _per_layer(m) == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164}
    assert archzoo.count_params(m) == 60_000
    assert archzoo.count_params(archzoo.create_model("lenet5_modern")) == 61_706


def test_c3_follows_table_one() -> None:
    assert sum(len(c) for c in C3_TABLE) == 60
    assert [len(c) for c in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    m = archzoo.create_model("lenet5")
    w = m.c3.dense_weight()  # (16, 6, 5, 5)
    connected = w.abs().sum((2, 3)) > 0
    expected = torch.zeros(16, 6, dtype=torch.bool)
    for j, srcs in enumerate(C3_TABLE):
        expected[j, list(srcs)] = True
    assert torch.equal(connected, expected)


def test_squashing_and_rbf_output() -> None:
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(scaled_tanh(x), 1.7159 * torch.tanh(2 * x / 3))
    m = archzoo.create_model("lenet5")
    centres = m.output.centres
    assert set(centres.unique().tolist()) == {-1.0, 1.0}
    assert not any(p is centres for p in m.parameters())  # fixed, not trained
    f6 = torch.randn(3, 84)
    distances = torch.cdist(f6, centres).square()
    torch.testing.assert_close(m.forward_head(f6), -0.2 * distances, rtol=1e-4, atol=1e-3)
    paper = archzoo.create_model("lenet5", logit_scale=1.0)  # the MAP criterion's own scale
    torch.testing.assert_close(paper.forward_head(f6), -distances, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="logit_scale must be positive"):
        archzoo.create_model("lenet5", logit_scale=0.0)


def test_subsampling_is_sum_times_coefficient_plus_bias() -> None:
    m = archzoo.create_model("lenet5")
    x = torch.randn(2, 6, 28, 28)
    expected = F.avg_pool2d(x, 2) * 4 * m.s2.weight.view(1, -1, 1, 1) + m.s2.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(m.s2(x), expected)


@pytest.mark.parametrize("name", ["lenet5", "lenet5_modern"])
def test_lenet_overfits_one_batch(name: str) -> None:
    torch.manual_seed(0)
    m = archzoo.create_model(name)
    x, y = torch.randn(16, 1, 28, 28), torch.arange(16) % 10
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    for _ in range(150):
        loss = F.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (m(x).argmax(1) == y).all(), f"{name} did not fit one batch (loss {loss.item():.3f})"


def test_wrong_input_says_what_was_expected() -> None:
    m = archzoo.create_model("lenet5")
    with pytest.raises(ValueError, match=r"in_channels=3"):
        m(torch.randn(1, 3, 28, 28))
    with pytest.raises(ValueError, match="28x28"):
        m(torch.randn(1, 1, 32, 32))
    m32 = archzoo.create_model("lenet5", image_size=32, input_padding=0)
    assert m32(torch.randn(1, 1, 32, 32)).shape == (1, 10)
    with pytest.raises(ValueError, match="must be 32"):
        archzoo.create_model("lenet5", image_size=30)


def test_the_modern_net_widens_and_the_faithful_one_refuses() -> None:
    wide = archzoo.create_model("lenet5_modern", widths=(16, 32, 120, 84))
    # C1 16*25+16, C3 32*16*25+32, C5 120*32*25+120, F6 120*84+84, output 84*10+10
    assert _per_layer(wide) == {"c1": 416, "c3": 12832, "c5": 96120, "f6": 10164, "output": 850}
    assert wide(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match=r"faithful lenet5 has the paper's widths \(6, 16, 120, 84\)"):
        archzoo.create_model("lenet5", widths=(16, 32, 120, 84))
    with pytest.raises(ValueError, match="widths must be four positive sizes"):
        archzoo.create_model("lenet5_modern", widths=(16, 32, 120))
