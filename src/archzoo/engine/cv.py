"""Cross-validation: one configuration trained on each of K folds, and the spread of its test metrics.

``archzoo train MODEL --data mr --folds 10`` (:func:`cross_validate`) writes

    RUN/config.json       the configuration (folds=K, fold=-1) and "cross_validation": {"folds", "seed"}
    RUN/folds/k/          fold k's run, a normal run directory (its config.json says fold=k, folds=K)
    RUN/summary.json      each fold's metrics and wall time (fold_time_s; fold_time_mean_s over the
                          finished folds), and metrics.cv: the mean and the sample standard deviation
                          (n - 1) over the finished folds of test accuracy, macro-F1 and loss, and
                          their confusion matrices added up

The folds are ``TextClassificationSet.folds(K)``: stratified and fixed (seed ``FOLD_SEED``), so every
model and every seed is measured on the same folds, as in Kim 2014's 10-fold CV on MR. Each fold's
figures are those of its final weights on its test fold (summary.json's ``metrics.test``); its
best.safetensors is chosen on its validation split when the recipe carves one (``val_size``).

``--max-time`` bounds the whole cross-validation: each fold gets what is left. A stopped or
interrupted cross-validation resumes with ``archzoo train --resume RUN`` (:func:`resume_cross_validation`):
finished folds are kept, a fold with a checkpoint resumes exactly, and a fold stopped before its
first checkpoint starts again.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from archzoo import tasks  # the module, read when called (see archzoo.engine.trainer)
from archzoo.data.core import DataError
from archzoo.data.text import FOLD_SEED, TextClassificationSet
from archzoo.engine import distributed
from archzoo.engine.checkpoint import atomic_write_json
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.trainer import RunDirError, _default_run_dir, is_run_dir, load_data, resume, train
from archzoo.registry import model_card

CV_METRICS = ("accuracy", "macro_f1", "loss")  # the test metrics summarised over folds


def is_cv_dir(path: Path) -> bool:
    """A cross-validation directory: a config.json that records "cross_validation"."""
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "cross_validation" in config


def cross_validate(cfg: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train ``cfg`` on each of its ``cfg.folds`` folds into ``cfg.out`` (or runs/<model>-<data>-<time>);
    returns the cross-validation summary (also RUN/summary.json).

    Raises ConfigError for fewer than 2 folds, data that is not labelled text or a model that does
    not classify it; DataError when the data cannot be cut into that many folds (more folds than
    the smallest class has texts); RunDirError for a non-empty run directory.
    """
    cfg.validate()
    if cfg.folds < 2:
        raise ConfigError(f"--folds must be at least 2 for cross-validation, got {cfg.folds}")
    cfg.fold = -1
    run_dir = Path(cfg.out) if cfg.out else _default_run_dir(cfg)
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        hint = f"; to continue it: archzoo train --resume {run_dir}" if is_cv_dir(run_dir) else ""
        raise RunDirError(f"run directory {run_dir} is not empty; choose another --out{hint}")
    ds = load_data(cfg)
    if not isinstance(ds, TextClassificationSet):
        raise ConfigError(f"--folds cross-validates text classification (mr, textcls:DIR); {cfg.data} is "
                          f"{ds.task} data")
    # a model that does not classify text fails here, not in fold 0
    tasks.make_task(cfg.objective or model_card(cfg.model).task, ds)
    try:
        ds.folds(cfg.folds)
    except DataError as exc:
        raise DataError(f"--folds {cfg.folds}: {exc}") from None
    cfg.out = str(run_dir)
    if distributed.from_env().is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", {**cfg.to_json(), "task": "text_classification",
                                                    "cross_validation": {"folds": cfg.folds, "seed": FOLD_SEED}})
    return _run_folds(run_dir, cfg, progress, {})


def resume_cross_validation(run_dir: Path, *, progress: bool = True, overrides: dict[str, Any] | None = None
                            ) -> dict[str, Any]:
    """Continue the cross-validation in ``run_dir``: finished folds are kept (unless ``overrides``
    ask for more epochs than they ran), the others resume or start."""
    if not is_cv_dir(run_dir):
        raise RunDirError(f"{run_dir} is not a cross-validation directory (no config.json with "
                          "cross_validation); pass the --out directory of an earlier `archzoo train --folds K`")
    cfg = TrainConfig.load(run_dir / "config.json")
    for key, value in (overrides or {}).items():
        setattr(cfg, key, value)
    cfg.validate()
    return _run_folds(run_dir, cfg, progress, overrides or {})


