"""The networks of the search spaces: genotypes decode as documented, every operation builds, bad genotypes are
clear errors."""

from __future__ import annotations

import pytest
import torch

import archzoo
from archzoo.models.nas import CELL_OPS, MACRO_OPS, MacroConfig, cell_string, macro_string


def test_macro_genotype_decodes_per_stage() -> None:
    cfg = MacroConfig(genotype=(0, 2, 1, 2, 3, 2, 0, 7, 6, 5, 1, 1, 4, 5, 0), num_classes=10)
    assert cfg.stages() == [(8, ("conv5x5", "sep3x3", "sep5x5")), (48, ("identity",)), (64, ("mbconv_e3", "mbconv_e6"))]
    assert macro_string(cfg.genotype) == "8:conv5x5,sep3x3,sep5x5 | 48:identity | 64:mbconv_e3,mbconv_e6"


@pytest.mark.parametrize("op", range(len(MACRO_OPS)))
def test_every_macro_op_changes_width_and_resolution(op: int) -> None:
    # each stage: the op first (it halves the resolution and changes the width), then the op again at its width
    genotype = (0, 1, op, op, 0, 2, 1, op, op, 0, 0, 0, op, 0, 0)
    model = archzoo.create_model("nas_macro", genotype=genotype, in_channels=1, num_classes=10)
    x = torch.randn(2, 1, 28, 28)
    assert model.forward_features(x).shape == (2, 32, 4, 4)  # 28 -> 14 -> 7 -> 4 at stage 3's width
    assert model(x).shape == (2, 10)


def test_macro_identity_and_pool_project_only_where_the_shape_changes() -> None:
    same = archzoo.create_model("nas_macro", genotype=(0, 1, 7, 7, 0) + (0, 0, 0, 0, 0) * 2, num_classes=10)
    first, second = same.stages[0]
    assert isinstance(second, torch.nn.Identity) and not isinstance(first, torch.nn.Identity)
    pool = archzoo.create_model("nas_macro", genotype=(0, 1, 6, 6, 0) + (0, 0, 0, 0, 0) * 2, num_classes=10)
    assert isinstance(pool.stages[0][1], torch.nn.MaxPool2d)


def test_cell_string_is_nas_bench_201s_format() -> None:
    assert cell_string((3, 3, 3, 1, 3, 3)) == ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                                               "nor_conv_3x3~1|nor_conv_3x3~2|")
    assert CELL_OPS[0] == "none"


def test_cell_dag_sums_edges_and_none_cuts_them() -> None:
    # only skip edges 0->1->2->3 (edges 0, 2, 5): the cell is the identity
    model = archzoo.create_model("nas_cell", genotype=(1, 0, 1, 0, 0, 1), in_channels=1, num_classes=10)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(model.cells[0](x), x)
    # skip on 0->1, 0->2 and 1->2: node 2 = 2x, node 3 = node 2 (edge 5) + x (edge 3) = 3x
    model = archzoo.create_model("nas_cell", genotype=(1, 1, 1, 1, 0, 1), in_channels=1, num_classes=10)
    torch.testing.assert_close(model.cells[0](x), 3 * x)
    # nothing reaches node 3: the cell outputs zeros, and the network still runs
    model = archzoo.create_model("nas_cell", genotype=(3, 3, 3, 0, 0, 0), in_channels=1, num_classes=10)
    assert model.cells[0](x).abs().sum() == 0
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_cell_benchmark_layout_builds() -> None:
    model = archzoo.create_model("nas_cell", channels=16, cells=5, num_classes=10)
    assert len(model.cells) == 3 * 5 + 2
    assert model.forward_features(torch.randn(1, 3, 32, 32)).shape == (1, 64, 8, 8)


@pytest.mark.parametrize(("name", "genotype", "needle"), [
    ("nas_macro", (0,) * 14, "15 integers"),
    ("nas_macro", (3,) + (0,) * 14, "each below 3, 3, 8"),
    ("nas_cell", (5, 0, 0, 0, 0, 0), "6 integers"),
    ("nas_cell", "abc", "6 integers"),
])
def test_bad_genotype_is_a_clear_error(name: str, genotype: object, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        archzoo.create_model(name, genotype=genotype)
