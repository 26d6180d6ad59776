"""Time series for forecasting: four classic series of R's ``datasets`` package, and any CSV series.

- ``airpassengers``: Box & Jenkins' monthly totals of international airline passengers (thousands),
  1949-01..1960-12, 144 points (R's ``AirPassengers``). The last 36 months are the test part.
- ``sunspots-monthly``: monthly mean relative sunspot numbers (WDC-SILSO), 1749-01..2013-09, 3,177
  points (R's ``sunspot.month``). The last 120 months are the test part.
- ``sunspots-yearly``: yearly sunspot numbers, 1700..1988, 289 points (R's ``sunspot.year``). The last
  67 years are the test part.
- ``eu-stocks``: daily closing prices of the DAX, SMI, CAC and FTSE indices on business days,
  1991..1998, 1,860 points (R's ``EuStockMarkets``, data courtesy of Erste Bank AG, Vienna); four targets
  by default. R gives the times as fractional years (260 a year, holidays omitted), so the dates are an
  approximation: Monday 1991-07-01 (the day at that fraction of 1991) and the business days after it,
  up to 1998-08-14 (see archzoo.data.series.csv). The last 250 business days are the test part.
- ``csv:PATH``: any CSV file (read by archzoo.data.series.read_csv_series); its test part is 20% of
  the series, rounded (``notes["test_size"]`` 0).

Every dataset takes the options ``target`` (a column, or several joined by commas), ``covariates``
(columns joined by commas), ``freq`` (overriding the inferred frequency) and ``fill`` (``""``: missing
values and missing time steps are errors, the default; ``linear``: interpolate them linearly in time;
``previous``: carry the last known value forward; see archzoo.data.series.csv): ``--set target=DAX``,
``--set fill=linear``. ``notes["filled"]`` is the number of values filled (0 when none).
``notes["test_size"]`` is the number of points at the end that the forecasting task holds out.

The four files are read from ``<data root>/timeseries/`` and checked against their SHA-256: they are
R 4.2.2's series exported with ``write.csv`` (no publisher serves these CSV files, so nothing is
downloaded). In R::

    m <- function(x) data.frame(year = floor(time(x)), month = cycle(x), value = as.numeric(x))
    write.csv(m(AirPassengers), "AirPassengers.csv", row.names = FALSE)
    write.csv(m(sunspot.month), "sunspot.month.csv", row.names = FALSE)
    write.csv(data.frame(time = as.numeric(time(sunspot.year)), value = as.numeric(sunspot.year)),
              "sunspot.year.csv", row.names = FALSE)
    write.csv(data.frame(time = as.numeric(time(EuStockMarkets)), EuStockMarkets), "EuStockMarkets.csv",
              row.names = FALSE)

An export whose bytes differ from those (another R version) fails the checksum, but reads as ``csv:PATH``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from archzoo.data import Loader, register_dataset, register_dataset_prefix
from archzoo.data.core import DataError
from archzoo.data.files import SOURCES, FileSpec, Source, ensure, locate, register_source
from archzoo.data.series import Series, read_csv_series

SOURCE = "timeseries"
CSV_TEST_SIZE = 0  # 0: the task holds out 20% of the series, rounded

register_source(Source(
    name=SOURCE,
    files=(
        FileSpec("AirPassengers.csv", "87a54aecbfb097ed76d3743969e4e7bb9807dd869df3100314f7b5534722000a"),
        FileSpec("sunspot.month.csv", "aaa1ad2ba759d39ca3ba39c30135d94fb84ad7a973e37af739fcc922d860ca7e"),
        FileSpec("sunspot.year.csv", "eb84601a56f4407929cca5c81b2feefc2b17f2364cbfe4c0ec6e750e3e3d28e6"),
        FileSpec("EuStockMarkets.csv", "7201abad6b30765fd8369033594b124077330d3b515293a10dcde9648c7cb26b"),
    ),
    urls=(),
))


@dataclass(frozen=True)
class _Named:
    file: str
    r_name: str
    test_size: int
    description: str


NAMED = {
    "airpassengers": _Named(
        "AirPassengers.csv", "AirPassengers", 36,
        "airline passengers (Box & Jenkins), thousands: monthly 1949-1960, 144 points; last 36 test"),
    "sunspots-monthly": _Named(
        "sunspot.month.csv", "sunspot.month", 120,
        "mean monthly sunspot numbers (WDC-SILSO): 1749-2013, 3,177 points; last 120 test"),
    "sunspots-yearly": _Named(
        "sunspot.year.csv", "sunspot.year", 67,
        "yearly sunspot numbers: 1700-1988, 289 points; last 67 test"),
    "eu-stocks": _Named(
        "EuStockMarkets.csv", "EuStockMarkets", 250,
        "DAX, SMI, CAC, FTSE closing prices on business days: 1991-1998, 1,860 points; last 250 test"),
}


def _file(name: str, root: Path, download: bool) -> Path:
    """The verified path of the source's file ``name`` (only that file is looked for and checked); a
    DataError saying where it was looked for and how to make it."""
    source = replace(SOURCES[SOURCE], files=(SOURCES[SOURCE].spec(name),))
    if source.urls:  # a source given URLs (a mirror) downloads like any other
        return ensure(source, root, download_missing=download)[name]
    found = locate(source, root)
    if name not in found:
        raise DataError(
            f"{SOURCE} not found: looked for {name} in {root / SOURCE}; these are series of R's datasets "
            f"package exported with write.csv, which no publisher serves: export them from R (the calls are in "
            f"archzoo.data.sources.series) into {root / SOURCE}, or set ARCHZOO_DATA (or --data-root) to a "
            f"directory that holds {SOURCE}/; any CSV series also loads as csv:PATH"
        )
    return found[name]


def _named_loader(name: str, named: _Named) -> Loader:
    def load(root: Path, download: bool, *, target: str = "", covariates: str = "", freq: str = "",
             fill: str = "") -> Series:
        path = _file(named.file, root, download)
        series = read_csv_series(path, name=name, target=target, covariates=covariates, freq=freq, fill=fill,
                                 source=f"R datasets: {named.r_name} ({path})")
        series.notes["test_size"] = named.test_size
        return series

    return load


def _csv_file(argument: str) -> Loader:
    path = Path(argument).expanduser()

    def load(root: Path, download: bool, *, target: str = "", covariates: str = "", freq: str = "",
             fill: str = "") -> Series:
        series = read_csv_series(path, name=f"csv:{argument}", target=target, covariates=covariates, freq=freq,
                                 fill=fill)
        series.notes["test_size"] = CSV_TEST_SIZE
        return series

    return load


for _name, _named in NAMED.items():
    register_dataset(_name, _named_loader(_name, _named), task="forecasting", source=SOURCE,
                     description=_named.description)
register_dataset_prefix(
    "csv", _csv_file, task="forecasting", metavar="PATH",
    description="any CSV time series (--set target=COL[,COL] covariates=COL[,COL] freq=... fill=linear|previous); "
                "last 20% test",
)
