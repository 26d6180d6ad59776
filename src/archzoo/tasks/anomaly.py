"""Time-series anomaly detection: a network learns what the clean series looks like, and the points it cannot
explain are flagged.

Two scorings, chosen by the model:

- reconstruction (a sequence autoencoder, ``lstm_autoencoder``; Malhotra et al. 2016): the model rebuilds every
  window of ``window`` points; a point's score is its squared reconstruction error (the worst channel's, in the
  standardised scale) averaged over the windows that contain it;
- forecast residual (any forecaster, ``--set objective=anomaly``): the model forecasts each point one step ahead
  from the ``window`` before it; the score is the squared residual, divided by the forecast's variance for a
  Gaussian forecaster (``--set likelihood=gaussian``), so that a jump counts for less where the series is wild.

Several columns are scored jointly by the worst one (an injected event hits one column; their mean would dilute
it: on eu-stocks the mean gave the Gaussian forecaster an event F1 of 0.23, the maximum 0.28, over 3 seeds).

The series is split in time as for forecasting: a training part, a validation block and a test block (default: the
last third of the series). ``inject`` anomalous events (spikes, level shifts, variance changes) are injected into
the test block by the seeded injector of :mod:`archzoo.analysis.anomaly`, whose labels score the run; the parts
before it stay clean. The threshold is chosen on the scores of the clean points (``threshold=quantile``: their
``threshold_q`` quantile; ``sigma``: mean + ``threshold_k`` standard deviations), and the test block's points above
it are flagged. Metrics (point-wise, by event, and point-adjusted, see archzoo.analysis.anomaly) go to
``metrics.test``; the classical detectors (rolling z-score, STL residual z-score, isolation forest on windows) are
scored in the same evaluation on the same injected series, with the same threshold rule, into summary.json's
``baselines``. ``anomalies.png`` in the run directory shows the series, the injected events and the flags.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data import Batcher, Split
from archzoo.data.series import Scaler, Series, SeriesTransform, format_time
from archzoo.engine.checkpoint import atomic_write_json
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.precision import Precision
from archzoo.registry import resolve_config
from archzoo.tasks.base import Batch, unwrap_model
from archzoo.tasks.forecasting import SeriesTask, forecast_loss, load_series_run, point

PLAN_FILE = "anomaly_plan.json"


class AnomalyPlan:
    """Chronological blocks of one series (anomalies injected into the test block), the transform and scaler
    fitted on the training part, and windows: whole windows to rebuild, or windows and the point after them."""

    channels_last = False

    def __init__(self, series: Series, cfg: TrainConfig, run_dir: Path | None = None) -> None:
        from archzoo.analysis.anomaly import inject_anomalies

        fields = {f.name for f in dataclasses.fields(resolve_config(cfg.model))}
        self.scoring = "residual" if "horizon" in fields else "reconstruction"
        self.window = int(resolve_config(cfg.model, **cfg.model_overrides).window)
        self.series, self.season = series, series.season
        if cfg.calendar:
            raise ConfigError("calendar is a forecasting setting: anomaly detection reads the series' values only; "
                              "leave calendar out")
        t = len(series)
        self.test_size = int(cfg.test_size or round(t / 3))
        if not 0 < self.test_size < t:
            raise ConfigError(f"test_size must leave training data in the {t} points of {series.name}, "
                              f"got {self.test_size}")
        rest = t - self.test_size
        val = int(cfg.val_size) if cfg.val_size >= 1 else round((cfg.val_size or 0.1) * rest)  # default: a tenth
        self.test_start, self.train_end = rest, rest - max(val, 1)
        self.labels: np.ndarray | None = None
        self.events: list[dict[str, Any]] = []
        self.values = series.values
        if cfg.inject:
            try:
                injected = inject_anomalies(series.values, start=self.test_start, seed=cfg.seed, events=cfg.inject)
            except ValueError as exc:
                raise ConfigError(f"cannot inject {cfg.inject} events into the last {self.test_size} points of "
                                  f"{series.name}: {exc}; lower inject or raise test_size") from None
            self.values, self.labels, self.events = injected.values, injected.labels, injected.events
        try:
            self.transform = SeriesTransform(cfg.transform, self.season).fit(self.values[:self.train_end],
                                                                             series.targets)
            z = self.transform.apply(self.values)
        except ValueError as exc:
            raise ConfigError(f"transform={cfg.transform} on {series.name}: {exc}") from None
        lost = self.transform.lost
        need = lost + self.window + (1 if self.scoring == "residual" else 0)
        if self.train_end < need:
            raise ConfigError(f"{series.name} has {t} points, too few: a training window of {need}, then "
                              f"{self.test_start - self.train_end} to validate and {self.test_size} to test, need at "
                              f"least {need + t - self.train_end}; use a smaller window (--set window=N) or test_size")
        self.scaler = Scaler().fit(z[:self.train_end - lost])
        self.threshold: float | None = None
        if run_dir is not None and (run_dir / PLAN_FILE).is_file():
            saved = json.loads((run_dir / PLAN_FILE).read_text())
            self.scaler = Scaler.from_dict(saved["scaler"])
            self.threshold = saved.get("threshold")
        self.inputs = self.scaled(self.values)
        self.record = {"name": series.name, "source": series.source, "freq": series.freq, "season": self.season,
                       "targets": list(series.targets), "points": t, "train": self.train_end,
                       "val": self.test_start - self.train_end, "test": self.test_size, "window": self.window,
                       "scoring": self.scoring, "transform": cfg.transform, "injected_events": len(self.events)}

    def scaled(self, values: np.ndarray) -> np.ndarray:
        """(T, C) original values -> (T - lost, C) transformed and standardised with the training part's scaler."""
        return self.scaler.apply(self.transform.apply(values))

    def windows(self, first: int, last: int, inputs: np.ndarray | None = None) -> Split:
        """The windows scored at the points ``first..last - 1`` (indices into the series): those ending there
        (reconstruction) or forecasting them (residual)."""
        inputs = self.inputs if inputs is None else inputs
        lost, w = self.transform.lost, self.window
        c = inputs.shape[1]
        if self.scoring == "reconstruction":
            ends = np.arange(max(first, lost + w - 1), last)  # the window's last point
            x = np.stack([inputs[e - lost - w + 1:e - lost + 1] for e in ends]) if len(ends) else np.zeros((0, w, c))
            return Split(torch.from_numpy(x).float(), torch.from_numpy(x).float())
        starts = np.arange(max(first, lost + w), last)  # the point forecast
        x = np.stack([inputs[s - lost - w:s - lost] for s in starts]) if len(starts) else np.zeros((0, w, c))
        y = np.stack([inputs[s - lost:s - lost + 1] for s in starts]) if len(starts) else np.zeros((0, 1, c))
        return Split(torch.from_numpy(x).float(), torch.from_numpy(y).float())

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        c = self.inputs.shape[1]
        out = {"in_features": c, "out_features": c, "horizon": 1}
        return {k: v for k, v in out.items() if k in fields}

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[Batcher, dict[str, Batcher]]:
        t = len(self.series)
        train = Batcher(self.windows(0, self.train_end), cfg.batch_size, shuffle=True, seed=cfg.seed, rank=rank,
                        world_size=world_size, device=device)
        evals = {"val": Batcher(self.windows(self.train_end, self.test_start), cfg.eval_batch_size, device=device),
                 "test": Batcher(self.windows(self.test_start, t), cfg.eval_batch_size, device=device)}
        return train, evals

    def check_fits(self, model: nn.Module, batch: Batch) -> None:
        model(batch[0][:2])

    def save(self, run_dir: Path) -> None:
        atomic_write_json(run_dir / PLAN_FILE, {**self.record, "scaler": self.scaler.to_dict(),
                                                "threshold": self.threshold})

    @torch.no_grad()
    def scores(self, model: nn.Module, inputs: np.ndarray | None = None, batch_size: int = 1000) -> np.ndarray:
        """Each point's score (T,) over the whole series (NaN where no window reaches: the first points)."""
        inputs = self.inputs if inputs is None else inputs
        t = len(inputs) + self.transform.lost
        split = self.windows(0, t, inputs)
        device = next(model.parameters()).device
        errors = []
        for i in range(0, len(split), batch_size):
            x, y = split.x[i:i + batch_size].to(device), split.y[i:i + batch_size].to(device)
            out = model(x).float()
            if self.scoring == "reconstruction":
                err = (out - y).square()
            elif model.cfg.likelihood == "gaussian":  # the residual in units of the forecast's own spread
                err = ((out[..., 0] - y) / out[..., 1]).square()
            else:
                err = (point(out, model.cfg.likelihood, model.cfg.quantiles) - y).square()
            errors.append(err.amax(-1).cpu())  # (B, W) or (B, 1): the worst channel (an event may hit one of them)
        err = torch.cat(errors).double().numpy() if errors else np.zeros((0, 1))
        lost, w = self.transform.lost, self.window
        total, count = np.zeros(t), np.zeros(t)
        if self.scoring == "reconstruction":
            for k in range(w):  # window n ends at point lost + w - 1 + n; its step k is point lost + n + k
                idx = lost + np.arange(len(err)) + k
                np.add.at(total, idx, err[:, k])
                np.add.at(count, idx, 1)
        else:
            idx = lost + w + np.arange(len(err))
            total[idx], count[idx] = err[:, 0], 1
        with np.errstate(invalid="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class AnomalyTask(SeriesTask):
    name = "anomaly"

    def plan(self, ds: Series, cfg: TrainConfig, run_dir: Path | None = None) -> AnomalyPlan:
        self.plan_ = AnomalyPlan(ds, cfg, run_dir)
        return self.plan_

    def _loss(self, model: nn.Module, out: Tensor, y: Tensor) -> Tensor:
        if self.plan_ is not None and self.plan_.scoring == "residual":
            mcfg = unwrap_model(model).cfg
            return forecast_loss(out, y, mcfg.likelihood, mcfg.quantiles)
        return F.mse_loss(out, y)

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch
        loss = self._loss(model, model(x).float(), y)
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]:
        """The training loss over a block's windows (the scaled space)."""
        total, n = 0.0, 0
        for x, y in batches:
            total += self._loss(model, model(x).float(), y).item() * len(x)
            n += len(x)
        return {"loss": total / n if n else float("nan"), "windows": n}

    def final_metrics(self, model: nn.Module, cfg: TrainConfig) -> dict[str, dict[str, Any]]:
        """The points' scores, the threshold from the clean points, the flags and their metrics against the
        injected events; the classical detectors beside them (kept for summary.json); the figure."""
        from archzoo.analysis.anomaly import choose_threshold, detection_metrics, run_detector_baselines

        plan = self.plan_
        assert plan is not None
        model = unwrap_model(model)
        was_training = model.training
        model.eval()
        try:
            scores = plan.scores(model)
        finally:
            model.train(was_training)
        start = plan.test_start
        plan.threshold = choose_threshold(scores[:start], cfg.threshold, q=cfg.threshold_q, k=cfg.threshold_k)
        if cfg.out:
            plan.save(Path(cfg.out))  # the threshold, for `archzoo detect`
        flags = np.nan_to_num(scores, nan=-np.inf) > plan.threshold
        test: dict[str, Any] = {"threshold": plan.threshold, "flagged": int(flags[start:].sum())}
        baselines: dict[str, Any] = {}
        if plan.labels is not None:
            events = [dict(e, start=e["start"] - start, end=e["end"] - start) for e in plan.events]
            test.update(detection_metrics(plan.labels[start:], flags[start:], events=events))
            baselines = run_detector_baselines(plan.values, plan.labels, train_end=start, season=plan.season,
                                               threshold=cfg.threshold, q=cfg.threshold_q, k=cfg.threshold_k,
                                               events=plan.events)
        self.extras = {"baselines": baselines, "events": plan.events,
                       "protocol": f"{len(plan.events)} events injected (seed {cfg.seed}) into the last "
                                   f"{plan.test_size} points; threshold: {cfg.threshold} of the {start} clean points' "
                                   "scores"}
        if cfg.out:
            try:
                plot_anomalies(Path(cfg.out) / "anomalies.png", plan.series, plan.values, flags, plan.events, start,
                               f"{cfg.model} ({plan.scoring})")
                self.extras["figure"] = "anomalies.png"
            except ModuleNotFoundError:  # matplotlib is optional
                pass
        return {"test": test}


