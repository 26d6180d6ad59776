"""GMAN: K discriminators, each trained as a GAN's D is by its own optimizer, and G's combination of its
losses against them (mean, or a softmax of the discriminators' values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from archzoo.cli import main
from archzoo.data import load_dataset
from archzoo.engine import TrainConfig, resume, train
from archzoo.engine.precision import Precision
from archzoo.models.gan import GMAN, GMANConfig
from archzoo.registry import create_model
from archzoo.tasks import make_task

SMALL = {"latent_dim": 4, "g_hidden": (16,), "d_hidden": (16,)}


def _cfg(tmp_path: Path, model: str = "gman", **kw) -> TrainConfig:
    settings = dict(epochs=1, batch_size=64, subset=640, optimizer="sgd", lr=0.1, schedule="constant", device="cpu",
                    model_overrides=dict(SMALL))
    settings.update(kw)
    return TrainConfig(model=model, data="gaussians8", out=str(tmp_path / model), **settings)


def _setup(cfg: TrainConfig, model_name: str, **model_kw):
    ds = load_dataset(cfg.data)
    task = make_task("adversarial", ds)
    plan = task.plan(ds, cfg)
    model = create_model(model_name, **plan.model_overrides({"data_shape", "out_act", "ema"}),
                         **cfg.model_overrides, **model_kw)
    batch = next(plan.batches(cfg, torch.device("cpu"))[0].epoch(0))
    return task, model, batch


def test_combination_of_the_generators_losses() -> None:
    losses, values = torch.tensor([1.0, 3.0, 2.0]), torch.tensor([-2.0, 0.5, -1.0])
    mean = GMAN(GMANConfig(discriminators=3, data_shape=(2,), out_act="none"))
    assert mean.combine_losses(losses, values).item() == pytest.approx(2.0)
    soft = GMAN(GMANConfig(discriminators=3, data_shape=(2,), out_act="none", combine="softmax", softmax_lambda=1.0))
    w = torch.exp(values) / torch.exp(values).sum()
    assert soft.combine_losses(losses, values).item() == pytest.approx((w * losses).sum().item())
    harsh = GMAN(GMANConfig(discriminators=3, data_shape=(2,), out_act="none", combine="softmax",
                            softmax_lambda=100.0))
    assert harsh.combine_losses(losses, values).item() == pytest.approx(3.0)  # the best D's loss alone
    forgiving = GMAN(GMANConfig(discriminators=3, data_shape=(2,), out_act="none", combine="softmax",
                                softmax_lambda=0.0))
    assert forgiving.combine_losses(losses, values).item() == pytest.approx(2.0)


def test_bad_settings_are_clear() -> None:
    with pytest.raises(ValueError, match="choose one of: mean, softmax"):
        GMANConfig(combine="max")
    with pytest.raises(ValueError, match="at least 1"):
        GMANConfig(discriminators=0)


def test_each_discriminator_steps_as_a_lone_gans_would(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    task, gman, batch = _setup(cfg, "gman", discriminators=3)
    assert gman.discriminate(batch[0]).shape == (3, 64)
    optimizers = task.build_optimizers(gman, cfg)
    assert sorted(optimizers) == ["discriminator0", "discriminator1", "discriminator2", "generator"]
    # a lone GAN with G and D_1's weights, stepped on the same batch and the same codes
    lone_task, lone, _ = _setup(_cfg(tmp_path, "gan_mlp"), "gan_mlp")
    lone.generator.load_state_dict(gman.generator.state_dict())
    lone.discriminator.load_state_dict(gman.discriminator.nets[1].state_dict())
    lone_optimizers = lone_task.build_optimizers(lone, cfg)
    before = [p.clone() for p in gman.discriminator.nets[1].parameters()]
    precision = Precision("fp32", torch.device("cpu"))
    torch.manual_seed(5)
    out = task.train_step(gman, batch, optimizers, cfg, precision)
    torch.manual_seed(5)
    lone_task.train_step(lone, batch, lone_optimizers, cfg, precision)
    for mine, theirs, old in zip(gman.discriminator.nets[1].parameters(), lone.discriminator.parameters(), before,
                                 strict=True):
        assert not torch.equal(mine, old)
        torch.testing.assert_close(mine, theirs)
    assert all(torch.isfinite(v).all() for v in out.values())
    # the discriminators started apart and stay apart
    first, second = (torch.cat([p.flatten() for p in d.parameters()]) for d in gman.discriminator.nets[:2])
    assert not torch.allclose(first, second)


@pytest.mark.slow
def test_gman_trains_and_resumes_exactly(tmp_path: Path) -> None:
    kw = dict(epochs=2, optimizer="adam", lr=1e-3, beta1=0.5,
              model_overrides={**SMALL, "discriminators": 2, "combine": "softmax"})
    full = train(_cfg(tmp_path / "full", **kw), progress=False)
    cut = train(_cfg(tmp_path / "cut", max_time=1e-9, **kw), progress=False)
    assert not cut["completed"]
    resume(tmp_path / "cut" / "gman", progress=False, overrides={"max_time": 0.0})
    a = load_file(str(tmp_path / "full" / "gman" / "checkpoints" / "last.safetensors"))
    b = load_file(str(tmp_path / "cut" / "gman" / "checkpoints" / "last.safetensors"))
    assert any(k.startswith("optim.discriminator1.") for k in a), sorted(a)[:5]
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert full["metrics"]["samples"]["modes"] == 8
    rows = [json.loads(line) for line in (tmp_path / "full" / "gman" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["split"] == "train" and 0 < rows[0]["d_real"] < 1


@pytest.mark.slow
def test_the_command_line_reports_modes_and_resumes_with_new_settings(tmp_path: Path, capsys, cli_fails) -> None:
    out = tmp_path / "g"
    small = ["--set", "latent_dim=4", "--set", "g_hidden=(16,)", "--set", "d_hidden=(16,)"]
    assert main(["train", "gman", "--data", "gaussians8", "--epochs", "1", "--subset", "640", "--device", "cpu",
                 "--quiet", "--out", str(out), *small]) == 0
    assert "modes covered" in capsys.readouterr().out
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet", "--set", "unhealthy_patience=0"]) == 0
    assert json.loads((out / "config.json").read_text())["unhealthy_patience"] == 0
    cli_fails(["train", "--resume", str(out), "--epochs", "3", "--set", "model.discriminators=3"],
              "keeps its model", "discriminators")
