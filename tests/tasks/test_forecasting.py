"""The forecasting task: chronological blocks, windows, losses, the final forecasts beside the baselines, the
`forecast` command, torchrun, bad input."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from archzoo.cli import main
from archzoo.data import load_dataset
from archzoo.engine import TrainConfig, train
from archzoo.engine.config import ConfigError
from archzoo.tasks.forecasting import SeriesPlan, gaussian_nll, pinball

FAST = ["--set", "baselines=naive,seasonal_naive", "--set", "interval_samples=50", "--device", "cpu", "--quiet"]


def write_series(path: Path, values: np.ndarray, *, start_year: int = 2000) -> Path:
    """A monthly CSV (year, month, value) of ``values``."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["year", "month", "value"])
        for i, v in enumerate(values):
            w.writerow([start_year + i // 12, i % 12 + 1, f"{v:.6f}"])
    return path


def seasonal(n: int = 120, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    return 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(seed).normal(0, 1, n)


def test_losses_match_their_definitions() -> None:
    y = torch.randn(3, 4, 2)
    mean, std = torch.randn(3, 4, 2), torch.rand(3, 4, 2) + 0.5
    expected = -torch.distributions.Normal(mean, std).log_prob(y).mean() - 0.5 * math.log(2 * math.pi)
    torch.testing.assert_close(gaussian_nll(torch.stack([mean, std], -1), y), expected)
    q = (0.1, 0.5, 0.9)
    out = torch.randn(3, 4, 2, 3)
    by_hand = torch.stack([torch.where(y >= out[..., k], qk * (y - out[..., k]), (1 - qk) * (out[..., k] - y))
                           for k, qk in enumerate(q)], -1).mean()
    torch.testing.assert_close(pinball(out, y, q), by_hand)


def test_blocks_are_chronological_and_windows_stay_inside_them(tmp_path: Path) -> None:
    path = write_series(tmp_path / "s.csv", seasonal(120))
    cfg = TrainConfig(model="mlp_forecaster", data=f"csv:{path}", test_size=24, horizon=6,
                      model_overrides={"window": 12})
    plan = SeriesPlan(load_dataset(cfg.data), cfg)
    assert (plan.train_end, plan.test_start) == (120 - 24 - 6, 96)
    train, val = plan.windows(0, plan.train_end), plan.windows(plan.train_end, plan.test_start)
    assert train.x.shape == (90 - 12 - 6 + 1, 12, 1) and train.y.shape == (73, 6, 1)
    assert len(val) == 1  # one window's horizon fits the 6-point validation block
    # the scaler saw the training part only: its values are standardised, later ones are not
    z = plan.inputs[:plan.train_end, 0]
    assert abs(z.mean()) < 1e-9 and z.std() == pytest.approx(1, abs=1e-9)
    # the last training window's target ends exactly where the training part does
    torch.testing.assert_close(train.y[-1, -1, 0], torch.tensor(plan.inputs[plan.train_end - 1, 0]).float())


def test_a_short_series_or_a_long_window_is_a_clear_error(tmp_path: Path) -> None:
    path = write_series(tmp_path / "s.csv", seasonal(40))
    cfg = TrainConfig(model="lstm_forecaster", data=f"csv:{path}", test_size=12, horizon=6,
                      model_overrides={"window": 36})
    with pytest.raises(ConfigError, match="has 40 points, too few.*need at least 60"):
        SeriesPlan(load_dataset(cfg.data), cfg)
    cfg = TrainConfig(model="lstm_forecaster", data=f"csv:{path}", test_size=12, horizon=6, val_size=3)
    with pytest.raises(ConfigError, match="shorter than the horizon"):
        SeriesPlan(load_dataset(cfg.data), cfg)
    cfg = TrainConfig(model="lstm_forecaster", data=f"csv:{path}", test_size=40)
    with pytest.raises(ConfigError, match="test_size"):
        SeriesPlan(load_dataset(cfg.data), cfg)


@pytest.mark.slow
def test_a_forecaster_beats_the_naive_forecast_and_reports_the_baselines(tmp_path: Path,
                                                                        series_data_root: Path) -> None:
    out = tmp_path / "run"
    code = main(["train", "mlp_forecaster", "--data", "airpassengers", "--data-root", str(series_data_root), "--out",
                 str(out), "--set", "likelihood=gaussian", *FAST])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    test, backtest = summary["metrics"]["test"], summary["metrics"]["backtest"]
    for metrics in (test, backtest):
        assert {"mae", "rmse", "mape", "smape", "mase", "coverage80", "coverage95"} <= set(metrics)
    assert set(summary["baselines"]) == {"naive", "seasonal_naive"} == set(summary["baselines_backtest"])
    # learnt, not guessed: well below the naive forecast's error over the 36 held-out months
    assert test["mape"] < 0.6 * summary["baselines"]["naive"]["mape"], (test, summary["baselines"])
    assert backtest["origins"] >= 3
    assert 0.5 <= test["coverage95"] <= 1
    assert (out / "forecast.png").stat().st_size > 10_000
    # the forecast beyond the series: 6 months from 1961-01, with its intervals, as CSV
    csv_path = tmp_path / "f.csv"
    assert main(["forecast", str(out), "--out", str(csv_path), "--plot", str(tmp_path / "f.png"), "--data-root",
                 str(series_data_root), "--device", "cpu"]) == 0
    rows = list(csv.DictReader(csv_path.read_text().splitlines()))
    assert [r["time"] for r in rows[:2]] == ["1961-01", "1961-02"] and len(rows) == 6  # the recipe's horizon
    for r in rows:
        assert float(r["value_lower95"]) <= float(r["value_lower80"]) <= float(r["value"]) <= float(r["value_upper80"])
    assert (tmp_path / "f.png").is_file()


def test_point_and_quantile_forecasts_and_a_longer_forecast_than_the_horizon(tmp_path: Path, capsys) -> None:
    path = write_series(tmp_path / "s.csv", seasonal(120))
    for likelihood in ("point", "quantile"):
        out = tmp_path / likelihood
        cfg = TrainConfig(model="gru_forecaster", data=f"csv:{path}", out=str(out), epochs=2, test_size=24,
                          horizon=6, device="cpu", baselines="naive", interval_samples=20,
                          model_overrides={"window": 12, "hidden": 16, "likelihood": likelihood})
        summary = train(cfg, progress=False)
        test = summary["metrics"]["test"]
        assert np.isfinite(test["mae"]) and summary["metrics"]["backtest"]["origins"] == 4
        assert ("coverage95" in test) == (likelihood == "quantile")
        forecast = main(["forecast", str(out), "--horizon", "20", "--device", "cpu", "--out", str(tmp_path / "x.csv")])
        assert forecast == 0 and len((tmp_path / "x.csv").read_text().splitlines()) - 1 == 20
    assert main(["forecast", str(out), "--horizon", "0", "--device", "cpu"]) == 2
    assert "--horizon must be at least 1" in capsys.readouterr().err


def test_calendar_channels_follow_the_forecast_past_the_series_end(tmp_path: Path) -> None:
    path = write_series(tmp_path / "s.csv", seasonal(120))  # 2000-01 .. 2009-12
    out = tmp_path / "run"
    cfg = TrainConfig(model="mlp_forecaster", data=f"csv:{path}", out=str(out), epochs=1, test_size=24, horizon=6,
                      device="cpu", baselines="none", calendar=True, model_overrides={"window": 12})
    assert train(cfg, progress=False)["completed"]
    config = json.loads((out / "config.json").read_text())
    assert config["model_config"]["in_features"] == 3  # the value, then the month's sine and cosine
    plan = SeriesPlan(load_dataset(cfg.data), cfg, out)
    angle = 2 * np.pi * (np.arange(120) % 12) / 12
    np.testing.assert_allclose(plan.inputs[:, 1:], np.stack([np.sin(angle), np.cos(angle)], 1), atol=1e-12)
    from archzoo.analysis.latent import load_run

    model = load_run(out, "forecast", ("forecasting",), checkpoint="best", device="cpu").model
    seen: list[torch.Tensor] = []
    model.register_forward_hook(lambda module, args, output: seen.append(args[0].clone()))
    result = plan.forecast(model, [120], 15)  # 3 rolls of 6 past 2009-12: 2010-01 .. 2011-03
    assert result["mean"].shape == (1, 15, 1) and len(seen) == 3
    for roll, x in enumerate(seen[1:], start=1):  # each window ends with the months just forecast
        months = (np.arange(roll * 6 - 12, roll * 6) + 120) % 12
        a = 2 * np.pi * months / 12
        np.testing.assert_allclose(x[0, :, 1:].numpy(), np.stack([np.sin(a), np.cos(a)], 1), atol=1e-6)
    assert main(["forecast", str(out), "--horizon", "15", "--device", "cpu", "--out", str(tmp_path / "f.csv")]) == 0
    yearly = tmp_path / "y.csv"
    yearly.write_text("year,value\n" + "".join(f"{1900 + i},{v:.3f}\n" for i, v in enumerate(seasonal(60))))
    with pytest.raises(ConfigError, match="calendar=True adds the season's phase.*yearly"):
        SeriesPlan(load_dataset(f"csv:{yearly}"), TrainConfig(model="mlp_forecaster", data=f"csv:{yearly}",
                                                              calendar=True, model_overrides={"window": 4}))


def test_log_transform_of_a_series_with_zeros_and_other_bad_input(tmp_path: Path, capsys) -> None:
    values = seasonal(120)
    values[5] = 0
    path = write_series(tmp_path / "s.csv", values)
    assert main(["train", "lstm_forecaster", "--data", f"csv:{path}", "--set", "transform=log", *FAST]) == 2
    assert "log" in capsys.readouterr().err
    assert main(["train", "lstm_forecaster", "--data", f"csv:{path}", "--set", "transform=cube", *FAST]) == 2
    assert "transform" in capsys.readouterr().err
    assert main(["train", "lstm_forecaster", "--data", f"csv:{path}", "--set", "horizon=-1", *FAST]) == 2
    assert "horizon" in capsys.readouterr().err
    assert main(["train", "lstm_forecaster", "--data", f"csv:{path}", "--set", "baselines=naive,prophet",
                 *FAST[2:]]) == 2
    assert "unknown baseline 'prophet'" in capsys.readouterr().err
    assert main(["train", "lenet5", "--data", f"csv:{path}", *FAST]) == 2
    assert "time series for forecasters" in capsys.readouterr().err


def test_a_gap_is_an_error_until_fill_interpolates_it(tmp_path: Path, capsys) -> None:
    path = write_series(tmp_path / "s.csv", seasonal(120))
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:50] + lines[51:]) + "\n")  # one month missing
    assert main(["train", "mlp_forecaster", "--data", f"csv:{path}", "--out", str(tmp_path / "a"), *FAST]) == 2
    assert "--set fill=linear" in capsys.readouterr().err
    assert main(["train", "mlp_forecaster", "--data", f"csv:{path}", "--out", str(tmp_path / "b"), "--epochs", "1",
                 "--set", "fill=linear", *FAST]) == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["dataset"]["points"] == 120


def test_a_forecaster_refuses_images(tmp_path: Path, capsys) -> None:
    assert main(["train", "lstm_forecaster", "--data", "xor", "--out", str(tmp_path / "r"), *FAST]) == 2
    assert "a forecaster needs a time series" in capsys.readouterr().err


def test_forecast_applies_to_forecasting_runs_only(tmp_path: Path, capsys) -> None:
    out = tmp_path / "xor"
    assert main(["train", "mlp", "--data", "xor", "--epochs", "1", "--out", str(out), "--quiet", "--device",
                 "cpu"]) == 0
    assert main(["forecast", str(out)]) == 2
    assert "applies to forecasting runs" in capsys.readouterr().err


@pytest.mark.slow
def test_a_forecaster_trains_under_torchrun(tmp_path: Path, series_data_root: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "--module", "archzoo.cli", "train", "lstm_forecaster", "--data", "sunspots-yearly",
                          "--data-root", str(series_data_root), "--epochs", "2", "--batch-size", "32",
                          "--out", str(tmp_path / "r"), *FAST], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert np.isfinite(summary["metrics"]["test"]["mae"]) and "naive" in summary["baselines"]
