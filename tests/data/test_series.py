"""Time series: the four R series, any CSV series, and the transforms with their exact inverses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import archzoo
from archzoo.data import DataError, dataset_info, list_datasets, load_dataset
from archzoo.data.series import (
    FREQUENCIES,
    TRANSFORMS,
    Scaler,
    Series,
    SeriesTransform,
    format_time,
    read_csv_series,
    season_phase,
)

NAMED = {  # name: (length, frequency, first label, last label, targets)
    "airpassengers": (144, "monthly", "1949-01", "1960-12", ("value",)),
    "sunspots-monthly": (3177, "monthly", "1749-01", "2013-09", ("value",)),
    "sunspots-yearly": (289, "yearly", "1700", "1988", ("value",)),
    "eu-stocks": (1860, "business-daily", "1991-07-01", "1998-08-14", ("DAX", "SMI", "CAC", "FTSE")),
}


def _write(tmp_path: Path, text: str, name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _monthly_csv(n: int = 24, start_year: int = 2000) -> str:
    lines = ["date,value,temp"]
    for i in range(n):
        lines.append(f"{start_year + i // 12}-{i % 12 + 1:02d}-01,{100 + i},{i % 5}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The registered series, read from the real files

@pytest.mark.parametrize("name", list(NAMED))
def test_named_series(series_data_root, name):
    length, freq, first, last, targets = NAMED[name]
    s = load_dataset(name, root=series_data_root)
    assert isinstance(s, Series) and s.task == "forecasting" and s.name == name
    assert len(s) == length and s.freq == freq and s.targets == targets
    assert s.values.shape == (length, len(targets)) and s.values.dtype == np.float64
    assert s.covariates.shape == (length, 0) and s.covariate_names == ()
    labels = s.time_labels()
    assert (labels[0], labels[-1]) == (first, last)
    assert s.notes["test_size"] == {"airpassengers": 36, "sunspots-monthly": 120, "sunspots-yearly": 67,
                                    "eu-stocks": 250}[name]
    assert dataset_info(name).task == "forecasting"


def test_airpassengers_values(series_data_root):
    s = archzoo.load_dataset("airpassengers", root=series_data_root)
    assert s.values[0, 0] == 112 and s.values[-1, 0] == 432 and s.values.sum() == 40363
    assert s.season == 12 and s.time.dtype == np.dtype("datetime64[M]")
    assert format_time(s.future_time(3), s.freq) == ["1961-01", "1961-02", "1961-03"]


def test_sunspots_values(series_data_root):
    yearly = load_dataset("sunspots-yearly", root=series_data_root)
    assert yearly.values[0, 0] == 5 and yearly.values[-1, 0] == 100.2 and yearly.season == 1
    assert yearly.time.dtype == np.dtype("datetime64[Y]")
    assert format_time(yearly.future_time(2), "yearly") == ["1989", "1990"]
    monthly = load_dataset("sunspots-monthly", root=series_data_root)
    assert monthly.values[0, 0] == 58 and monthly.values[-1, 0] == 37


def test_eu_stocks_business_days(series_data_root):
    s = load_dataset("eu-stocks", root=series_data_root)
    assert s.values[0].tolist() == [1628.75, 1678.1, 1772.8, 2443.6]
    assert s.values[-1].tolist() == [5473.72, 7676.3, 3995, 5455]
    assert s.season == 5 and s.time.dtype == np.dtype("datetime64[D]")
    assert np.all(np.is_busday(s.time)) and np.all(np.diff(s.time).astype(int) >= 1)
    assert str(s.time[0]) == "1991-07-01" and "approximate_dates" in s.notes
    future = s.future_time(6)  # 1998-08-14 is a Friday: Monday 17 to Friday 21, then Monday 24
    assert format_time(future, s.freq) == ["1998-08-17", "1998-08-18", "1998-08-19", "1998-08-20", "1998-08-21",
                                           "1998-08-24"]


def test_eu_stocks_one_target_and_covariates(series_data_root):
    dax = load_dataset("eu-stocks", root=series_data_root, target="DAX")
    assert dax.targets == ("DAX",) and dax.values.shape == (1860, 1) and dax.values[0, 0] == 1628.75
    s = load_dataset("eu-stocks", root=series_data_root, target="DAX", covariates="SMI, CAC")
    assert s.covariate_names == ("SMI", "CAC") and s.covariates.shape == (1860, 2)
    assert s.covariates[0].tolist() == [1678.1, 1772.8]
    rest = load_dataset("eu-stocks", root=series_data_root, covariates="FTSE")
    assert rest.targets == ("DAX", "SMI", "CAC") and rest.covariate_names == ("FTSE",)
    with pytest.raises(DataError, match=r"no column 'NIKKEI'; its columns: 'time', 'DAX'"):
        load_dataset("eu-stocks", root=series_data_root, target="NIKKEI")


def test_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(DataError, match=r"timeseries not found: looked for AirPassengers.csv.*write.csv.*csv:PATH"):
        load_dataset("airpassengers", root=tmp_path)


def test_corrupt_file_is_named(tmp_path, series_data_root):
    from archzoo.data.files import ChecksumError

    (tmp_path / "timeseries").mkdir()
    for name in ("AirPassengers.csv", "sunspot.month.csv", "sunspot.year.csv", "EuStockMarkets.csv"):
        data = (series_data_root / "timeseries" / name).read_bytes()
        (tmp_path / "timeseries" / name).write_bytes(data.replace(b"432", b"433") if name[0] == "A" else data)
    with pytest.raises(ChecksumError, match=r"AirPassengers.csv is corrupt"):
        load_dataset("airpassengers", root=tmp_path)
    assert len(load_dataset("sunspots-yearly", root=tmp_path)) == 289


def test_registry_lists_the_series():
    names = list_datasets()
    assert {"airpassengers", "sunspots-monthly", "sunspots-yearly", "eu-stocks", "csv:PATH"} <= set(names)
    assert dataset_info("csv:PATH").task == "forecasting"


# ---------------------------------------------------------------------------------------------
# Any CSV series

def test_csv_dataset_with_dates(tmp_path):
    path = _write(tmp_path, _monthly_csv())
    s = load_dataset(f"csv:{path}", target="value")
    assert s.freq == "monthly" and s.targets == ("value",) and len(s) == 24 and s.notes["test_size"] == 0
    assert s.time_labels()[:2] == ["2000-01", "2000-02"] and s.values[-1, 0] == 123
    both = load_dataset(f"csv:{path}")  # every numeric column but the time
    assert both.targets == ("value", "temp")
    cov = read_csv_series(path, covariates="temp")
    assert cov.targets == ("value",) and cov.covariates[:6, 0].tolist() == [0, 1, 2, 3, 4, 0]


def test_csv_r_layouts(tmp_path):
    rows = [f"{1990 + i // 4},{i % 4 + 1},{i}" for i in range(10)]
    q = read_csv_series(_write(tmp_path, '"year","quarter","value"\n' + "\n".join(rows) + "\n"))
    assert q.freq == "quarterly" and q.season == 4
    assert q.time_labels()[:5] == ["1990-Q1", "1990-Q2", "1990-Q3", "1990-Q4", "1991-Q1"]
    assert format_time(q.future_time(2), q.freq) == ["1992-Q3", "1992-Q4"]
    # R's write.csv with row names: an unnamed first column, ignored; a monthly ts's fractional years
    rows = [f'"{i + 1}",{1949 + i / 12!r},{i * 2}' for i in range(14)]
    m = read_csv_series(_write(tmp_path, '"","time","x"\n' + "\n".join(rows) + "\n", "m.csv"))
    assert m.freq == "monthly" and m.targets == ("x",) and m.time_labels()[-1] == "1950-02"
    rows = [f"{1700 + i},{i}" for i in range(9)]
    y = read_csv_series(_write(tmp_path, "Year,n\n" + "\n".join(rows) + "\n", "y.csv"))
    assert y.freq == "yearly" and y.time_labels()[0] == "1700"


def test_csv_daily_and_business_daily(tmp_path):
    days = np.datetime64("2024-01-01") + np.arange(20)
    daily = "ds,y\n" + "".join(f"{d},{i}\n" for i, d in enumerate(days))
    s = read_csv_series(_write(tmp_path, daily))
    assert s.freq == "daily" and s.season == 7 and format_time(s.future_time(1), s.freq) == ["2024-01-21"]
    weekdays = days[np.is_busday(days)]
    s = read_csv_series(_write(tmp_path, "Date,y\n" + "".join(f"{d},{i}\n" for i, d in enumerate(weekdays)), "b.csv"))
    assert s.freq == "business-daily" and s.time_labels()[-1] == "2024-01-19"  # a Friday
    assert format_time(s.future_time(2), s.freq) == ["2024-01-22", "2024-01-23"]


def test_season_phase_of_each_frequency():
    months = np.datetime64("1959-11", "M") + np.arange(4)
    assert season_phase(months, "monthly").tolist() == [10, 11, 0, 1]  # November, December, January, February
    assert season_phase(np.datetime64("2001-04", "M") + 3 * np.arange(4), "quarterly").tolist() == [1, 2, 3, 0]
    days = np.datetime64("2024-01-05") + np.arange(4)  # a Friday
    assert season_phase(days, "daily").tolist() == [4, 5, 6, 0]
    assert season_phase(np.busday_offset("2024-01-05", np.arange(3)), "business-daily").tolist() == [4, 0, 1]
    assert season_phase(np.datetime64("1700", "Y") + np.arange(3), "yearly").tolist() == [0, 0, 0]


def test_csv_index_with_freq(tmp_path):
    path = _write(tmp_path, "y\n" + "".join(f"{i}\n" for i in range(12)))
    with pytest.raises(DataError, match=r"no time column.*--set freq=FREQ \(one of yearly, quarterly, monthly, "
                                        r"daily, business-daily\)"):
        read_csv_series(path)
    s = read_csv_series(path, freq="quarterly")
    assert s.freq == "quarterly" and len(s) == 12 and s.values[:, 0].tolist() == list(range(12))
    # whole-number times with a frequency other than yearly count its steps
    steps = read_csv_series(_write(tmp_path, "time,y\n" + "".join(f"{i},{i}\n" for i in range(1, 11)), "s.csv"),
                            freq="monthly")
    assert steps.freq == "monthly" and steps.time_labels()[:2] == ["1970-01", "1970-02"]
    with pytest.raises(DataError, match=r"goes from 2 to 4; whole-number times of a daily series count its steps"):
        read_csv_series(_write(tmp_path, "time,y\n" + "".join(f"{2 * i},{i}\n" for i in range(1, 11)), "g.csv"),
                        freq="daily")


def test_explicit_freq_overrides_inference(tmp_path):
    path = _write(tmp_path, _monthly_csv())
    with pytest.raises(DataError, match=r"unknown frequency 'hourly'; --set freq= takes one of yearly, quarterly"):
        read_csv_series(path, freq="hourly")
    with pytest.raises(DataError, match=r"row 2 \(line 3\): 2000-02-01 follows 2000-01-01, 31 day\(s\) later; "
                                        r"a daily series"):
        read_csv_series(path, freq="daily")


@pytest.mark.parametrize(("text", "options", "message"), [
    ("date,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 11)), {"target": "sales"},
     r"has no column 'sales'; its columns: 'date', 'value'"),
    ("date,value\n" + "".join(f"2000-{m:02d},{'NA' if m == 4 else m}\n" for m in range(1, 11)), {},
     r"row 4 \(line 5\): column 'value' has a missing value \('NA'\); the series must be complete"),
    ("date,value\n" + "".join(f"2000-{m:02d},{'' if m == 6 else m}\n" for m in range(1, 11)), {"target": "value"},
     r"row 6 \(line 7\): column 'value' has a missing value"),
    ("date,value\n" + "".join(f"2000-{m:02d},{'12k' if m == 3 else m}\n" for m in range(1, 11)),
     {"target": "value"}, r"row 3 \(line 4\): column 'value' holds '12k', which is not a number"),
    ("date,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in (1, 2, 3, 5, 4, 6, 7, 8, 9, 10)), {},
     r"row 5 \(line 6\): time 2000-04 does not come after 2000-05 .*must increase strictly"),
    ("date,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in (1, 2, 3, 4, 6, 7, 8, 9, 10, 11)), {},
     r"row 5 \(line 6\): 2000-06 follows 2000-04, 2 month\(s\) later; a monthly series has one row every month"),
    ("date,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 8)), {},
     r"has 7 rows; a series needs at least 8"),
    ("date,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 11)), {"covariates": "date"},
     r"column 'date' holds the time"),
    ("when,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(1, 11)), {},
     r"no time column .*pass --set freq=FREQ"),
    ("date,value\n" + "".join(f"{np.datetime64('2000-01-03') + 7 * w},{w}\n" for w in range(10)), {},
     r"step by 7 days, which fits no frequency; pass --set freq=FREQ"),
    ("date,value\n" + "".join(f"{'2000-13' if m == 2 else f'2000-{m:02d}'},{m}\n" for m in range(1, 11)), {},
     r"row 2 \(line 3\): the time '2000-13' is not a valid date"),
    ("date,value\n" + "".join(f"{'March' if m == 2 else f'2000-{m:02d}'},{m}\n" for m in range(1, 11)), {},
     r"row 2 \(line 3\): the time in column 'date' is 'March', which is not a date"),
    ("year,month,value\n" + "".join(f"2000,{13 if m == 9 else m},{m}\n" for m in range(1, 11)), {},
     r"row 9 \(line 10\): month '13' is not between 1 and 12"),
    ("date,value\n2000-01,1,2\n" + "".join(f"2000-{m:02d},{m}\n" for m in range(2, 11)), {},
     r"line 2: 3 fields, but the header has 2"),
])
def test_bad_csv_series(tmp_path, text, options, message):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message):
        read_csv_series(path, **options)


def test_missing_csv_file(tmp_path):
    with pytest.raises(DataError, match=r"not found; give the path of a CSV file"):
        load_dataset(f"csv:{tmp_path / 'nope.csv'}")
    with pytest.raises(DataError, match=r"has no option 'horizon'; it accepts: target, covariates, freq, fill"):
        load_dataset(f"csv:{tmp_path / 'nope.csv'}", horizon=3)


# ---------------------------------------------------------------------------------------------
# Filling gaps and missing values

def _gappy_monthly(tmp_path: Path) -> Path:
    """2000-01..2000-12 with May missing (a gap) and August's value empty; value m**2, temp m % 5."""
    lines = ["date,value,temp"]
    for m in range(1, 13):
        if m != 5:
            lines.append(f"2000-{m:02d}-01,{'' if m == 8 else m * m},{m % 5}")
    return _write(tmp_path, "\n".join(lines) + "\n", "gappy.csv")


