"""The reconstruction and vae tasks: corruption, PSNR, KL warm-up, training on real images, exact resume,
bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from archzoo.cli import main
from archzoo.engine import TrainConfig, train
from archzoo.engine.config import ConfigError
from archzoo.tasks.reconstruction import corrupt, psnr
from archzoo.tasks.vae import VAETask


def test_noises_hit_what_they_say() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.full((64, 1, 28, 28), 0.5)
    assert (corrupt(x, "gaussian", 0.3, g) - x).std().item() == pytest.approx(0.3, rel=0.02)
    masked = corrupt(x, "masking", 0.25, g)
    assert (masked == 0).float().mean().item() == pytest.approx(0.25, abs=0.01) and set(masked.unique().tolist()) <= {
        0.0, 0.5}
    sp = corrupt(x, "salt_pepper", 0.2, g)
    assert (sp == 0).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert (sp == 1).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert corrupt(x, "none", 0.0) is x


@pytest.mark.parametrize(("kind", "level", "message"), [
    ("gaussian", 0.0, "in (0, 1]"), ("gaussian", 1.5, "in (0, 1]"), ("masking", 1.0, "in (0, 1)"),
    ("salt_pepper", -0.1, "in (0, 1)"), ("speckle", 0.1, "choose one of: none, gaussian, masking, salt_pepper"),
])
def test_noise_level_outside_its_range(kind: str, level: float, message: str) -> None:
    with pytest.raises(ConfigError, match="noise") as err:
        corrupt(torch.rand(2, 1, 4, 4), kind, level)
    assert message in str(err.value)


def test_psnr() -> None:
    x = torch.rand(3, 1, 8, 8) * 0.8
    assert psnr(x + 0.1, x).tolist() == pytest.approx([20.0] * 3, abs=1e-4)  # mse 0.01 -> 20 dB


def test_kl_warmup_rises_linearly_to_beta() -> None:
    task = VAETask()
    task.beta, task.warmup_epochs = 4.0, 2.0
    weights = []
    for progress in (0.0, 0.5, 1.0, 2.0, 3.0):
        task.set_progress(progress)
        weights.append(task.kl_weight())
    assert weights == [0.0, 1.0, 2.0, 4.0, 4.0]


def _cfg(tmp_path: Path, model: str, root: Path, **kw) -> TrainConfig:
    settings = dict(subset=3000, epochs=2, batch_size=32, eval_batch_size=500, iw_samples=20, seed=0, lr=3e-3,
                    eval_samples=0)
    settings.update(kw)
    return TrainConfig(model=model, data="fashion-mnist", data_root=str(root), out=str(tmp_path / model),
                       optimizer="adam", val_size=500, **settings)


def test_denoising_autoencoder_learns_real_images(tmp_path: Path, real_data_root: Path) -> None:
    summary = train(_cfg(tmp_path, "ae_mlp", real_data_root, noise="gaussian", noise_level=0.3), progress=False)
    test = summary["metrics"]["test"]
    assert test["noise"] == "gaussian 0.3" and test["samples"] == 10_000
    assert test["psnr"] > test["noisy_psnr"] + 3, test  # 15.2 dB against 10.5 for the noisy input
    assert test["mse"] < 0.045  # 0.035


def test_vae_learns_real_images_and_reports_its_bounds(tmp_path: Path, real_data_root: Path) -> None:
    summary = train(_cfg(tmp_path, "vae_mlp", real_data_root, kl_warmup_epochs=1.0), progress=False)
    val, test = summary["metrics"]["val"], summary["metrics"]["test"]
    assert "nll_iw" not in val and test["iw_samples"] == 20  # importance sampling on the test split only
    assert test["neg_elbo"] == pytest.approx(test["recon"] + test["kl"])
    assert test["nll_iw"] < test["neg_elbo"]  # the k-sample bound is tighter
    assert test["neg_elbo"] < 330, test  # an untrained decoder scores about 545 nats per image
    assert 0 < test["active_units"] <= 20 and test["kl"] > 1
    rows = [json.loads(line) for line in (tmp_path / "vae_mlp" / "metrics.jsonl").read_text().splitlines()]
    assert [r["split"] for r in rows] == ["val", "val", "test"]


def test_conditional_vae_trains(tmp_path: Path, real_data_root: Path) -> None:
    summary = train(_cfg(tmp_path, "cvae", real_data_root, epochs=1, iw_samples=0), progress=False)
    assert summary["metrics"]["test"]["neg_elbo"] < 400 and "nll_iw" not in summary["metrics"]["test"]


def test_denoising_run_resumes_exactly(tmp_path: Path, real_data_root: Path) -> None:
    """The training noise comes from the global generator, which the checkpoint keeps."""
    from safetensors.torch import load_file

    # deterministic: on CUDA the transposed convolutions' backward is otherwise not (a no-op on the CPU)
    kw = dict(subset=600, epochs=2, iw_samples=0, noise="salt_pepper", noise_level=0.2, deterministic=True)
    train(_cfg(tmp_path / "a", "ae_conv", real_data_root, **kw), progress=False)
    cut = train(_cfg(tmp_path / "b", "ae_conv", real_data_root, max_time=1e-9, **kw), progress=False)
    assert not cut["completed"]
    assert main(["train", "--resume", str(tmp_path / "b" / "ae_conv"), "--quiet"]) == 0
    a = load_file(str(tmp_path / "a" / "ae_conv" / "checkpoints" / "last.safetensors"))
    b = load_file(str(tmp_path / "b" / "ae_conv" / "checkpoints" / "last.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("argv", "needles"), [
    (["train", "ae_mlp", "--data", "fashion-mnist", "--set", "latent_dim=0"], ("bottleneck size", "at least 1")),
    (["train", "ae_conv", "--data", "fashion-mnist", "--set", "noise=gaussian", "--set", "noise_level=2"],
     ("noise_level 2", "in (0, 1]")),
    (["train", "ae_mlp", "--data", "fashion-mnist", "--set", "recon_loss=l1"], ("choose one of: bce, mse",)),
    (["train", "ae_mlp", "--data", "mr"], ("labelled text",)),
    (["train", "vae_mlp", "--data", "iris"], ("learn images",)),
])
def test_bad_settings_are_one_line(argv: list[str], needles: tuple[str, ...], cli_fails, tmp_path: Path,
                                   real_data_root: Path) -> None:
    cli_fails([*argv, "--data-root", str(real_data_root), "--out", str(tmp_path / "run"), "--quiet"], *needles)


def test_train_classes_keeps_the_test_split_whole() -> None:
    from archzoo.data import Dataset, Split
    from archzoo.tasks.base import keep_classes

    y = torch.arange(40) % 4
    split = Split(torch.zeros(40, 1, 2, 2, dtype=torch.uint8), y)
    ds = Dataset("toy", "classification", {"train": split, "test": split}, (1, 2, 2), num_classes=4,
                 classes=("a", "b", "c", "d"))
    kept = keep_classes(ds, "1, 3")
    assert set(kept.splits["train"].y.tolist()) == {1, 3} and len(kept.splits["train"]) == 20
    assert len(kept.splits["test"]) == 40
    with pytest.raises(ConfigError, match=r"among 0 \(a\), 1 \(b\), 2 \(c\), 3 \(d\); got '4'"):
        keep_classes(ds, "4")
    with pytest.raises(ConfigError, match="class ids separated by commas"):
        keep_classes(ds, "shoes")


@pytest.mark.slow
def test_two_processes_match_one_for_an_autoencoder(tmp_path: Path, real_data_root: Path,
                                                    one_and_two_processes) -> None:
    args = ["ae_mlp", "--data", "fashion-mnist", "--data-root", str(real_data_root), "--subset", "512", "--epochs",
            "1", "--batch-size", "64", "--optimizer", "sgd", "--lr", "0.5", "--set", "hidden=(64,)", "--set",
            "recon_loss=mse", "--quiet"]
    one, two = one_and_two_processes(tmp_path, args)
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-5, rtol=0)


@pytest.mark.slow
def test_a_vae_trains_under_torchrun(tmp_path: Path, real_data_root: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "--module", "archzoo.cli", "train", "cvae", "--data", "fashion-mnist", "--data-root",
                          str(real_data_root), "--subset", "512", "--epochs", "1", "--batch-size", "64", "--set",
                          "iw_samples=5", "--set", "eval_samples=0", "--device", "cpu", "--out", str(tmp_path / "r"),
                          "--quiet"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["metrics"]["test"]["nll_iw"] < summary["metrics"]["test"]["neg_elbo"]
