"""Time-series anomaly detection: anomalies injected at known places, detection metrics, and the classical
detectors a user would reach for instead of a neural one.

- :func:`inject_anomalies` puts spikes, level shifts and bursts of noise into the evaluated part of a real
  series, seeded and sized relative to the series' own variability, and says where it put them;
- :func:`detection_metrics` scores flags against labels point-wise, event-wise and point-adjusted;
- :func:`choose_threshold` turns scores into a threshold chosen on the clean training part;
- :data:`DETECTORS` are the classical baselines (a rolling z-score, STL residuals from statsmodels, an isolation
  forest from scikit-learn), and :func:`run_detector_baselines` scores them the way a model is scored.

Arrays in, dicts out. statsmodels and scikit-learn are imported only inside the detectors that use them; this
module never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import numpy as np

KINDS = ("spike", "level_shift", "variance")
THRESHOLDS = ("quantile", "sigma")
GAP = 5  # clean points after every injected event, so that events never touch and none runs to the series' end
SPIKE_SIZE = (4.0, 7.0)  # the injection recipe, in robust standard deviations of the first differences
LEVEL_SHIFT_SIZE, LEVEL_SHIFT_LENGTH = (3.0, 5.0), (10, 30)
VARIANCE_SIZE, VARIANCE_LENGTH = (2.0, 4.0), (15, 40)
_LENGTHS = {"spike": (1, 1), "level_shift": LEVEL_SHIFT_LENGTH, "variance": VARIANCE_LENGTH}
MAD_TO_STD = 1.4826  # the median absolute deviation times this estimates a normal distribution's standard deviation
STL_FREE_MEDIAN = 7  # the centred rolling median that stands for STL when the series has no season
MISSING = {
    "statsmodels": "the stl_zscore detector needs statsmodels: pip install 'archzoo[forecasting]'",
    "sklearn": "the isolation_forest detector needs scikit-learn: pip install 'archzoo[sklearn]'",
}


# ---------------------------------------------------------------------------------------------- helpers


def _optional(module: str) -> Any:
    """``import_module(module)``, or a ModuleNotFoundError that says how to install its package."""
    top = module.split(".")[0]
    try:
        return import_module(module)
    except ModuleNotFoundError as err:
        if err.name is not None and err.name.split(".")[0] == top:
            raise ModuleNotFoundError(MISSING[top], name=top) from err
        raise


def _table(values: np.ndarray) -> np.ndarray:
    """``values`` (T,) or (T, C) as a float64 (T, C) array of finite values."""
    data = np.asarray(values, dtype=np.float64)
    if data.ndim not in (1, 2) or data.shape[0] == 0:
        raise ValueError(f"values must have shape (T,) or (T, C) with T > 0, got {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("values hold NaN or infinite values")
    return data.reshape(data.shape[0], -1)


def _check_index(name: str, value: int, low: int, high: int, n: int) -> int:
    if isinstance(value, bool) or int(value) != value or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in {low}..{high} (the series has {n} values), got {value!r}")
    return int(value)


def robust_std(x: np.ndarray) -> float:
    """1.4826 × the median absolute deviation from the median: a standard deviation that outliers barely move.
    When more than half the values are equal (MAD 0) the plain standard deviation is returned instead."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return 0.0
    mad = float(np.median(np.abs(x - np.median(x))))
    return MAD_TO_STD * mad if mad > 0 else float(np.std(x))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs of True in ``mask`` as (start, end) pairs, end exclusive."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def _one_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


# --------------------------------------------------------------------------------------------- injection


@dataclass
class Injected:
    """A series with injected anomalies: ``values`` shaped like the input ((T, C), or (T,) for a 1-D series),
    ``labels`` (T,) bool (a point is anomalous when any column is), and ``events`` in time order, each
    ``{"start": i, "end": j (exclusive), "kind": ..., "column": c, "size": ..., "scale": ...}``: ``size`` is the
    signed amount added for a spike or a level shift and the standard deviation of the added noise for a variance
    change, in the series' units; ``scale`` is the unit the sizes were drawn in (see :func:`inject_anomalies`)."""

    values: np.ndarray
    labels: np.ndarray
    events: list[dict[str, Any]]