def test_fill_default_errors_name_the_option(tmp_path):
    path = _gappy_monthly(tmp_path)
    with pytest.raises(DataError, match=r"row 5 \(line 6\): 2000-06 follows 2000-04, 2 month\(s\) later.*add the "
                                        r"missing rows \(interpolated\) or pass --set fill=linear to interpolate them"):
        read_csv_series(path)
    no_gap = path.read_text().replace("2000-04-01,16,4\n", "2000-04-01,16,4\n2000-05-01,25,0\n")
    with pytest.raises(DataError, match=r"row 8 \(line 9\): column 'value' has a missing value \(''\); the series "
                                        r"must be complete.*pass --set fill=linear to interpolate it$"):
        read_csv_series(_write(tmp_path, no_gap, "no_gap.csv"))
    text = "date,value\n" + "".join(f"2000-{m:02d},{'NA' if m == 4 else m}\n" for m in range(1, 11))
    with pytest.raises(DataError, match=r"row 4 \(line 5\): .*missing value \('NA'\); the series must be complete.*"
                                        r"or pass --set fill=linear to interpolate it$"):
        read_csv_series(_write(tmp_path, text))
    steps = "time,y\n" + "".join(f"{2 * i},{i}\n" for i in range(1, 11))
    with pytest.raises(DataError, match=r"goes from 2 to 4;.*pass --set fill=linear to interpolate them"):
        read_csv_series(_write(tmp_path, steps, "s.csv"), freq="daily")


