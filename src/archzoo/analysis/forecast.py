"""Classical forecasting baselines and forecast metrics: what a forecasting model is measured against.

The baselines are the methods a user would reach for instead of a neural forecaster (Hyndman &
Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., https://otexts.com/fpp3/ — "fpp3"):

- ``naive``, ``seasonal_naive`` and ``drift`` (fpp3 §5.2), written out here because each is one line of
  arithmetic; their prediction intervals are the normal ones of fpp3 §5.5.
- ``ets``, ``arima``, ``theta`` and ``ar9`` are fitted by statsmodels, which owns them; archzoo only chooses
  among configurations the way a careful user would (information criteria on the training data alone).

Every baseline is ``fn(history, horizon, season) -> Forecast`` for one series in its original scale, and
:data:`BASELINES` maps names to them. :func:`run_baselines` fits them on a split (one forecast over the whole
test span, and optionally a rolling-origin backtest) and scores them with :func:`forecast_metrics`, so that a
model and its baselines are measured the same way side by side.

statsmodels is imported only inside the baselines that use it; this module never imports torch.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from statistics import NormalDist
from typing import Any

import numpy as np

LEVELS = (80, 95)  # the prediction-interval levels (percent) every baseline reports when it has intervals
STATSMODELS_MISSING = "the classical baselines need statsmodels: pip install 'archzoo[forecasting]'"
SEASONAL_STRENGTH_FOR_D = 0.64  # seasonal differencing when STL's seasonal strength exceeds this (fpp3 §9.1)


@dataclass
class Forecast:
    """A point forecast over ``H`` steps and its prediction intervals.

    ``lower[level]`` and ``upper[level]`` are the bounds of the central ``level``% interval, shape (H,) like
    ``mean``; both are empty for a method without intervals. ``info`` says what was fitted (the ARIMA orders
    chosen and their AIC, the ETS configuration, ...)."""

    mean: np.ndarray
    lower: dict[int, np.ndarray] = field(default_factory=dict)
    upper: dict[int, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- helpers


def _statsmodels(module: str) -> Any:
    """``statsmodels.<module>``, or a ModuleNotFoundError that says how to install it."""
    try:
        return import_module(f"statsmodels.{module}")
    except ModuleNotFoundError as err:
        if err.name is not None and err.name.split(".")[0] == "statsmodels":
            raise ModuleNotFoundError(STATSMODELS_MISSING, name="statsmodels") from err
        raise


def _series(history: np.ndarray, name: str, minimum: int, why: str = "") -> np.ndarray:
    y = np.asarray(history, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"{name} forecasts one series: expected history of shape (T,), got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{name}: the history holds NaN or infinite values")
    if y.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} values{why}, got {y.size}")
    return y


def _check_horizon(horizon: int) -> None:
    if int(horizon) != horizon or horizon < 1:
        raise ValueError(f"the horizon must be a positive integer, got {horizon!r}")


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _normal_forecast(mean: np.ndarray, sd: np.ndarray, info: dict[str, Any]) -> Forecast:
    """Intervals mean ± z·sd, z the standard normal quantile of each level (fpp3 §5.5)."""
    lower, upper = {}, {}
    for level in LEVELS:
        z = NormalDist().inv_cdf(0.5 + level / 200)
        lower[level], upper[level] = mean - z * sd, mean + z * sd
    return Forecast(mean, lower, upper, info)


def _quiet_fit(fit: Callable[[], Any]) -> Any:
    """``fit()`` with statsmodels' warnings (convergence, starting values, ...) silenced; the callers judge the
    result themselves. The tests run with warnings as errors, so nothing here may leak one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def _converged(result: Any) -> bool:
    retvals = getattr(result, "mle_retvals", None) or {}
    return bool(retvals.get("converged", True))


# ------------------------------------------------------------------------------------- simple baselines