def inject_anomalies(values: np.ndarray, *, start: int, seed: int = 0, events: int = 8,
                     kinds: Sequence[str] = KINDS, scale: float | None = None) -> Injected:
    """Inject ``events`` anomalies into ``values[start:]``, leaving ``values[:start]`` clean for fitting detectors
    and thresholds. The recipe (its numbers define the benchmark):

    - **scale.** Each column's unit is ``scale`` when given, else the robust standard deviation
      (1.4826 × MAD, :func:`robust_std`) of the column's first differences over ``values[:start]``: sizes follow
      the series' local step-to-step variability, not its overall spread.
    - **kinds.** Event i is of kind ``kinds[i % len(kinds)]``, so with at least as many events as kinds every kind
      appears; the events' order in time is a random permutation. Each event hits one column drawn uniformly.
    - **spike**: one point gets ±U(4, 7) × scale (the sign a fair coin);
    - **level_shift**: a segment of U{10..30} points gets ±U(3, 5) × scale added;
    - **variance**: a segment of U{15..40} points gets Gaussian noise of standard deviation U(2, 4) × scale added.
    - **placement.** Events never overlap: each is followed by at least ``GAP`` = 5 clean points (so none runs to
      the series' end), and the slack left in ``values[start:]`` is split at random before, between and after
      them. When the drawn lengths do not fit, every length is shrunk toward its minimum by the same factor; when
      even the minimum lengths do not fit, a ValueError says how many events would.

    Deterministic for a seed (numpy's ``default_rng(seed)``). ``values`` itself is not modified.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown anomaly kind(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"valid: {', '.join(KINDS)}")
    data = _table(values)
    n, n_columns = data.shape
    least = 0 if scale is not None else 3  # two first differences at least to estimate a scale from
    start = _check_index("start", start, least, n - 1, n)
    if isinstance(events, bool) or int(events) != events or events < 1:
        raise ValueError(f"events must be a positive integer, got {events!r}")
    if scale is not None:
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        scales = np.full(n_columns, float(scale))
    else:
        scales = np.array([robust_std(np.diff(data[:start, c])) for c in range(n_columns)])
        flat = np.flatnonzero(scales == 0)
        if flat.size:
            raise ValueError(f"column {int(flat[0])} does not change over values[:start]; pass scale= explicitly")

    rng = np.random.default_rng(seed)
    order = [kinds[i % len(kinds)] for i in range(int(events))]
    lows = np.array([_LENGTHS[k][0] for k in order])
    lengths = np.array([rng.integers(_LENGTHS[k][0], _LENGTHS[k][1] + 1) for k in order])
    room = n - start
    if lows.sum() + GAP * len(order) > room:
        fit = 0
        while fit < len(order) and lows[:fit + 1].sum() + GAP * (fit + 1) <= room:
            fit += 1
        raise ValueError(f"{events} events do not fit in the {room} points from start {start}: at their shortest they "
                         f"need {int(lows.sum()) + GAP * len(order)} (a gap of {GAP} after each); at most {fit} fit")
    if lengths.sum() + GAP * len(order) > room:
        factor = (room - GAP * len(order) - lows.sum()) / (lengths.sum() - lows.sum())
        lengths = lows + np.floor((lengths - lows) * factor).astype(int)
    slack = room - int(lengths.sum()) - GAP * len(order)
    cuts = np.sort(rng.integers(0, slack + 1, size=len(order)))
    leads = np.diff(np.concatenate([[0], cuts]))  # the extra clean points before each event in time order

    out = data.copy()
    labels = np.zeros(n, dtype=bool)
    placed: list[dict[str, Any]] = []
    position = start
    for lead, i in zip(leads.tolist(), rng.permutation(len(order)).tolist(), strict=True):
        kind, length = order[i], int(lengths[i])
        begin = position + lead
        end = begin + length
        column = int(rng.integers(n_columns))
        unit = float(scales[column])
        if kind == "variance":
            size = rng.uniform(*VARIANCE_SIZE) * unit
            out[begin:end, column] += rng.normal(0.0, size, length)
        else:
            sign = 1.0 if rng.random() < 0.5 else -1.0
            size = sign * rng.uniform(*(SPIKE_SIZE if kind == "spike" else LEVEL_SHIFT_SIZE)) * unit
            out[begin:end, column] += size
        labels[begin:end] = True
        placed.append({"start": begin, "end": end, "kind": kind, "column": column, "size": float(size),
                       "scale": unit})
        position = end + GAP
    return Injected(out.reshape(np.shape(values)), labels, placed)


# ------------------------------------------------------------------------------------------------ metrics


def detection_metrics(labels: np.ndarray, flags: np.ndarray, *,
                      events: list[dict[str, Any]] | None = None) -> dict[str, float]:
    """Flags (T,) bool scored against labels (T,) bool over the range the caller passes.

    - ``precision``, ``recall``, ``f1``: point-wise, over the T points;
    - ``event_recall``: the share of true events with at least one flagged point inside; ``event_precision``: the
      share of flagged segments (maximal runs of consecutive flagged points) that overlap a true event;
      ``event_f1``: the composite F-score of Garg et al. ("An Evaluation of Anomaly Detection and Diagnosis in
      Multivariate Time Series", IEEE TNNLS 2022), the harmonic mean of the point-wise ``precision`` and the
      ``event_recall``: events found, each counted once however long, without rewarding a detector that flags
      everything (see below); ``segment_f1`` is the harmonic mean of ``event_precision`` and ``event_recall``;
    - ``pa_precision``, ``pa_recall``, ``pa_f1``: point-adjusted (Xu et al., "Unsupervised Anomaly Detection via
      Variational Auto-Encoder for Seasonal KPIs in Web Applications", WWW 2018): when any point of a true event is
      flagged, every point of that event counts as flagged; then the point-wise metrics;
    - counts: ``flagged`` points, ``anomalous_points``, true ``events``, ``flagged_segments``.

    ``events`` are dicts with ``start`` and ``end`` (exclusive) in the coordinates of ``labels``; without them the
    true events are the maximal runs of ``labels``. A ratio with nothing to divide by (no flags, no anomalies) is
    0.0, and so is an F1 whose precision and recall are both 0.

    Point adjustment inflates scores: one lucky flag inside a long event credits the whole event. Kim et al.,
    "Towards a Rigorous Evaluation of Time-Series Anomaly Detection" (AAAI 2022) show that a detector flagging
    points at random reaches a high PA-F1 on benchmarks with long events, often above published methods; read
    ``pa_f1`` next to ``f1`` and ``event_f1``, never alone. The segment-based event precision has the opposite blind
    spot: flagging every point makes one segment, which overlaps an event whenever there is one, so ``segment_f1``
    is then high; hence ``event_f1`` takes the point-wise precision, which flagging everything drives down.
    """
    truth = np.asarray(labels)
    flagged = np.asarray(flags)
    if truth.ndim != 1 or flagged.shape != truth.shape:
        raise ValueError(f"labels and flags must both have shape (T,), got {truth.shape} and {flagged.shape}")
    truth, flagged = truth.astype(bool), flagged.astype(bool)
    n = truth.size
    if events is None:
        spans = _runs(truth)
    else:
        spans = [(int(e["start"]), int(e["end"])) for e in events]
        bad = [s for s in spans if not 0 <= s[0] < s[1] <= n]
        if bad:
            raise ValueError(f"event (start, end) {bad[0]} is outside the {n} points scored")
    segments = _runs(flagged)

    def point(predicted: np.ndarray) -> tuple[float, float, float]:
        hits = float(np.sum(predicted & truth))
        precision, recall = _ratio(hits, float(predicted.sum())), _ratio(hits, float(truth.sum()))
        return precision, recall, _f1(precision, recall)

    precision, recall, f1 = point(flagged)
    found = [bool(flagged[s:e].any()) for s, e in spans]
    inside = np.zeros(n, dtype=bool)
    for s, e in spans:
        inside[s:e] = True
    event_recall = _ratio(sum(found), len(spans))
    event_precision = _ratio(sum(bool(inside[s:e].any()) for s, e in segments), len(segments))
    adjusted = flagged.copy()
    for (s, e), hit in zip(spans, found, strict=True):
        if hit:
            adjusted[s:e] = True
    pa_precision, pa_recall, pa_f1 = point(adjusted)
    return {
        "precision": precision, "recall": recall, "f1": f1,
        "event_precision": event_precision, "event_recall": event_recall,
        "event_f1": _f1(precision, event_recall), "segment_f1": _f1(event_precision, event_recall),
        "pa_precision": pa_precision, "pa_recall": pa_recall, "pa_f1": pa_f1,
        "flagged": int(flagged.sum()), "anomalous_points": int(truth.sum()), "events": len(spans),
        "flagged_segments": len(segments),
    }


# --------------------------------------------------------------------------------------------- thresholds


def choose_threshold(train_scores: np.ndarray, method: str = "quantile", *, q: float = 0.99, k: float = 3.0) -> float:
    """A threshold on anomaly scores chosen on clean training scores: ``quantile``, their q-quantile (numpy's
    linear interpolation); ``sigma``, their mean + k × standard deviation. NaN and infinite scores are ignored
    (a detector without a score yet for the first points gives NaN there). Points scoring above it are flagged."""
    if method not in THRESHOLDS:
        raise ValueError(f"unknown threshold method {method!r}; valid: {', '.join(THRESHOLDS)}")
    scores = np.asarray(train_scores, dtype=np.float64).ravel()
    scores = scores[np.isfinite(scores)]
    if scores.size == 0:
        raise ValueError("no finite training score to choose a threshold from")
    if method == "quantile":
        if not 0 <= q <= 1:
            raise ValueError(f"q must be in [0, 1], got {q!r}")
        return float(np.quantile(scores, q))
    return float(np.mean(scores) + k * np.std(scores))


# ---------------------------------------------------------------------------------------------- detectors


def _check_detector_args(values: np.ndarray, train_end: int, season: int) -> tuple[np.ndarray, int, int]:
    data = _table(values)
    n = data.shape[0]
    if n < 2:
        raise ValueError(f"values must hold at least 2 points, got {n}")
    train_end = _check_index("train_end", train_end, 1, n - 1, n)
    if isinstance(season, bool) or int(season) != season or season < 1:
        raise ValueError(f"season must be a positive integer, got {season!r}")
    return data, train_end, int(season)


def rolling_zscore(values: np.ndarray, *, train_end: int, season: int, window: int | None = None) -> np.ndarray:
    """|x_t − mean| / std of the previous ``window`` points of each column (the sample standard deviation; window
    max(2 × season, 20) by default), the largest over the columns. The first ``window`` points have no score (NaN).
    A point that differs from a constant window scores +inf; one equal to it, 0. Uses only the past, so it fits
    nothing and ``train_end`` is not used."""
    data, _, season = _check_detector_args(values, train_end, season)
    w = max(2 * season, 20) if window is None else int(window)
    n = data.shape[0]
    if not 2 <= w < n:
        raise ValueError(f"the rolling window must be in 2..{n - 1} for {n} points, got {w}")
    past = np.lib.stride_tricks.sliding_window_view(data, w, axis=0)[:-1]  # (T - w, C, w): x[t-w:t] for t >= w
    deviation = np.abs(data[w:] - past.mean(axis=-1))
    spread = past.std(axis=-1, ddof=1)
    z = np.full_like(data, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        z[w:] = np.where(deviation == 0, 0.0, deviation / spread)
    return np.fmax.reduce(z, axis=1)  # NaN only where every column is NaN, and without a warning


def _rolling_median(x: np.ndarray, width: int) -> np.ndarray:
    """The centred rolling median of ``width`` (odd) points, the ends padded with the first and last values."""
    half = width // 2
    padded = np.pad(x, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=-1)


def stl_zscore(values: np.ndarray, *, train_end: int, season: int) -> np.ndarray:
    """The residual of statsmodels' STL (period = season, robust=True) of each column, centred on the median and
    divided by the robust standard deviation (1.4826 × MAD) of the training part's residuals; the absolute value,
    the largest over the columns. STL is fitted on the whole series, test part and anomalies included, as a user
    of it does (its robust weights keep outliers from bending the trend and seasonal). With season 1 STL has no
    period to use, and a centred rolling median over 7 points stands for the trend instead."""
    data, train_end, season = _check_detector_args(values, train_end, season)
    stl = _optional("statsmodels.tsa.seasonal").STL if season > 1 else None
    z = np.empty_like(data)
    for c in range(data.shape[1]):
        x = data[:, c]
        residual = (np.asarray(stl(x, period=season, robust=True).fit().resid, dtype=np.float64)
                    if stl is not None else x - _rolling_median(x, STL_FREE_MEDIAN))
        train = residual[:train_end]
        unit = robust_std(train)
        if unit == 0:
            raise ValueError(f"column {c}: the training residuals are all equal; nothing to standardise by")
        z[:, c] = np.abs(residual - np.median(train)) / unit
    return z.max(axis=1)


def isolation_forest(values: np.ndarray, *, train_end: int, season: int, window: int | None = None) -> np.ndarray:
    """scikit-learn's IsolationForest(n_estimators=200, random_state=0) over sliding windows of ``window``
    (max(season, 8) by default) points of all columns, flattened, after each column is standardised by the
    training part's mean and standard deviation. The forest is fitted on the windows that lie wholly in
    ``values[:train_end]``; every window of the series is scored by −score_samples (higher is more anomalous), and
    a point's score is the mean over the windows that cover it. The windows covering the last ``window`` − 1
    training points reach into the test part, so those training scores see a little of it.

    What a user of it gets, limits included: the trees split only within the training windows' ranges and at most
    about log2(256) = 8 deep, so a spike in one coordinate of a long window (one column of several) is isolated
    only when a split happens to fall on that coordinate; and a series that trends out of its training range
    (raw prices, a growing total) makes every later window look new, so nearly every test point is flagged."""
    data, train_end, season = _check_detector_args(values, train_end, season)
    ensemble = _optional("sklearn.ensemble")
    n = data.shape[0]
    w = max(season, 8) if window is None else int(window)
    if w < 1 or train_end - w + 1 < 2:
        raise ValueError(f"isolation_forest needs at least 2 training windows of {w} points; train_end is {train_end}")
    mean, std = data[:train_end].mean(axis=0), data[:train_end].std(axis=0)
    z = (data - mean) / np.where(std > 0, std, 1.0)
    windows = np.lib.stride_tricks.sliding_window_view(z, w, axis=0).reshape(n - w + 1, -1)  # window i: i..i+w-1
    forest = ensemble.IsolationForest(n_estimators=200, random_state=0)
    forest.fit(windows[:train_end - w + 1])
    window_scores = -forest.score_samples(windows)
    first = np.maximum(np.arange(n) - w + 1, 0)  # the windows covering point t: first..last
    last = np.minimum(np.arange(n), n - w)
    total = np.concatenate([[0.0], np.cumsum(window_scores)])
    return (total[last + 1] - total[first]) / (last - first + 1)


DETECTORS: dict[str, Callable[..., np.ndarray]] = {
    "rolling_zscore": rolling_zscore,
    "stl_zscore": stl_zscore,
    "isolation_forest": isolation_forest,
}


def _shift_events(events: list[dict[str, Any]], offset: int, n: int) -> list[dict[str, Any]]:
    """Events moved to start at ``offset``: those ending before it are dropped, those straddling it clipped."""
    shifted = []
    for event in events:
        s, e = max(int(event["start"]), offset) - offset, min(int(event["end"]), n) - offset
        if e > s:
            shifted.append({**event, "start": s, "end": e})
    return shifted


def run_detector_baselines(values: np.ndarray, labels: np.ndarray, *, train_end: int, season: int,
                           names: Sequence[str] = tuple(DETECTORS), threshold: str = "quantile", q: float = 0.99,
                           k: float = 3.0, events: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Run classical detectors on ``values`` (T,) or (T, C) and score them on ``values[train_end:]``.

    For each name: the detector's scores over the whole series; a threshold chosen by :func:`choose_threshold`
    (``threshold``, ``q``, ``k``) on ``scores[:train_end]``; flags = scores > threshold over ``[train_end:]``
    (a NaN score is not flagged); and the result ``detection_metrics(labels[train_end:], flags, events=...)``
    (``events`` in whole-series coordinates, moved to that range; those before it dropped) plus ``threshold`` and
    ``fit_s`` (wall seconds). A detector that fails gets ``{"error": "<one line>", "fit_s": ...}`` and the others
    go on.
    """
    unknown = [name for name in names if name not in DETECTORS]
    if unknown:
        raise ValueError(f"unknown detector(s) {', '.join(map(repr, unknown))}; valid: {', '.join(DETECTORS)}")
    if threshold not in THRESHOLDS:
        raise ValueError(f"unknown threshold method {threshold!r}; valid: {', '.join(THRESHOLDS)}")
    data = _table(values)
    n = data.shape[0]
    truth = np.asarray(labels)
    if truth.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) like the values' first axis, got {truth.shape}")
    train_end = _check_detector_args(data, train_end, season)[1]
    shifted = None if events is None else _shift_events(events, train_end, n)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        began = time.perf_counter()
        try:
            scores = np.asarray(DETECTORS[name](data, train_end=train_end, season=season), dtype=np.float64)
            if scores.shape != (n,):
                raise ValueError(f"the detector returned scores of shape {scores.shape}, expected ({n},)")
            cut = choose_threshold(scores[:train_end], threshold, q=q, k=k)
            flags = np.nan_to_num(scores[train_end:], nan=-np.inf) > cut
            record: dict[str, Any] = detection_metrics(truth[train_end:], flags, events=shifted)
            record["threshold"] = cut
        except Exception as err:  # one detector failing on this series must not stop the comparison
            record = {"error": _one_line(err)}
        record["fit_s"] = time.perf_counter() - began
        results[name] = record
    return results
