"""Time-series forecasting: windows in, horizons out, judged the way a forecaster is judged.

The series is split in time only: the last ``test_size`` points are the test block, the ``val_size``
points before them (default: one horizon) the validation block that chooses ``best.safetensors``, and
everything before that the training part. The transform (log, differences, seasonal differences) and
the per-column standardisation are fitted on the training part alone.

Training cuts every window of ``window`` points whose next ``horizon`` points lie in the training part
(in the transformed, standardised scale); the loss is the squared error (point forecasts), the Gaussian
negative log-likelihood (``likelihood=gaussian``) or the pinball loss over the model's quantiles
(``likelihood=quantile``). Validation scores the windows whose horizons lie in the validation block.

At the end of a run the model is judged in the original scale, twice, beside the classical baselines
of :mod:`archzoo.analysis.forecast` fitted in the same run on the same points:

- ``metrics.test``: one forecast from the end of the validation block over the whole test block (the
  model rolled forward by its own forecasts when the test block is longer than its horizon);
- ``metrics.backtest``: rolling origins from the start of the test block every ``stride`` points, each
  forecasting ``horizon`` points from the true history before it (the model is not refitted; the
  baselines are, at every origin, as their users would).

Metrics: MAE, RMSE, MAPE, sMAPE, MASE and, for probabilistic models, the coverage of the 80% and 95%
intervals, drawn as quantiles of ``interval_samples`` sample paths (Gaussian) or read from the model's
quantiles, inverted through the transform path by path. summary.json gets ``baselines`` and
``baselines_backtest`` as ``{name: {metric: value}}``, and the run directory ``forecast.png``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archzoo.data import Batcher, Split
from archzoo.data.series import Scaler, Series, SeriesTransform, format_time, season_phase
from archzoo.engine.checkpoint import atomic_write_json
from archzoo.engine.config import ConfigError, TrainConfig
from archzoo.engine.optim import build_optimizer
from archzoo.engine.precision import Precision
from archzoo.registry import resolve_config
from archzoo.tasks.base import Batch, unwrap_model

PLAN_FILE = "series_plan.json"
LEVELS = (80, 95)  # the prediction intervals reported (percent)
_Z = {80: 1.2815515655446004, 95: 1.959963984540054}  # standard normal quantiles of (1 + level) / 2
DEFAULT_BASELINES = ("naive", "seasonal_naive", "drift", "ets", "arima", "theta")


def gaussian_nll(out: Tensor, y: Tensor) -> Tensor:
    """Mean negative log-likelihood of ``y`` (B, H, C) under N(out[..., 0], out[..., 1]^2), constant dropped."""
    mean, std = out[..., 0], out[..., 1]
    return (torch.log(std) + 0.5 * ((y - mean) / std).square()).mean()


def pinball(out: Tensor, y: Tensor, quantiles: Sequence[float]) -> Tensor:
    """Mean pinball (quantile) loss of the predicted quantiles ``out`` (B, H, C, Q) for ``y`` (B, H, C)."""
    q = torch.tensor(quantiles, dtype=out.dtype, device=out.device)
    diff = y.unsqueeze(-1) - out  # (B, H, C, Q)
    return torch.maximum(q * diff, (q - 1) * diff).mean()


def point(out: Tensor, likelihood: str, quantiles: Sequence[float]) -> Tensor:
    """The point forecast (B, H, C) of a model's output (B, H, C, K): the value, the mean, or the median."""
    if likelihood == "quantile":
        return out[..., int(np.argmin([abs(q - 0.5) for q in quantiles]))]
    return out[..., 0]


def forecast_loss(out: Tensor, y: Tensor, likelihood: str, quantiles: Sequence[float]) -> Tensor:
    if likelihood == "gaussian":
        return gaussian_nll(out, y)
    if likelihood == "quantile":
        return pinball(out, y, quantiles)
    return F.mse_loss(out[..., 0], y)


_NEED_STATSMODELS = ("ets", "arima", "theta", "ar9")


