"""Shared by the engine tests: a small real run (an MLP on scikit-learn's digits) and what it leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from archzoo.engine import TrainConfig


class RunTools:
    """Build the digits configuration and read a run directory back."""

    @staticmethod
    def digits_cfg(out: Path, **settings: object) -> TrainConfig:
        """Three epochs of a dropout MLP on digits, with a validation split, into ``out``."""
        cfg = TrainConfig(model="mlp", data="digits", epochs=3, batch_size=32, lr=3e-3, optimizer="adamw",
                          schedule="onecycle", val_size=200, out=str(out), model_overrides={"dropout": 0.3})
        for key, value in settings.items():
            setattr(cfg, key, value)
        return cfg

    @staticmethod
    def weights(run: Path) -> dict[str, torch.Tensor]:
        """The model tensors of the run's last checkpoint."""
        tensors = load_file(str(run / "checkpoints" / "last.safetensors"))
        return {k: v for k, v in tensors.items() if k.startswith("model.")}

    @staticmethod
    def same_weights(a: Path, b: Path) -> bool:
        wa, wb = RunTools.weights(a), RunTools.weights(b)
        return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

    @staticmethod
    def metrics(run: Path) -> list[dict]:
        """metrics.jsonl without the wall-clock field, which no two runs share."""
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]


@pytest.fixture(scope="session")
def runs() -> type[RunTools]:
    return RunTools
