"""Trend tables over the run history: complaint volume and share per theme and cluster, by period.

Everything is computed by ``created_at`` (when the customer wrote), never by run time, so the
same history always gives the same tables. Periods are calendar weeks starting on Monday
(``"W"``), days (``"D"``) or months (``"M"``). The *current period* is the latest period that is
complete in the data: a week counts as complete once the history holds a record dated on or
after its Sunday.

Reading the store (:func:`load_history`) is separate from the pure computations
(:func:`current_period`, :func:`trend_table`), which take and return DataFrames.

The trend table is long: one row per period × kind (``theme``/``cluster``/``all``) × key ×
segment, with

- ``n``: complaints in the period carrying that theme (or in that cluster; ``all``: every complaint),
- ``n_records``: all feedback records in the period and segment (complaints or not),
- ``share = n / n_records``: the share of feedback raising the issue,
- ``prev_n``, ``prev_share``: the same numbers one period earlier.

Segments are ``dim`` ∈ {``all``, ``channel``, ``product``, ``region``} and ``value`` (``*`` for all).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

SEGMENTS: tuple[str, ...] = ("channel", "product", "region")
ALL = "*"
_FREQ = {"W": "W-SUN", "D": "D", "M": "M"}
TREND_COLUMNS = [
    "period_start",
    "period_end",
    "kind",
    "key",
    "dim",
    "value",
    "n",
    "n_records",
    "share",
    "prev_n",
    "prev_share",
]


@dataclass(frozen=True)
class History:
    """Daily counts read from the store (one row per day and segment combination)."""

    theme_daily: pd.DataFrame  # day, theme, channel, product, region, n_complaints
    cluster_daily: pd.DataFrame  # day, cluster_id, n_complaints
    volume_daily: pd.DataFrame  # day, channel, product, region, n_records, n_complaints


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}…{self.end.isoformat()}"


def load_history(store) -> History:
    """Read the daily views of ``store`` (a :class:`pipeline.store.HistoryStore`) into DataFrames."""
    theme = store.query(
        "SELECT day, theme, channel, product, region, n_complaints FROM theme_daily "
        "WHERE day IS NOT NULL ORDER BY ALL"
    )
    cluster = store.query(
        "SELECT day, cluster_id, n_complaints FROM cluster_daily WHERE day IS NOT NULL ORDER BY ALL"
    )
    volume = store.query(
        "SELECT day, channel, product, region, n_records, n_complaints FROM volume_daily "
        "WHERE day IS NOT NULL ORDER BY ALL"
    )
    return History(theme, cluster, volume)


def period_of(day: date, period: str = "W") -> Period:
    """The period containing ``day``."""
    p = pd.Period(pd.Timestamp(day), freq=_freq(period))
    return Period(p.start_time.date(), p.end_time.date())


def shift(p: Period, n: int, period: str = "W") -> Period:
    """The period ``n`` periods after ``p`` (negative: before)."""
    q = pd.Period(pd.Timestamp(p.start), freq=_freq(period)) + n
    return Period(q.start_time.date(), q.end_time.date())


def current_period(volume_daily: pd.DataFrame, period: str = "W") -> Period | None:
    """The latest complete period in the data (``None`` for an empty history)."""
    days = (
        pd.to_datetime(volume_daily["day"]).dropna()
        if len(volume_daily)
        else pd.Series([], dtype="datetime64[ns]")
    )
    if days.empty:
        return None
    last = days.max().date()
    p = period_of(last, period)
    if period != "D" and last < p.end:
        p = shift(p, -1, period)
    if p.end < days.min().date():
        return None
    return p


def period_list(volume_daily: pd.DataFrame, current: Period, period: str = "W") -> list[Period]:
    """Every period from the first one with data up to ``current``, gaps included."""
    first = period_of(pd.to_datetime(volume_daily["day"]).min().date(), period)
    out = [first]
    while out[-1].start < current.start:
        out.append(shift(out[-1], 1, period))
    return out


def _freq(period: str) -> str:
    if period not in _FREQ:
        raise ValueError(f"report.period must be one of {sorted(_FREQ)}, got {period!r}")
    return _FREQ[period]


def _with_period(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    out = frame.copy()
    days = pd.to_datetime(out["day"])
    out["period_start"] = days.dt.to_period(_freq(period)).dt.start_time.dt.date
    return out


def top_segment_values(volume_daily: pd.DataFrame, dim: str, limit: int) -> list[str]:
    """The ``limit`` segment values of ``dim`` with the most records (ties by name); nulls dropped."""
    if dim not in volume_daily or volume_daily[dim].isna().all():
        return []
    counts = volume_daily.dropna(subset=[dim]).groupby(dim)["n_records"].sum().reset_index()
    counts = counts.sort_values(["n_records", dim], ascending=[False, True], kind="stable")
    return [str(v) for v in counts[dim].head(limit)]


def trend_table(
    history: History,
    *,
    themes: list[str],
    current: Period,
    period: str = "W",
    segments: tuple[str, ...] = SEGMENTS,
    max_segment_values: int = 20,
) -> pd.DataFrame:
    """The long trend table described in the module docstring, up to and including ``current``.

    Parameters
    ----------
    history : daily counts from :func:`load_history`.
    themes : theme ids to report (zero-filled when absent); themes seen in the data are added.
    current : the last period to include (see :func:`current_period`).
    period : ``"W"``, ``"D"`` or ``"M"``.
    segments : segment columns to break down by, when present in the data.
    max_segment_values : keep only the busiest values of each segment column.

    Returns
    -------
    DataFrame with :data:`TREND_COLUMNS`, sorted by kind, key, dim, value and period.
    """
    volume = history.volume_daily
    if volume.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    periods = period_list(volume, current, period)
    starts = [p.start for p in periods]
    ends = {p.start: p.end for p in periods}
    volume = _with_period(volume, period)
    volume = volume[volume["period_start"].isin(starts)]
    theme_daily = _with_period(history.theme_daily, period)
    theme_daily = theme_daily[theme_daily["period_start"].isin(starts)]
    cluster_daily = _with_period(history.cluster_daily, period)
    cluster_daily = cluster_daily[cluster_daily["period_start"].isin(starts)]

    theme_ids = list(
        dict.fromkeys(list(themes) + sorted(theme_daily["theme"].dropna().unique().tolist()))
    )
    dims = [d for d in segments if d in volume and volume[d].notna().any()]
    frames = []
    for dim in ["all", *dims]:
        values = (
            [ALL]
            if dim == "all"
            else top_segment_values(history.volume_daily, dim, max_segment_values)
        )
        vol = _group(volume, dim, ["n_records", "n_complaints"])
        grid = pd.MultiIndex.from_product([starts, values], names=["period_start", "value"])
        vol = vol.set_index(["period_start", "value"]).reindex(grid, fill_value=0).reset_index()
        parts = [vol.rename(columns={"n_complaints": "n"}).assign(kind="all", key=ALL)]
        counts = _group(theme_daily, dim, ["n_complaints"], extra=["theme"]).rename(
            columns={"theme": "key", "n_complaints": "n"}
        )
        parts.append(_fill(counts, vol, theme_ids, "theme"))
        if dim == "all" and not cluster_daily.empty:
            ccounts = _group(cluster_daily, dim, ["n_complaints"], extra=["cluster_id"])
            ccounts = ccounts.rename(columns={"cluster_id": "key", "n_complaints": "n"})
            ccounts["key"] = ccounts["key"].astype(int).astype(str)
            keys = sorted(ccounts["key"].unique().tolist(), key=int)
            parts.append(_fill(ccounts, vol, keys, "cluster"))
        frames.extend(part.assign(dim=dim) for part in parts)
    out = pd.concat(frames, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    out["n_records"] = out["n_records"].astype("int64")
    out["period_end"] = out["period_start"].map(ends)
    out = out.sort_values(
        ["kind", "key", "dim", "value", "period_start"], kind="stable"
    ).reset_index(drop=True)
    out["share"] = np.where(
        out["n_records"] > 0, out["n"] / out["n_records"].where(out["n_records"] > 0, 1), 0.0
    )
    grouped = out.groupby(["kind", "key", "dim", "value"], sort=False)
    out["prev_n"] = grouped["n"].shift(1).fillna(0).astype("int64")
    out["prev_share"] = grouped["share"].shift(1).fillna(0.0)
    return out[TREND_COLUMNS].reset_index(drop=True)


def _group(
    frame: pd.DataFrame, dim: str, cols: list[str], extra: list[str] | None = None
) -> pd.DataFrame:
    extra = extra or []
    frame = frame.copy()
    if dim == "all":
        frame["value"] = ALL
    else:
        frame = frame.dropna(subset=[dim])
        frame["value"] = frame[dim].astype(str)
    return frame.groupby(["period_start", "value", *extra], as_index=False)[cols].sum()


def _fill(counts: pd.DataFrame, vol: pd.DataFrame, keys: list[str], kind: str) -> pd.DataFrame:
    """Zero-fill ``counts`` over every (period, value) of ``vol`` × ``keys``; attach n_records."""
    base = vol[["period_start", "value", "n_records"]]
    grid = base.merge(pd.DataFrame({"key": keys}), how="cross")
    out = grid.merge(counts, on=["period_start", "value", "key"], how="left")
    out["n"] = out["n"].fillna(0)
    out["kind"] = kind
    return out


def summarize_period(trends: pd.DataFrame, current: Period) -> pd.DataFrame:
    """Rows of ``trends`` for the current period (all segments), with the change against the previous one.

    Adds ``change`` (relative change of the share, ``NaN`` when the previous share is 0).
    """
    cur = trends[trends["period_start"] == current.start].copy()
    prev = cur["prev_share"]
    cur["change"] = np.where(prev > 0, cur["share"] / prev.where(prev > 0, 1) - 1, np.nan)
    return cur.reset_index(drop=True)


def window(current: Period, periods: int, period: str = "W") -> tuple[date, date]:
    """First and last day (inclusive) of the ``periods`` periods ending with ``current``."""
    first = shift(current, -(periods - 1), period)
    return first.start, current.end


__all__ = [
    "ALL",
    "SEGMENTS",
    "TREND_COLUMNS",
    "History",
    "Period",
    "current_period",
    "load_history",
    "period_list",
    "period_of",
    "shift",
    "summarize_period",
    "top_segment_values",
    "trend_table",
    "window",
]
