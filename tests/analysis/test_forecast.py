"""Classical forecasting baselines and forecast metrics: metrics on hand-computed arrays, rolling origins,
the simple baselines' exact values, the statsmodels fits against published figures on AirPassengers,
failures recorded per baseline, several columns."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archzoo.analysis import forecast as fc
from archzoo.analysis.forecast import Forecast, backtest_origins, forecast_metrics, run_baselines

Z80, Z95 = 1.2815515655446004, 1.959963984540054  # standard normal quantiles 0.9 and 0.975


@pytest.fixture(scope="module")
def air_passengers(series_data_root: Path) -> np.ndarray:
    """The 144 monthly AirPassengers totals, read by archzoo's own loader from the shared data."""
    from archzoo.data import load_dataset

    values = load_dataset("airpassengers", root=series_data_root).values[:, 0]
    assert values.shape == (144,)
    return values


def mape_on_holdout(name: str, values: np.ndarray) -> tuple[float, Forecast]:
    forecast = fc.BASELINES[name](values[:108], 36, 12)
    truth = values[108:]
    return 100 * float(np.mean(np.abs((truth - forecast.mean) / truth))), forecast


# ------------------------------------------------------------------------------------------------ metrics


def test_metrics_match_hand_computed_values() -> None:
    truth, forecast = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])
    train = np.array([1.0, 3.0, 2.0, 4.0])  # one-step errors 2, 1, 2: scale 5/3
    lower, upper = {80: np.array([0.0, 2.5, 3.0])}, {80: np.array([1.5, 3.0, 5.0])}  # the second point outside
    m = forecast_metrics(truth, forecast, train=train, season=1, lower=lower, upper=upper)
    assert m["mae"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert m["mape"] == pytest.approx(100 * (1 / 1 + 0 + 2 / 4) / 3)
    assert m["smape"] == pytest.approx((200 * 1 / 3 + 0 + 200 * 2 / 6) / 3)
    assert m["mase"] == pytest.approx(1.0 / (5 / 3))
    assert m["coverage80"] == pytest.approx(2 / 3)
    assert "coverage95" not in m
    # a Forecast brings its own intervals; bounds count as inside
    f = Forecast(forecast, {95: truth.copy()}, {95: truth + 1})
    assert forecast_metrics(truth, f, train=train, season=1)["coverage95"] == 1.0


def test_mase_scales_by_the_seasonal_naive_error() -> None:
    train = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 9.0])  # lag-2 errors 2, 3, 3, 4: scale 3; lag-1 errors mean 1.6
    truth, forecast = np.array([10.0, 12.0]), np.array([11.0, 11.0])
    assert forecast_metrics(truth, forecast, train=train, season=2)["mase"] == pytest.approx(1 / 3)
    # a season longer than the training series: lag 1
    assert forecast_metrics(truth, forecast, train=train, season=12)["mase"] == pytest.approx(1 / 1.6)


def test_zero_truth_and_zero_scale_give_nan_not_a_division_by_zero() -> None:
    truth, forecast = np.array([0.0, 2.0]), np.array([0.0, 1.0])
    m = forecast_metrics(truth, forecast, train=np.array([1.0, 2.0, 3.0]), season=1)
    assert math.isnan(m["mape"])
    assert m["smape"] == pytest.approx((0 + 200 * 1 / 3) / 2)  # both 0 at the first point: it counts 0
    assert math.isnan(forecast_metrics(truth, forecast, train=np.full(5, 7.0), season=1)["mase"])


