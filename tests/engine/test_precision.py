"""Device and precision: resolution, errors, autocast and the gradient scaler in the engine, exact resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from archzoo.engine import Trainer, resume, train
from archzoo.engine import trainer as trainer_module
from archzoo.engine.config import ConfigError
from archzoo.engine.device import device_setting, native_bf16, resolve_device
from archzoo.engine.precision import AUTO_MIN_SPEEDUP, Precision, PrecisionWarning, resolve_precision, time_steps

CPU = torch.device("cpu")


# ---- devices -------------------------------------------------------------------------------------

def test_auto_device_is_cuda_when_available_else_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == CPU and resolve_device(" CPU ") == CPU
    assert device_setting("auto", CPU) == "cpu"


def test_bad_devices_say_what_is_valid() -> None:
    with pytest.raises(ConfigError, match=r"unknown device 'gpu'; choose one of: auto, cpu, cuda, cuda:N"):
        resolve_device("gpu")
    with pytest.raises(ConfigError, match="unknown device 'cuda:x'"):
        resolve_device("cuda:x")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_without_cuda_says_to_use_the_cpu() -> None:
    for name in ("cuda", "cuda:1"):
        with pytest.raises(ConfigError, match="no CUDA device is available; use --device cpu"):
            resolve_device(name)


def test_native_bf16_follows_the_cpu_flags_or_the_override(monkeypatch) -> None:
    from archzoo.engine import device

    monkeypatch.delenv("ARCHZOO_CPU_BF16", raising=False)
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert not native_bf16(CPU)
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    assert native_bf16(CPU)
    monkeypatch.setattr(device, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert native_bf16(CPU)
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "0")
    assert not native_bf16(CPU)


# ---- resolving a precision ----------------------------------------------------------------------

def test_bad_precisions_say_what_is_valid() -> None:
    with pytest.raises(ConfigError, match="unknown precision 'fp64'; choose one of: auto, fp32, bf16, fp16"):
        resolve_precision("fp64", CPU)
    with pytest.raises(ConfigError, match="fp16 autocast needs a CUDA device; on the CPU use --precision bf16"):
        resolve_precision("fp16", CPU)


def test_auto_without_native_bf16_is_fp32_and_measures_nothing(monkeypatch) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "0")

    def measure() -> dict[str, float]:
        raise AssertionError("auto must not measure where bf16 is not native")

    assert resolve_precision("auto", CPU, measure) == ("fp32", "auto: no native bf16 on this CPU")
    assert resolve_precision("fp32", CPU)[0] == "fp32"


def test_auto_with_native_bf16_takes_bf16_only_when_it_measured_faster(monkeypatch) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "1")
    name, reason = resolve_precision("auto", CPU, lambda: {"fp32": 0.20, "bf16": 0.10})
    assert name == "bf16" and "2.00x" in reason
    slower = 1 / (AUTO_MIN_SPEEDUP - 0.01)  # faster, but by less than the margin
    name, reason = resolve_precision("auto", CPU, lambda: {"fp32": 1.0, "bf16": slower})
    assert name == "fp32" and "below" in reason


def test_bf16_without_native_support_warns_once_and_runs(monkeypatch) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "0")
    with pytest.warns(PrecisionWarning, match="emulated and training will be much slower") as record:
        assert resolve_precision("bf16", CPU)[0] == "bf16"
    assert len(record) == 1
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "1")
    assert resolve_precision("bf16", CPU) == ("bf16", "asked for")  # no warning (warnings are errors here)


def test_time_steps_alternates_and_returns_a_median_per_runner() -> None:
    calls: list[str] = []
    runners = {"fp32": lambda: calls.append("fp32"), "bf16": lambda: calls.append("bf16")}
    times = time_steps(runners, CPU, repeats=3)
    assert set(times) == {"fp32", "bf16"} and all(t >= 0 for t in times.values())
    assert calls == ["fp32", "bf16", "fp32", "bf16", "bf16", "fp32", "fp32", "bf16"]  # warm-up, then 3 rounds


# ---- autocast and the scaler ---------------------------------------------------------------------

def test_autocast_runs_matmuls_in_bf16_and_keeps_fp32_master_weights() -> None:
    model = torch.nn.Linear(8, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    p = Precision("bf16", CPU)
    with p.autocast():
        out = model(torch.randn(5, 8))
        loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 3, 0]))
    assert out.dtype == torch.bfloat16 and loss.dtype == torch.float32
    p.optimize(loss, model, opt)
    assert all(q.dtype == torch.float32 and q.grad is not None and q.grad.dtype == torch.float32
               for q in model.parameters())
    with Precision("fp32", CPU).autocast():
        assert model(torch.randn(2, 8)).dtype == torch.float32


def test_fp16_scaler_scales_unscales_for_clipping_and_skips_overflowing_steps() -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    p = Precision("fp16", CPU)  # fp16 autocast runs on the CPU in torch, though resolve_precision asks for CUDA
    assert p.scaler is not None and p.state_dict()["scale"] == 65536.0
    before = model.weight.detach().clone()
    with p.autocast():
        loss = model(torch.randn(5, 8)).float().square().mean() * 1e6  # scaled by 65536: overflows fp16 grads?
    p.optimize(loss, model, opt, grad_clip=1.0)
    state = p.state_dict()
    assert set(state) >= {"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"}
    json.dumps(state)  # plain numbers, for the checkpoint's JSON
    stepped = not torch.equal(before, model.weight)
    assert stepped == (state["scale"] == 65536.0)  # either it stepped, or it skipped and lowered the scale
    if stepped:  # clipping saw unscaled gradients: the step moved the weights by at most lr * 1.0
        assert (model.weight - before).norm() <= 0.1 + 1e-6
    q = Precision("fp16", CPU)
    q.load_state_dict({**state, "scale": 1024.0})
    assert q.state_dict()["scale"] == 1024.0
    assert Precision("bf16", CPU).scaler is None and Precision("bf16", CPU).state_dict() == {}


# ---- the engine ----------------------------------------------------------------------------------

def test_a_bf16_run_records_its_precision_and_checkpoints_fp32(tmp_path: Path, monkeypatch, runs) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "1")  # keeps the emulated-bf16 warning away on older CPUs
    summary = train(runs.digits_cfg(tmp_path / "r", device="cpu", precision="bf16"), progress=False)
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["precision"] == "bf16" and cfg["device"] == "cpu"
    assert cfg["hardware"]["precision"] == "bf16 (asked for)" and cfg["hardware"]["device"].startswith("cpu (")
    assert summary["precision"] == "bf16" and summary["device"] == "cpu"
    assert summary["metrics"]["test"]["accuracy"] > 0.8  # bf16 still learns digits; chance is 0.1
    for name in ("last", "best"):
        tensors = load_file(str(tmp_path / "r" / "checkpoints" / f"{name}.safetensors"))
        assert {t.dtype for k, t in tensors.items() if t.is_floating_point()} == {torch.float32}


def test_the_start_line_says_device_and_precision(tmp_path: Path, capsys, runs) -> None:
    train(runs.digits_cfg(tmp_path / "r", device="cpu", epochs=1), progress=True)
    err = capsys.readouterr().err
    assert "mlp on digits: device cpu (" in err and "precision fp32 (asked for)" in err


def test_bf16_resume_is_exact(tmp_path: Path, monkeypatch, runs) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "1")
    full = train(runs.digits_cfg(tmp_path / "full", precision="bf16"), progress=False)
    cut = train(runs.digits_cfg(tmp_path / "cut", precision="bf16", max_time=1e-9), progress=False)
    assert not cut["completed"]
    resumed = resume(tmp_path / "cut", progress=False, overrides={"max_time": 0.0})
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["precision"] == "bf16"
    assert runs.same_weights(tmp_path / "full", tmp_path / "cut")
    assert resumed["metrics"] == full["metrics"]


def test_fp16_scaler_state_is_checkpointed_and_resumed_exactly(tmp_path: Path, monkeypatch, runs) -> None:
    # fp16 autocast and its scaler run on the CPU in torch; the engine allows fp16 on CUDA only, so
    # this test lets it through to check the scaler's round trip through checkpoints
    monkeypatch.setattr(trainer_module, "resolve_precision", lambda requested, device, measure=None:
                        ("fp16", "test") if requested == "fp16" else resolve_precision(requested, device, measure))
    full = train(runs.digits_cfg(tmp_path / "full", precision="fp16"), progress=False)
    assert not train(runs.digits_cfg(tmp_path / "cut", precision="fp16", max_time=1e-9), progress=False)["completed"]
    state = json.loads((tmp_path / "cut" / "checkpoints" / "last.json").read_text())["trainer"]
    assert state["scaler"]["scale"] == 65536.0 and state["scaler"]["_growth_tracker"] == 1
    resumed = resume(tmp_path / "cut", progress=False, overrides={"max_time": 0.0})
    end = json.loads((tmp_path / "cut" / "checkpoints" / "last.json").read_text())["trainer"]["scaler"]
    assert end == json.loads((tmp_path / "full" / "checkpoints" / "last.json").read_text())["trainer"]["scaler"]
    assert end["_growth_tracker"] > 1  # the resumed run carried the tracker on from 1
    assert runs.same_weights(tmp_path / "full", tmp_path / "cut")
    assert resumed["metrics"] == full["metrics"]


def test_auto_measures_on_copies_and_leaves_the_run_as_if_it_had_been_asked(tmp_path: Path, monkeypatch, runs) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "1")
    trainer = Trainer(runs.digits_cfg(tmp_path / "auto", precision="auto"), tmp_path / "auto", progress=False)
    chosen = trainer.precision.name
    assert chosen in ("fp32", "bf16") and trainer.cfg.precision == chosen
    assert "training step took" in trainer.precision.reason
    auto = trainer.fit()
    asked = train(runs.digits_cfg(tmp_path / "asked", precision=chosen), progress=False)
    assert json.loads((tmp_path / "auto" / "config.json").read_text())["precision"] == chosen
    # the measurement touched neither the weights nor the random numbers of the run
    assert runs.same_weights(tmp_path / "auto", tmp_path / "asked")
    assert auto["metrics"] == asked["metrics"]


def test_auto_without_native_bf16_changes_nothing(tmp_path: Path, monkeypatch, runs) -> None:
    monkeypatch.setenv("ARCHZOO_CPU_BF16", "0")
    auto = train(runs.digits_cfg(tmp_path / "auto", device="cpu", precision="auto"), progress=False)
    plain = train(runs.digits_cfg(tmp_path / "plain", device="cpu"), progress=False)
    assert auto["precision"] == "fp32" and runs.same_weights(tmp_path / "auto", tmp_path / "plain")
    assert auto["metrics"] == plain["metrics"]


def test_cli_precision_and_device_errors_are_one_line(capsys, tmp_path: Path) -> None:
    from archzoo.cli import main

    base = ["train", "mlp", "--data", "digits", "--device", "cpu", "--out", str(tmp_path / "r")]
    for flags, needle in ((["--precision", "fp64"], "choose one of: auto, fp32, bf16, fp16"),
                          (["--precision", "fp16"], "fp16 autocast needs a CUDA device"),
                          (["--device", "tpu"], "unknown device 'tpu'; choose one of: auto, cpu, cuda, cuda:N")):
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err, err
    assert not (tmp_path / "r").exists()


def test_cli_bf16_on_a_cpu_without_it_warns_in_one_line_and_trains(tmp_path: Path) -> None:
    env = {**os.environ, "ARCHZOO_CPU_BF16": "0"}
    run = subprocess.run([sys.executable, "-m", "archzoo.cli", "train", "mlp", "--data", "digits", "--epochs", "1",
                          "--device", "cpu", "--precision", "bf16", "--out", str(tmp_path / "r"), "--quiet"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "warning" in line]
    assert warnings == [warnings[0]] and warnings[0].startswith("archzoo: warning: --precision bf16 on a CPU without")
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["precision"] == "bf16"


def test_eval_uses_the_runs_precision_unless_told(tmp_path: Path, monkeypatch, runs) -> None:
    from archzoo.engine import evaluate_run

    monkeypatch.setenv("ARCHZOO_CPU_BF16", "1")
    summary = train(runs.digits_cfg(tmp_path / "r", device="cpu", precision="bf16"), progress=False)
    same = evaluate_run(tmp_path / "r")
    assert same["precision"] == "bf16" and same["accuracy"] == summary["metrics"]["test"]["accuracy"]
    assert evaluate_run(tmp_path / "r", precision="fp32")["precision"] == "fp32"


def test_cpu_bf16_autocast_runs_attention_in_fp32_and_gives_back_bf16() -> None:
    import torch.nn.functional as F

    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 8, requires_grad=True) for _ in range(3))
    with Precision("bf16", CPU).autocast():
        x = torch.nn.functional.linear(q, torch.eye(8))  # a bf16 activation, as a model's projection gives
        out = F.scaled_dot_product_attention(x, k, v, dropout_p=0.0)
    assert x.dtype == torch.bfloat16 and out.dtype == torch.bfloat16
    expected = F.scaled_dot_product_attention(x.detach().float(), k.detach(), v.detach())
    torch.testing.assert_close(out.float(), expected.bfloat16().float())  # computed in fp32, rounded once
    out.float().sum().backward()
    assert all(t.grad is not None and t.grad.dtype == torch.float32 for t in (q, k, v))


def test_a_vit_trains_under_bf16_autocast() -> None:
    import archzoo

    torch.manual_seed(0)
    model = archzoo.create_model("vit_ti_16", num_classes=10, image_size=32, num_layers=2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    p = Precision("bf16", CPU)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    losses = []
    for _ in range(8):
        with p.autocast():
            loss = torch.nn.functional.cross_entropy(model(x), y)
        p.optimize(loss, model, opt)
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.7  # overfits one batch
