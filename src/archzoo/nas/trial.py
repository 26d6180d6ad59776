"""One trial: a candidate trained through the engine on the training split, scored on the validation split.

``run_trial(spec)`` is a pure function of the spec (genotype, training budget, seed): it trains in a
temporary run directory of its own and returns a small record, so it runs the same in this process, in a
pool of local processes or on a Ray worker of another machine (which needs only the dataset). Every trial
of a search shares the search's seed, hence the same training subset, validation split and initialisation
stream: trials differ by their architecture alone. The test split is never evaluated (``eval_splits=val``).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class TrialSpec:
    index: int
    model: str  # the space's registered model
    overrides: dict[str, Any]  # its genotype (and any fixed option of the space)
    data: str
    data_root: str | None
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields: epochs, subset, val_size, lr, ...
    deadline: float = 0.0  # the search's end (time.time()): the trial stops there, recorded as stopped (0: none)
    threads: int = 0  # torch threads in the worker (0: leave as is)


def run_trial(spec: TrialSpec) -> dict[str, Any]:
    """Train the candidate: {"status": ok | stopped | failed | interrupted, "val_accuracy", "train_s",
    "epochs_done", "error"}."""
    threads = torch.get_num_threads()
    if spec.threads:
        torch.set_num_threads(spec.threads)
    try:
        return _train(spec)
    finally:
        torch.set_num_threads(threads)  # the caller's own, when the trial ran in its process


def _train(spec: TrialSpec) -> dict[str, Any]:
    from archzoo.engine import TrainingDiverged
    from archzoo.engine.config import TrainConfig
    from archzoo.engine.trainer import Trainer

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="archzoo-trial-") as tmp:
        cfg = TrainConfig(model=spec.model, data=spec.data, data_root=spec.data_root, seed=spec.seed,
                          out=str(Path(tmp) / "run"), eval_splits="val", model_overrides=dict(spec.overrides))
        for key, value in spec.settings.items():
            setattr(cfg, key, value)
        try:
            trainer = Trainer(cfg, Path(cfg.out), progress=False)
            if spec.deadline:  # the time left once the data and the model are ready (a worker may start late)
                cfg.max_time = max(spec.deadline - time.time(), 0.1)
            summary = trainer.fit()
        except TrainingDiverged as exc:
            return {"status": "failed", "error": first_line(exc), "train_s": _since(start)}
        except Exception as exc:  # a failed trial is recorded and the search goes on
            return {"status": "failed", "error": f"{type(exc).__name__}: {first_line(exc)}",
                    "train_s": _since(start)}
    accuracy = summary["metrics"].get("val", {}).get("accuracy")
    status = "ok" if summary["completed"] else "interrupted" if summary["stop_reason"] == "interrupted" else "stopped"
    return {"status": status,
            "val_accuracy": round(float(accuracy), 6) if accuracy is not None else None,
            "train_s": _since(start), "epochs_done": summary["epochs_done"]}


def first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0]


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
