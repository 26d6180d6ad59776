"""The anomaly task: scores by reconstruction and by forecast residual, the threshold from the clean points, the
injected events scored beside the classical detectors, `archzoo detect`, torchrun, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from archzoo.cli import main
from archzoo.data import load_dataset
from archzoo.engine import TrainConfig
from archzoo.models.series_autoencoder import SeriesAutoencoder, SeriesAutoencoderConfig
from archzoo.tasks.anomaly import AnomalyPlan

QUICK = ["--device", "cpu", "--quiet"]


def write_daily(path: Path, n: int = 600, seed: int = 0) -> Path:
    """A daily CSV (time as ISO dates, one value column) with a weekly pattern and noise."""
    rng = np.random.default_rng(seed)
    days = np.datetime64("2020-01-01") + np.arange(n)
    values = 10 + 3 * np.sin(2 * np.pi * np.arange(n) / 7) + rng.normal(0, 0.3, n)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "value"])
        for d, v in zip(days, values, strict=True):
            w.writerow([str(d), f"{v:.5f}"])
    return path


def test_reconstruction_scores_average_the_windows_that_hold_a_point(tmp_path: Path) -> None:
    path = write_daily(tmp_path / "s.csv", n=120)
    cfg = TrainConfig(model="lstm_autoencoder", data=f"csv:{path}", inject=0, model_overrides={"window": 8})
    plan = AnomalyPlan(load_dataset(cfg.data), cfg)
    model = SeriesAutoencoder(SeriesAutoencoderConfig(window=8)).eval()
    scores = plan.scores(model)
    assert scores.shape == (120,) and not np.isnan(scores).any()
    # by hand for point 20: the windows ending at 20..27 each hold it, at steps 7..0
    x = torch.from_numpy(plan.inputs).float()
    with torch.no_grad():
        errs = [(model(x[e - 7:e + 1][None]) - x[e - 7:e + 1][None]).square().mean(-1)[0, 20 - (e - 7)]
                for e in range(20, 28)]
    assert scores[20] == pytest.approx(float(torch.stack(errs).mean()), rel=1e-5)


def test_an_autoencoder_run_flags_injected_events_and_detect_lists_them(tmp_path: Path, capsys) -> None:
    path = write_daily(tmp_path / "s.csv")
    out = tmp_path / "run"
    assert main(["train", "lstm_autoencoder", "--data", f"csv:{path}", "--out", str(out), "--epochs", "60",
                 "--set", "window=14", *QUICK]) == 0
    summary = json.loads((out / "summary.json").read_text())
    test = summary["metrics"]["test"]
    assert {"precision", "recall", "f1", "event_f1", "pa_f1", "threshold"} <= set(test)
    assert set(summary["baselines"]) == {"rolling_zscore", "stl_zscore", "isolation_forest"}
    assert len(summary["events"]) == 8 and test["events"] == 8
    # well past chance: flags land on the injected events far more often than their share of the points
    share = test["anomalous_points"] / 200  # the precision of flags drawn at random
    assert test["event_recall"] >= 0.75 and test["precision"] > share and test["f1"] > 0.5
    assert (out / "anomalies.png").stat().st_size > 10_000
    # detect on a series with a spike added: the spike is flagged, with its date
    values = np.array([float(r["value"]) for r in csv.DictReader(path.read_text().splitlines())])
    values[300] += 5
    spiked = tmp_path / "spiked.csv"
    with spiked.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "value"])
        for i, v in enumerate(values):
            w.writerow([str(np.datetime64("2020-01-01") + i), f"{v:.5f}"])
    listed = tmp_path / "flags.csv"
    assert main(["detect", str(out), "--data", f"csv:{spiked}", "--out", str(listed), "--plot",
                 str(tmp_path / "d.png"), "--device", "cpu"]) == 0
    rows = list(csv.DictReader(listed.read_text().splitlines()))
    assert str(np.datetime64("2020-01-01") + 300) in {r["time"] for r in rows}
    assert len(rows) < 40 and (tmp_path / "d.png").is_file()
    # a series of other columns than the run's
    two = tmp_path / "two.csv"
    two.write_text("date,a,b\n" + "".join(f"{np.datetime64('2020-01-01') + i},{v:.3f},{v:.3f}\n"
                                          for i, v in enumerate(values)))
    assert main(["detect", str(out), "--data", f"csv:{two}", "--device", "cpu"]) == 2
    assert "has 2 columns to score; the run's model reads 1" in capsys.readouterr().err


@pytest.mark.slow
def test_forecast_residuals_find_events_in_the_sunspots(tmp_path: Path, series_data_root: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", "lstm_forecaster", "--data", "sunspots-monthly", "--data-root", str(series_data_root),
                 "--out", str(out), "--set", "objective=anomaly", "--set", "likelihood=gaussian", "--set", "window=24",
                 "--epochs", "5", *QUICK]) == 0
    summary = json.loads((out / "summary.json").read_text())
    test = summary["metrics"]["test"]
    assert summary["task"] == "anomaly"
    assert test["event_recall"] >= 0.5 and test["precision"] > 3 * test["anomalous_points"] / 1059


def test_bad_input_is_one_clear_line(tmp_path: Path, capsys) -> None:
    short = write_daily(tmp_path / "short.csv", n=60)
    assert main(["train", "lstm_autoencoder", "--data", f"csv:{short}", "--set", "window=8", *QUICK]) == 2
    assert "cannot inject 8 events" in capsys.readouterr().err
    assert main(["train", "lstm_autoencoder", "--data", f"csv:{short}", "--set", "threshold=median", *QUICK]) == 2
    assert "threshold must be quantile or sigma" in capsys.readouterr().err
    assert main(["train", "lenet5", "--data", "xor", "--set", "objective=anomaly", *QUICK]) == 2
    assert "anomaly detection needs a time series" in capsys.readouterr().err
    assert main(["train", "lstm_forecaster", "--data", f"csv:{short}", "--set", "objective=outliers", *QUICK]) == 2
    assert "objective must be" in capsys.readouterr().err
    assert main(["train", "lstm_autoencoder", "--data", f"csv:{short}", "--set", "calendar=True", *QUICK]) == 2
    assert "calendar is a forecasting setting" in capsys.readouterr().err


def test_detect_applies_to_anomaly_runs_only(tmp_path: Path, capsys) -> None:
    out = tmp_path / "xor"
    assert main(["train", "mlp", "--data", "xor", "--epochs", "1", "--out", str(out), *QUICK]) == 0
    assert main(["detect", str(out)]) == 2
    assert "applies to anomaly runs" in capsys.readouterr().err


@pytest.mark.slow
def test_an_anomaly_run_trains_under_torchrun(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = write_daily(tmp_path / "s.csv")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "--module", "archzoo.cli", "train", "lstm_autoencoder", "--data", f"csv:{path}",
                          "--epochs", "2", "--batch-size", "32", "--out", str(tmp_path / "r"), *QUICK],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert "event_f1" in summary["metrics"]["test"] and "stl_zscore" in summary["baselines"]
