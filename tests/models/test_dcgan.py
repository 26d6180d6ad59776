"""DCGAN: its three layouts, the paper's parameter counts, batch statistics kept apart, initialisation,
the moving average with batch norm, and a short run on real images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archzoo.engine import TrainConfig, train
from archzoo.models.gan import DCGAN, DCGANConfig


@pytest.mark.parametrize("side,channels,widths", [(28, 1, (128, 64)), (32, 3, (256, 128, 64)),
                                                   (64, 3, (512, 256, 128, 64))])
def test_layouts_follow_the_image_side(side: int, channels: int, widths: tuple[int, ...]) -> None:
    model = DCGAN(DCGANConfig(data_shape=(channels, side, side)))
    z = torch.randn(3, 100)
    x = model.generate(z)
    assert x.shape == (3, channels, side, side) and x.abs().max() <= 1  # tanh
    assert model.discriminate(x).shape == (3,)
    hidden = [m.out_channels for m in model.generator.net if isinstance(m, torch.nn.ConvTranspose2d)][:-1]
    assert tuple(hidden) == widths
    assert [m.out_channels for m in model.discriminator.net if isinstance(m, torch.nn.Conv2d)][:-1] == \
        list(reversed(widths))


def test_64_pixel_networks_have_the_papers_sizes() -> None:
    # PyTorch's DCGAN example (ngf = ndf = 64, nz = 100, 3 channels): G 3,576,704 and D 2,765,568 parameters
    model = DCGAN(DCGANConfig(data_shape=(3, 64, 64)))
    assert sum(p.numel() for p in model.generator.parameters()) == 3_576_704
    assert sum(p.numel() for p in model.discriminator.parameters()) == 2_765_568


def test_other_sizes_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="side 28, 32, 64"):
        DCGANConfig(data_shape=(1, 30, 30))


def test_groups_keep_real_and_generated_batch_statistics_apart() -> None:
    model = DCGAN(DCGANConfig()).train()
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.randn(4, 1, 28, 28)
    both = torch.cat([real, fake])
    with torch.no_grad():
        grouped = model.discriminate(both, groups=2)
        apart = torch.cat([model.discriminate(real), model.discriminate(fake)])
        mixed = model.discriminate(both)
    torch.testing.assert_close(grouped, apart)
    assert not torch.allclose(grouped, mixed, atol=1e-4)  # one batch mixes the two kinds' statistics


def test_initialisation_is_the_papers() -> None:
    model = DCGAN(DCGANConfig(data_shape=(1, 64, 64)))
    convs = torch.cat([m.weight.flatten() for m in model.modules()
                       if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))])
    scales = torch.cat([m.weight for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert convs.mean().abs() < 1e-3 and convs.std().item() == pytest.approx(0.02, rel=0.02)
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01) and scales.std().item() == pytest.approx(0.02, rel=0.2)


def test_the_moving_average_copies_batch_norm_statistics() -> None:
    model = DCGAN(DCGANConfig(ema=True)).train()
    model.generate(torch.randn(8, 100))  # updates the live generator's running statistics
    live = dict(model.generator.named_buffers())
    assert any(not torch.equal(v, dict(model.generator_ema.named_buffers())[k]) for k, v in live.items())
    model.update_ema(0.9)
    assert all(torch.equal(v, live[k]) for k, v in model.generator_ema.named_buffers())


@pytest.mark.slow
def test_a_short_run_on_fashion_mnist(tmp_path: Path, real_data_root: Path) -> None:
    cfg = TrainConfig(model="dcgan", data="fashion-mnist", data_root=str(real_data_root), out=str(tmp_path / "r"),
                      subset=1024, epochs=2, batch_size=64, optimizer="adam", lr=2e-4, beta1=0.5, val_size=256,
                      eval_samples=500, schedule="constant", augment="none", device="cpu",
                      model_overrides={"g_width": 16, "d_width": 16})
    summary = train(cfg, progress=False)
    val = summary["metrics"]["val"]
    assert all(torch.isfinite(torch.tensor(val[k])) for k in ("loss_d", "loss_g", "d_real", "d_fake"))
    assert 0 < val["d_real"] < 1 and 0 <= val["d_accuracy"] <= 1
    samples = summary["metrics"]["samples"]
    assert samples["n"] == 500 and samples["fid_clf"] > samples["fid_clf_floor"]