def naive(history: np.ndarray, horizon: int, season: int = 1) -> Forecast:
    """The last value, for every step. sd_h = σ√h, σ the root mean square of the one-step naive errors
    y_t − y_{t−1} (the random walk has no parameter to estimate)."""
    _check_horizon(horizon)
    y = _series(history, "naive", 2)
    sigma = _rms(np.diff(y))
    steps = np.arange(1, horizon + 1)
    return _normal_forecast(np.full(horizon, y[-1]), sigma * np.sqrt(steps), {"sigma": sigma})


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> Forecast:
    """The value one season back: ŷ_{T+h} = y_{T+h−m(k+1)}, k = ⌊(h−1)/m⌋ the full seasons ahead. sd_h = σ√(k+1),
    σ the root mean square of the seasonal-naive errors y_t − y_{t−m}. With m = 1 this is :func:`naive`."""
    _check_horizon(horizon)
    m = max(int(season), 1)
    y = _series(history, "seasonal_naive", m + 1, f" (more than one season of {m})")
    sigma = _rms(y[m:] - y[:-m])
    steps = np.arange(1, horizon + 1)
    k = (steps - 1) // m
    mean = y[y.size - m + (steps - 1) % m]
    return _normal_forecast(mean, sigma * np.sqrt(k + 1), {"sigma": sigma, "season": m})


def drift(history: np.ndarray, horizon: int, season: int = 1) -> Forecast:
    """The last value plus h times the mean slope b = (y_T − y_1)/(T − 1). sd_h = σ√(h(1 + h/(T−1))): the
    random walk's hσ² plus h² times the variance σ²/(T−1) of b, estimated from the T − 1 differences (fpp3 §5.5
    writes T for T − 1); σ² = Σ(y_t − y_{t−1} − b)²/(T − 2)."""
    _check_horizon(horizon)
    y = _series(history, "drift", 3)
    n_diff = y.size - 1
    slope = (y[-1] - y[0]) / n_diff
    sigma = float(np.sqrt(np.sum(np.square(np.diff(y) - slope)) / (n_diff - 1)))
    steps = np.arange(1, horizon + 1)
    sd = sigma * np.sqrt(steps * (1 + steps / n_diff))
    return _normal_forecast(y[-1] + steps * slope, sd, {"slope": float(slope), "sigma": sigma})


# --------------------------------------------------------------------------------- statsmodels baselines


def ets(history: np.ndarray, horizon: int, season: int) -> Forecast:
    """Exponential smoothing (ETS, statsmodels' ETSModel) chosen by AICc among: error add/mul, trend none/add/
    damped add, seasonal none/add/mul. Multiplicative components only for a positive series; seasonal ones only
    when m > 1 and the history holds two seasons; ETS(A,N,M), ETS(A,A,M) and ETS(A,Ad,M) are left out as fpp3
    §8.6 advises (numerically unstable). Configurations that fail or do not converge are skipped."""
    _check_horizon(horizon)
    ets_module = _statsmodels("tsa.exponential_smoothing.ets")
    pandas = import_module("pandas")  # a dependency of statsmodels
    y = _series(history, "ets", 4)
    m = max(int(season), 1)
    positive = bool(np.all(y > 0))
    seasonals: list[str | None] = [None]
    if m > 1 and y.size >= 2 * m:
        seasonals += ["add", "mul"] if positive else ["add"]
    best, fitted = None, 0
    for error, (trend, damped), seasonal in itertools.product(
            ["add", "mul"] if positive else ["add"], [(None, False), ("add", False), ("add", True)], seasonals):
        if error == "add" and seasonal == "mul":
            continue
        # a pandas series, not the array: statsmodels' ETS prediction reads an index off the fitted data
        model = ets_module.ETSModel(pandas.Series(y), error=error, trend=trend, damped_trend=damped, seasonal=seasonal,
                                    seasonal_periods=m if seasonal else None)
        try:
            result = _quiet_fit(lambda model=model: model.fit(disp=False))
        except Exception:  # a configuration statsmodels cannot fit on this series is skipped, whatever the cause
            continue
        if not _converged(result) or not np.isfinite(result.aicc):
            continue
        fitted += 1
        if best is None or result.aicc < best[0].aicc:
            best = (result, (error, trend, damped, seasonal))
    if best is None:
        raise ValueError(f"ets: no configuration could be fitted to the {y.size} values")
    result, (error, trend, damped, seasonal) = best
    code = "ETS({},{},{})".format(error[0].upper(), "N" if trend is None else "Ad" if damped else "A",
                                  "N" if seasonal is None else seasonal[0].upper())
    # multiplicative models' intervals are simulated: a fixed seed makes the forecast reproducible
    prediction = _quiet_fit(lambda: result.get_prediction(start=y.size, end=y.size + horizon - 1,
                                                          rng=np.random.default_rng(0)))
    lower, upper = {}, {}
    for level in LEVELS:
        frame = prediction.summary_frame(alpha=1 - level / 100)
        lower[level], upper[level] = frame["pi_lower"].to_numpy(float), frame["pi_upper"].to_numpy(float)
    mean = np.asarray(_quiet_fit(lambda: result.forecast(horizon)), dtype=np.float64)
    info = {"model": code, "error": error, "trend": trend, "damped": damped, "seasonal": seasonal,
            "season": m if seasonal else None, "aicc": float(result.aicc), "candidates": fitted}
    return Forecast(mean, lower, upper, info)


