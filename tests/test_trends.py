"""Trend tables from daily counts: periods by created_at, shares, previous period, segments."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline.store import HistoryStore
from pipeline.trends import (
    History,
    Period,
    current_period,
    load_history,
    period_of,
    summarize_period,
    trend_table,
)


def volume(days_counts: dict[str, int], region: str = "Tehran") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "day": pd.Timestamp(d),
                "channel": "app",
                "product": None,
                "region": region,
                "n_records": n,
                "n_complaints": n // 2,
            }
            for d, n in days_counts.items()
        ]
    )


@pytest.mark.parametrize(
    "last_day, expected_start",
    [
        ("2026-11-01", date(2026, 10, 26)),  # data ends on a Sunday: that week is complete
        (
            "2026-10-31",
            date(2026, 10, 19),
        ),  # ends on a Saturday: the week before is the latest complete
        ("2026-10-26", date(2026, 10, 19)),  # a lone Monday does not complete its week
    ],
)
def test_current_period_is_the_latest_complete_week_of_the_data(last_day, expected_start):
    vol = volume({"2026-10-01": 5, last_day: 3})
    assert current_period(vol, "W").start == expected_start


def test_current_period_of_an_empty_history_is_none():
    assert current_period(volume({}).reindex(columns=["day", "n_records"]), "W") is None


def test_weeks_start_on_monday():
    assert period_of(date(2026, 10, 25), "W") == Period(date(2026, 10, 19), date(2026, 10, 25))


def small_history() -> History:
    vol = pd.concat(
        [volume({"2026-10-12": 10, "2026-10-19": 20}), volume({"2026-10-19": 10}, "Shiraz")]
    )
    theme = pd.DataFrame(
        [
            {
                "day": pd.Timestamp("2026-10-12"),
                "theme": "delivery",
                "channel": "app",
                "product": None,
                "region": "Tehran",
                "n_complaints": 2,
            },
            {
                "day": pd.Timestamp("2026-10-19"),
                "theme": "delivery",
                "channel": "app",
                "product": None,
                "region": "Tehran",
                "n_complaints": 8,
            },
            {
                "day": pd.Timestamp("2026-10-19"),
                "theme": "delivery",
                "channel": "app",
                "product": None,
                "region": "Shiraz",
                "n_complaints": 1,
            },
        ]
    )
    cluster = pd.DataFrame(
        {"day": [pd.Timestamp("2026-10-19")], "cluster_id": [3], "n_complaints": [4]}
    )
    return History(theme, cluster, vol)


def test_trend_table_counts_shares_and_previous_period():
    current = Period(date(2026, 10, 19), date(2026, 10, 25))
    trends = trend_table(small_history(), themes=["delivery", "packaging"], current=current)
    row = trends[
        (trends["kind"] == "theme")
        & (trends["key"] == "delivery")
        & (trends["dim"] == "all")
        & (trends["period_start"] == current.start)
    ].iloc[0]
    assert (row["n"], row["n_records"], row["prev_n"]) == (9, 30, 2)
    assert row["share"] == pytest.approx(9 / 30)
    assert row["prev_share"] == pytest.approx(2 / 10)
    # a theme of the taxonomy with no complaint is there, zero-filled
    packaging = trends[(trends["key"] == "packaging") & (trends["dim"] == "all")]
    assert len(packaging) == 2 and packaging["n"].sum() == 0
    # clusters are trended too
    assert trends[(trends["kind"] == "cluster") & (trends["key"] == "3")]["n"].tolist() == [0, 4]


def test_trend_table_breaks_down_by_segments_present_only():
    current = Period(date(2026, 10, 19), date(2026, 10, 25))
    trends = trend_table(small_history(), themes=["delivery"], current=current)
    assert set(trends["dim"]) == {"all", "channel", "region"}  # product is all null
    tehran = trends[
        (trends["kind"] == "theme") & (trends["dim"] == "region") & (trends["value"] == "Tehran")
    ]
    assert tehran["n"].tolist() == [2, 8]
    assert tehran["n_records"].tolist() == [10, 20]
    cur = summarize_period(trends, current)
    change = cur[(cur["kind"] == "theme") & (cur["dim"] == "region") & (cur["value"] == "Tehran")][
        "change"
    ]
    assert change.iat[0] == pytest.approx((8 / 20) / (2 / 10) - 1)


def test_periods_without_data_are_zero_filled_gaps():
    hist = small_history()
    vol = pd.concat([hist.volume_daily, volume({"2026-09-28": 4})])
    current = Period(date(2026, 10, 19), date(2026, 10, 25))
    trends = trend_table(
        History(hist.theme_daily, hist.cluster_daily, vol), themes=["delivery"], current=current
    )
    every = trends[(trends["kind"] == "all") & (trends["dim"] == "all")]
    assert every["period_start"].tolist() == [
        date(2026, 9, 28),
        date(2026, 10, 5),
        date(2026, 10, 12),
        current.start,
    ]
    assert every["n_records"].tolist() == [4, 0, 10, 30]


def test_load_history_reads_the_store_views(tmp_path):
    from test_report import fill_store, make_records

    records = make_records().head(2).copy()
    records["is_complaint"] = [True, False]
    records["themes"] = [["delivery"], []]
    records["cluster_id"] = [1, -1]
    with HistoryStore(tmp_path / "h.duckdb") as store:
        fill_store(store, records, tmp_path / "run")
        hist = load_history(store)
    assert hist.theme_daily["n_complaints"].sum() == 1
    assert hist.volume_daily["n_records"].sum() == 2
    assert hist.cluster_daily["cluster_id"].tolist() == [1]