def test_fill_linear(tmp_path):
    s = read_csv_series(_gappy_monthly(tmp_path), target="value", covariates="temp", fill="linear")
    assert len(s) == 12 and s.freq == "monthly"
    assert s.time_labels() == [f"2000-{m:02d}" for m in range(1, 13)]
    expected = [m * m for m in range(1, 13)]
    expected[4] = (16 + 36) / 2  # May, between April and June
    expected[7] = (49 + 81) / 2  # August, between July and September
    assert s.values[:, 0].tolist() == expected
    assert s.covariates[:, 0].tolist() == [1, 2, 3, 4, 2.5, 1, 2, 3, 4, 0, 1, 2]
    assert s.notes["filled"] == 3 and s.notes["filled_rows"] == 1 and s.notes["fill"] == "linear"
    # a longer gap interpolates in steps; missing values at the ends take the nearest known value
    lines = ["date,y"] + [f"2001-{m:02d},{'' if m in (1, 12) else m * 10}" for m in (1, 2, 3, 7, 8, 9, 10, 11, 12)]
    t = read_csv_series(_write(tmp_path, "\n".join(lines) + "\n", "t.csv"), fill="linear")
    assert t.values[:, 0].tolist() == [20, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 110]
    assert t.notes["filled"] == 5 and t.notes["filled_rows"] == 3
    # whole-number step counts with a gap
    steps = "time,y\n" + "".join(f"{i},{i}\n" for i in (1, 2, 3, 5, 6, 7, 8, 9, 10))
    d = read_csv_series(_write(tmp_path, steps, "s.csv"), freq="daily", fill="linear")
    assert len(d) == 10 and d.values[:, 0].tolist() == list(range(1, 11))
    assert d.time_labels()[:2] == ["1970-01-01", "1970-01-02"]