def plot_anomalies(path: Path, series: Series, values: np.ndarray, flags: np.ndarray, events: list[dict[str, Any]],
                   start: int, label: str) -> Path:
    """The series (anomalies injected), the injected events shaded by kind and the flagged points, one panel per
    column; from a little before the test block."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = series.time.astype("datetime64[D]").astype("O")
    n, c = values.shape
    first = max(0, start - (n - start) // 4)
    colours = {"spike": "C3", "level_shift": "C1", "variance": "C2"}
    fig, axes = plt.subplots(c, 1, figsize=(10, 3 * c), squeeze=False)
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(t[first:], values[first:, j], color="black", lw=0.8)
        for e in events:
            if e.get("column", j) == j:
                ax.axvspan(t[e["start"]], t[min(e["end"], n - 1)], color=colours.get(e["kind"], "C4"), alpha=0.25,
                           lw=0, label=e["kind"])
        hit = np.flatnonzero(flags[first:]) + first
        ax.scatter([t[i] for i in hit], values[hit, j], s=10, color="C0", zorder=3, label=f"flagged by {label}")
        ax.axvline(t[start], color="grey", ls=":", lw=1)
        handles, names = ax.get_legend_handles_labels()
        unique = dict(zip(names, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper left")
        ax.set_title(f"{series.name}: {series.targets[j]}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def detect_run(run_dir: Path, *, data: str | None = None, data_root: str | None = None, out: str | Path | None = None,
               plot: str | Path | None = None, checkpoint: str = "best", device: str = "auto") -> dict[str, Any]:
    """Score every point of the run's series as it is (no injection), or of another series of the same columns
    (``data``), with the run's scaling and threshold; the flagged points as ``{"time": [...], "index": [...],
    "score": [...], "threshold": t}``, written to ``out`` (CSV) and drawn into ``plot`` when asked."""
    run, cfg, series = load_series_run(run_dir, "detect", AnomalyTask.name, data=data, data_root=data_root,
                                       checkpoint=checkpoint, device=device)
    want = run.record["model_config"]["in_features"]
    if series.values.shape[1] != want:
        raise ConfigError(f"{cfg.data} has {series.values.shape[1]} columns to score; the run's model reads {want} "
                          "(choose them with --set target=... when training)")
    saved = json.loads((run_dir / PLAN_FILE).read_text()) if (run_dir / PLAN_FILE).is_file() else {}
    if saved.get("threshold") is None:
        raise ConfigError(f"{run_dir} has no threshold (the run did not finish); resume it first: archzoo train "
                          f"--resume {run_dir}")
    clean = dataclasses.replace(cfg, inject=0)
    plan = AnomalyPlan(series, clean, run_dir)
    try:
        inputs = plan.scaled(series.values)
    except ValueError as exc:
        raise ConfigError(f"{cfg.data}: {exc}") from None
    scores = plan.scores(run.model, inputs)
    flags = np.nan_to_num(scores, nan=-np.inf) > saved["threshold"]
    index = np.flatnonzero(flags)
    labels = format_time(series.time[index], series.freq) if len(index) else []
    result = {"time": list(labels), "index": index.tolist(), "score": scores[index].tolist(),
              "threshold": saved["threshold"], "points": len(series)}
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["time", "index", "score", *series.targets])
            for label, i in zip(labels, index, strict=True):
                writer.writerow([label, int(i), f"{scores[i]:.6g}", *(f"{v:.6g}" for v in series.values[i])])
        tmp.replace(path)
    if plot is not None:
        plot_anomalies(Path(plot), series, series.values, flags, [], 0, f"{cfg.model}")
    return result