def test_metrics_average_columns_and_scale_mase_per_column() -> None:
    truth = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    forecast = np.array([[2.0, 10.0], [2.0, 10.0], [2.0, 40.0]])
    train = np.array([[1.0, 0.0], [3.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
    m = forecast_metrics(truth, forecast, train=train, season=1)
    per_column = [forecast_metrics(truth[:, c], forecast[:, c], train=train[:, c], season=1) for c in range(2)]
    for key in ("mae", "rmse", "mape", "smape", "mase"):
        assert m[key] == pytest.approx((per_column[0][key] + per_column[1][key]) / 2), key
    assert per_column[1]["mase"] == pytest.approx((10 / 3) / 10)


def test_metrics_reject_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"same shape"):
        forecast_metrics(np.zeros(3), np.zeros(4), train=np.ones(5), season=1)
    with pytest.raises(ValueError, match=r"column"):
        forecast_metrics(np.zeros((3, 2)), np.zeros((3, 2)), train=np.ones(5), season=1)


def test_backtest_origins() -> None:
    assert backtest_origins(144, 108, 6, 6) == [108, 114, 120, 126, 132, 138]
    assert backtest_origins(10, 5, 3, 2) == [5, 7]  # 7 + 3 = 10 fits; 9 + 3 does not
    assert backtest_origins(10, 8, 3, 1) == []
    with pytest.raises(ValueError, match="stride"):
        backtest_origins(10, 5, 3, 0)


# -------------------------------------------------------------------------------------- simple baselines


Y = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])


def check_bands(f: Forecast, mean: list[float], sd: np.ndarray) -> None:
    np.testing.assert_allclose(f.mean, mean)
    for level, z in ((80, Z80), (95, Z95)):
        np.testing.assert_allclose(f.lower[level], np.asarray(mean) - z * sd)
        np.testing.assert_allclose(f.upper[level], np.asarray(mean) + z * sd)


def test_naive() -> None:
    sigma = math.sqrt((4 + 1 + 9 + 1 + 4) / 5)  # one-step changes 2, -1, 3, -1, 2
    check_bands(fc.naive(Y, 3, 1), [6.0, 6.0, 6.0], sigma * np.sqrt([1, 2, 3]))


def test_seasonal_naive() -> None:
    sigma = math.sqrt((1 + 4 + 4 + 1) / 4)  # lag-2 changes 1, 2, 2, 1
    check_bands(fc.seasonal_naive(Y, 5, 2), [4.0, 6.0, 4.0, 6.0, 4.0], sigma * np.sqrt([1, 1, 2, 2, 3]))
    one, plain = fc.seasonal_naive(Y, 3, 1), fc.naive(Y, 3, 1)
    np.testing.assert_allclose(one.mean, plain.mean)
    np.testing.assert_allclose(one.upper[95], plain.upper[95])


def test_drift() -> None:
    # slope (6 - 1) / 5 = 1; residuals of the changes about it 1, -2, 2, -2, 1: sigma² = 14 / 4
    sd = math.sqrt(14 / 4) * np.sqrt([h * (1 + h / 5) for h in (1, 2, 3)])
    check_bands(fc.drift(Y, 3, 1), [7.0, 8.0, 9.0], sd)


def test_statsmodels_baselines_give_ordered_intervals() -> None:
    t = np.arange(60)
    y = 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, 60)
    for name in ("theta", "ar9"):
        f = fc.BASELINES[name](y, 8, 12)
        assert f.mean.shape == (8,) and np.all(np.isfinite(f.mean)), name
        assert np.all(f.lower[95] < f.lower[80]) and np.all(f.lower[80] < f.mean), name
        assert np.all(f.mean < f.upper[80]) and np.all(f.upper[80] < f.upper[95]), name


# ------------------------------------------------------------------------------- published figures


def test_arima_on_air_passengers_reaches_the_published_mape(air_passengers: np.ndarray) -> None:
    """Seasonal ARIMA chosen by AIC, no log, last 36 months held out: MAPE 4.14% (to rounding)."""
    mape, f = mape_on_holdout("arima", air_passengers)
    assert mape <= 4.15, (mape, f.info)
    assert f.info["order"][1] == 1 and f.info["seasonal_order"][1::2] == (1, 12)  # d = D = 1, m = 12
    assert np.all(f.lower[95] <= f.lower[80]) and np.all(f.upper[80] <= f.upper[95])


def test_ets_and_theta_on_air_passengers_match_the_published_figures(air_passengers: np.ndarray) -> None:
    """Damped multiplicative Holt-Winters reaches 6.84% and Theta 8.32%; ETS chosen by AICc does at least as well."""
    values = air_passengers
    ets_mape, f = mape_on_holdout("ets", values)
    assert ets_mape <= 6.84, (ets_mape, f.info)
    assert f.info["seasonal"] == "mul"
    theta_mape, _ = mape_on_holdout("theta", values)
    assert theta_mape == pytest.approx(8.32, abs=0.01)