def test_fill_previous(tmp_path):
    s = read_csv_series(_gappy_monthly(tmp_path), fill="previous")
    assert s.targets == ("value", "temp") and len(s) == 12
    assert s.values[:, 0].tolist() == [1, 4, 9, 16, 16, 36, 49, 49, 81, 100, 121, 144]
    assert s.values[:, 1].tolist() == [1, 2, 3, 4, 4, 1, 2, 3, 4, 0, 1, 2]
    assert s.notes["filled"] == 3 and s.notes["filled_rows"] == 1
    text = "date,y\n" + "".join(f"2000-{m:02d},{'' if m < 3 else m}\n" for m in range(1, 11))
    assert read_csv_series(_write(tmp_path, text, "p.csv"), fill="previous").values[:4, 0].tolist() == [3, 3, 3, 4]


def test_fill_business_days(tmp_path):
    days = np.datetime64("2024-01-01") + np.arange(19)  # Monday 1 to Friday 19
    weekdays = days[np.is_busday(days)]  # 15 business days
    kept = [d for d in weekdays if str(d) not in ("2024-01-10", "2024-01-15")]  # a Wednesday and a Monday
    text = "Date,y\n" + "".join(f"{d},{3 * int(np.busday_count(weekdays[0], d))}\n" for d in kept)
    path = _write(tmp_path, text)
    assert len(read_csv_series(path)) == 13  # by default, missing business days are holidays
    s = read_csv_series(path, fill="linear")
    assert s.freq == "business-daily" and len(s) == 15 and s.notes["filled_rows"] == 2
    assert s.time_labels() == [str(d) for d in weekdays]
    assert s.values[:, 0].tolist() == [3 * k for k in range(15)]  # interpolated in business days
    weekend = text + "2024-01-20,45\n"
    with pytest.raises(DataError, match=r"2024-01-20 is a weekend day"):
        read_csv_series(_write(tmp_path, weekend, "w.csv"), freq="business-daily", fill="linear")