def baseline_names(cfg: TrainConfig) -> list[str]:
    """The baselines ``cfg.baselines`` names ("none": none), checked: each known, statsmodels there if needed."""
    from archzoo.analysis.forecast import BASELINES

    names = [b for b in cfg.baselines.replace(" ", "").split(",") if b and b != "none"]
    unknown = [b for b in names if b not in BASELINES]
    if unknown:
        raise ConfigError(f"unknown baseline {', '.join(map(repr, unknown))} in baselines={cfg.baselines}; choose "
                          f"among {', '.join(BASELINES)}, joined by commas, or none")
    if any(b in _NEED_STATSMODELS for b in names):
        import importlib.util

        if importlib.util.find_spec("statsmodels") is None:
            raise ConfigError(f"the baselines {', '.join(b for b in names if b in _NEED_STATSMODELS)} need statsmodels:"
                              " pip install 'archzoo[forecasting]' (or --set baselines=naive,seasonal_naive,drift)")
    return names


class SeriesPlan:
    """How one series reaches a forecaster: chronological blocks, the fitted transform and scaler, windows."""

    channels_last = False

    def __init__(self, series: Series, cfg: TrainConfig, run_dir: Path | None = None) -> None:
        model_cfg = resolve_config(cfg.model, **cfg.model_overrides)
        self.series = series
        self.window = int(model_cfg.window)
        self.horizon = int(cfg.horizon or model_cfg.horizon)
        self.stride = int(cfg.stride or self.horizon)
        self.season = series.season
        self.calendar = bool(cfg.calendar)
        if self.calendar and self.season == 1:
            raise ConfigError(f"calendar=True adds the season's phase, and {series.name} is {series.freq}, with no "
                              "season: leave calendar out")
        t = len(series)
        self.test_size = int(cfg.test_size or series.notes.get("test_size") or round(0.2 * t))
        if cfg.val_size >= 1:
            val = int(cfg.val_size)
        elif cfg.val_size > 0:
            val = round(cfg.val_size * (t - self.test_size))
        else:
            val = self.horizon
        self.val_size = val
        self.train_end = t - self.test_size - val  # values[:train_end] train; [train_end:test_start] validate
        self.test_start = t - self.test_size
        if self.horizon < 1 or self.stride < 1:
            raise ConfigError(f"horizon and stride must be positive, got {self.horizon} and {self.stride}")
        if not 0 < self.test_size < t:
            raise ConfigError(f"test_size must leave training data in the {t} points of {series.name}, "
                              f"got {self.test_size}")
        if val < self.horizon:
            raise ConfigError(f"the validation block ({val} points) is shorter than the horizon ({self.horizon}): "
                              f"set val_size to at least {self.horizon} points")
        try:
            self.transform = SeriesTransform(cfg.transform, self.season).fit(series.values[:self.train_end],
                                                                             series.targets)
        except ValueError as exc:
            raise ConfigError(f"transform={cfg.transform} on {series.name}: {exc}") from None
        lost = self.transform.lost
        need = lost + self.window + self.horizon
        if self.train_end < need:
            raise ConfigError(
                f"{series.name} has {t} points, too few: one training window of {self.window} inputs + "
                f"{self.horizon} horizon{f' + {lost} lost to differencing' if lost else ''}, then {val} to validate "
                f"and {self.test_size} to test, need at least {need + val + self.test_size}; use a smaller window "
                "(--set window=N), horizon or test_size")
        try:
            z = self.transform.apply(series.values)  # (T - lost, C): z[i] belongs to values[i + lost]
        except ValueError as exc:  # a log of values <= 0 after the training part
            raise ConfigError(f"transform={cfg.transform} on {series.name}: {exc}") from None
        self.scaler = Scaler().fit(z[:self.train_end - lost])
        self.cov_scaler = Scaler().fit(series.covariates[lost:self.train_end]) if series.covariates.shape[1] else None
        self.inputs = self._inputs()  # (T - lost, C_in), scaled
        self.record = {"name": series.name, "source": series.source, "freq": series.freq, "season": self.season,
                       "targets": list(series.targets), "covariates": list(series.covariate_names),
                       "points": t, "train": self.train_end, "val": val, "test": self.test_size,
                       "window": self.window, "horizon": self.horizon, "stride": self.stride,
                       "transform": cfg.transform, "calendar": self.calendar, "first": series.time_labels()[0],
                       "last": series.time_labels()[-1]}
        if run_dir is not None and (run_dir / PLAN_FILE).is_file():
            saved = json.loads((run_dir / PLAN_FILE).read_text())
            self.scaler = Scaler.from_dict(saved["scaler"])  # what training saw, even if the file changed since
            if saved.get("cov_scaler") is not None:
                self.cov_scaler = Scaler.from_dict(saved["cov_scaler"])
            self.inputs = self._inputs()

    # ---- the scaled model inputs, and windows of them -----------------------------------------------
    def _inputs(self) -> np.ndarray:
        """(T - lost, C_in) model inputs: the targets transformed and scaled, the calendar's two channels if asked,
        the covariates scaled."""
        s, lost = self.series, self.transform.lost
        parts = [self.scaler.apply(self.transform.apply(s.values))]
        if self.calendar:
            parts.append(self._calendar(s.phase()[lost:]))
        if self.cov_scaler is not None:
            parts.append(self.cov_scaler.apply(s.covariates[lost:]))
        return np.concatenate(parts, axis=1)

    def _calendar(self, phase: np.ndarray) -> np.ndarray:
        """(T,) phases in the season -> (T, 2): the sine and cosine of the angle, so December sits next to January."""
        angle = 2 * np.pi * phase / self.season
        return np.stack([np.sin(angle), np.cos(angle)], axis=1)

    def windows(self, first_target: int, last_target: int) -> Split:
        """Every window whose horizon starts at an index (into values) in [first_target, last_target - horizon]."""
        lost, w, h = self.transform.lost, self.window, self.horizon
        starts = np.arange(max(first_target, lost + w), last_target - h + 1)  # the first forecast index
        n_targets = len(self.series.targets)
        if len(starts) == 0:
            return Split(torch.zeros(0, w, self.inputs.shape[1]), torch.zeros(0, h, n_targets))
        x = np.stack([self.inputs[s - lost - w:s - lost] for s in starts])  # (N, W, C_in)
        y = np.stack([self.inputs[s - lost:s - lost + h, :n_targets] for s in starts])  # (N, H, C)
        return Split(torch.from_numpy(x).float(), torch.from_numpy(y).float())

    def model_overrides(self, fields: set[str]) -> dict[str, Any]:
        out = {"in_features": self.inputs.shape[1], "out_features": len(self.series.targets),
               "horizon": self.horizon}
        return {k: v for k, v in out.items() if k in fields}

    def batches(self, cfg: TrainConfig, device: torch.device, rank: int = 0, world_size: int = 1
                ) -> tuple[Batcher, dict[str, Batcher]]:
        train = Batcher(self.windows(0, self.train_end), cfg.batch_size, shuffle=True, seed=cfg.seed, rank=rank,
                        world_size=world_size, device=device)
        evals = {"val": Batcher(self.windows(self.train_end, self.test_start), cfg.eval_batch_size, device=device),
                 "test": Batcher(self.windows(self.test_start, len(self.series)), cfg.eval_batch_size, device=device)}
        return train, evals

    def check_fits(self, model: nn.Module, batch: Batch) -> None:
        model(batch[0][:2])

    def save(self, run_dir: Path) -> None:
        atomic_write_json(run_dir / PLAN_FILE, {
            **self.record, "scaler": self.scaler.to_dict(),
            "cov_scaler": None if self.cov_scaler is None else self.cov_scaler.to_dict()})

    # ---- forecasts in the original scale -------------------------------------------------------------
    @torch.no_grad()
    def forecast(self, model: nn.Module, origins: Sequence[int], steps: int, *, samples: int = 500,
                 seed: int = 0) -> dict[str, np.ndarray]:
        """Forecasts of ``steps`` points after each origin o of the series (from its values before o) in the original
        scale: ``mean`` (N, steps, C) and, for a probabilistic model, ``lower``/``upper`` {level: (N, steps, C)}.

        A forecast longer than the model's horizon feeds the model's point forecasts back as inputs (a
        Gaussian model: each of ``samples`` sample paths its own draws), with the calendar of the steps it
        reaches; that needs a series without covariates, whose future values nobody knows."""
        cfg = unwrap_model(model).cfg
        likelihood, quantiles = cfg.likelihood, tuple(cfg.quantiles)
        lost, w, h = self.transform.lost, self.window, self.horizon
        series, inputs = self.series, self.inputs
        values, n_targets = series.values, len(series.targets)
        rolls = math.ceil(steps / h)
        if rolls > 1 and self.cov_scaler is not None:
            raise ConfigError(f"a forecast of {steps} points is longer than the model's horizon ({h}) and the series "
                              "has covariates whose future is unknown; train with --set horizon=" + str(steps))
        calendar = None
        if self.calendar and rolls > 1:  # the calendar of every step a rolled forecast reaches, past the series' end
            phase = np.concatenate([series.phase(), season_phase(series.future_time(rolls * h), series.freq)])
            calendar = torch.from_numpy(self._calendar(phase)).float()
        device = next(model.parameters()).device
        draws = samples if likelihood == "gaussian" else 1
        g = torch.Generator().manual_seed(seed)
        x = torch.from_numpy(np.stack([inputs[o - lost - w:o - lost] for o in origins])).float()  # (N, W, C_in)
        x = x.repeat_interleave(draws, dim=0).to(device)  # (N * S, W, C_in): path-major within each origin
        paths, quantile_parts = [], []
        for roll in range(rolls):
            out = model(x).float()  # (N * S, H, C, K)
            if likelihood == "gaussian":
                noise = torch.randn(out.shape[:-1], generator=g).to(device)
                step = out[..., 0] + out[..., 1] * noise  # one draw per path
            else:
                step = point(out, likelihood, quantiles)
            if likelihood == "quantile":
                quantile_parts.append(out)
            paths.append(step)
            if roll + 1 < rolls:  # the forecast becomes the next window's last inputs
                if calendar is not None:
                    days = torch.stack([calendar[o + roll * h:o + roll * h + h] for o in origins])  # those steps'
                    step = torch.cat([step, days.repeat_interleave(draws, dim=0).to(device)], dim=2)
                x = torch.cat([x[:, h:], step], dim=1)[:, -w:]
        scaled = torch.cat(paths, dim=1)[:, :steps].cpu().numpy().astype(np.float64)  # (N * S, steps, C)
        n = len(origins)
        result: dict[str, Any] = {}

        def to_original(z: np.ndarray) -> np.ndarray:
            """(N, P, steps, C) scaled transformed paths -> original scale, each path through the transform."""
            out = np.empty_like(z)
            for i, o in enumerate(origins):
                out[i] = self.transform.invert(self.scaler.invert(z[i]), values[:o])
            return out

        if likelihood == "gaussian":
            original = to_original(scaled.reshape(n, draws, steps, n_targets))
            result["mean"] = np.median(original, axis=1)
            result["lower"] = {lv: np.quantile(original, (100 - lv) / 200, axis=1) for lv in LEVELS}
            result["upper"] = {lv: np.quantile(original, (100 + lv) / 200, axis=1) for lv in LEVELS}
        elif likelihood == "quantile":
            qs = torch.cat(quantile_parts, dim=1)[:, :steps].cpu().numpy().astype(np.float64)  # (N, steps, C, Q)
            original = to_original(np.moveaxis(qs, -1, 1))  # (N, Q, steps, C), each quantile level as a path
            original.sort(axis=1)
            result["mean"] = original[:, int(np.argmin([abs(q - 0.5) for q in quantiles]))]
            result["lower"], result["upper"] = {}, {}
            for lv in LEVELS:
                lo, hi = (100 - lv) / 200, (100 + lv) / 200
                if any(abs(q - lo) < 1e-9 for q in quantiles) and any(abs(q - hi) < 1e-9 for q in quantiles):
                    result["lower"][lv] = original[:, [abs(q - lo) < 1e-9 for q in quantiles].index(True)]
                    result["upper"][lv] = original[:, [abs(q - hi) < 1e-9 for q in quantiles].index(True)]
        else:
            result["mean"] = to_original(scaled.reshape(n, 1, steps, n_targets))[:, 0]
        return result


