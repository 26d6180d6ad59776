"""Zero-cost proxies against values worked out by hand."""

from __future__ import annotations

import math

import torch
from torch import nn

import archzoo
from archzoo.nas import naswot, synflow


def test_synflow_of_a_linear_network_is_twice_its_flow() -> None:
    # y = |W2| |W1| 1 and R = sum(y): every weight's theta * dR/dtheta sums to R in each layer, so the score is 2R
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4, bias=False), nn.Linear(4, 3, bias=False))
    w1, w2 = (net[i].weight.detach().double().abs() for i in (0, 1))
    flow = float((w2 @ w1 @ torch.ones(5, dtype=torch.float64)).sum())
    assert math.isclose(synflow(net, torch.randn(7, 5)), math.log(2 * flow), rel_tol=1e-9)
    assert net[0].weight.min() < 0  # the network itself is untouched


def test_naswot_counts_agreements_of_relu_codes() -> None:
    # codes (1, 0, 1) and (1, 1, 0): they agree on 1 unit of 3, so K = [[3, 1], [1, 3]] and log det K = log 8
    x = torch.tensor([[1.0, -1.0, 2.0], [3.0, 1.0, -1.0]])
    assert math.isclose(naswot(nn.Sequential(nn.ReLU()), x), math.log(8), rel_tol=1e-9)
    # identical codes make K singular
    assert naswot(nn.Sequential(nn.ReLU()), torch.ones(2, 3)) == float("-inf")


def test_proxies_score_archzoo_candidates() -> None:
    torch.manual_seed(0)
    batch = torch.randn(16, 1, 28, 28)
    small = archzoo.create_model("nas_macro", genotype=(0, 0, 0, 0, 0) * 3, in_channels=1, num_classes=10)
    large = archzoo.create_model("nas_macro", genotype=(2, 2, 0, 0, 0) * 3, in_channels=1, num_classes=10)
    assert synflow(large, batch) > synflow(small, batch)  # more paths, more flow
    for model in (small, large):
        score = naswot(model, batch)
        assert math.isfinite(score) and score > 0