def _seasonal_strength(y: np.ndarray, m: int) -> float:
    """STL's seasonal strength max(0, 1 − Var(R)/Var(S + R)) (fpp3 §4.3)."""
    stl = _statsmodels("tsa.seasonal").STL
    parts = _quiet_fit(lambda: stl(y, period=m).fit())
    remainder, seasonal = np.asarray(parts.resid), np.asarray(parts.seasonal)
    total = np.var(seasonal + remainder)
    return 0.0 if total == 0 else float(max(0.0, 1 - np.var(remainder) / total))


def _kpss_pvalue(z: np.ndarray) -> float:
    """The KPSS level-stationarity test's p-value (statsmodels reads it from a table clipped to [0.01, 0.1])."""
    if np.ptp(z) == 0:
        return 1.0
    kpss = _statsmodels("tsa.stattools").kpss
    return float(_quiet_fit(lambda: kpss(z, regression="c", nlags="auto"))[1])


ARIMA_MAX = (2, 2, 1, 1)  # the largest p, q, P, Q searched


def _arima_candidates(key: tuple[int, int, int, int, bool], seasonal: bool, constant_allowed: bool
                      ) -> list[tuple[int, int, int, int, bool]]:
    """The stepwise neighbours of (p, q, P, Q, constant): p, q, P or Q one up or down, p and q together, P and Q
    together, the constant in or out (Hyndman & Khandakar 2008, step 2), within the searched bounds."""
    p, q, P, Q, c = key
    moves = [(1, 0, 0, 0), (-1, 0, 0, 0), (0, 1, 0, 0), (0, -1, 0, 0), (1, 1, 0, 0), (-1, -1, 0, 0)]
    if seasonal:
        moves += [(0, 0, 1, 0), (0, 0, -1, 0), (0, 0, 0, 1), (0, 0, 0, -1), (0, 0, 1, 1), (0, 0, -1, -1)]
    out = []
    for move in moves:
        orders = tuple(a + b for a, b in zip((p, q, P, Q), move, strict=True))
        if all(0 <= v <= top for v, top in zip(orders, ARIMA_MAX, strict=True)):
            out.append((*orders, c))
    if constant_allowed:
        out.append((p, q, P, Q, not c))
    return out


