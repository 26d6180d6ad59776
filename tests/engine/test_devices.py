"""Runs on a device other than the CPU.

On every machine: a trainer built for the ``meta`` device (tensors with shapes and no data) must hold its
model and its batches on that one device; data moved there before the model fails loudly. This is the
CPU-only stand-in for a CUDA run, which CI cannot make.

On a machine with CUDA, the same runs for real: training in each precision, exact resume, evaluation of a
GPU run on the CPU (benchmarks/devices.py checks every task and tool there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import archzoo.engine.trainer as trainer_module
from archzoo.engine import TrainConfig, Trainer, evaluate_run, resume, train

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _text_cfg(tmp_path: Path) -> TrainConfig:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat. a dog ran in the fog. " * 40)
    return TrainConfig(model="gpt_micro", data=f"text:{corpus}", epochs=1, batch_size=4, seq_len=16, epoch_steps=2,
                       out=str(tmp_path / "lm"), model_overrides={"n_layer": 1, "n_embd": 16, "n_head": 2})


@pytest.mark.parametrize("kind", ["digits", "text"])
def test_model_and_batches_share_the_runs_device(tmp_path: Path, monkeypatch, runs, kind: str) -> None:
    monkeypatch.setattr(trainer_module, "resolve_device", lambda name, local_rank=0: torch.device("meta"))
    cfg = runs.digits_cfg(tmp_path / "r") if kind == "digits" else _text_cfg(tmp_path)
    trainer = Trainer(cfg, Path(cfg.out), progress=False)  # runs a batch through the model: same device or fail
    assert {p.device.type for p in trainer.model.parameters()} == {"meta"}


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_training_learns_and_resumes_exactly(tmp_path: Path, runs, precision: str) -> None:
    full = train(runs.digits_cfg(tmp_path / "full", device="cuda", precision=precision), progress=False)
    assert full["device"] == "cuda" and full["precision"] == precision
    assert full["metrics"]["test"]["accuracy"] > 0.8
    cut = train(runs.digits_cfg(tmp_path / "cut", device="cuda", precision=precision, max_time=1e-9),
                progress=False)
    assert not cut["completed"]
    resumed = resume(tmp_path / "cut", progress=False, overrides={"max_time": 0.0})
    assert runs.same_weights(tmp_path / "full", tmp_path / "cut")
    assert resumed["metrics"] == full["metrics"]


@needs_cuda
def test_a_cuda_run_evaluates_and_resumes_on_the_cpu(tmp_path: Path, runs) -> None:
    gpu = train(runs.digits_cfg(tmp_path / "r", device="cuda", epochs=1), progress=False)
    on_cpu = evaluate_run(tmp_path / "r", device="cpu")
    assert on_cpu["device"] == "cpu"
    assert on_cpu["accuracy"] == pytest.approx(gpu["metrics"]["test"]["accuracy"], abs=0.01)
    resume(tmp_path / "r", progress=False, overrides={"device": "cpu", "epochs": 2})
    assert json.loads((tmp_path / "r" / "config.json").read_text())["device"] == "cpu"


def test_deterministic_kernels_change_nothing_on_the_cpu(tmp_path: Path, runs) -> None:
    from archzoo.engine.device import use_deterministic_kernels

    use_deterministic_kernels(torch.device("cpu"))
    assert not torch.are_deterministic_algorithms_enabled()
    summary = train(runs.digits_cfg(tmp_path / "d", device="cpu", deterministic=True, epochs=1), progress=False)
    train(runs.digits_cfg(tmp_path / "p", device="cpu", epochs=1), progress=False)
    assert summary["completed"] and runs.same_weights(tmp_path / "d", tmp_path / "p")
    assert json.loads((tmp_path / "d" / "config.json").read_text())["deterministic"] is True
