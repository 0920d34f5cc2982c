"""The spike test: Poisson against the trailing rate, BH-adjusted, with volume and ratio guards."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipeline.alerts import (
    alert_records,
    benjamini_hochberg,
    poisson_sf,
    select_alerts,
    spike_tests,
)


def series(
    counts: list[int], records: list[int], key: str = "delivery", dim: str = "all", value: str = "*"
):
    start = date(2026, 9, 7)
    rows = []
    for i, (n, r) in enumerate(zip(counts, records, strict=True)):
        rows.append(
            {
                "period_start": start + timedelta(weeks=i),
                "period_end": start + timedelta(weeks=i, days=6),
                "kind": "theme",
                "key": key,
                "dim": dim,
                "value": value,
                "n": n,
                "n_records": r,
                "share": n / r if r else 0.0,
            }
        )
    return pd.DataFrame(rows)


def test_poisson_sf_matches_hand_computation():
    # P(X >= 3 | lambda = 1) = 1 - e^-1 (1 + 1 + 1/2)
    assert poisson_sf(np.array([3]), np.array([1.0]))[0] == pytest.approx(1 - np.exp(-1) * 2.5)
    assert poisson_sf(np.array([0]), np.array([5.0]))[0] == 1.0


def test_benjamini_hochberg_matches_the_textbook_example():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005]))
    assert q.tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_a_planted_spike_is_found_with_its_numbers():
    tests = spike_tests(series([10, 12, 9, 11, 40], [100, 100, 100, 100, 100]))
    alerts = select_alerts(tests)
    assert len(alerts) == 1
    a = alerts.iloc[0]
    assert a["period_start"] == date(2026, 10, 5)
    assert a["baseline_n"] == 42 and a["baseline_records"] == 400
    assert a["expected"] == pytest.approx((42 + 0.5) / 400 * 100)
    assert a["p_value"] < 1e-6
    assert a["z"] > 2


def test_volume_growth_alone_is_not_a_spike():
    # the count doubles because feedback doubled: same rate, no alert
    tests = spike_tests(series([10, 12, 9, 11, 22], [100, 100, 100, 100, 200]))
    assert select_alerts(tests).empty


def test_two_complaints_never_make_a_spike():
    tests = spike_tests(series([0, 0, 0, 0, 2], [100, 100, 100, 100, 100]))
    assert tests.iloc[-1]["p_value"] < 0.01  # significant on its own...
    assert select_alerts(tests, min_count=8).empty  # ...but under the minimum-volume guard


def test_a_never_seen_issue_is_new():
    alerts = select_alerts(spike_tests(series([0, 0, 0, 0, 15], [100] * 5)))
    assert bool(alerts.iloc[0]["new"])


def test_periods_without_enough_history_are_not_tested():
    tests = spike_tests(series([5, 50], [100, 100]), min_history=2)
    assert tests.empty


def test_alert_records_are_json_ready():
    alerts = select_alerts(spike_tests(series([10, 12, 9, 11, 40], [100] * 5)))
    rec = alert_records(alerts)[0]
    assert rec["count"] == 40 and rec["records"] == 100
    assert rec["baseline"]["count"] == 42 and "expected_count" in rec["baseline"]
    assert rec["segment"] == {"dim": "all", "value": "*"}
    assert isinstance(rec["p_value"], float) and isinstance(rec["new"], bool)


def test_a_cluster_id_seen_for_the_first_time_is_left_to_the_clustering_stage():
    fresh = series([0, 0, 0, 0, 30], [100] * 5, key="7").assign(kind="cluster")
    assert select_alerts(spike_tests(fresh)).empty
    known = series([2, 3, 2, 3, 30], [100] * 5, key="7").assign(kind="cluster")
    assert len(select_alerts(spike_tests(known))) == 1
