"""Time series: a :class:`Series` in memory, read from any CSV file by :func:`read_csv_series`, and the
transforms a forecaster is trained on (:class:`SeriesTransform`: log, differences, seasonal differences;
:class:`Scaler`), fitted on the training part only and inverted exactly.
"""

from archzoo.data.series.core import FREQUENCIES, SEASONS, Series, check_freq, format_time, season_phase, time_unit
from archzoo.data.series.csv import MIN_LENGTH, TIME_COLUMNS, read_csv_series
from archzoo.data.series.transforms import TRANSFORMS, Scaler, SeriesTransform

__all__ = [
    "FREQUENCIES",
    "MIN_LENGTH",
    "SEASONS",
    "TIME_COLUMNS",
    "TRANSFORMS",
    "Scaler",
    "Series",
    "SeriesTransform",
    "check_freq",
    "format_time",
    "read_csv_series",
    "season_phase",
    "time_unit",
]
