"""Transforms of a series' values, fitted on the training part only, and their exact inverses.

A :class:`SeriesTransform` chains steps from TRANSFORMS: ``log`` (natural log: a multiplicative trend
and seasonality become additive), ``diff`` (first difference, z[t] = y[t] - y[t-1]) and ``sdiff``
(seasonal difference, z[t] = y[t] - y[t-season]). A model forecasts the transformed values; ``invert``
turns its forecasts back into the original scale from the history they follow. A :class:`Scaler` then
standardises each column with the mean and standard deviation of the training part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["TRANSFORMS", "Scaler", "SeriesTransform"]

TRANSFORMS = ("log", "diff", "sdiff")


def _column(columns: Sequence[str], j: int) -> str:
    return repr(columns[j]) if j < len(columns) else str(j)


def _check_positive(values: np.ndarray, columns: Sequence[str], where: str) -> None:
    bad = np.flatnonzero(~np.all(values > 0, axis=tuple(range(values.ndim - 1))))
    if bad.size:
        j = int(bad[0])
        raise ValueError(f"transform 'log' needs values > 0, but column {_column(columns, j)} has values <= 0 "
                         f"(min {values[..., j].min():g}) in {where}; use transform=none or transform=diff")


def _undifference(z: np.ndarray, last: np.ndarray, lag: int) -> np.ndarray:
    """Undo a difference of lag ``lag``: y[h] = z[h] + y[h - lag], where y before the forecasts is ``last``
    (lag, C). ``z`` is (..., H, C); the recursion is a cumulative sum over blocks of ``lag`` steps."""
    *batch, horizon, channels = z.shape
    blocks = -(-horizon // lag)
    padded = np.zeros((*batch, blocks * lag, channels))
    padded[..., :horizon, :] = z
    y = last + np.cumsum(padded.reshape(*batch, blocks, lag, channels), axis=-3)  # (..., blocks, lag, C)
    return y.reshape(*batch, blocks * lag, channels)[..., :horizon, :]  # (..., H, C)


class SeriesTransform:
    """The steps of ``spec`` ("none", or steps of TRANSFORMS joined by commas, applied in that order:
    "log", "log,sdiff", "log,diff,sdiff") for a series of seasonal period ``season``.

    ``log`` may only come first (the differences of a series are not positive); ``diff`` and ``sdiff``
    may repeat. Raises ValueError for an unknown step, naming TRANSFORMS, and for ``sdiff`` on a series
    without a season (``season`` 1).
    """

    def __init__(self, spec: str, season: int):
        steps = [s.strip() for s in spec.split(",") if s.strip()]
        if steps == ["none"]:
            steps = []
        unknown = [s for s in steps if s not in TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown transform {unknown[0]!r} in {spec!r}; use 'none' or steps of "
                             f"{', '.join(TRANSFORMS)} joined by commas (e.g. 'log,sdiff')")
        if "log" in steps[1:]:
            raise ValueError(f"transform {spec!r}: 'log' must come first, once (differences are not positive)")
        if "sdiff" in steps and season < 2:
            raise ValueError(f"transform {spec!r}: 'sdiff' needs a season of 2 or more, and this series has "
                             f"season {season}; use 'diff' instead")
        self.steps: tuple[str, ...] = tuple(steps)
        self.season = int(season)
        self.spec = ",".join(steps) or "none"

    def __repr__(self) -> str:
        return f"SeriesTransform({self.spec!r}, season={self.season})"

    def _lag(self, step: str) -> int:
        return {"diff": 1, "sdiff": self.season}[step]

    @property
    def lost(self) -> int:
        """Leading points the differences consume: 1 per ``diff``, ``season`` per ``sdiff``."""
        return sum(self._lag(s) for s in self.steps if s != "log")

    def fit(self, train: np.ndarray, columns: Sequence[str] = ()) -> SeriesTransform:
        """Check the transform suits the training values ``train`` (T, C); ``columns`` name them in errors.

        ``log`` needs every value > 0, and the differences need more than ``lost`` points.
        """
        train = np.asarray(train, dtype=np.float64)
        if train.ndim != 2:
            raise ValueError(f"fit takes values of shape (T, C), got {train.shape}")
        if "log" in self.steps:
            _check_positive(train, columns, "the training part")
        if len(train) <= self.lost:
            raise ValueError(f"transform {self.spec!r} consumes {self.lost} points, and the training part has "
                             f"only {len(train)}; use a longer series or transform=none")
        return self

    def _forward(self, step: str, x: np.ndarray) -> np.ndarray:
        if step == "log":
            _check_positive(x, (), "the values")
            return np.log(x)
        lag = self._lag(step)
        return x[..., lag:, :] - x[..., :-lag, :]  # (..., T - lag, C)

    def apply(self, values: np.ndarray) -> np.ndarray:
        """(..., T, C) -> (..., T - lost, C): z[i] belongs to values[i + lost]."""
        x = np.asarray(values, dtype=np.float64)
        for step in self.steps:
            x = self._forward(step, x)
        return x

    def invert(self, z_future: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Transformed values ``z_future`` (..., H, C) that follow ``history`` (T, C, original scale), any
        leading dims being e.g. sample paths or quantile levels -> the same in the original scale (..., H, C).

        Undoes the steps last to first: a difference by a cumulative sum from the last values of the
        history at that stage (a seasonal one recursively, from the history and the forecasts already
        inverted), ``log`` by ``exp``. ``history`` needs at least ``lost`` points.
        """
        y = np.asarray(z_future, dtype=np.float64)
        history = np.asarray(history, dtype=np.float64)
        if history.ndim != 2 or y.ndim < 2 or y.shape[-1] != history.shape[1]:
            raise ValueError(f"invert takes z_future (..., H, C) and history (T, C) with the same C, got "
                             f"{y.shape} and {history.shape}")
        if len(history) < self.lost:
            raise ValueError(f"transform {self.spec!r} needs {self.lost} points of history to invert, got "
                             f"{len(history)}")
        stages = [history]  # the history after each step: stages[k] is the input of step k
        for step in self.steps:
            stages.append(self._forward(step, stages[-1]))
        for step, stage in zip(reversed(self.steps), reversed(stages[:-1]), strict=True):
            if step == "log":
                y = np.exp(y)
            else:
                lag = self._lag(step)
                y = _undifference(y, stage[-lag:], lag)
        return y

    def to_dict(self) -> dict[str, object]:
        return {"spec": self.spec, "season": self.season}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> SeriesTransform:
        return cls(str(state["spec"]), int(state["season"]))