class SeriesTask:
    """What the tasks over one series share: one optimizer, the plan kept for the final evaluation, and the
    figures of that evaluation that summary.json holds beside the model's metrics (the baselines')."""

    best_metric = "loss"
    higher_is_better = False

    def __init__(self) -> None:
        self.plan_: Any = None
        self.extras: dict[str, Any] = {}

    def build_optimizers(self, model: nn.Module, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": build_optimizer(model, cfg)}

    def summary_extras(self) -> dict[str, Any]:
        return self.extras


class ForecastingTask(SeriesTask):
    name = "forecasting"

    def plan(self, ds: Series, cfg: TrainConfig, run_dir: Path | None = None) -> SeriesPlan:
        baseline_names(cfg)  # a bad name, or a missing statsmodels, fails now rather than after training
        self.plan_ = SeriesPlan(ds, cfg, run_dir)
        return self.plan_

    def train_step(self, model: nn.Module, batch: Batch, optimizers: dict[str, torch.optim.Optimizer],
                   cfg: TrainConfig, precision: Precision) -> dict[str, Tensor]:
        x, y = batch
        mcfg = unwrap_model(model).cfg
        loss = forecast_loss(model(x).float(), y, mcfg.likelihood, mcfg.quantiles)
        precision.optimize(loss, model, optimizers["model"], cfg.grad_clip)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, batches: Iterable[Batch]) -> dict[str, Any]:
        """The training loss and the point forecasts' MSE and MAE over a block's windows, in the scaled space."""
        mcfg = unwrap_model(model).cfg
        loss = se = ae = 0.0
        n = windows = 0
        for x, y in batches:
            out = model(x).float()
            err = point(out, mcfg.likelihood, mcfg.quantiles) - y
            loss += forecast_loss(out, y, mcfg.likelihood, mcfg.quantiles).item() * len(x)
            se += err.square().sum().item()
            ae += err.abs().sum().item()
            n += err.numel()
            windows += len(x)
        if windows == 0:
            return {"loss": float("nan"), "mse_scaled": float("nan"), "mae_scaled": float("nan"), "windows": 0}
        return {"loss": loss / windows, "mse_scaled": se / n, "mae_scaled": ae / n, "windows": windows}

    def final_metrics(self, model: nn.Module, cfg: TrainConfig) -> dict[str, dict[str, Any]]:
        """The model's forecasts in the original scale (``test``: one over the test block; ``backtest``: rolling
        origins), the baselines' beside them (kept for summary.json), and the figure."""
        from archzoo.analysis import forecast as fc

        plan = self.plan_
        assert plan is not None
        model = unwrap_model(model)
        was_training = model.training
        model.eval()
        try:
            s = plan.series
            values, start, n = s.values, plan.test_start, len(s)
            train = values[:start]
            single = plan.forecast(model, [start], n - start, samples=cfg.interval_samples, seed=cfg.seed)
            origins = fc.backtest_origins(n, start, plan.horizon, plan.stride)
            rolled = plan.forecast(model, origins, plan.horizon, samples=cfg.interval_samples, seed=cfg.seed)
        finally:
            model.train(was_training)
        test = fc.forecast_metrics(values[start:], single["mean"][0], train=train, season=plan.season,
                                   lower={lv: v[0] for lv, v in single.get("lower", {}).items()},
                                   upper={lv: v[0] for lv, v in single.get("upper", {}).items()})
        truth = np.concatenate([values[o:o + plan.horizon] for o in origins])
        backtest = fc.forecast_metrics(truth, np.concatenate(rolled["mean"]), train=train, season=plan.season,
                                       lower={lv: np.concatenate(v) for lv, v in rolled.get("lower", {}).items()},
                                       upper={lv: np.concatenate(v) for lv, v in rolled.get("upper", {}).items()})
        backtest["origins"] = len(origins)
        names = baseline_names(cfg)
        baselines = fc.run_baselines(values, train_end=start, horizon=plan.horizon, season=plan.season,
                                     stride=plan.stride, names=names) if names else {}
        self.extras = {
            "baselines": {name: r.get("test", {"error": r.get("error")}) for name, r in baselines.items()},
            "baselines_backtest": {name: r.get("backtest", {"error": r.get("error")}) for name, r in baselines.items()},
            "baselines_info": {name: {"info": r.get("info"), "fit_s": round(r["fit_s"], 3)}
                               for name, r in baselines.items()},
            "protocol": {"test": f"one forecast of the last {n - start} points from the {start} before them",
                         "backtest": f"{len(origins)} rolling origins from point {start}, horizon {plan.horizon}, "
                                     f"stride {plan.stride}"},
        }
        if cfg.out:
            try:
                path = plot_forecast(Path(cfg.out) / "forecast.png", s, start, single, baselines, cfg.model)
                self.extras["figure"] = path.name
            except ModuleNotFoundError:  # matplotlib is optional; the figures in summary.json are not
                pass
        return {"test": test, "backtest": backtest}


