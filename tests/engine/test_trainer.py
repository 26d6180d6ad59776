"""The engine: seeding, exact resume, divergence, checkpoints, schedules, distributed equivalence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from archzoo.engine import TrainConfig, Trainer, TrainingDiverged, train
from archzoo.engine.config import ConfigError, apply_sets
from archzoo.engine.optim import SCHEDULES, Schedule, build_optimizer


def test_same_seed_same_weights_and_metrics(tmp_path: Path, runs) -> None:
    a = train(runs.digits_cfg(tmp_path / "a"), progress=False)
    train(runs.digits_cfg(tmp_path / "b"), progress=False)
    wa, wb = runs.weights(tmp_path / "a"), runs.weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert runs.metrics(tmp_path / "a") == runs.metrics(tmp_path / "b")
    assert a["metrics"]["test"]["accuracy"] > 0.85  # digits is easy; chance is 0.1
    train(runs.digits_cfg(tmp_path / "c", seed=1), progress=False)
    wc = runs.weights(tmp_path / "c")
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)  # another seed, another run


def test_run_directory_contract(tmp_path: Path, runs) -> None:
    summary = train(runs.digits_cfg(tmp_path / "r", epochs=2), progress=False)
    run = tmp_path / "r"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == "mlp" and cfg["dataset"]["validation_carved_from_train"] is True
    assert cfg["dataset"]["splits"] == {"train": 1238, "test": 359, "val": 200}
    assert cfg["model_config"]["in_features"] == 64 and cfg["model_config"]["dropout"] == 0.3
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["epoch"], r["split"]) for r in rows] == [(1, "val"), (2, "val"), (2, "test")]
    assert all(r["elapsed_s"] > 0 for r in rows)
    saved = json.loads((run / "summary.json").read_text())
    for key in ("model", "data", "params", "epochs_done", "wall_time_s", "metrics"):
        assert key in saved
    assert saved["epochs_done"] == 2 and set(saved["metrics"]) == {"val", "test"}
    assert summary["metrics"]["test"]["accuracy"] == saved["metrics"]["test"]["accuracy"]
    m = saved["metrics"]["test"]
    assert len(m["confusion_matrix"]) == 10 and sum(map(sum, m["confusion_matrix"])) == 359
    assert len(m["per_class_accuracy"]) == 10 and m["top5"] >= m["accuracy"]
    for f in ("last.safetensors", "last.json", "best.safetensors", "best.json"):
        assert (run / "checkpoints" / f).is_file()


def test_max_time_stops_resumably_and_resume_is_exact(tmp_path: Path, runs) -> None:
    full = train(runs.digits_cfg(tmp_path / "full", epochs=2), progress=False)
    cut = train(runs.digits_cfg(tmp_path / "cut", epochs=2, max_time=1e-9), progress=False)
    assert not cut["completed"] and cut["stop_reason"] == "max_time"
    state = json.loads((tmp_path / "cut" / "checkpoints" / "last.json").read_text())["trainer"]
    assert state["epoch"] == 0 and state["step"] == 1  # stopped inside the first epoch
    from archzoo.engine import resume

    resumed = resume(tmp_path / "cut", progress=False, overrides={"max_time": 0.0})
    assert resumed["completed"]
    wf, wr = runs.weights(tmp_path / "full"), runs.weights(tmp_path / "cut")
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    assert resumed["metrics"]["test"] == full["metrics"]["test"]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch, runs) -> None:
    cfg = runs.digits_cfg(tmp_path / "nan", epochs=3)
    trainer = Trainer(cfg, tmp_path / "nan", progress=False)
    real_step = trainer.task.train_step
    calls = {"n": 0}

    def poisoned(model, batch, optimizers, c, precision):
        calls["n"] += 1
        out = real_step(model, batch, optimizers, c, precision)
        if calls["n"] > len(trainer.train_batches) + 3:  # in the second epoch
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(float("nan"))
            return {"loss": torch.tensor(float("nan"))}
        return out

    monkeypatch.setattr(trainer.task, "train_step", poisoned)
    with pytest.raises(TrainingDiverged, match="epoch 2 step 4.*last good checkpoint"):
        trainer.fit()
    weights = runs.weights(tmp_path / "nan")
    assert all(torch.isfinite(v).all() for v in weights.values())
    state = json.loads((tmp_path / "nan" / "checkpoints" / "last.json").read_text())["trainer"]
    assert state["epoch"] == 1


def test_schedules_and_tables() -> None:
    cfg = TrainConfig(model="mlp", data="digits", epochs=10, lr=1.0, warmup_epochs=1)
    model = torch.nn.Linear(2, 2)
    for name in SCHEDULES:
        cfg.schedule = name
        opt = build_optimizer(model, cfg)
        sched = Schedule([opt], cfg, steps_per_epoch=10)
        lrs = [sched.set(s) for s in range(100)]
        assert all(0 <= lr <= 1.0 + 1e-12 for lr in lrs), name
        if name in ("cosine", "linear", "warmup", "constant", "step"):
            assert lrs[0] == pytest.approx(0.1)  # linear warmup over the first epoch
    cfg.schedule, cfg.warmup_epochs = "onecycle", 0
    sched = Schedule([build_optimizer(model, cfg)], cfg, steps_per_epoch=10)
    lrs = [sched.set(s) for s in range(100)]
    assert lrs[0] == pytest.approx(1 / 25) and max(lrs) == pytest.approx(1.0, abs=1e-3) and lrs[-1] < 1e-3
    cfg.optimizer = "adamax"
    with pytest.raises(ConfigError, match="unknown optimizer 'adamax'; choose one of: sgd, momentum"):
        build_optimizer(model, cfg)
    cfg.schedule = "exp"
    with pytest.raises(ConfigError, match="unknown schedule 'exp'; choose one of"):
        Schedule([build_optimizer(model, TrainConfig(model="m", data="d"))], cfg, 1)


def test_inverse_sqrt_is_the_transformer_schedule() -> None:
    """Vaswani et al. eq. 3, lrate = d^-0.5 min(n^-0.5, n w^-1.5) at step n = 1, 2, ..., is inverse_sqrt with
    lr = (d w)^-0.5 and a warmup of w steps."""
    d, w, spe = 512, 4000, 1000
    cfg = TrainConfig(model="m", data="d", epochs=20, lr=(d * w) ** -0.5, warmup_epochs=w / spe,
                      schedule="inverse_sqrt")
    sched = Schedule([build_optimizer(torch.nn.Linear(2, 2), cfg)], cfg, steps_per_epoch=spe)
    for step in (0, 1, 999, 3998, 3999, 4000, 10_000, 19_999):
        n = step + 1
        assert sched.set(step) == pytest.approx(d ** -0.5 * min(n ** -0.5, n * w ** -1.5), rel=1e-12)


def test_weight_decay_skips_biases_and_clipping() -> None:
    from archzoo.engine.optim import param_groups

    groups = param_groups(torch.nn.Linear(3, 2), 0.1)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert [p.ndim for p in groups[0]["params"]] == [2] and [p.ndim for p in groups[1]["params"]] == [1]


def test_set_routes_training_settings_and_model_options() -> None:
    cfg = TrainConfig(model="mlp", data="digits")
    apply_sets(cfg, ["label_smoothing=0.1", "depth=3", "model.act=gelu", "grad_clip=1"])
    assert cfg.label_smoothing == 0.1 and cfg.grad_clip == 1.0
    assert cfg.model_overrides == {"depth": 3, "act": "gelu"}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_sets(cfg, ["depth"])


def test_set_keeps_the_text_of_text_settings() -> None:
    cfg = TrainConfig(model="ae_mlp", data="fashion-mnist")
    apply_sets(cfg, ["train_classes=0,2,3", "noise='gaussian'", "augment=None"])
    assert cfg.train_classes == "0,2,3" and cfg.noise == "gaussian" and cfg.augment is None
    apply_sets(cfg, ["train_classes=7"])
    assert cfg.train_classes == "7"


@pytest.mark.slow
@pytest.mark.parametrize(("precision", "subset"), [("fp32", 12000), ("bf16", 6000)])
def test_sigkill_after_first_epoch_then_resume_matches_uninterrupted(tmp_path: Path, real_data_root: Path,
                                                                     precision: str, subset: int, runs) -> None:
    args = ["mlp", "--data", "fashion-mnist", "--subset", str(subset), "--epochs", "4", "--batch-size", "64",
            "--precision", precision, "--quiet", "--set", "val_size=1000"]
    # bf16 is emulated (and slow) on a CPU without bf16 instructions; the override keeps its warning quiet
    env = {**os.environ, "ARCHZOO_DATA": str(real_data_root), "ARCHZOO_CPU_BF16": "1"}
    cli = [sys.executable, "-m", "archzoo.cli", "train"]
    subprocess.run([*cli, *args, "--out", str(tmp_path / "full")], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*cli, *args, "--out", str(tmp_path / "killed")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = tmp_path / "killed" / "checkpoints" / "last.json"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if last.exists():
            try:
                if json.loads(last.read_text())["trainer"]["epoch"] >= 1:
                    break
            except (json.JSONDecodeError, KeyError):
                pass
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "summary.json").exists(), "the run finished before it could be killed"
    subprocess.run([*cli, "--resume", str(tmp_path / "killed"), "--quiet"], check=True, env=env, capture_output=True)
    assert json.loads((tmp_path / "killed" / "summary.json").read_text())["precision"] == precision
    wf, wk = runs.weights(tmp_path / "full"), runs.weights(tmp_path / "killed")
    assert all(torch.equal(wf[k], wk[k]) for k in wf)
    assert runs.metrics(tmp_path / "full") == runs.metrics(tmp_path / "killed")


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path: Path, real_data_root: Path, one_and_two_processes) -> None:
    args = ["lenet5_modern", "--data", "fashion-mnist", "--subset", "1536", "--epochs", "1", "--batch-size", "64",
            "--optimizer", "momentum", "--lr", "0.05", "--quiet", "--set", "val_size=512"]
    w1, w2 = one_and_two_processes(tmp_path, args, {"ARCHZOO_DATA": str(real_data_root)})
    assert json.loads((tmp_path / "two" / "config.json").read_text())["world_size"] == 2
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], atol=1e-5, rtol=0)
    assert not torch.equal(w1["model.c1.weight"], _weights_init(tmp_path))


def _weights_init(tmp_path: Path) -> torch.Tensor:
    import archzoo

    torch.manual_seed(0)
    return archzoo.create_model("lenet5_modern").c1.weight.detach()


def test_restored_optimizer_state_takes_the_layout_of_its_parameter() -> None:
    """A checkpoint stores state contiguous; a fused step pairs memory flat, so layouts must match again."""
    from archzoo.engine.trainer import match_param_layout

    def stepped(reload: bool) -> torch.Tensor:
        torch.manual_seed(0)
        p = torch.nn.Parameter(torch.randn(8, 4, 3, 3).contiguous(memory_format=torch.channels_last))
        opt = torch.optim.Adam([p], lr=1e-2, fused=True)
        for i in range(2):
            p.grad = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(i)).contiguous(
                memory_format=torch.channels_last)
            opt.step()
            if reload and i == 0:
                sd = opt.state_dict()
                sd["state"][0] = {k: v.contiguous() for k, v in sd["state"][0].items()}  # as read from a file
                opt.load_state_dict(sd)
                match_param_layout(opt)
                assert opt.state[p]["exp_avg"].is_contiguous(memory_format=torch.channels_last)
        return p.detach().clone()

    assert torch.equal(stepped(reload=True), stepped(reload=False))
