from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

import archzoo
from archzoo.registry import OverrideError, UnknownModelError, model_macs, register_model


def test_unknown_model_names_closest() -> None:
    with pytest.raises(KeyError, match="did you mean lenet5"):
        archzoo.create_model("lenet6")
    with pytest.raises(UnknownModelError):
        archzoo.model_card("no-such-thing-at-all")


def test_bad_override_is_named() -> None:
    with pytest.raises(TypeError, match="'num_clases'.*did you mean 'num_classes'"):
        archzoo.create_model("lenet5_modern", num_clases=3)
    with pytest.raises(OverrideError):
        archzoo.create_model("mlp", widht=3)
    with pytest.raises(ValueError, match="act='nope'"):
        archzoo.create_model("mlp", act="nope")


def test_register_twice_raises() -> None:
    @dataclass(frozen=True)
    class Cfg:
        width: int = 2

    register_model("test_tiny_twice", lambda c: nn.Linear(c.width, 1), Cfg(), family="test", task="test",
                   paper="p", year=2000, url="http://x", input_size=(2,))
    with pytest.raises(ValueError, match="already registered"):
        register_model("test_tiny_twice", lambda c: nn.Linear(c.width, 1), Cfg(), family="test", task="test",
                       paper="p", year=2000, url="http://x", input_size=(2,))
    from archzoo.registry import _REGISTRY

    del _REGISTRY["test_tiny_twice"]


def test_list_models_glob_family_task() -> None:
    assert archzoo.list_models("lenet*") == ["lenet5", "lenet5_modern"]
    assert archzoo.list_models(family="mlp") == ["mlp"]
    assert "perceptron" in archzoo.list_models(task="perceptron")
    assert archzoo.list_models() == sorted(archzoo.list_models())


def test_count_params_excludes_buffers_and_frozen() -> None:
    m = nn.BatchNorm1d(4)
    assert archzoo.count_params(m) == 8  # weight + bias; running stats are buffers
    m.weight.requires_grad_(False)
    assert archzoo.count_params(m) == 4
    assert archzoo.count_params(m, trainable_only=False) == 8


def test_count_flops_counts_multiply_adds() -> None:
    lin = nn.Linear(10, 3)
    f = archzoo.count_flops(lin, torch.randn(7, 10))
    assert f.macs == 7 * 10 * 3 and f.flops == 2 * f.macs
    conv = nn.Conv2d(2, 4, 3)
    f = archzoo.count_flops(conv, torch.randn(1, 2, 8, 8))
    assert f.macs == 4 * 6 * 6 * 2 * 9


def test_count_flops_runs_in_eval_mode_and_restores_the_mode() -> None:
    # a BatchNorm after global pooling cannot normalise one value per channel in training mode
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(4)).train()
    assert archzoo.count_flops(net, torch.randn(1, 1, 8, 8)).macs == 4 * 6 * 6 * 9
    assert net.training and all(m.training for m in net)
    assert model_macs("vgg11_bn", (1, 28, 28), in_channels=1, num_classes=10, small_input=True) > 0


def test_model_card_fields() -> None:
    card = archzoo.model_card("lenet5")
    assert card.num_params == 60_000 and card.year == 1998 and card.input_size == (1, 28, 28)


def test_count_flops_counts_attention_on_cpu() -> None:
    q = torch.randn(1, 2, 16, 8)

    class Attn(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.scaled_dot_product_attention(x, x, x)

    # QK^T and AV: 2 * (heads * T * T * d) multiply-adds
    assert archzoo.count_flops(Attn(), q).macs == 2 * 2 * 16 * 16 * 8


def test_pretrained_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="only source is 'torchvision'"):
        archzoo.create_model("lenet5", pretrained="imagenet")
    with pytest.raises(ValueError, match="no torchvision counterpart"):
        archzoo.create_model("lenet5", pretrained="torchvision")
    try:
        import torchvision  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="needs torchvision: pip install torchvision"):
            archzoo.create_model("resnet18", pretrained="torchvision")


def test_model_macs_counts_the_card_input_on_meta() -> None:
    from archzoo.registry import model_macs

    model = archzoo.create_model("lenet5_modern")
    assert model_macs("lenet5_modern") == archzoo.count_flops(model, torch.randn(1, 1, 28, 28)).macs == 416_520
    assert model_macs("mlp", (4,), in_features=4, depth=1, width=8, num_classes=3) == 4 * 8 + 8 * 3


def test_translation_models_take_a_pair_of_token_inputs() -> None:
    from archzoo.registry import example_input

    src, tgt = example_input("transformer_small", 2, (5,), src_vocab_size=11, tgt_vocab_size=7)
    assert src.shape == tgt.shape == (2, 5) and src.dtype == tgt.dtype == torch.long
    assert int(src.min()) >= 0 and int(src.max()) < 11 and int(tgt.max()) < 7
    tiny = dict(embedding_dim=4, hidden_size=8, src_vocab_size=11, tgt_vocab_size=7)
    # per token: encoder GRU 3*8*(4+8), decoder GRU 3*8*(4+8+8), output layer (8+4+8)*7 multiply-adds
    assert model_macs("seq2seq_gru", (3,), **tiny) == 3 * (3 * 8 * 12 + 3 * 8 * 20 + 20 * 7)
    model = archzoo.create_model("seq2seq_gru", **tiny)
    assert archzoo.count_flops(model, *example_input("seq2seq_gru", 1, (3,), **tiny)).macs == 3 * (288 + 480 + 140)
