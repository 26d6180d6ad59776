"""Anomaly injection, detection metrics, thresholds and the classical detectors: the injector's recipe and
placement, metrics on hand-made flags, point adjustment's inflation, each detector on an obvious spike, failures
recorded per detector."""

from __future__ import annotations

import numpy as np
import pytest

from archzoo.analysis import anomaly as an
from archzoo.analysis.anomaly import (
    DETECTORS,
    GAP,
    KINDS,
    THRESHOLDS,
    choose_threshold,
    detection_metrics,
    inject_anomalies,
    run_detector_baselines,
)

SIZES = {"spike": an.SPIKE_SIZE, "level_shift": an.LEVEL_SHIFT_SIZE, "variance": an.VARIANCE_SIZE}
LENGTHS = {"spike": (1, 1), "level_shift": an.LEVEL_SHIFT_LENGTH, "variance": an.VARIANCE_LENGTH}


def seasonal(n: int = 400, season: int = 12, columns: int = 1, seed: int = 0) -> np.ndarray:
    """A sine of period ``season`` plus Gaussian noise of standard deviation 0.1: (n, columns)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    return np.sin(2 * np.pi * t / season) + 0.1 * rng.standard_normal((n, columns))


# --------------------------------------------------------------------------------------------- injection


def test_injection_is_deterministic_for_a_seed() -> None:
    x = seasonal(columns=3)
    a, b = inject_anomalies(x, start=150, seed=3), inject_anomalies(x, start=150, seed=3)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.events == b.events
    c = inject_anomalies(x, start=150, seed=4)
    assert c.events != a.events
    np.testing.assert_array_equal(x, seasonal(columns=3))  # the input is left alone


@pytest.mark.parametrize("seed", range(5))
def test_events_are_placed_after_start_apart_and_match_the_labels(seed: int) -> None:
    x = seasonal(n=500, columns=2)
    start = 200
    out = inject_anomalies(x, start=start, seed=seed, events=7)
    assert out.values.shape == x.shape and out.labels.shape == (500,)
    assert [e["kind"] for e in out.events].count("spike") == 3  # kinds cycled: 3 spikes, 2 of each other kind
    assert {e["kind"] for e in out.events} == set(KINDS)
    expected = np.zeros(500, dtype=bool)
    changed = np.zeros_like(x, dtype=bool)
    for before, after in zip(out.events, out.events[1:], strict=False):
        assert after["start"] >= before["end"] + GAP
    for e in out.events:
        assert start <= e["start"] < e["end"] <= 500 - GAP
        low, high = LENGTHS[e["kind"]]
        assert low <= e["end"] - e["start"] <= high
        low, high = SIZES[e["kind"]]
        assert low <= abs(e["size"]) / e["scale"] <= high
        expected[e["start"]:e["end"]] = True
        changed[e["start"]:e["end"], e["column"]] = True
    np.testing.assert_array_equal(out.labels, expected)
    np.testing.assert_array_equal(out.values[~changed], x[~changed])  # nothing else moved
    for e in out.events:
        delta = out.values[e["start"]:e["end"], e["column"]] - x[e["start"]:e["end"], e["column"]]
        if e["kind"] != "variance":
            np.testing.assert_allclose(delta, e["size"])


def test_the_scale_is_the_robust_std_of_the_training_differences() -> None:
    x = seasonal(n=300)
    d = np.diff(x[:120, 0])
    expected = 1.4826 * np.median(np.abs(d - np.median(d)))
    out = inject_anomalies(x[:, 0], start=120, seed=1, events=3)
    assert out.values.shape == (300,)  # a 1-D series comes back 1-D
    assert all(e["scale"] == pytest.approx(expected) for e in out.events)
    fixed = inject_anomalies(x, start=0, seed=1, events=3, scale=2.0)
    assert all(e["scale"] == 2.0 for e in fixed.events)


def test_lengths_shrink_to_fit_and_too_many_events_say_how_many_fit() -> None:
    x = seasonal(n=150)
    out = inject_anomalies(x, start=100, seed=0, events=3)  # 50 points: 1 + 10 + 15 and three gaps of 5 fit
    assert len(out.events) == 3 and all(e["start"] >= 100 and e["end"] <= 150 - GAP for e in out.events)
    with pytest.raises(ValueError, match="at most 4 fit"):
        inject_anomalies(x, start=100, seed=0, events=8)
    with pytest.raises(ValueError, match="valid: spike, level_shift, variance"):
        inject_anomalies(x, start=100, kinds=("spike", "dip"))
    with pytest.raises(ValueError, match="start must be"):
        inject_anomalies(x, start=150)


# ------------------------------------------------------------------------------------------------ metrics


def test_point_event_and_point_adjusted_metrics_on_hand_made_flags() -> None:
    labels = np.zeros(20, dtype=bool)
    labels[2:6] = True  # event A, 4 points
    labels[10:12] = True  # event B, 2 points
    flags = np.zeros(20, dtype=bool)
    flags[[3, 15, 16]] = True  # one point of A, and a false segment 15..16
    m = detection_metrics(labels, flags)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(1 / 6)
    assert m["f1"] == pytest.approx(2 * (1 / 3) * (1 / 6) / (1 / 3 + 1 / 6))
    assert m["event_recall"] == 0.5 and m["event_precision"] == 0.5 and m["segment_f1"] == 0.5
    assert m["event_f1"] == pytest.approx(2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))  # point precision with event recall
    # point adjustment: all of A counts as found -> 4 true of 6 flagged, 4 of 6 anomalous
    assert m["pa_precision"] == pytest.approx(4 / 6) and m["pa_recall"] == pytest.approx(4 / 6)
    assert m["pa_f1"] == pytest.approx(4 / 6)
    assert (m["flagged"], m["anomalous_points"], m["events"], m["flagged_segments"]) == (3, 6, 2, 2)
    # events given explicitly: two adjacent events that one run of labels would merge
    split = detection_metrics(labels, flags, events=[{"start": 2, "end": 4}, {"start": 4, "end": 6},
                                                     {"start": 10, "end": 12}])
    assert split["events"] == 3 and split["event_recall"] == pytest.approx(1 / 3)
    assert split["pa_recall"] == pytest.approx(2 / 6)


def test_zero_divisions_give_zero_and_bad_inputs_raise() -> None:
    nothing = detection_metrics(np.zeros(5, bool), np.zeros(5, bool))
    assert all(nothing[key] == 0.0 for key in ("precision", "recall", "f1", "event_f1", "pa_f1"))
    with pytest.raises(ValueError, match="shape"):
        detection_metrics(np.zeros(5, bool), np.zeros(4, bool))
    with pytest.raises(ValueError, match="outside"):
        detection_metrics(np.zeros(5, bool), np.zeros(5, bool), events=[{"start": 3, "end": 9}])


def test_point_adjustment_inflates_a_random_detector() -> None:
    rng = np.random.default_rng(0)
    labels = np.zeros(5000, dtype=bool)
    for s in range(200, 5000, 500):
        labels[s:s + 100] = True  # ten long events, 20% of the points
    flags = rng.random(5000) < 0.05
    m = detection_metrics(labels, flags)
    assert m["f1"] < 0.15  # about what flagging at random earns point-wise
    assert m["pa_f1"] > 0.6 and m["pa_f1"] > 4 * m["f1"]  # every event gets hit, so every event counts whole


# --------------------------------------------------------------------------------------------- thresholds


def test_thresholds_quantile_and_sigma_ignore_nans() -> None:
    scores = np.array([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0, np.inf])
    assert choose_threshold(scores, "quantile", q=0.5) == 3.0
    assert choose_threshold(scores, q=1.0) == 5.0
    finite = np.arange(1.0, 6.0)
    assert choose_threshold(scores, "sigma", k=2.0) == pytest.approx(finite.mean() + 2 * finite.std())
    with pytest.raises(ValueError, match="valid: quantile, sigma"):
        choose_threshold(scores, "mad")
    with pytest.raises(ValueError, match="no finite"):
        choose_threshold(np.full(3, np.nan))
    assert THRESHOLDS == ("quantile", "sigma")


# ---------------------------------------------------------------------------------------------- detectors


@pytest.mark.parametrize("name", list(DETECTORS))
@pytest.mark.parametrize("columns", [1, 2])
def test_each_detector_flags_an_obvious_spike_and_little_else(name: str, columns: int) -> None:
    x = seasonal(n=600, columns=columns)
    # 30 noise standard deviations, in the last column; the isolation forest's splits rarely fall on the one
    # coordinate of 24 (two columns of 12) that moved, so for it the spike hits every column
    x[500, slice(None) if name == "isolation_forest" else columns - 1] += 3.0
    scores = DETECTORS[name](x, train_end=400, season=12)
    assert scores.shape == (600,)
    assert np.nanargmax(scores[400:]) + 400 == 500
    flags = np.nan_to_num(scores[400:], nan=-np.inf) > choose_threshold(scores[:400])
    flagged = np.flatnonzero(flags) + 400
    assert 500 in flagged
    assert np.sum(np.abs(flagged - 500) > 12) <= 5  # beyond a window around the spike, the 1% a threshold lets by


def test_stl_zscore_without_a_season_uses_a_rolling_median() -> None:
    x = seasonal(n=200, season=12)[:, 0]
    x[150] += 3.0
    scores = an.stl_zscore(x, train_end=100, season=1)
    assert np.argmax(scores) == 150 and scores[150] > 10


def test_run_detector_baselines_scores_every_detector_on_the_test_part() -> None:
    x = seasonal(n=500, columns=2)
    out = inject_anomalies(x, start=250, seed=0, events=4, scale=0.2)
    results = run_detector_baselines(out.values, out.labels, train_end=250, season=12, events=out.events)
    assert list(results) == list(DETECTORS)
    for record in results.values():
        assert "error" not in record
        assert record["events"] == 4 and record["anomalous_points"] == int(out.labels.sum())
        assert np.isfinite(record["threshold"]) and record["fit_s"] >= 0
        assert 0.0 <= record["f1"] <= record["pa_f1"] <= 1.0
    sigma = run_detector_baselines(out.values, out.labels, train_end=250, season=12, names=["rolling_zscore"],
                                   threshold="sigma", k=4.0)
    assert list(sigma) == ["rolling_zscore"] and sigma["rolling_zscore"]["events"] == 4  # events from the labels


def test_a_failing_detector_is_recorded_and_the_others_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(values: np.ndarray, *, train_end: int, season: int) -> np.ndarray:
        raise RuntimeError("no scores today\nsecond line")

    monkeypatch.setitem(DETECTORS, "broken", broken)
    x = seasonal(n=100)
    labels = np.zeros(100, dtype=bool)
    results = run_detector_baselines(x, labels, train_end=60, season=12, names=["broken", "rolling_zscore"])
    assert results["broken"]["error"] == "RuntimeError: no scores today"
    assert "f1" in results["rolling_zscore"]
    short = run_detector_baselines(x, labels, train_end=10, season=12, names=["isolation_forest"])
    assert short["isolation_forest"]["error"].startswith("ValueError: isolation_forest needs at least 2 training")


def test_unknown_names_list_the_valid_ones() -> None:
    x, labels = seasonal(n=100), np.zeros(100, dtype=bool)
    with pytest.raises(ValueError, match="valid: rolling_zscore, stl_zscore, isolation_forest"):
        run_detector_baselines(x, labels, train_end=50, season=12, names=["lof"])
    with pytest.raises(ValueError, match="valid: quantile, sigma"):
        run_detector_baselines(x, labels, train_end=50, season=12, threshold="pot")
    with pytest.raises(ValueError, match="labels must have shape"):
        run_detector_baselines(x, labels[:50], train_end=50, season=12)
