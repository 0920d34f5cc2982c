"""Spike alerts: is this period's complaint count above what the trailing rate predicts?

The test, for each theme (and cluster), overall and per segment value, and each period:

- baseline rate ``r0 = (c0 + 0.5) / N0``, where ``c0`` is the count and ``N0`` the feedback
  volume over the ``trailing`` periods before (0.5 keeps a never-seen issue testable);
- expected count ``E = r0 × N``, with ``N`` this period's feedback volume in the same segment;
- one-sided Poisson test: ``p = P(X ≥ c | X ~ Poisson(E))`` for this period's count ``c``;
- the p-values of one period are adjusted together (Benjamini–Hochberg, giving ``q``), since
  every theme × segment is a separate test;
- an alert needs ``q ≤ p_value`` **and** ``c ≥ min_count`` (two complaints never make a spike)
  **and** ``c / E ≥ min_ratio`` (a large but tiny relative change is not a spike), and at least
  ``min_history`` earlier periods with feedback in that segment.

Clusters are tested only once their id has occurred in an earlier period: a cluster that is new
tonight is the clustering stage's call (its ``emerging`` flag), not a spike.

An alert is ``new`` when the trailing periods held no such complaint (``c0 == 0``).
Every alert carries its numbers: this period's count and share, the baseline share, the
expected count, the rate ratio, ``p`` and ``q``, and a z-score of the share against the trailing
shares (mean and SD) for readers used to the "mean + 2 SD" rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson

ALERT_COLUMNS = [
    "period_start",
    "period_end",
    "kind",
    "key",
    "dim",
    "value",
    "n",
    "n_records",
    "share",
    "baseline_n",
    "baseline_records",
    "baseline_share",
    "expected",
    "ratio",
    "z",
    "p_value",
    "q_value",
    "new",
]


def poisson_sf(count: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """One-sided p-value ``P(X >= count)`` for ``X ~ Poisson(expected)``."""
    count = np.asarray(count, dtype=float)
    expected = np.asarray(expected, dtype=float)
    return np.where(count <= 0, 1.0, poisson.sf(count - 1, expected))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return q


def spike_tests(
    trends: pd.DataFrame,
    *,
    trailing: int = 4,
    min_history: int = 2,
    kinds: tuple[str, ...] = ("theme", "cluster"),
) -> pd.DataFrame:
    """Run the spike test on every series of ``trends`` and every period with enough history.

    Parameters
    ----------
    trends : the long table of :func:`pipeline.trends.trend_table`.
    trailing : number of earlier periods forming the baseline.
    min_history : earlier periods with feedback needed before a period is tested.
    kinds : which ``kind`` rows to test.

    Returns
    -------
    DataFrame with :data:`ALERT_COLUMNS` (one row per test, not only alerts).
    """
    rows = trends[trends["kind"].isin(kinds)].sort_values(
        ["kind", "key", "dim", "value", "period_start"], kind="stable"
    )
    if rows.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    rows = rows.copy()
    grouped = rows.groupby(["kind", "key", "dim", "value"], sort=False)
    roll = lambda col: grouped[col].transform(
        lambda s: s.shift(1).rolling(trailing, min_periods=1).sum()
    )
    rows["baseline_n"] = roll("n").fillna(0).astype("int64")
    rows["baseline_records"] = roll("n_records").fillna(0).astype("int64")
    rows["history"] = (
        grouped["n_records"]
        .transform(lambda s: (s > 0).astype(int).shift(1).rolling(trailing, min_periods=1).sum())
        .fillna(0)
    )
    # A cluster id first seen this period is the clustering stage's "emerging" call, not a spike.
    seen_before = grouped["n"].transform(lambda s: s.shift(1).fillna(0).cumsum()) > 0
    mean = grouped["share"].transform(lambda s: s.shift(1).rolling(trailing, min_periods=2).mean())
    sd = grouped["share"].transform(
        lambda s: s.shift(1).rolling(trailing, min_periods=2).std(ddof=1)
    )
    rows = rows[
        (rows["history"] >= min_history)
        & (rows["n_records"] > 0)
        & (rows["baseline_records"] > 0)
        & ((rows["kind"] != "cluster") | seen_before)
    ]
    mean, sd = mean.loc[rows.index], sd.loc[rows.index]
    rows["baseline_share"] = rows["baseline_n"] / rows["baseline_records"]
    rate = (rows["baseline_n"] + 0.5) / rows["baseline_records"]
    rows["expected"] = rate * rows["n_records"]
    rows["ratio"] = rows["n"] / rows["expected"]
    rows["z"] = np.where(sd > 0, (rows["share"] - mean) / sd.where(sd > 0, 1), np.nan)
    rows["p_value"] = poisson_sf(rows["n"].to_numpy(), rows["expected"].to_numpy())
    rows["q_value"] = rows.groupby("period_start")["p_value"].transform(
        lambda p: benjamini_hochberg(p.to_numpy())
    )
    rows["new"] = rows["baseline_n"] == 0
    return rows[ALERT_COLUMNS].reset_index(drop=True)


def select_alerts(
    tests: pd.DataFrame, *, p_value: float = 0.01, min_count: int = 8, min_ratio: float = 1.5
) -> pd.DataFrame:
    """The tests that are alerts (see the module docstring), newest period first, then by p-value."""
    if tests.empty:
        return tests.copy()
    hit = (tests["q_value"] <= p_value) & (tests["n"] >= min_count) & (tests["ratio"] >= min_ratio)
    out = tests[hit].copy()
    out["_all"] = out["dim"] != "all"
    out = out.sort_values(
        ["period_start", "p_value", "_all", "kind", "key", "dim", "value"],
        ascending=[False, True, True, True, True, True, True],
        kind="stable",
    )
    return out.drop(columns="_all").reset_index(drop=True)


def alert_records(alerts: pd.DataFrame) -> list[dict]:
    """Alerts as plain JSON-ready dicts with rounded numbers (stable for byte-identical output)."""
    out = []
    for row in alerts.to_dict("records"):
        out.append(
            {
                "period_start": str(row["period_start"]),
                "period_end": str(row["period_end"]),
                "kind": row["kind"],
                "key": str(row["key"]),
                "segment": {"dim": row["dim"], "value": row["value"]},
                "count": int(row["n"]),
                "records": int(row["n_records"]),
                "share": round(float(row["share"]), 6),
                "baseline": {
                    "count": int(row["baseline_n"]),
                    "records": int(row["baseline_records"]),
                    "share": round(float(row["baseline_share"]), 6),
                    "expected_count": round(float(row["expected"]), 3),
                },
                "rate_ratio": round(float(row["ratio"]), 3),
                "z_score": None if pd.isna(row["z"]) else round(float(row["z"]), 2),
                "test": "one-sided Poisson test of the count against the trailing rate",
                "p_value": float(f"{row['p_value']:.3g}"),
                "q_value": float(f"{row['q_value']:.3g}"),
                "new": bool(row["new"]),
            }
        )
    return out


__all__ = [
    "ALERT_COLUMNS",
    "alert_records",
    "benjamini_hochberg",
    "poisson_sf",
    "select_alerts",
    "spike_tests",
]