def test_fill_cannot_fix(tmp_path):
    text = "date,value\n" + "".join(f"2000-{m:02d},{m}\n" for m in (1, 2, 3, 3, 4, 5, 6, 7, 8, 9))
    for fill in ("", "linear", "previous"):
        with pytest.raises(DataError, match=r"row 4 \(line 5\): time 2000-03 repeats the row before.*"
                                            r"fill cannot fix duplicate times"):
            read_csv_series(_write(tmp_path, text), fill=fill)
    with pytest.raises(DataError, match=r"unknown fill 'spline'; --set fill= takes one of '' .*linear, previous"):
        read_csv_series(_write(tmp_path, text), fill="spline")
    empty = "date,value,x\n" + "".join(f"2000-{m:02d},{m},\n" for m in range(1, 11))
    with pytest.raises(DataError, match=r"column 'x' has no value at all"):
        read_csv_series(_write(tmp_path, empty, "e.csv"), covariates="x", fill="linear")
    assert read_csv_series(_write(tmp_path, empty, "e.csv"), fill="linear").targets == ("value",)


@pytest.mark.parametrize("name", ["airpassengers", "eu-stocks"])
def test_named_series_with_fill(series_data_root, name):
    plain = load_dataset(name, root=series_data_root)
    s = load_dataset(name, root=series_data_root, fill="linear")
    assert plain.notes["filled"] == 0 and s.notes["filled"] == 0 and s.notes["filled_rows"] == 0
    assert np.array_equal(s.values, plain.values) and np.array_equal(s.time, plain.time)
    assert len(s) == NAMED[name][0] and s.notes["test_size"] == plain.notes["test_size"]