def arima(history: np.ndarray, horizon: int, season: int, *, stepwise: bool = True) -> Forecast:
    """Seasonal ARIMA(p,d,q)(P,D,Q)_m (statsmodels' SARIMAX) chosen by AIC, the way auto.arima chooses it
    (Hyndman & Khandakar 2008, https://doi.org/10.18637/jss.v027.i03).

    The differencing is chosen first: D = 1 when m > 1 and STL's seasonal strength exceeds 0.64, then d = 1 when
    the KPSS test rejects level stationarity at 5% on the (seasonally differenced) series. AIC does not choose
    them because a differenced model's likelihood covers fewer observations, so AICs across differencing orders
    are not comparable. Then p, q in 0..2 and P, Q in 0..1 (seasonal terms when m > 1 and the history holds two
    seasons), with and without a constant when d + D ≤ 1 (a mean, or a drift once differenced), are searched by
    AIC: stepwise from four starting models, moving to the best neighbour while the AIC falls (``stepwise=False``:
    every combination). Fits that fail or do not converge are skipped."""
    _check_horizon(horizon)
    sarimax = _statsmodels("tsa.statespace.sarimax").SARIMAX
    y = _series(history, "arima", 4)
    m = max(int(season), 1)
    seasonal = m > 1 and y.size >= 2 * m
    strength = _seasonal_strength(y, m) if seasonal else None
    D = int(strength is not None and strength > SEASONAL_STRENGTH_FOR_D)
    z = y[m:] - y[:-m] if D else y
    kpss_p = _kpss_pvalue(z) if z.size >= 3 else 1.0
    d = int(kpss_p < 0.05)
    constant_allowed = d + D <= 1
    fits: dict[tuple[int, int, int, int, bool], Any] = {}  # (p, q, P, Q, constant) -> result, None when it failed

    def fit(key: tuple[int, int, int, int, bool]) -> Any:
        if key not in fits:
            p, q, P, Q, c = key
            model = sarimax(y, order=(p, d, q), seasonal_order=(P, D, Q, m) if seasonal else (0, 0, 0, 0),
                            trend="c" if c else "n")
            try:
                result = _quiet_fit(lambda: model.fit(disp=False))
            except Exception:  # an order statsmodels cannot fit on this series is skipped, whatever the cause
                result = None
            fits[key] = result if result is not None and _converged(result) and np.isfinite(result.aic) else None
        return fits[key]

    def aic(key: tuple[int, int, int, int, bool]) -> float:
        result = fit(key)
        return math.inf if result is None else float(result.aic)

    s = int(seasonal)
    if stepwise:
        starts = [(2, 2, s, s), (0, 0, 0, 0), (1, 0, s, 0), (0, 1, 0, s)]
        keys = [(*orders, constant_allowed) for orders in starts]
        if constant_allowed:
            keys.append((0, 0, 0, 0, False))
        best = min(keys, key=aic)
        while math.isfinite(aic(best)):
            step = min(_arima_candidates(best, seasonal, constant_allowed), key=aic)
            if aic(step) >= aic(best):
                break
            best = step
    else:
        grid = itertools.product(range(3), range(3), range(s + 1), range(s + 1),
                                 (False, True) if constant_allowed else (False,))
        best = min(grid, key=aic)
    result = fits.get(best)
    if result is None:
        raise ValueError(f"arima: no order could be fitted to the {y.size} values")
    prediction = _quiet_fit(lambda: result.get_forecast(horizon))
    mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
    lower, upper = {}, {}
    for level in LEVELS:
        bounds = np.asarray(prediction.conf_int(alpha=1 - level / 100), dtype=np.float64)  # (H, 2)
        lower[level], upper[level] = bounds[:, 0], bounds[:, 1]
    p, q, P, Q, c = best
    info = {"order": (p, d, q), "seasonal_order": (P, D, Q, m) if seasonal else (0, 0, 0, 0), "constant": c,
            "aic": float(result.aic), "seasonal_strength": strength, "kpss_pvalue": kpss_p,
            "models_fitted": len(fits), "search": "stepwise" if stepwise else "grid"}
    return Forecast(mean, lower, upper, info)