# ------------------------------------------------------------------------------------------ run_baselines


def test_run_baselines_scores_the_test_span_and_rolling_origins() -> None:
    values = np.arange(1.0, 31.0)  # a straight line: drift is exact, naive lags
    r = run_baselines(values, train_end=20, horizon=4, season=1, stride=3, names=("naive", "drift"))
    assert r["drift"]["test"]["mae"] == pytest.approx(0.0, abs=1e-12)
    assert len(r["drift"]["forecast"]["mean"]) == 10  # the whole test span, not the horizon
    assert set(r["drift"]["forecast"]["lower"]) == {80, 95}
    # origins 20, 23, 26: naive errors 1..4 at each
    assert r["naive"]["backtest"]["mae"] == pytest.approx(2.5)
    assert r["naive"]["backtest"]["mase"] == pytest.approx(2.5)  # the training series changes by 1 a step
    assert r["naive"]["test"]["mae"] == pytest.approx(5.5)
    assert r["naive"]["fit_s"] >= 0 and "sigma" in r["naive"]["info"]
    assert "backtest" not in run_baselines(values, train_end=20, horizon=4, season=1, names=("naive",))["naive"]


def test_a_failing_baseline_is_recorded_and_the_others_go_on() -> None:
    values = np.linspace(10.0, 20.0, 16)
    r = run_baselines(values, train_end=10, horizon=3, season=12, stride=3, names=("seasonal_naive", "naive"))
    error = r["seasonal_naive"]["error"]
    assert error.startswith("ValueError: seasonal_naive needs at least 13 values") and "\n" not in error
    assert "test" not in r["seasonal_naive"]
    assert r["naive"]["test"]["mae"] > 0 and "backtest" in r["naive"]


def test_missing_statsmodels_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels.tsa.forecasting.theta", None)  # import fails as if absent
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'archzoo\[forecasting\]'"):
        fc.theta(np.arange(30.0), 3, 1)
    r = run_baselines(np.arange(1.0, 31.0), train_end=25, horizon=5, season=1, names=("theta", "naive"))
    assert "archzoo[forecasting]" in r["theta"]["error"] and "test" in r["naive"]


def test_multivariate_series_are_fitted_per_column() -> None:
    t = np.arange(40.0)
    values = np.stack([t + 1, 100 - 2 * t + np.sin(t)], axis=1)  # (40, 2)
    names = ("naive", "seasonal_naive", "drift")
    both = run_baselines(values, train_end=30, horizon=5, season=4, stride=5, names=names)
    for name in names:
        assert np.shape(both[name]["forecast"]["mean"]) == (10, 2)
        assert np.shape(both[name]["forecast"]["upper"][95]) == (10, 2)
        single = [run_baselines(values[:, c], train_end=30, horizon=5, season=4, stride=5, names=(name,))[name]
                  for c in range(2)]
        np.testing.assert_allclose(np.array(both[name]["forecast"]["mean"])[:, 1], single[1]["forecast"]["mean"])
        for split in ("test", "backtest"):
            for key, value in both[name][split].items():
                assert value == pytest.approx((single[0][split][key] + single[1][split][key]) / 2), (name, split, key)


def test_run_baselines_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unknown baseline.*'prophet'.*valid: naive"):
        run_baselines(np.arange(20.0), train_end=15, horizon=2, season=1, names=("prophet",))
    with pytest.raises(ValueError, match="train_end"):
        run_baselines(np.arange(20.0), train_end=20, horizon=2, season=1)
    with pytest.raises(ValueError, match="no backtest origin"):
        run_baselines(np.arange(20.0), train_end=18, horizon=4, season=1, stride=1)


def test_the_module_imports_neither_torch_nor_statsmodels() -> None:
    """The baselines load without torch (the module stands alone) and statsmodels waits until a fit needs it."""
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('forecast', {fc.__file__!r})\n"
            "module = importlib.util.module_from_spec(spec); sys.modules['forecast'] = module\n"
            "spec.loader.exec_module(module)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'statsmodels', 'pandas'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.stdout.strip() == "[]"
