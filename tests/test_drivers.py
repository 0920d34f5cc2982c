"""Score drivers: mean with vs without a theme, and the impact of resolving it."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.drivers import driver_table, overall_metric, primary_kind, score_values


def frame(scores, kinds, themes, complaints=None):
    complaints = complaints or [bool(t) for t in themes]
    return pd.DataFrame(
        {"score": scores, "score_kind": kinds, "themes": themes, "is_complaint": complaints}
    )


@pytest.mark.parametrize(
    "score, value",
    [
        (10, 100.0),
        (9, 100.0),
        (8, 0.0),
        (7, 0.0),
        (6, -100.0),
        (0, -100.0),
    ],  # promoters / passives / detractors
)
def test_nps_values(score, value):
    assert score_values(pd.Series([score]), "nps").iat[0] == value


def test_nps_is_promoters_minus_detractors():
    records = frame([10, 9, 8, 3, 0], ["nps"] * 5, [[]] * 5)
    assert overall_metric(records, "nps") == pytest.approx(100 * (2 / 5 - 2 / 5))


def test_impact_is_the_change_in_the_mean_when_the_theme_scores_like_the_rest():
    records = frame(
        [1, 2, 4, 5, 5, 4], ["rating"] * 6, [["delivery"], ["delivery"], [], [], [], []]
    )
    row = driver_table(records, ["delivery"]).iloc[0]
    assert row["mean_with"] == 1.5 and row["mean_without"] == 4.5
    # resolved: the two delivery complainants score 4.5 like the rest
    resolved = (4.5 * 2 + 4 + 5 + 5 + 4) / 6
    assert row["impact"] == pytest.approx(resolved - records["score"].mean())


def test_nps_impact_in_points():
    records = frame(
        [0, 0, 10, 10, 9, 8], ["nps"] * 6, [["price_value"], ["price_value"], [], [], [], []]
    )
    row = driver_table(records, ["price_value"]).iloc[0]
    overall = overall_metric(records, "nps")
    assert row["mean_without"] == 75.0
    assert row["impact"] == pytest.approx(row["mean_without"] - overall)


def test_non_complaints_never_count_as_having_the_theme():
    records = frame([1, 5], ["rating"] * 2, [["delivery"], ["delivery"]], complaints=[True, False])
    row = driver_table(records, ["delivery"]).iloc[0]
    assert row["n_with"] == 1 and row["mean_without"] == 5


def test_drivers_are_per_score_kind_and_sorted_by_impact():
    records = frame(
        [1, 5, 5, 3, 5, 9, 2],
        ["rating"] * 5 + ["nps"] * 2,
        [["delivery"], [], [], ["price_value"], [], [], ["delivery"]],
    )
    table = driver_table(records, ["price_value", "delivery"])
    assert table["score_kind"].tolist() == ["rating", "rating", "nps", "nps"]
    assert table["theme"].tolist()[:2] == ["delivery", "price_value"]
    assert primary_kind(records) == "rating"


def test_no_scores_no_kind():
    assert primary_kind(frame([None], [None], [[]])) is None
    assert driver_table(frame([None], [None], [[]]), ["delivery"]).empty
