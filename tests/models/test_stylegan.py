"""StyleGAN: its layouts, AdaIN against a hand computation, truncation, style mixing (regularisation and the
mixing grid), progressive growing, the moving average with w_avg, gradients, the minibatch deviation kept inside
each kind of sample, and a short run on real images."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import archzoo
from archzoo.engine import TrainConfig, train
from archzoo.models.stylegan import StyleGAN, StyleGANConfig, adain, growth_stage

SMALL = dict(latent_dim=16, w_dim=16, mapping_layers=2, max_channels=16, min_channels=8)


def _model(side: int = 28, **kw) -> StyleGAN:
    torch.manual_seed(0)
    return StyleGAN(StyleGANConfig(data_shape=(1, side, side), **{**SMALL, **kw}))


@pytest.mark.parametrize("side,sides,ranges", [
    (28, (7, 14, 28), {"coarse": (0, 1), "middle": (2, 3), "fine": (4, 5)}),
    (32, (4, 8, 16, 32), {"coarse": (0, 1, 2, 3), "middle": (4, 5), "fine": (6, 7)}),
    (64, (4, 8, 16, 32, 64), {"coarse": (0, 1, 2, 3), "middle": (4, 5, 6, 7), "fine": (8, 9)}),
])
def test_layouts_follow_the_image_side(side: int, sides: tuple[int, ...], ranges: dict) -> None:
    model = _model(side)
    assert model.cfg.sides == sides and model.cfg.num_layers == 2 * len(sides)
    assert model.layer_ranges() == ranges
    z = torch.randn(3, 16)
    x = model.generate(z)
    assert x.shape == (3, 1, side, side) and x.abs().max() <= 1  # tanh
    assert model.discriminate(x).shape == (3,) and model(z).shape == (3,)
    assert model.generator.synthesis.const.shape == (16, sides[0], sides[0])
    # channels: min_channels at the image's side, doubling towards the start side up to max_channels
    assert [model.cfg.channels(i) for i in range(len(sides))][-2:] == [16, 8]
    linear = StyleGAN(StyleGANConfig(data_shape=(1, side, side), out_act="none", **SMALL))
    assert linear.generate(z).shape == (3, 1, side, side)


def test_flops_are_counted_growing_or_not() -> None:  # what `archzoo info` runs, without gradients
    z = torch.randn(1, 16)
    full = archzoo.count_flops(_model(), z).macs
    growing = _model(progressive=True)
    assert 0 < archzoo.count_flops(growing, z).macs < full  # a new growing model draws at 7x7
    growing.set_progress(1.0)
    assert archzoo.count_flops(growing, z).macs == full


def test_other_sizes_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="start side of 4 to 8"):
        StyleGANConfig(data_shape=(1, 36, 36))  # 36 -> 18 -> 9: no start side of 4 to 8
    with pytest.raises(ValueError, match="out_act"):
        StyleGANConfig(out_act="relu")
    with pytest.raises(ValueError, match=r"codes of shape \(B, 16\)"):
        _model().generate(torch.randn(2, 15))


def test_adain_normalises_then_restyles() -> None:
    # one sample, two channels of 2x2: channel 0 [[1, 2], [3, 4]] (mean 2.5, variance 1.25), channel 1 constant 5
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 5.0], [5.0, 5.0]]]])
    y_s, y_b = torch.tensor([[2.0, 3.0]]), torch.tensor([[1.0, -1.0]])
    out = adain(x, y_s, y_b)
    by_hand = 2.0 * (torch.tensor([[1.0, 2.0], [3.0, 4.0]]) - 2.5) / math.sqrt(1.25 + 1e-8) + 1.0
    torch.testing.assert_close(out[0, 0], by_hand)
    torch.testing.assert_close(out[0, 1], torch.full((2, 2), -1.0))  # no variation: only the style's bias
    # the content's own scale and shift are gone: each channel gets mean y_b and deviation y_s
    x = torch.randn(3, 4, 5, 5) * 7 + 3
    y_s, y_b = torch.rand(3, 4) + 0.5, torch.randn(3, 4)
    out = adain(x, y_s, y_b)
    torch.testing.assert_close(out.mean((2, 3)), y_b, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var((2, 3), unbiased=False).sqrt(), y_s, atol=1e-4, rtol=0)
    torch.testing.assert_close(adain(2 * x + 1, y_s, y_b), out, atol=1e-4, rtol=0)


def test_styles_start_as_instance_norm() -> None:
    layer = _model().generator.synthesis.layers[1]
    channels = layer.bias.numel()
    assert torch.equal(layer.affine.bias, torch.cat([torch.ones(channels), torch.zeros(channels)]))
    assert torch.equal(layer.noise_strength, torch.zeros(channels))  # the paper's noise factors start at 0


def test_truncation_pulls_w_towards_its_mean() -> None:
    model = _model().eval()
    g = model.generator
    g.w_avg.copy_(torch.randn(16))
    z = torch.randn(5, 16)
    w = g.mapping(z)
    full = g.styles(z, truncation=0.0)
    assert full.shape == (5, 6, 16) and torch.allclose(full, g.w_avg.expand(5, 6, 16))  # psi = 0: w_avg, every code
    torch.testing.assert_close(g.styles(z, truncation=1.0), w[:, None].expand(5, 6, 16))  # psi = 1: untruncated
    torch.testing.assert_close(g.styles(z, truncation=0.5), ((w + g.w_avg) / 2)[:, None].expand(5, 6, 16))
    with torch.no_grad():
        images = g(z, truncation=0.0, noise_mode="const")
        assert torch.allclose(images, images[:1].expand_as(images), atol=1e-5)  # every code draws the same image
        torch.testing.assert_close(g(z, 1.0, "const"), g.synthesis(w[:, None].expand(5, 6, 16), "const"))


def test_w_avg_follows_the_codes_in_training_only() -> None:
    model = _model(mixing_prob=0.0)
    g = model.generator
    z = torch.randn(8, 16)
    with torch.no_grad():
        w = g.mapping(z)
        model.eval()
        model.generate(z)
        assert torch.equal(g.w_avg, torch.zeros(16))
        model.train()
        model.generate(z)
    torch.testing.assert_close(g.w_avg, 0.005 * w.mean(0))  # decay 0.995 from 0


def test_style_mixing_regularisation_crosses_over_once() -> None:
    z = torch.randn(64, 16)
    model = _model(mixing_prob=1.0).train()
    with torch.no_grad():
        w = model.generator.mapping(z)
        ws = model.generator.styles(z)  # (B, L, w_dim)
    first = (ws - w[:, None]).abs().amax(2) < 1e-6  # (B, L): the layers that take the image's own w
    assert first[:, 0].all() and not first[:, -1].any()  # every image mixed, after layer 0 and by the last
    crossovers = first.sum(1)
    assert torch.equal(first, torch.arange(6)[None] < crossovers[:, None])  # one crossover point per image
    assert set(crossovers.tolist()) == {1, 2, 3, 4, 5}  # drawn over all of them
    second = ws[torch.arange(64), -1]
    assert torch.allclose(ws, torch.where(first[:, :, None], w[:, None], second[:, None]))  # one second w
    model = _model(mixing_prob=0.0).train()
    with torch.no_grad():
        ws = model.generator.styles(z)
    assert torch.allclose(ws, ws[:, :1].expand_as(ws))
    model = _model(mixing_prob=0.5).train()  # about half the images
    with torch.no_grad():
        ws = model.generator.styles(torch.randn(400, 16))
    mixed = (ws - ws[:, :1]).abs().amax((1, 2)) > 1e-6
    assert 0.4 < mixed.double().mean() < 0.6


def test_mixing_takes_the_chosen_layers_from_the_second_code() -> None:
    model = _model(ema=True).eval()
    z_a, z_b = torch.randn(4, 16), torch.randn(4, 16)
    with torch.no_grad():
        plain_a = model.generator_ema(z_a, 0.7, "const")
        plain_b = model.generator_ema(z_b, 0.7, "const")
    torch.testing.assert_close(model.mix(z_a, z_b, [], truncation=0.7), plain_a)
    torch.testing.assert_close(model.mix(z_a, z_b, range(6), truncation=0.7), plain_b)
    coarse = model.mix(z_a, z_b, "coarse", truncation=0.7)
    assert not torch.allclose(coarse, plain_a) and not torch.allclose(coarse, plain_b)
    by_index = model.mix(z_a, z_b, model.layer_ranges()["coarse"], truncation=0.7)
    torch.testing.assert_close(coarse, by_index)
    grid = model.mix(z_a, z_b[:1], "fine")  # one source of styles for a row of images
    assert grid.shape == (4, 1, 28, 28)
    with pytest.raises(ValueError, match="coarse, middle, fine"):
        model.mix(z_a, z_b, "medium")
    with pytest.raises(ValueError, match="0..5"):
        model.mix(z_a, z_b, [6])


def test_noise_modes() -> None:
    g = _model().generator.eval()
    for layer in g.synthesis.layers:
        layer.noise_strength.data.fill_(1.0)
    z = torch.randn(2, 16)
    with torch.no_grad():
        const = g(z)  # eval mode: the fixed noise maps
        torch.testing.assert_close(g(z), const)
        a = g(z, noise_mode="random", generator=torch.Generator().manual_seed(1))
        b = g(z, noise_mode="random", generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(a, b)
        assert not torch.allclose(a, const) and not torch.allclose(g(z, noise_mode="none"), const)
    with pytest.raises(ValueError, match="random, const, none"):
        g(z, noise_mode="fixed")


def test_growth_schedule() -> None:
    # 28 pixels, three sides: five equal phases
    expected = {0.0: (0, 1.0), 0.1: (0, 1.0), 0.25: (1, 0.25), 0.3: (1, 0.5), 0.5: (1, 1.0), 0.7: (2, 0.5),
                0.9: (2, 1.0), 1.0: (2, 1.0)}
    for fraction, (level, alpha) in expected.items():
        got = growth_stage(fraction, 3)
        assert got[0] == level and got[1] == pytest.approx(alpha), fraction


def test_progressive_growing_keeps_the_shapes(tmp_path: Path) -> None:
    model = _model(progressive=True, ema=True).eval()
    z, x = torch.randn(4, 16), torch.rand(4, 1, 28, 28) * 2 - 1
    assert model.stage() == (7, 1.0)  # a new model starts at the start side
    with torch.no_grad():
        coarse = model.generate(z)
        assert coarse.shape == (4, 1, 28, 28)
        torch.testing.assert_close(coarse, coarse[..., ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3))
        model.set_progress(0.3)
        assert model.stage() == (14, pytest.approx(0.5))
        assert model.generator_ema.synthesis.stage() == (1, pytest.approx(0.5))
        assert model.discriminator.growth.level == 1
        fading = model.generate(z)
        assert fading.shape == (4, 1, 28, 28) and model.discriminate(x).shape == (4,)
        torch.testing.assert_close(fading, fading[..., ::2, ::2].repeat_interleave(2, 2).repeat_interleave(2, 3))
        model.set_progress(1.0)
        assert model.stage() == (28, 1.0)
        full = model.generate(z)
    assert full.shape == (4, 1, 28, 28) and not torch.allclose(full[..., ::2, ::2].repeat_interleave(2, 2)
                                                                .repeat_interleave(2, 3), full)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        model.set_progress(3.0)  # epochs, not a fraction
    # the stage is part of the state dict: a checkpoint resumes (or samples) at its stage
    model.set_progress(0.7)
    clone = _model(progressive=True, ema=True)
    clone.load_state_dict(model.state_dict())
    assert clone.stage() == (28, pytest.approx(0.5)) and clone.discriminator.growth.alpha == pytest.approx(0.5)
    # without growing, set_progress changes nothing
    flat = _model()
    flat.set_progress(0.0)
    assert flat.stage() == (28, 1.0)


def test_growing_uses_the_networks_it_has_grown() -> None:
    model = _model(progressive=True).train()
    model.set_progress(0.3)  # fading in 14x14: 7 and 14 pixel layers, both toRGBs and fromRGBs in use
    model(torch.randn(4, 16)).mean().backward()
    synthesis, d = model.generator.synthesis, model.discriminator
    assert all(p.grad is not None for layer in synthesis.layers[:4] for p in layer.parameters())
    assert all(p.grad is None for layer in synthesis.layers[4:] for p in layer.parameters())
    assert [m.weight.grad is not None for m in synthesis.to_rgb] == [True, True, False]
    assert [m.weight.grad is not None for m in d.from_rgb] == [True, True, False]


def test_the_moving_average_copies_w_avg_and_sampling_uses_it() -> None:
    model = _model(ema=True).train()
    model.generate(torch.randn(8, 16))  # moves the live generator's w_avg
    assert not torch.equal(model.generator.w_avg, model.generator_ema.w_avg)
    model.update_ema(0.9)
    assert torch.equal(model.generator.w_avg, model.generator_ema.w_avg)
    assert all(torch.equal(v, dict(model.generator.named_buffers())[k])
               for k, v in model.generator_ema.named_buffers())
    assert all(not p.requires_grad for p in model.generator_ema.parameters())
    with torch.no_grad():
        for p in model.generator_ema.parameters():
            p.add_(0.1)
    kept = model.generator_ema.w_avg.clone()
    model.sample(3)  # in training mode too, sampling neither moves w_avg nor mixes styles
    assert torch.equal(model.generator_ema.w_avg, kept)
    model.eval()
    drawn = model.sample(3, torch.Generator().manual_seed(5), truncation=0.5)
    again = model.sample(3, torch.Generator().manual_seed(5), truncation=0.5)
    torch.testing.assert_close(drawn, again)  # codes and noise both from the generator
    g = torch.Generator().manual_seed(5)
    z = torch.randn(3, 16, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(drawn, model.generator_ema(z, 0.5, "random", g))
        assert not torch.allclose(drawn, model.generator(z, 0.5, "random", torch.Generator().manual_seed(5)))


def test_gradients_reach_the_mapping_network_and_the_discriminator() -> None:
    model = _model().train()
    model(torch.randn(4, 16)).mean().backward()
    for name, p in [*model.generator.mapping.named_parameters(), *model.discriminator.named_parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(layer.noise_strength.grad is not None for layer in model.generator.synthesis.layers)


def test_equalized_learning_rate_scales_at_runtime() -> None:
    model = _model()
    weight = model.generator.mapping.layers[0].weight
    # stored N(0, 1) / lr_mul (0.01), used times lr_mul * sqrt(2) / sqrt(fan_in): He's scale at runtime
    assert weight.std().item() == pytest.approx(100.0, rel=0.15)
    assert model.generator.mapping.layers[0].scale == pytest.approx(0.01 * math.sqrt(2 / 16))
    conv = model.discriminator.blocks[0].conv1
    assert conv.weight.std().item() == pytest.approx(1.0, rel=0.1)
    assert conv.scale == pytest.approx(math.sqrt(2 / (conv.weight.shape[1] * 9)))


def test_minibatch_deviation_keeps_real_and_generated_apart() -> None:
    model = _model().eval()
    real, fake = torch.rand(8, 1, 28, 28) * 2 - 1, torch.randn(8, 1, 28, 28)
    both = torch.cat([real, fake])
    with torch.no_grad():
        grouped = model.discriminate(both, groups=2)
        apart = torch.cat([model.discriminate(real), model.discriminate(fake)])
        shuffled = model.discriminate(both[torch.tensor([0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15])])
        odd = model.discriminate(both[:6], groups=2)  # parts of 3: groups of 3
    torch.testing.assert_close(grouped, apart)
    assert not torch.allclose(shuffled[::2], apart[:8], atol=1e-4)  # groups of real and generated mixed
    assert odd.shape == (6,) and torch.isfinite(odd).all()


@pytest.mark.slow
def test_a_short_run_on_fashion_mnist(tmp_path: Path, real_data_root: Path) -> None:
    cfg = TrainConfig(model="stylegan", data="fashion-mnist", data_root=str(real_data_root), out=str(tmp_path / "r"),
                      subset=256, epochs=1, batch_size=64, optimizer="adam", lr=2e-3, beta1=0.0, beta2=0.99,
                      r1_gamma=1.0, ema=0.99, val_size=64, eval_samples=0, schedule="constant", augment="none",
                      device="cpu", model_overrides=dict(SMALL, min_channels=4))  # its 10,000 test images dominate
    summary = train(cfg, progress=False)
    val = summary["metrics"]["val"]
    assert all(math.isfinite(val[k]) for k in ("loss_d", "loss_g", "d_real", "d_fake"))
    assert 0 < val["d_real"] < 1 and 0 <= val["d_accuracy"] <= 1


@pytest.mark.slow
def test_the_mixing_grid_of_a_run(tmp_path: Path, real_data_root: Path, cli_fails) -> None:
    from archzoo.analysis import latent
    from archzoo.cli import main

    out = tmp_path / "r"
    cfg = TrainConfig(model="stylegan", data="fashion-mnist", data_root=str(real_data_root), out=str(out),
                      subset=128, epochs=1, batch_size=64, optimizer="adam", lr=2e-3, beta1=0.0, beta2=0.99,
                      val_size=64, eval_samples=0, schedule="constant", augment="none", device="cpu",
                      model_overrides=dict(SMALL, min_channels=4))
    train(cfg, progress=False)
    path, grid = latent.mix(out, rows=2, cols=3, styles=("coarse", "fine"), seed=4, device="cpu")
    assert path.is_file() and grid.shape == ((1 + 2 * 2) * 4, 1, 28, 28)  # a header row, then a row per A and range
    assert torch.equal(grid[0], torch.ones(1, 28, 28))  # the blank corner
    model = latent.load_run(out, "mix", ("adversarial",), device="cpu").model
    g = torch.Generator().manual_seed(4)
    z_a, z_b = torch.randn(2, model.latent_dim, generator=g), torch.randn(3, model.latent_dim, generator=g)
    expected = (model.mix(z_a[1:2], z_b[2:3], "fine") + 1) / 2  # the fine block's second row, third B
    torch.testing.assert_close(grid[4 * 4 + 3], expected[0])
    torch.testing.assert_close(grid[4 + 0], (model.mix(z_a[:1], z_a[:1], ()) + 1)[0] / 2)  # A1 itself
    assert main(["mix", str(out), "--styles", "middle", "--device", "cpu"]) == 0
    cli_fails(["mix", str(out), "--styles", "tiny"], "unknown style range", "coarse, middle, fine")
    cli_fails(["mix", str(out), "--rows", "0"], "--rows and --cols must be at least 1")


@pytest.mark.slow
def test_a_grown_run_samples_from_its_full_size(tmp_path: Path) -> None:
    """On images best.safetensors is the latest evaluation's: D's loss, highest while D is weakest, would keep a
    low-resolution stage of progressive growing, and `archzoo sample` would draw from it rather than from the
    generator the run ended with."""
    from safetensors.torch import load_file

    from archzoo.analysis import latent

    out = tmp_path / "r"
    cfg = TrainConfig(model="stylegan", data="digits", out=str(out), epochs=3, subset=192, batch_size=32,
                      optimizer="adam", lr=2e-3, beta1=0.0, beta2=0.99, schedule="constant", augment="none",
                      device="cpu", model_overrides=dict(SMALL, progressive=True))  # 4x4, fading in 8x8, 8x8
    summary = train(cfg, progress=False)
    assert summary["best"] == {"metric": "epoch", "value": 3, "epoch": 3}
    best, last = (load_file(str(out / "checkpoints" / f"{name}.safetensors")) for name in ("best", "last"))
    assert all(torch.equal(best[k], last[k]) for k in last if k.startswith("model."))
    model = latent.load_run(out, "sample", ("adversarial",), device="cpu").model
    assert model.stage() == (8, 1.0)
