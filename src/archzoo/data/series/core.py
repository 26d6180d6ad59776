"""A time series in memory: target column(s), optional covariates, and their regular timestamps.

Times are numpy ``datetime64`` in the unit of the frequency: years (``Y``) for yearly series, months
(``M``) for monthly and quarterly ones, days (``D``) for daily and business-daily ones. A series is
regular: one row per step of its frequency (business-daily series may skip holidays, never weekends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archzoo.data.core import DataError

__all__ = ["FREQUENCIES", "SEASONS", "Series", "check_freq", "format_time", "season_phase", "time_unit"]

FREQUENCIES = ("yearly", "quarterly", "monthly", "daily", "business-daily")
SEASONS = {"yearly": 1, "quarterly": 4, "monthly": 12, "daily": 7, "business-daily": 5}
"""Steps per seasonal cycle: a year of months or quarters, a week of days or business days."""

_UNITS = {"yearly": "Y", "quarterly": "M", "monthly": "M", "daily": "D", "business-daily": "D"}
_STEPS = {"yearly": 1, "quarterly": 3, "monthly": 1, "daily": 1}  # in the unit; business days are counted apart


def check_freq(freq: str) -> str:
    """``freq`` if it is one of FREQUENCIES, else a DataError listing them."""
    if freq not in FREQUENCIES:
        raise DataError(f"unknown frequency {freq!r}; --set freq= takes one of {', '.join(FREQUENCIES)}")
    return freq


def time_unit(freq: str) -> str:
    """The datetime64 unit of a series of frequency ``freq``: ``Y``, ``M`` or ``D``."""
    return _UNITS[check_freq(freq)]


def format_time(time: np.ndarray, freq: str) -> list[str]:
    """Labels of timestamps: ``1988`` yearly, ``1960-Q4`` quarterly, ``1960-12`` monthly, ``1998-08-21`` daily."""
    unit = time_unit(freq)
    time = np.asarray(time).astype(f"datetime64[{unit}]")
    if freq == "quarterly":
        months = time.astype(np.int64)  # months since 1970-01
        return [f"{m // 12 + 1970:04d}-Q{m % 12 // 3 + 1}" for m in months.tolist()]
    return [str(s) for s in np.datetime_as_string(time, unit=unit)]


def season_phase(time: np.ndarray, freq: str) -> np.ndarray:
    """Each timestamp's place in its seasonal cycle, 0 .. SEASONS[freq] - 1: the month of the year (0 = January),
    the quarter, the day of the week (0 = Monday); 0 for yearly series."""
    n = np.asarray(time).astype(f"datetime64[{time_unit(freq)}]").astype(np.int64)  # units since 1970 (a Thursday)
    if freq == "monthly":
        return n % 12
    if freq == "quarterly":
        return n // 3 % 4
    if freq in ("daily", "business-daily"):
        return (n + 3) % 7
    return np.zeros_like(n)


@dataclass
class Series:
    """A regular time series: ``values`` (T, n_targets) to forecast, ``covariates`` (T, n_covariates)
    known alongside them (possibly no columns), ``time`` (T,) datetime64 in the frequency's unit.

    ``notes`` carries per-dataset defaults for the task (``test_size``: the points held out at the
    end for testing; 0 means 20% of the series, rounded) and where the data came from.
    """

    name: str
    values: np.ndarray
    targets: tuple[str, ...]
    covariates: np.ndarray
    covariate_names: tuple[str, ...]
    time: np.ndarray
    freq: str
    source: str = ""
    task: str = "forecasting"
    notes: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unit = time_unit(self.freq)
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim == 1:
            self.values = self.values[:, None]  # (T, 1)
        n = len(self.values)
        self.covariates = np.asarray(self.covariates, dtype=np.float64).reshape(n, -1)  # (T, n_covariates)
        self.time = np.asarray(self.time).astype(f"datetime64[{unit}]")
        self.targets, self.covariate_names = tuple(self.targets), tuple(self.covariate_names)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.targets):
            raise ValueError(f"values of shape {self.values.shape} do not match the {len(self.targets)} targets "
                             f"{self.targets}; expected (T, {len(self.targets)})")
        if self.covariates.shape[1] != len(self.covariate_names):
            raise ValueError(f"covariates of shape {self.covariates.shape} do not match the names "
                             f"{self.covariate_names}; expected ({n}, {len(self.covariate_names)})")
        if self.time.shape != (n,):
            raise ValueError(f"time of shape {self.time.shape} does not match the {n} values; expected ({n},)")

    @property
    def season(self) -> int:
        """Steps per seasonal cycle (SEASONS): 12 for monthly series, 1 (none) for yearly ones."""
        return SEASONS[self.freq]

    def __len__(self) -> int:
        return len(self.values)

    def future_time(self, steps: int) -> np.ndarray:
        """The ``steps`` timestamps that follow the last one (business-daily: the next weekdays)."""
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        ahead = np.arange(1, steps + 1)
        if self.freq == "business-daily":
            return np.busday_offset(self.time[-1], ahead, roll="backward")
        return self.time[-1] + ahead * _STEPS[self.freq]

    def phase(self) -> np.ndarray:
        """(T,) each step's place in its seasonal cycle (see :func:`season_phase`)."""
        return season_phase(self.time, self.freq)

    def time_labels(self) -> list[str]:
        """One label per timestamp (see :func:`format_time`)."""
        return format_time(self.time, self.freq)

    def __repr__(self) -> str:
        labels = format_time(self.time[[0, -1]], self.freq) if len(self) else ["", ""]
        covs = f", covariates={list(self.covariate_names)}" if self.covariate_names else ""
        return (f"Series({self.name!r}, {self.freq}, T={len(self)}, {labels[0]}..{labels[1]}, "
                f"targets={list(self.targets)}{covs})")