def theta(history: np.ndarray, horizon: int, season: int) -> Forecast:
    """The Theta method (Assimakopoulos & Nikolopoulos 2000; statsmodels' ThetaModel, θ = 2). With m > 1 and two
    seasons of history the series is deseasonalized with period m when statsmodels' seasonality test (the ACF at
    lag m) finds seasonality: multiplicatively for a positive series, additively otherwise."""
    _check_horizon(horizon)
    theta_module = _statsmodels("tsa.forecasting.theta")
    y = _series(history, "theta", 4)
    m = max(int(season), 1)
    deseasonalize = m > 1 and y.size >= 2 * m
    model = theta_module.ThetaModel(y, period=m if deseasonalize else None, deseasonalize=deseasonalize)
    result = _quiet_fit(lambda: model.fit(disp=False))
    mean = np.asarray(_quiet_fit(lambda: result.forecast(horizon)), dtype=np.float64)
    lower, upper = {}, {}
    for level in LEVELS:
        frame = _quiet_fit(lambda level=level: result.prediction_intervals(horizon, alpha=1 - level / 100))
        lower[level], upper[level] = frame["lower"].to_numpy(float), frame["upper"].to_numpy(float)
    info = {"theta": 2.0, "alpha": float(result.params["alpha"]), "b0": float(result.params["b0"]),
            "period": m if deseasonalize else None, "method": model.method}
    return Forecast(mean, lower, upper, info)


def ar9(history: np.ndarray, horizon: int, season: int = 1) -> Forecast:
    """An AR(9) with a constant fitted by OLS (statsmodels' AutoReg), as Zhang (2003) fits the sunspot series;
    the season is not used."""
    _check_horizon(horizon)
    ar_model = _statsmodels("tsa.ar_model")
    y = _series(history, "ar9", 20, " (twice the 9 lags, and 2)")
    result = _quiet_fit(lambda: ar_model.AutoReg(y, lags=9, trend="c").fit())
    prediction = _quiet_fit(lambda: result.get_prediction(start=y.size, end=y.size + horizon - 1))
    mean = np.asarray(prediction.predicted_mean, dtype=np.float64)
    lower, upper = {}, {}
    for level in LEVELS:
        bounds = np.asarray(prediction.conf_int(alpha=1 - level / 100), dtype=np.float64)  # (H, 2)
        lower[level], upper[level] = bounds[:, 0], bounds[:, 1]
    return Forecast(mean, lower, upper, {"lags": 9, "sigma2": float(result.sigma2)})


BASELINES: dict[str, Callable[[np.ndarray, int, int], Forecast]] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
    "ets": ets,
    "arima": arima,
    "theta": theta,
    "ar9": ar9,
}
DEFAULT_BASELINES = ("naive", "seasonal_naive", "drift", "ets", "arima", "theta")


# ------------------------------------------------------------------------------------------------ metrics


