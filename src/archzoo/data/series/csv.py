"""Read a time series from any CSV file with a header line: :func:`read_csv_series`.

Where the time comes from, in this order:

1. a column named ``time``, ``date``, ``ds`` or ``timestamp`` (any case), holding either
   - ISO dates written the same way on every row: ``YYYY-MM-DD`` (a midnight time such as ``T00:00:00`` is
     allowed), ``YYYY-MM`` or ``YYYY``. The frequency is inferred from the steps: one row per year, quarter
     or month (dates on the same day of each month, or on each month's last day, count as months), per day
     (weekends included) or per business day (no weekend dates; holidays may be missing);
   - or numbers: whole years (yearly), or fractional years as R's ``time(ts)`` writes them (``1949.0833``),
     whose frequency is inferred from the step: 1/12 year monthly, 1/4 quarterly, 1/365 daily, about 1/260
     or 1/252 business-daily. Months and quarters are exact (R writes ``year + (cycle - 1) / frequency``).
     With a ``freq`` other than yearly, whole numbers count steps (a time index, as with no time column).
     Days and business days are an approximation, since a fractional year does not name a calendar day:
     the first date is the day at that fraction of its year (rolled forward to a weekday for business
     days) and the rows after it are consecutive days or business days. R's EuStockMarkets (start
     1991.4962, 260 a year, 1860 rows) thus runs from Monday 1991-07-01 to 1998-08-14;
2. else columns ``year`` and ``month`` (monthly) or ``year`` and ``quarter`` (quarterly), as a monthly or
   quarterly ts exported by R's ``write.csv``; a ``year`` column alone is read like a time column;
3. else no time at all: the rows are consecutive steps of the frequency given by ``freq`` (required),
   counted from 1970.

A ``freq`` that is given overrides the inferred frequency. Every series must be regular and complete:
times that increase strictly, one row per step (business days aside), no missing values. A column with
an empty name (the row names R's ``write.csv`` writes by default) is ignored.

``fill`` (one of FILLS) repairs gaps and missing values instead of failing on them:

- ``""`` (the default): nothing is filled; a missing value (empty, NA, NaN, ...) in a target or covariate
  column, or a missing time step, is a DataError naming the row (and saying ``--set fill=linear`` can
  interpolate it);
- ``"linear"``: each missing value is interpolated linearly between the nearest known values of its
  column, in steps of the frequency; a missing value at the start or end takes the nearest known value.
  Missing time steps (yearly, quarterly, monthly, daily; for a business-daily series, missing weekdays,
  holidays included) are inserted as rows and interpolated the same way;
- ``"previous"``: each missing value, and each inserted row, carries the last known value forward (the
  values before the first known one take that first known value).

Fill never fixes times: a missing time, times out of order or repeated, a weekend date in a business-daily
series and steps that are not whole steps of the frequency stay errors, and so does a target or covariate
column with no value at all. ``notes["filled"]`` counts the values filled (those of inserted rows
included; 0 when none) and ``notes["filled_rows"]`` the rows inserted.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archzoo.data.core import DataError
from archzoo.data.series.core import _STEPS, FREQUENCIES, Series, check_freq, format_time, time_unit

__all__ = ["FILLS", "MIN_LENGTH", "TIME_COLUMNS", "read_csv_series"]

TIME_COLUMNS = ("time", "date", "ds", "timestamp")
MIN_LENGTH = 8
MISSING = frozenset({"", "na", "nan", "null", "none", "n/a"})  # compared in lower case
FILLS = ("", "linear", "previous")

# fractional-year steps: (frequency, fewest, most steps per year)
_PER_YEAR = (("yearly", 0.99, 1.01), ("quarterly", 3.98, 4.02), ("monthly", 11.9, 12.1),
             ("business-daily", 240.0, 262.0), ("daily", 360.0, 367.0))
_MONTH_STEPS = {1: "monthly", 3: "quarterly", 12: "yearly"}
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ]00:00(?::00(?:\.0*)?)?Z?)?")
_UNIT_NAMES = {"Y": "year", "M": "month", "D": "day"}
_FREQ_HINT = f"pass --set freq=FREQ (one of {', '.join(FREQUENCIES)})"
_FILL_HINT = "pass --set fill=linear to interpolate"


@dataclass
class _Table:
    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]  # the file line of each row

    def where(self, i: int) -> str:
        return f"{self.path} row {i + 1} (line {self.lines[i]})"

    def column(self, j: int) -> list[str]:
        return [row[j] for row in self.rows]

    def columns_list(self) -> str:
        return ", ".join(repr(h) for h in self.header)


def _read_table(path: Path) -> _Table:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path} not found; give the path of a CSV file with a header line and one row per "
                        "time step") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory; give the path of a CSV file") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text (byte {e.start}); save the CSV as UTF-8") from None
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror or e})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            cells = [cell.strip() for cell in row]
            if header is None:
                header = cells
                continue
            if len(cells) != len(header):
                raise DataError(f"{path} line {reader.line_num}: {len(cells)} fields, but the header has "
                                f"{len(header)}; every row needs one value per column")
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise DataError(f"{path} line {reader.line_num}: not valid CSV ({e})") from None
    if header is None:
        raise DataError(f"{path} is empty; a series needs a header line and at least {MIN_LENGTH} rows")
    named = [h for h in header if h]
    if len(set(named)) != len(named):
        twice = sorted({h for h in named if named.count(h) > 1})
        raise DataError(f"{path}: the header names {', '.join(map(repr, twice))} more than once; rename them")
    if len(rows) < MIN_LENGTH:
        raise DataError(f"{path} has {len(rows)} rows; a series needs at least {MIN_LENGTH}")
    return _Table(path, header, rows, lines)


def _find(table: _Table, name: str) -> int:
    """The index of column ``name`` (exact, else the one column equal to it in any case)."""
    if name in table.header:
        return table.header.index(name)
    folded = [j for j, h in enumerate(table.header) if h.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise DataError(f"{table.path} has no column {name!r}; its columns: {table.columns_list()}")


def _names(option: str) -> list[str]:
    names = [n.strip() for n in option.split(",") if n.strip()]
    if len(set(names)) != len(names):
        raise DataError(f"column names repeated in {option!r}; name each column once")
    return names


def _float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _numbers(table: _Table, j: int, what: str, missing_ok: bool = False) -> np.ndarray:
    """The column ``j`` as float64; DataError naming the row of a missing or non-numeric value (a missing
    value is NaN instead with ``missing_ok``)."""
    out = np.empty(len(table.rows), dtype=np.float64)
    name = table.header[j]
    for i, cell in enumerate(table.column(j)):
        if cell.lower() in MISSING:
            if missing_ok:
                out[i] = np.nan
                continue
            fix = ("every row needs its time" if what == "time" else
                   f"the series must be complete: fill the gap (e.g. interpolate it) in the file, or {_FILL_HINT} it")
            raise DataError(f"{table.where(i)}: column {name!r} has a missing value ({cell!r}); {fix}")
        value = _float(cell)
        if value is None or not np.isfinite(value):
            kind = "not a number" if value is None else "not finite"
            raise DataError(f"{table.where(i)}: column {name!r} holds {cell!r}, which is {kind}; "
                            f"every {what} column must be numeric")
        out[i] = value
    return out


def _is_numeric(table: _Table, j: int) -> bool:
    cells = [c for c in table.column(j) if c.lower() not in MISSING]
    return bool(cells) and all(_float(c) is not None for c in cells)


# ---------------------------------------------------------------------------------------------
# Times

def _check_increasing(table: _Table, keys: np.ndarray, labels: list[str]) -> None:
    bad = np.flatnonzero(np.diff(keys) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        if keys[i] == keys[i - 1]:
            raise DataError(f"{table.where(i)}: time {labels[i]} repeats the row before; one row per time: remove "
                            "or merge the duplicate (--set fill cannot fix duplicate times)")
        raise DataError(f"{table.where(i)}: time {labels[i]} does not come after {labels[i - 1]} (the row before); "
                        "the times must increase strictly: sort the file by time, one row per time")


def _regular(table: _Table, times: np.ndarray, freq: str, fill: str) -> tuple[np.ndarray, np.ndarray]:
    """The complete times of the series and the place of each row among them: ``times`` and 0..T-1 when
    ``times`` (in the unit of ``freq``) leave no gap, else (with ``fill``) the times with the missing steps
    inserted. DataError at the first gap (without ``fill``), weekend (business days) or uneven step."""
    labels = format_time(times, freq)
    _check_increasing(table, times.astype(np.int64), labels)
    rows = np.arange(len(times))
    if freq == "business-daily":
        weekend = np.flatnonzero(~np.is_busday(times))
        if weekend.size:
            i = int(weekend[0])
            raise DataError(f"{table.where(i)}: {labels[i]} is a weekend day; a business-daily series has weekdays "
                            "only (pass --set freq=daily if it has a row for every day)")
        if not fill:
            return times, rows  # business days may skip holidays
        days = np.arange(times[0], times[-1] + 1)
        grid = days[np.is_busday(days)]  # every weekday from the first row to the last
        return grid, np.searchsorted(grid, times)
    unit, step = time_unit(freq), _STEPS[freq]
    steps = np.diff(times.astype(np.int64))
    gaps = np.flatnonzero((steps != step) if not fill else (steps % step != 0))
    if gaps.size:
        i = int(gaps[0]) + 1
        every = f"{step} {_UNIT_NAMES[unit]}s" if step > 1 else _UNIT_NAMES[unit]
        missing = f" or {_FILL_HINT} them" if not fill and steps[i - 1] % step == 0 else ""
        raise DataError(f"{table.where(i)}: {labels[i]} follows {labels[i - 1]}, {steps[i - 1]} "
                        f"{_UNIT_NAMES[unit]}(s) later; a {freq} series has one row every {every} with no gaps: "
                        f"add the missing rows (interpolated){missing}, or {_FREQ_HINT} if it is not {freq}")
    offsets = (times.astype(np.int64) - times[0].astype(np.int64)) // step  # steps since the first row
    if offsets[-1] == len(times) - 1:
        return times, rows
    grid = (times[0].astype(np.int64) + np.arange(offsets[-1] + 1) * step).astype(f"datetime64[{unit}]")
    return grid, offsets


def _from_index(table: _Table, freq: str) -> tuple[np.ndarray, str, dict[str, object]]:
    if not freq:
        raise DataError(f"{table.path} has no time column ({', '.join(TIME_COLUMNS)}, or year with month or "
                        f"quarter), so the frequency cannot be inferred: {_FREQ_HINT} to count the rows as "
                        "consecutive steps")
    n = len(table.rows)
    if freq == "business-daily":
        times = np.busday_offset(np.datetime64("1970-01-01"), np.arange(n), roll="forward")
    else:
        times = (np.arange(n) * _STEPS[freq]).astype(f"datetime64[{time_unit(freq)}]")
    return times, freq, {"time_from": "row index (times counted from 1970)"}


def _from_year_and_part(table: _Table, year: int, part: int, freq: str) -> tuple[np.ndarray, str, dict[str, object]]:
    """``year`` with ``month`` or ``quarter`` columns (R's write.csv of a monthly or quarterly ts)."""
    kind = table.header[part].lower()
    top, months_per = (12, 1) if kind == "month" else (4, 3)
    years, parts = _numbers(table, year, "time"), _numbers(table, part, "time")
    for j, values in ((year, years), (part, parts)):
        odd = np.flatnonzero(values != np.round(values))
        if odd.size:
            raise DataError(f"{table.where(int(odd[0]))}: column {table.header[j]!r} holds "
                            f"{table.rows[int(odd[0])][j]!r}; it must be a whole number")
    out_of_range = np.flatnonzero((parts < 1) | (parts > top))
    if out_of_range.size:
        i = int(out_of_range[0])
        raise DataError(f"{table.where(i)}: {kind} {table.rows[i][part]!r} is not between 1 and {top}")
    months = (years.astype(np.int64) - 1970) * 12 + (parts.astype(np.int64) - 1) * months_per
    inferred = "monthly" if kind == "month" else "quarterly"
    return months.astype("datetime64[M]"), freq or inferred, {
        "time_from": f"columns {table.header[year]!r} and {table.header[part]!r}"}


def _first_day(year_fraction: float) -> np.datetime64:
    """The calendar day at ``year_fraction`` (e.g. 1991.496 -> 1991-07-01)."""
    year = int(np.floor(year_fraction))
    start = np.datetime64(f"{year:04d}-01-01")
    days_in_year = int((np.datetime64(f"{year + 1:04d}-01-01") - start).astype(np.int64))
    return start + min(round((year_fraction - year) * days_in_year), days_in_year - 1)


def _from_years(table: _Table, j: int, t: np.ndarray, freq: str,
                fill: str = "") -> tuple[np.ndarray, str, dict[str, object]]:
    """Numeric times: whole years, or fractional years as R's ``time(ts)``."""
    name = table.header[j]
    _check_increasing(table, t, table.column(j))
    notes: dict[str, object] = {"time_from": f"column {name!r} (years)"}
    if np.all(np.abs(t - np.round(t)) < 1e-6):
        if freq in ("", "yearly"):
            return (np.round(t).astype(np.int64) - 1970).astype("datetime64[Y]"), "yearly", notes
        # whole numbers with another frequency count its steps (a time index)
        gaps = np.flatnonzero(np.round(np.diff(t)) != 1)
        if gaps.size and not fill:
            i = int(gaps[0]) + 1
            raise DataError(f"{table.where(i)}: the step count in column {name!r} goes from {table.rows[i - 1][j]} "
                            f"to {table.rows[i][j]}; whole-number times of a {freq} series count its steps one "
                            f"by one, with no gaps: add the missing rows, or {_FILL_HINT} them")
        times, freq, notes = _from_index(table, freq)
        notes["time_from"] = f"column {name!r} (step numbers; times counted from 1970)"
        if gaps.size:  # the steps as numbered, the missing ones left for fill to insert
            offsets = np.round(t - t[0]).astype(np.int64)
            if freq == "business-daily":
                times = np.busday_offset(times[0], offsets, roll="forward")
            else:
                times = (times[0].astype(np.int64) + offsets * _STEPS[freq]).astype(times.dtype)
        return times, freq, notes
    steps = np.diff(t)
    step = float(np.median(steps))
    per_year = 1.0 / step
    if not freq:
        freq = next((f for f, low, high in _PER_YEAR if low <= per_year <= high), "")
        if not freq:
            raise DataError(f"{table.path}: the times in column {name!r} step by {step:.6g} years ({per_year:.4g} a "
                            f"year), which fits no frequency; {_FREQ_HINT}, or write the times as dates (YYYY-MM-DD)")
    notes["time_from"] = f"column {name!r} (fractional years)"
    if freq == "yearly":
        return (np.floor(t + 1e-6).astype(np.int64) - 1970).astype("datetime64[Y]"), freq, notes
    if freq in ("monthly", "quarterly"):
        per = 12 // _STEPS[freq]
        months = np.round(t * per).astype(np.int64) * _STEPS[freq] - 1970 * 12
        return months.astype("datetime64[M]"), freq, notes
    # days: only the first date can be placed; the rows after it are consecutive days or business days
    uneven = np.flatnonzero(np.abs(steps - step) > 0.01 * step)
    if uneven.size:
        i = int(uneven[0]) + 1
        raise DataError(f"{table.where(i)}: the fractional-year times step unevenly ({steps[i - 1]:.6g} years "
                        f"here, {step:.6g} mostly); a {freq} series needs one row per day: write the times as "
                        "dates (YYYY-MM-DD) instead")
    first, ahead = _first_day(float(t[0])), np.arange(len(t))
    times = np.busday_offset(first, ahead, roll="forward") if freq == "business-daily" else first + ahead
    year = int(np.floor(t[0]))
    notes["approximate_dates"] = (f"the first date is the day at the fraction {t[0] - year:.4f} of {year}, the "
                                  f"rest consecutive {'business days' if freq == 'business-daily' else 'days'}")
    return times, freq, notes


def _from_dates(table: _Table, j: int, freq: str) -> tuple[np.ndarray, str, dict[str, object]]:
    """ISO dates, all written the same way: YYYY-MM-DD, YYYY-MM or YYYY."""
    name = table.header[j]
    cells = table.column(j)
    texts: list[str] = []
    parts_first = 0
    for i, cell in enumerate(cells):
        match = _DATE.fullmatch(cell)
        if match is None:
            what = "missing" if cell.lower() in MISSING else f"{cell!r}, which is not a date (YYYY-MM-DD, " \
                "YYYY-MM or YYYY) nor a number (a year, possibly fractional)"
            raise DataError(f"{table.where(i)}: the time in column {name!r} is {what}")
        parts = [p for p in match.groups() if p is not None]
        if i == 0:
            parts_first = len(parts)
        elif len(parts) != parts_first:
            raise DataError(f"{table.where(i)}: the time {cell!r} is not written like the first one "
                            f"({cells[0]!r}); write every time the same way")
        texts.append("-".join([parts[0], *(p.zfill(2) for p in parts[1:])]))
    unit = "YMD"[parts_first - 1]
    try:
        times = np.array(texts, dtype=f"datetime64[{unit}]")
    except ValueError:
        for i, text in enumerate(texts):
            try:
                np.datetime64(text, unit)
            except ValueError:
                raise DataError(f"{table.where(i)}: the time {cells[i]!r} is not a valid date") from None
        raise
    _check_increasing(table, times.astype(np.int64), cells)
    notes: dict[str, object] = {"time_from": f"column {name!r} (dates)"}
    if freq:
        return times, freq, notes
    if unit == "Y":
        return times, "yearly", notes
    if unit == "D":
        months = times.astype("datetime64[M]")
        day = (times - months.astype("datetime64[D]")).astype(np.int64)
        month_end = (times + 1).astype("datetime64[M]") != months
        if np.all(day == day[0]) or np.all(month_end):  # one date per month, quarter or year
            times, unit = months, "M"
        else:
            steps = np.diff(times.astype(np.int64))
            if np.all(np.is_busday(times)) and np.median(steps) == 1:
                return times, "business-daily", notes
            if np.median(steps) == 1:
                return times, "daily", notes
            raise DataError(f"{table.path}: the dates in column {name!r} step by {int(np.median(steps))} days, "
                            f"which fits no frequency; {_FREQ_HINT}")
    step = int(np.median(np.diff(times.astype(np.int64))))
    if step not in _MONTH_STEPS:
        raise DataError(f"{table.path}: the dates in column {name!r} step by {step} months, which fits no "
                        f"frequency; {_FREQ_HINT}")
    return times, _MONTH_STEPS[step], notes


def _times(table: _Table, freq: str, fill: str) -> tuple[np.ndarray, np.ndarray, str, dict[str, object], set[int]]:
    """The complete times (datetime64 in the frequency's unit, missing steps inserted with ``fill``), the
    place of each row among them, the frequency, notes, and the columns the time used."""
    lower = [h.lower() for h in table.header]
    time_col = next((lower.index(c) for c in TIME_COLUMNS if c in lower), None)
    year = lower.index("year") if "year" in lower else None
    part = next((lower.index(c) for c in ("month", "quarter") if c in lower), None)
    if time_col is None and year is not None and part is not None:
        times, freq, notes = _from_year_and_part(table, year, part, freq)
        used = {year, part}
    elif time_col is not None or year is not None:
        j = time_col if time_col is not None else year
        assert j is not None
        if all(_float(c) is not None for c in table.column(j)):
            times, freq, notes = _from_years(table, j, _numbers(table, j, "time"), freq, fill)
        else:
            times, freq, notes = _from_dates(table, j, freq)
        used = {j}
    else:
        times, freq, notes = _from_index(table, freq)
        used = set()
    times = times.astype(f"datetime64[{time_unit(freq)}]")
    grid, place = _regular(table, times, freq, fill)
    return grid, place, freq, notes, used


def _fill(table: _Table, columns: list[int], values: np.ndarray, fill: str) -> int:
    """Fill the NaNs of ``values`` (T, len(columns)) in place, column by column, as ``fill`` says; the number
    of values filled. DataError for a column with no value at all."""
    steps = np.arange(len(values))
    filled = 0
    for k, j in enumerate(columns):
        column = values[:, k]  # a view: filled in place
        known = ~np.isnan(column)
        if not known.any():
            raise DataError(f"{table.path}: column {table.header[j]!r} has no value at all, so --set fill={fill} "
                            "has nothing to fill it from; give it values or leave it out")
        if known.all():
            continue
        if fill == "linear":  # np.interp holds the first and last known values beyond them
            column[~known] = np.interp(steps[~known], steps[known], column[known])
        else:  # previous: the index of the last known value at or before each step
            last = np.maximum.accumulate(np.where(known, steps, -1))
            column[:] = column[np.where(last < 0, int(np.argmax(known)), last)]
        filled += int((~known).sum())
    return filled


# ---------------------------------------------------------------------------------------------

def read_csv_series(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    target: str = "",
    covariates: str = "",
    freq: str = "",
    source: str = "",
    fill: str = "",
) -> Series:
    """The series in the CSV file ``path`` (see the module docstring for where its time comes from).

    ``target``: the column to forecast, or several joined by commas; by default every numeric column
    that holds neither the time nor a covariate. ``covariates``: columns joined by commas, known
    alongside the targets (default none). ``freq``: one of FREQUENCIES, overriding the inferred one.
    ``fill``: one of FILLS, how missing values and time steps are filled (see the module docstring).
    Every problem (a missing file, an unknown column, a missing or non-numeric value, times that do not
    increase or leave gaps, fewer than MIN_LENGTH rows) is a DataError that names the place and the fix.
    """
    if freq:
        check_freq(freq)
    if fill not in FILLS:
        raise DataError(f"unknown fill {fill!r}; --set fill= takes one of '' (fill nothing: missing values and "
                        "gaps are errors), linear, previous")
    path = Path(path).expanduser()
    table = _read_table(path)
    cov_cols = [_find(table, c) for c in _names(covariates)]
    target_cols = [_find(table, c) for c in _names(target)]
    times, place, freq, notes, time_cols = _times(table, freq, fill)
    structural = time_cols | {j for j, h in enumerate(table.header) if not h}  # "": R's row names
    calendar = {j for j, h in enumerate(table.header) if h.lower() in ("year", "month", "quarter")}
    for j in (*target_cols, *cov_cols):
        if j in structural:
            why = "holds the time" if table.header[j] else "has no name (R's row names)"
            raise DataError(f"{path}: column {table.header[j]!r} {why}; choose targets and covariates among "
                            f"{', '.join(repr(h) for k, h in enumerate(table.header) if k not in structural)}")
    both = [table.header[j] for j in target_cols if j in cov_cols]
    if both:
        raise DataError(f"{path}: {', '.join(map(repr, both))} named both as target and as covariate; choose one")
    if not target_cols:
        target_cols = [j for j in range(len(table.header))
                       if j not in structural | calendar and j not in cov_cols and _is_numeric(table, j)]
        if not target_cols:
            raise DataError(f"{path} has no numeric column to forecast (its columns: {table.columns_list()}); "
                            "name one with --set target=COLUMN")
    columns = [*target_cols, *cov_cols]
    read = np.stack([_numbers(table, j, "target" if k < len(target_cols) else "covariate", missing_ok=bool(fill))
                     for k, j in enumerate(columns)], axis=1)  # (rows, n_targets + n_covariates)
    table_values = np.full((len(times), len(columns)), np.nan)  # (T, n_targets + n_covariates)
    table_values[place] = read
    filled = _fill(table, columns, table_values, fill) if fill else 0
    values, covs = table_values[:, :len(target_cols)], table_values[:, len(target_cols):]  # (T, n_targets), (T, n_cov)
    notes["file"] = str(path)
    notes["filled"] = filled
    notes["filled_rows"] = len(times) - len(place)
    if fill:
        notes["fill"] = fill
    return Series(
        name=name if name is not None else path.stem,
        values=values,
        targets=tuple(table.header[j] for j in target_cols),
        covariates=covs,
        covariate_names=tuple(table.header[j] for j in cov_cols),
        time=times,
        freq=freq,
        source=source or str(path),
        notes=notes,
    )