def plot_forecast(path: Path, series: Series, start: int, model_forecast: dict[str, Any],
                  baselines: dict[str, dict[str, Any]], model_name: str, history: int | None = None) -> Path:
    """History (the last ``history`` points, default four test blocks), truth, the model's forecast with its
    intervals and each baseline's forecast, one panel per target column."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, c = series.values.shape
    steps = n - start
    first = max(0, start - (history or 4 * steps))
    t = series.time.astype("datetime64[D]").astype("O")
    fig, axes = plt.subplots(c, 1, figsize=(9, 3.2 * c), squeeze=False)
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(t[first:start], series.values[first:start, j], color="black", lw=1.2, label="history")
        ax.plot(t[start:], series.values[start:, j], color="black", lw=1.2, ls="--", label="truth")
        for level, alpha in ((95, 0.15), (80, 0.3)):
            if level in model_forecast.get("lower", {}):
                ax.fill_between(t[start:], model_forecast["lower"][level][0, :, j],
                                model_forecast["upper"][level][0, :, j], color="C0", alpha=alpha, lw=0,
                                label=f"{model_name} {level}%")
        ax.plot(t[start:], model_forecast["mean"][0, :, j], color="C0", lw=1.8, label=model_name)
        for k, (name, r) in enumerate(baselines.items()):
            mean = r.get("forecast", {}).get("mean")
            if mean is not None:
                m = np.asarray(mean, dtype=float).reshape(steps, -1)
                ax.plot(t[start:], m[:, j], lw=1, color=f"C{k + 1}", alpha=0.8, label=name)
        ax.set_title(f"{series.name}: {series.targets[j]}")
        ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def load_series_run(run_dir: Path, command: str, task: str, *, data: str | None, data_root: str | None,
                    checkpoint: str, device: str) -> tuple[Any, TrainConfig, Series]:
    """A run of ``task`` for ``command`` (its model loaded), its configuration, and its series or the series
    ``data`` names instead, loaded."""
    from archzoo.analysis.latent import load_run
    from archzoo.engine.trainer import load_data

    run = load_run(run_dir, command, (task,), checkpoint=checkpoint, device=device)
    cfg = run.cfg
    if data is not None:
        cfg.data = data
    if data_root is not None:
        cfg.data_root = data_root
    series = load_data(cfg)
    if getattr(series, "task", "") != ForecastingTask.name:
        raise ConfigError(f"{cfg.data} is not a time series; {command} on a series like the run's ({run.cfg.data})")
    return run, cfg, series


def forecast_run(run_dir: Path, *, horizon: int | None = None, data: str | None = None, data_root: str | None = None,
                 out: str | Path | None = None, plot: str | Path | None = None, checkpoint: str = "best",
                 device: str = "auto") -> dict[str, Any]:
    """Forecast ``horizon`` points (default: the model's) beyond the end of the run's series, or of another
    series of the same columns (``data``), with the scaling the run fitted. Writes a CSV (``out``: time, then
    each target's forecast and interval bounds) and a figure (``plot``) when asked; returns the forecast as
    ``{"time": [...], "mean": (H, C), "lower": {level: (H, C)}, "upper": {...}, "targets": [...]}``."""
    run, cfg, series = load_series_run(run_dir, "forecast", ForecastingTask.name, data=data, data_root=data_root,
                                       checkpoint=checkpoint, device=device)
    mcfg = run.record["model_config"]
    n_cov, want_targets, n_cal = series.covariates.shape[1], mcfg["out_features"], 2 if cfg.calendar else 0
    if len(series.targets) != want_targets or len(series.targets) + n_cal + n_cov != mcfg["in_features"]:
        raise ConfigError(f"{cfg.data} has {len(series.targets)} target and {n_cov} covariate columns; the run's "
                          f"model reads {want_targets} targets and {mcfg['in_features'] - want_targets - n_cal} "
                          "covariates (choose them with --set target=... --set covariates=... when training)")
    plan = SeriesPlan(series, cfg, run_dir)
    steps = plan.horizon if horizon is None else int(horizon)
    if steps < 1:
        raise ConfigError(f"--horizon must be at least 1, got {steps}")
    result = plan.forecast(run.model, [len(series)], steps, samples=cfg.interval_samples, seed=cfg.seed)
    times = series.future_time(steps)
    labels = format_time(times, series.freq)
    forecast = {"time": labels, "targets": list(series.targets), "mean": result["mean"][0],
                "lower": {lv: v[0] for lv, v in result.get("lower", {}).items()},
                "upper": {lv: v[0] for lv, v in result.get("upper", {}).items()}}
    if out is not None:
        write_forecast_csv(Path(out), forecast)
    if plot is not None:
        plot_future(Path(plot), series, times, forecast, f"{cfg.model} ({run_dir.name})")
    return forecast


def write_forecast_csv(path: Path, forecast: dict[str, Any]) -> Path:
    """time, then per target: the forecast and its interval bounds (``T_lower80``, ``T_upper80``, ...)."""
    import csv

    header = ["time"]
    for name in forecast["targets"]:
        header += [name] + [f"{name}_{side}{lv}" for lv in sorted(forecast["lower"]) for side in ("lower", "upper")]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, label in enumerate(forecast["time"]):
            row: list[Any] = [label]
            for j in range(len(forecast["targets"])):
                row.append(f"{forecast['mean'][i, j]:.6g}")
                for lv in sorted(forecast["lower"]):
                    row += [f"{forecast['lower'][lv][i, j]:.6g}", f"{forecast['upper'][lv][i, j]:.6g}"]
            writer.writerow(row)
    tmp.replace(path)
    return path


def plot_future(path: Path, series: Series, times: np.ndarray, forecast: dict[str, Any], label: str) -> Path:
    """The series' last points and the forecast beyond them with its intervals, one panel per target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, c = series.values.shape
    steps = len(times)
    first = max(0, n - 4 * steps)
    past = series.time.astype("datetime64[D]").astype("O")
    future = times.astype("datetime64[D]").astype("O")
    fig, axes = plt.subplots(c, 1, figsize=(9, 3.2 * c), squeeze=False)
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(past[first:], series.values[first:, j], color="black", lw=1.2, label="history")
        for level, alpha in ((95, 0.15), (80, 0.3)):
            if level in forecast["lower"]:
                ax.fill_between(future, forecast["lower"][level][:, j], forecast["upper"][level][:, j], color="C0",
                                alpha=alpha, lw=0, label=f"{level}% interval")
        ax.plot(future, forecast["mean"][:, j], color="C0", lw=1.8, label=label)
        ax.set_title(f"{series.name}: {series.targets[j]}")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