def _columns(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (H,) or (H, C), got {a.shape}")
    return a.reshape(a.shape[0], -1)  # (H, C)


def _mase_scale(train: np.ndarray, season: int) -> float:
    """The in-sample mean absolute error of the seasonal-naive forecast (lag 1 when season is 1 or the series
    holds no more than one season)."""
    lag = season if season > 1 and train.size > season else 1
    if train.size <= lag:
        raise ValueError(f"MASE needs at least {lag + 1} training values, got {train.size}")
    return float(np.mean(np.abs(train[lag:] - train[:-lag])))


def forecast_metrics(truth: np.ndarray, forecast: Forecast | np.ndarray, *, train: np.ndarray, season: int,
                     lower: dict[int, np.ndarray] | None = None,
                     upper: dict[int, np.ndarray] | None = None) -> dict[str, float]:
    """Point and interval accuracy of a forecast.

    ``truth`` and the forecast (an array, or a :class:`Forecast` whose mean and intervals are used) have shape
    (H,) or (H, C); ``train`` is (T,) or (T, C), the history MASE is scaled by; ``lower``/``upper`` map a level
    (percent) to bounds shaped like ``truth`` and override a Forecast's own.

    Returns ``mae``, ``rmse``, ``mape`` (percent), ``smape`` (percent, 200·|y − ŷ|/(|y| + |ŷ|), 0..200; a point
    where both are 0 counts 0), ``mase`` (MAE over the in-sample mean absolute seasonal-naive error of ``train``
    with lag ``season``, lag 1 when season is 1 or ``train`` holds no more than one season), and ``coverage{L}``
    (the fraction of truth points inside the L% interval, bounds included) for each level given. Several columns
    are scored one by one (MASE scaled per column) and averaged. MAPE is NaN for a column whose truth holds a 0,
    and MASE for a column whose training series has no seasonal-naive error; the average is then NaN as well.
    """
    if isinstance(forecast, Forecast):
        lower = forecast.lower if lower is None else lower
        upper = forecast.upper if upper is None else upper
        forecast = forecast.mean
    y, f = _columns(truth, "truth"), _columns(forecast, "the forecast")
    if np.shape(truth) != np.shape(forecast):
        raise ValueError(f"truth and forecast must have the same shape, got {np.shape(truth)} and "
                         f"{np.shape(forecast)}")
    history = _columns(train, "train")
    if history.shape[1] != y.shape[1]:
        raise ValueError(f"train has {history.shape[1]} column(s) but truth has {y.shape[1]}")
    lower, upper = lower or {}, upper or {}
    if set(lower) != set(upper):
        raise ValueError(f"lower and upper must give the same levels, got {sorted(lower)} and {sorted(upper)}")

    error = y - f  # (H, C)
    mape = np.full(y.shape[1], np.nan)
    nonzero = np.all(y != 0, axis=0)
    mape[nonzero] = 100 * np.mean(np.abs(error[:, nonzero] / y[:, nonzero]), axis=0)
    denominator = np.abs(y) + np.abs(f)
    smape_terms = np.zeros_like(error)
    np.divide(200 * np.abs(error), denominator, out=smape_terms, where=denominator > 0)
    scales = np.array([_mase_scale(history[:, c], int(season)) for c in range(y.shape[1])])
    mae = np.mean(np.abs(error), axis=0)
    mase = np.full(y.shape[1], np.nan)
    mase[scales > 0] = mae[scales > 0] / scales[scales > 0]
    metrics = {
        "mae": float(np.mean(mae)),
        "rmse": float(np.mean(np.sqrt(np.mean(np.square(error), axis=0)))),
        "mape": float(np.mean(mape)),
        "smape": float(np.mean(np.mean(smape_terms, axis=0))),
        "mase": float(np.mean(mase)),
    }
    for level in sorted(lower):
        lo, hi = _columns(lower[level], f"lower[{level}]"), _columns(upper[level], f"upper[{level}]")
        if lo.shape != y.shape or hi.shape != y.shape:
            raise ValueError(f"the {level}% bounds must have the truth's shape {np.shape(truth)}, got "
                             f"{np.shape(lower[level])} and {np.shape(upper[level])}")
        inside = (lo <= y) & (y <= hi)
        metrics[f"coverage{level}"] = float(np.mean(np.mean(inside, axis=0)))
    return metrics


# ------------------------------------------------------------------------------------------- evaluation


def backtest_origins(n: int, start: int, horizon: int, stride: int) -> list[int]:
    """Rolling forecast origins ``start, start + stride, ...`` with ``origin + horizon <= n``: each forecast
    is fitted on ``values[:origin]`` and scored on ``values[origin:origin + horizon]``."""
    for name, value, least in (("start", start, 1), ("horizon", horizon, 1), ("stride", stride, 1)):
        if int(value) != value or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return list(range(start, n - horizon + 1, stride))


def _forecast_columns(fn: Callable[[np.ndarray, int, int], Forecast], history: np.ndarray, horizon: int,
                      season: int) -> tuple[np.ndarray, dict[int, np.ndarray], dict[int, np.ndarray], list]:
    """``fn`` on each column of ``history`` (T, C): means (H, C), the bounds of the levels every column has
    (each (H, C)), and each column's info."""
    forecasts = [fn(history[:, c], horizon, season) for c in range(history.shape[1])]
    mean = np.stack([np.asarray(fc.mean, dtype=np.float64) for fc in forecasts], axis=1)  # (H, C)
    levels = set.intersection(*(set(fc.lower) for fc in forecasts))
    lower = {lv: np.stack([fc.lower[lv] for fc in forecasts], axis=1) for lv in sorted(levels)}  # (H, C) each
    upper = {lv: np.stack([fc.upper[lv] for fc in forecasts], axis=1) for lv in sorted(levels)}
    return mean, lower, upper, [fc.info for fc in forecasts]


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def run_baselines(values: np.ndarray, *, train_end: int, horizon: int, season: int, stride: int | None = None,
                  names: Sequence[str] = DEFAULT_BASELINES) -> dict[str, dict[str, Any]]:
    """Fit and score classical baselines on ``values`` (T,) or (T, C), in the original scale; each column of a
    multivariate series is fitted on its own.

    For each name, ``{"test": metrics, "backtest": metrics, "forecast": {...}, "info": ..., "fit_s": seconds}``:

    - ``test``: one forecast from ``values[:train_end]`` over all T − train_end remaining points (not
      ``horizon``), scored by :func:`forecast_metrics` against ``values[train_end:]`` with
      ``train=values[:train_end]``;
    - ``backtest`` (only when ``stride`` is given): forecasts of ``horizon`` steps from every origin of
      :func:`backtest_origins` (``T``, ``train_end``, ``horizon``, ``stride``), each refitted on
      ``values[:origin]``; the metrics pool all forecast points (MASE still scaled by ``values[:train_end]``);
    - ``forecast``: the test forecast's ``mean`` and ``lower``/``upper`` ({level: values}) as lists, (H,) or
      (H, C), for plotting; ``info``: what the test forecast fitted (a list, one per column, when C > 1);
    - ``fit_s``: wall seconds spent fitting, test and backtest together.

    A baseline that fails (a series too short for it, say) gets ``{"error": "<one line>", "fit_s": ...}``
    instead, and the others go on.
    """
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {', '.join(map(repr, unknown))}; valid: {', '.join(BASELINES)}")
    data = np.asarray(values, dtype=np.float64)
    if data.ndim not in (1, 2):
        raise ValueError(f"values must have shape (T,) or (T, C), got {data.shape}")
    table = data.reshape(data.shape[0], -1)  # (T, C)
    n = table.shape[0]
    if int(train_end) != train_end or not 0 < train_end < n:
        raise ValueError(f"train_end must be an integer in 1..{n - 1} (the series has {n} values), got {train_end!r}")
    _check_horizon(horizon)
    origins = backtest_origins(n, train_end, horizon, stride) if stride is not None else None
    if origins == []:
        raise ValueError(f"no backtest origin fits: train_end {train_end} + horizon {horizon} exceeds the "
                         f"{n} values")
    shape = data.shape[1:]  # () or (C,)
    train = data[:train_end]

    def as_given(a: np.ndarray) -> np.ndarray:  # (H, C) back to the caller's layout
        return a.reshape(a.shape[0], *shape)

    results: dict[str, dict[str, Any]] = {}
    for name in names:
        fn, began = BASELINES[name], time.perf_counter()
        try:
            mean, lower, upper, infos = _forecast_columns(fn, table[:train_end], n - train_end, season)
            record: dict[str, Any] = {
                "test": forecast_metrics(data[train_end:], as_given(mean), train=train, season=season,
                                         lower={k: as_given(v) for k, v in lower.items()},
                                         upper={k: as_given(v) for k, v in upper.items()}),
                "forecast": {"mean": as_given(mean).tolist(),
                             "lower": {k: as_given(v).tolist() for k, v in lower.items()},
                             "upper": {k: as_given(v).tolist() for k, v in upper.items()}},
                "info": infos[0] if not shape else infos,
            }
            if origins is not None:
                pieces = [_forecast_columns(fn, table[:o], horizon, season) for o in origins]
                levels = set.intersection(*(set(p[1]) for p in pieces))
                truth = np.concatenate([table[o:o + horizon] for o in origins])  # (len(origins) * horizon, C)
                record["backtest"] = forecast_metrics(
                    as_given(truth), as_given(np.concatenate([p[0] for p in pieces])), train=train, season=season,
                    lower={lv: as_given(np.concatenate([p[1][lv] for p in pieces])) for lv in levels},
                    upper={lv: as_given(np.concatenate([p[2][lv] for p in pieces])) for lv in levels})
        except Exception as err:  # one baseline failing on this series must not stop the comparison
            record = {"error": _one_line(err)}
        record["fit_s"] = time.perf_counter() - began
        results[name] = record
    return results