def test_series_checks_its_shapes():
    with pytest.raises(ValueError, match=r"do not match the 2 targets"):
        Series("x", np.zeros((10, 1)), ("a", "b"), np.zeros((10, 0)), (), np.arange(10).astype("datetime64[Y]"),
               "yearly")
    assert FREQUENCIES == ("yearly", "quarterly", "monthly", "daily", "business-daily")


# ---------------------------------------------------------------------------------------------
# Transforms

def _seasonal(t: int = 60, c: int = 2, season: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = np.arange(t)[:, None]
    level = 100 + 2 * steps + 20 * np.sin(2 * np.pi * steps / season) + rng.normal(0, 3, (t, c))
    return np.exp(np.log(level) * np.array([1.0, 1.2])[:c])  # positive, multiplicative


@pytest.mark.parametrize("spec", ["none", "log", "diff", "sdiff", "log,sdiff", "log,diff", "log,diff,sdiff",
                                  "diff,sdiff", "sdiff,diff", "diff,diff"])
def test_transform_round_trip(spec):
    x = _seasonal()
    t = SeriesTransform(spec, season=12).fit(x[:40])
    z = t.apply(x)
    assert z.shape == (60 - t.lost, 2)
    assert t.lost == {"none": 0, "log": 0, "diff": 1, "sdiff": 12, "log,sdiff": 12, "log,diff": 1,
                      "log,diff,sdiff": 13, "diff,sdiff": 13, "sdiff,diff": 13, "diff,diff": 2}[spec]
    for horizon in (1, 5, 12, 20):  # shorter and longer than a season
        history = x[:-horizon]
        np.testing.assert_allclose(t.invert(z[-horizon:], history), x[-horizon:], rtol=1e-12)
    # z[i] belongs to x[i + lost]: inverting it from the history before x[i + lost] gives x[i + lost]
    i = 7
    np.testing.assert_allclose(t.invert(z[i:i + 1], x[:i + t.lost]), x[i + t.lost:i + t.lost + 1], rtol=1e-12)


def test_transform_leading_batch_dims():
    x = _seasonal(c=2)
    t = SeriesTransform("log,diff,sdiff", 12)
    z = t.apply(x)
    horizon = 8
    paths = np.stack([z[-horizon:], z[-horizon:] + 0.01, z[-horizon:] - 0.02])  # (3, H, C)
    batch = np.stack([paths, paths])  # (2, 3, H, C)
    out = t.invert(batch, x[:-horizon])
    assert out.shape == (2, 3, horizon, 2)
    np.testing.assert_allclose(out[0, 0], x[-horizon:], rtol=1e-12)
    np.testing.assert_allclose(out[1, 2], t.invert(paths[2], x[:-horizon]), rtol=1e-12)
    assert np.all(out[0, 1] > out[0, 0])  # a higher log-difference path stays above


def test_transform_errors():
    with pytest.raises(ValueError, match=r"unknown transform 'boxcox'.*log, diff, sdiff"):
        SeriesTransform("log,boxcox", 12)
    with pytest.raises(ValueError, match=r"'sdiff' needs a season of 2 or more.*season 1; use 'diff'"):
        SeriesTransform("sdiff", 1)
    with pytest.raises(ValueError, match=r"'log' must come first"):
        SeriesTransform("diff,log", 12)
    x = _seasonal()
    x[3, 1] = -1.0
    with pytest.raises(ValueError, match=r"column 'b' has values <= 0 \(min -1\) in the training part; use "
                                         r"transform=none or transform=diff"):
        SeriesTransform("log", 12).fit(x, columns=("a", "b"))
    with pytest.raises(ValueError, match=r"consumes 13 points, and the training part has only 10"):
        SeriesTransform("diff,sdiff", 12).fit(_seasonal()[:10])
    assert SeriesTransform("none", 12).steps == () and SeriesTransform("", 12).spec == "none"
    assert TRANSFORMS == ("log", "diff", "sdiff")
    t = SeriesTransform.from_dict(SeriesTransform("log,sdiff", 4).to_dict())
    assert (t.spec, t.season, t.lost) == ("log,sdiff", 4, 4)


def test_scaler():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    scaler = Scaler().fit(x)
    z = scaler.apply(x)
    assert scaler.std.tolist() == [pytest.approx(np.sqrt(8 / 3)), 1.0]  # a constant column keeps std 1
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(scaler.invert(np.stack([z, z])), np.stack([x, x]))  # leading dims
    again = Scaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(again.apply(x), z)
    with pytest.raises(ValueError, match="not fitted"):
        Scaler().apply(x)