def _run_folds(run_dir: Path, cfg: TrainConfig, progress: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    folds: list[dict[str, Any]] = []
    stop_reason: str | None = None
    for k in range(cfg.folds):
        left = cfg.max_time - (time.perf_counter() - t0) if cfg.max_time > 0 else 0.0
        if cfg.max_time > 0 and left <= 0:
            stop_reason = "max_time"
            break
        limit = {"max_time": max(left, 1e-9) if cfg.max_time > 0 else 0.0}
        fold_dir = run_dir / "folds" / str(k)
        done = _read_summary(fold_dir)
        if done.get("completed") and done.get("epochs_done", 0) >= cfg.epochs:
            summary = done
        elif is_run_dir(fold_dir):
            summary = resume(fold_dir, progress=progress, overrides={**overrides, **limit})
        else:
            if fold_dir.exists():  # stopped before its first checkpoint: nothing to resume from
                shutil.rmtree(fold_dir)
            fold_cfg = dataclasses.replace(cfg, fold=k, out=str(fold_dir), model_overrides=dict(cfg.model_overrides),
                                           **limit)
            summary = train(fold_cfg, progress=progress)
        if not summary:  # a rank other than 0 of a distributed run: rank 0 writes the summary
            continue
        folds.append(summary)
        cv = _write_summary(run_dir, cfg, folds, None if summary.get("completed") else summary.get("stop_reason"))
        if progress:
            test = summary.get("metrics", {}).get("test", {})
            shown = f"test accuracy {test['accuracy']:.4f}" if "accuracy" in test else "stopped"
            print(f"fold {k + 1}/{cfg.folds}: {shown} ({summary.get('wall_time_s', 0):.1f}s)", file=sys.stderr,
                  flush=True)
        if not summary.get("completed"):
            return cv
    if not distributed.from_env().is_main:
        return {}
    return _write_summary(run_dir, cfg, folds, stop_reason)


def _read_summary(fold_dir: Path) -> dict[str, Any]:
    try:
        summary = json.loads((fold_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    mean = statistics.fmean(values) if values else None
    return mean, statistics.stdev(values) if len(values) >= 2 else None


def _write_summary(run_dir: Path, cfg: TrainConfig, folds: list[dict[str, Any]], stop_reason: str | None
                   ) -> dict[str, Any]:
    finished = [f for f in folds if f.get("completed")]
    tests = [f["metrics"]["test"] for f in finished]
    cv: dict[str, Any] = {"folds_done": len(finished)}
    for key in CV_METRICS:
        cv[f"{key}_mean"], cv[f"{key}_std"] = _mean_std([t[key] for t in tests])
    if tests:  # the folds' confusion matrices added: every text of the train split tested once
        matrices = [t["confusion_matrix"] for t in tests]
        cv["confusion_matrix"] = [[sum(m[i][j] for m in matrices) for j in range(len(matrices[0]))]
                                  for i in range(len(matrices[0]))]
    times = [f["wall_time_s"] for f in folds]
    completed = len(finished) == cfg.folds
    summary = {
        "model": cfg.model, "data": cfg.data, "task": "text_classification",
        "cross_validation": {"folds": cfg.folds, "seed": FOLD_SEED},
        "params": folds[0]["params"] if folds else None,
        "epochs_done": min((f["epochs_done"] for f in folds), default=0),
        "completed": completed, "stop_reason": None if completed else stop_reason or "incomplete",
        "wall_time_s": round(sum(times), 3), "fold_time_s": times,
        "fold_time_mean_s": round(statistics.fmean(f["wall_time_s"] for f in finished), 3) if finished else None,
        "folds": [{"fold": i, "run_dir": f["run_dir"], "completed": f["completed"], "epochs_done": f["epochs_done"],
                   "wall_time_s": f["wall_time_s"], "metrics": f["metrics"]} for i, f in enumerate(folds)],
        "metrics": {"cv": cv}, "run_dir": str(run_dir),
    }
    atomic_write_json(run_dir / "summary.json", summary)
    return summary