class Scaler:
    """Per-column standardisation, (x - mean) / std, with the mean and std of the training values
    (a constant column has std 1)."""

    def __init__(self, mean: Sequence[float] | np.ndarray | None = None,
                 std: Sequence[float] | np.ndarray | None = None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    def __repr__(self) -> str:
        return f"Scaler(mean={self.mean}, std={self.std})"

    def fit(self, train: np.ndarray) -> Scaler:
        """Fit on ``train`` (T, C)."""
        train = np.asarray(train, dtype=np.float64)
        if train.ndim != 2 or len(train) == 0:
            raise ValueError(f"fit takes values of shape (T, C) with T > 0, got {train.shape}")
        self.mean = train.mean(axis=0)
        std = train.std(axis=0)
        self.std = np.where((std > 0) & np.isfinite(std), std, 1.0)
        return self

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.std is None:
            raise ValueError("the scaler is not fitted; call fit(train) first")
        return self.mean, self.std

    def apply(self, values: np.ndarray) -> np.ndarray:
        """(..., C) -> (..., C) standardised."""
        mean, std = self._fitted()
        return (np.asarray(values, dtype=np.float64) - mean) / std

    def invert(self, z: np.ndarray) -> np.ndarray:
        """(..., C) standardised -> (..., C) in the scale of the training values."""
        mean, std = self._fitted()
        return np.asarray(z, dtype=np.float64) * std + mean

    def to_dict(self) -> dict[str, list[float]]:
        mean, std = self._fitted()
        return {"mean": mean.tolist(), "std": std.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, list[float]]) -> Scaler:
        return cls(state["mean"], state["std"])
