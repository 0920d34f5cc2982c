"""Driver / impact analysis: which themes pull the customer score down, and by how much.

Each scored record gets a *score value* whose plain mean is the business metric:

- ``rating`` (1–5) and ``csat``: the score itself; the metric is the mean;
- ``nps`` (0–10): +100 for a promoter (9–10), −100 for a detractor (0–6), 0 otherwise; the mean
  of these values is NPS = % promoters − % detractors.

For each theme, over the scored records of the window:

- ``mean_with``: metric of records that complain with the theme; ``mean_without``: of all others;
- ``gap = mean_without − mean_with`` (points the theme costs each affected customer);
- ``impact = share × gap``, where ``share`` is the fraction of scored records with the theme.
  Because the metric is a mean, this is exactly how much the overall metric would rise if the
  theme's complainants scored like everyone else ("if the theme's complaints were resolved").
- ``impact_low``/``impact_high``: a 95% interval from the Welch standard error of the gap, and
  ``p_value`` the Welch t-test of the gap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

SCORE_KINDS = ("rating", "csat", "nps")
DRIVER_COLUMNS = [
    "score_kind",
    "theme",
    "n_with",
    "n_without",
    "share",
    "mean_with",
    "mean_without",
    "gap",
    "impact",
    "impact_low",
    "impact_high",
    "p_value",
]


def score_values(scores: pd.Series, kind: str) -> pd.Series:
    """Per-record values whose mean is the metric of ``kind`` (see the module docstring)."""
    scores = pd.to_numeric(scores, errors="coerce").astype(float)
    if kind == "nps":
        return pd.Series(
            np.select([scores >= 9, scores <= 6], [100.0, -100.0], 0.0), index=scores.index
        ).where(scores.notna())
    return scores


def overall_metric(records: pd.DataFrame, kind: str) -> float:
    """The metric (mean rating, mean CSAT or NPS) of ``records`` with ``score_kind == kind``."""
    sub = records[records["score_kind"] == kind]
    values = score_values(sub["score"], kind).dropna()
    return float(values.mean()) if len(values) else float("nan")


def primary_kind(records: pd.DataFrame) -> str | None:
    """The most frequent score kind among scored records (ties: rating, csat, nps), or None."""
    scored = records.dropna(subset=["score"])
    scored = scored[scored["score_kind"].isin(SCORE_KINDS)]
    if scored.empty:
        return None
    counts = scored["score_kind"].value_counts()
    return max(SCORE_KINDS, key=lambda k: (counts.get(k, 0), -SCORE_KINDS.index(k)))


def driver_table(records: pd.DataFrame, themes: list[str], *, min_with: int = 5) -> pd.DataFrame:
    """Mean score with vs without each theme, and the theme's impact, per score kind present.

    Parameters
    ----------
    records : one row per record with ``score``, ``score_kind``, ``is_complaint`` and
        ``themes`` (list of theme ids).
    themes : theme ids to analyse (in display order).
    min_with : themes with fewer scored records than this get no interval or p-value.

    Returns
    -------
    DataFrame with :data:`DRIVER_COLUMNS`, sorted by score kind then impact (largest first).

    Examples
    --------
    >>> frame = pd.DataFrame({"score": [1, 2, 5, 5], "score_kind": ["rating"] * 4,
    ...                       "is_complaint": [True, True, False, False],
    ...                       "themes": [["delivery"], ["delivery"], [], []]})
    >>> float(driver_table(frame, ["delivery"])["impact"].iat[0])
    1.75
    """
    rows = []
    scored = records.dropna(subset=["score"])
    for kind in SCORE_KINDS:
        sub = scored[scored["score_kind"] == kind]
        if sub.empty:
            continue
        values = score_values(sub["score"], kind).to_numpy()
        theme_sets = [
            set(t) if c and t is not None and not (isinstance(t, float) and np.isnan(t)) else set()
            for t, c in zip(sub["themes"], sub["is_complaint"], strict=True)
        ]
        for theme in themes:
            has = np.fromiter((theme in s for s in theme_sets), dtype=bool, count=len(theme_sets))
            rows.append(_driver_row(kind, theme, values[has], values[~has], min_with))
    out = pd.DataFrame(rows, columns=DRIVER_COLUMNS)
    if out.empty:
        return out
    out["_order"] = out["score_kind"].map(SCORE_KINDS.index)
    out = out.sort_values(
        ["_order", "impact", "theme"], ascending=[True, False, True], kind="stable"
    )
    return out.drop(columns="_order").reset_index(drop=True)


def _driver_row(
    kind: str, theme: str, with_: np.ndarray, without: np.ndarray, min_with: int
) -> dict:
    n_w, n_o = len(with_), len(without)
    total = n_w + n_o
    share = n_w / total if total else 0.0
    mean_w = float(with_.mean()) if n_w else float("nan")
    mean_o = float(without.mean()) if n_o else float("nan")
    gap = mean_o - mean_w if n_w and n_o else float("nan")
    impact = share * gap if n_w and n_o else 0.0
    low = high = p = float("nan")
    if n_w >= min_with and n_o >= 2:
        var_w = with_.var(ddof=1) if n_w > 1 else 0.0
        var_o = without.var(ddof=1)
        se = float(np.sqrt(var_w / n_w + var_o / n_o))
        low, high = share * (gap - 1.96 * se), share * (gap + 1.96 * se)
        if se > 0:
            p = _welch_p(gap, var_w / n_w, var_o / n_o, n_w, n_o)
    return {
        "score_kind": kind,
        "theme": theme,
        "n_with": n_w,
        "n_without": n_o,
        "share": share,
        "mean_with": mean_w,
        "mean_without": mean_o,
        "gap": gap,
        "impact": impact,
        "impact_low": low,
        "impact_high": high,
        "p_value": p,
    }


def _welch_p(gap: float, a: float, b: float, n_a: int, n_b: int) -> float:
    """Two-sided p-value of Welch's t-test from the squared standard errors ``a`` and ``b``."""
    t = gap / np.sqrt(a + b)
    denom = (a * a / (n_a - 1) if n_a > 1 else 0.0) + (b * b / (n_b - 1) if n_b > 1 else 0.0)
    df = (a + b) ** 2 / denom if denom > 0 else float(n_a + n_b - 2)
    return float(2 * stats.t.sf(abs(t), df))


__all__ = [
    "DRIVER_COLUMNS",
    "SCORE_KINDS",
    "driver_table",
    "overall_metric",
    "primary_kind",
    "score_values",
]
