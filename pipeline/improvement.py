"""Areas needing improvement: one ranked table of themes and a plain sentence per row (fa/ar).

Priority (0–100) of a theme in the current period::

    priority = 100 × (0.4 × V + 0.3 × G + 0.3 × I)

- ``V = n / max n``: volume, this period's complaints with the theme relative to the largest theme;
- ``G = min(max(ratio − 1, 0), 2) / 2``: growth, from the rate ratio against the trailing
  baseline (this period's count over the count the trailing rate predicts, see
  :mod:`pipeline.alerts`), capped at +200%;
- ``I = impact / max impact``: the score points the theme costs (see :mod:`pipeline.drivers`),
  relative to the costliest theme; negative impacts count as 0.

Without a score column, ``I`` is left out and the weights become 0.4/0.7 and 0.3/0.7.
Rows are sorted by priority, then theme id, so the table is stable.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

WEIGHTS = {"volume": 0.4, "growth": 0.3, "impact": 0.3}
GROWTH_CAP = 2.0
IMPROVEMENT_COLUMNS = [
    "theme",
    "n",
    "share",
    "ratio",
    "growth",
    "p_value",
    "new",
    "impact",
    "top_dim",
    "top_value",
    "top_excess_share",
    "V",
    "G",
    "I",
    "priority",
    "rank",
]

_DIGITS = {
    "fa": str.maketrans("0123456789.", "۰۱۲۳۴۵۶۷۸۹٫"),
    "ar": str.maketrans("0123456789.", "٠١٢٣٤٥٦٧٨٩٫"),
}

TEXT = {
    "fa": {
        "period": {"W": "هفته", "D": "روز", "M": "ماه"},
        "this": {"W": "این هفته", "D": "امروز", "M": "این ماه"},
        "dims": {"channel": "کانال", "product": "محصول", "region": "منطقه"},
        "metric": {"rating": "امتیاز (۱ تا ۵)", "csat": "امتیاز CSAT", "nps": "امتیاز NPS"},
        "complaints": "شکایت‌های «{name}» {this} {n} مورد بود ({share}٪ از بازخوردها)",
        "up": "، {pct}٪ بیشتر از میانگین {k} {period} قبل ({p})",
        "down": "، {pct}٪ کمتر از میانگین {k} {period} قبل",
        "flat": "، تقریباً هم‌اندازهٔ میانگین {k} {period} قبل",
        "new": "، موضوعی تازه که در {k} {period} قبل دیده نشده بود ({p})",
        "where": "، بیشتر در {dim} «{value}»",
        "impact": "؛ هزینه‌اش حدود {impact} {metric} است",
        "no_impact": "؛ اثر معناداری بر {metric} دیده نشد",
        "end": ".",
    },
    "ar": {
        "period": {"W": "أسابيع", "D": "أيام", "M": "أشهر"},
        "this": {"W": "هذا الأسبوع", "D": "اليوم", "M": "هذا الشهر"},
        "dims": {"channel": "القناة", "product": "المنتج", "region": "المنطقة"},
        "metric": {"rating": "نقطة تقييم (١ إلى ٥)", "csat": "نقطة CSAT", "nps": "نقطة NPS"},
        "complaints": "بلغت شكاوى «{name}» {this} {n} شكوى ({share}٪ من الملاحظات)",
        "up": "، بزيادة {pct}٪ عن متوسط الـ{k} {period} السابقة ({p})",
        "down": "، بانخفاض {pct}٪ عن متوسط الـ{k} {period} السابقة",
        "flat": "، قريبة من متوسط الـ{k} {period} السابقة",
        "new": "، وهي مشكلة جديدة لم تظهر في الـ{k} {period} السابقة ({p})",
        "where": "، ومعظمها في {dim} «{value}»",
        "impact": "؛ وتكلّف نحو {impact} {metric}",
        "no_impact": "؛ ولم يظهر لها أثر واضح على {metric}",
        "end": ".",
    },
}


LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


def isolate(text: str, *, ltr: bool = False) -> str:
    """Wrap ``text`` in a Unicode bidi isolate so Latin data or ``p = …`` keeps its order in RTL prose."""
    return (LRI if ltr else FSI) + text + PDI


def localize_digits(text: str, lang: str) -> str:
    """Write ASCII digits and the decimal point of a formatted number in Persian/Arabic digits."""
    return text.translate(_DIGITS[lang]) if lang in _DIGITS else text


def fmt_num(value: float, lang: str, decimals: int = 0) -> str:
    """A number formatted with ``decimals`` places in the report language's digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return localize_digits(
        f"{value:,.{decimals}f}".replace(",", "٬" if lang in _DIGITS else ","), lang
    )


def fmt_p(p: float, lang: str = "en") -> str:
    """``p < 0.001``, ``p < 0.01`` or ``p = 0.03`` (digits localised for fa/ar)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p = –"
    if p < 0.001:
        text = "p < 0.001"
    elif p < 0.01:
        text = "p < 0.01"
    else:
        text = f"p = {p:.2f}"
    return localize_digits(text, lang)


def improvement_table(
    current: pd.DataFrame,
    *,
    drivers: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank themes by the priority formula of the module docstring.

    Parameters
    ----------
    current : one row per theme for the current period (segment ``all``) with ``key``, ``n``,
        ``share``, ``expected``, ``ratio``, ``p_value``, ``new`` (the spike-test rows; themes that
        could not be tested have NaN ``expected``/``ratio``/``p_value``).
    drivers : rows of :func:`pipeline.drivers.driver_table` for one score kind, or None.
    segments : spike-test rows of the current period for segment values (``dim`` != all), used to
        say where the excess is concentrated; or None.

    Returns
    -------
    DataFrame with theme, n, share, ratio, growth, p_value, new, impact, top_dim, top_value,
    top_excess_share, V, G, I, priority, rank.
    """
    cur = current[current["n"] > 0].copy()
    if drivers is not None and len(drivers):
        imp = drivers.set_index("theme")["impact"]
        cur["impact"] = cur["key"].map(imp)
    else:
        cur["impact"] = np.nan
    if cur.empty:
        return pd.DataFrame(columns=IMPROVEMENT_COLUMNS)
    cur["growth"] = cur["ratio"] - 1
    cur["V"] = cur["n"] / cur["n"].max()
    cur["G"] = cur["growth"].fillna(0).clip(lower=0, upper=GROWTH_CAP) / GROWTH_CAP
    has_impact = cur["impact"].notna().any()
    positive = cur["impact"].fillna(0).clip(lower=0)
    cur["I"] = positive / positive.max() if has_impact and positive.max() > 0 else 0.0
    if has_impact:
        score = (
            WEIGHTS["volume"] * cur["V"]
            + WEIGHTS["growth"] * cur["G"]
            + WEIGHTS["impact"] * cur["I"]
        )
    else:
        score = (WEIGHTS["volume"] * cur["V"] + WEIGHTS["growth"] * cur["G"]) / (
            WEIGHTS["volume"] + WEIGHTS["growth"]
        )
    cur["priority"] = (100 * score).round(1)
    top = _top_segments(cur, segments)
    cur = cur.merge(top, on="key", how="left")
    cur = cur.rename(columns={"key": "theme"}).sort_values(
        ["priority", "theme"], ascending=[False, True], kind="stable"
    )
    cur["rank"] = np.arange(1, len(cur) + 1)
    return cur[IMPROVEMENT_COLUMNS].reset_index(drop=True)


def _top_segments(cur: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame:
    """Per theme: the segment value holding the largest excess over its expected count."""
    empty = pd.DataFrame(
        {"key": cur["key"], "top_dim": None, "top_value": None, "top_excess_share": np.nan}
    )
    if segments is None or segments.empty:
        return empty
    seg = segments[(segments["kind"] == "theme") & (segments["dim"] != "all")].copy()
    seg["excess"] = seg["n"] - seg["expected"]
    seg = seg[seg["excess"] > 0]
    if seg.empty:
        return empty
    totals = cur.set_index("key")["n"] - cur.set_index("key")["expected"]
    seg = seg.sort_values(
        ["key", "excess", "dim", "value"], ascending=[True, False, True, True], kind="stable"
    )
    best = seg.groupby("key", sort=False).head(1).copy()
    best["top_excess_share"] = best.apply(
        lambda r: (
            r["excess"] / totals.get(r["key"], np.nan) if totals.get(r["key"], 0) > 0 else np.nan
        ),
        axis=1,
    )
    best = best.rename(columns={"dim": "top_dim", "value": "top_value"})
    return empty[["key"]].merge(
        best[["key", "top_dim", "top_value", "top_excess_share"]], on="key", how="left"
    )


def sentence(
    row: dict,
    *,
    name: str,
    lang: str,
    period: str = "W",
    trailing: int = 4,
    score_kind: str | None = None,
    p_threshold: float = 0.05,
) -> str:
    """One plain-language sentence (fa or ar) for a row of :func:`improvement_table`.

    Examples
    --------
    >>> row = {"n": 40, "share": 0.12, "ratio": 1.38, "p_value": 0.004, "new": False,
    ...        "top_dim": "region", "top_value": "Tehran", "top_excess_share": 0.8, "impact": 0.4}
    >>> text = sentence(row, name="ارسال", lang="fa", score_kind="rating")
    >>> "۳۸٪ بیشتر از میانگین ۴ هفته قبل" in text, "«\u2068Tehran\u2069»" in text
    (True, True)
    """
    t = TEXT[lang]
    k = localize_digits(str(trailing), lang)
    parts = [
        t["complaints"].format(
            name=name,
            this=t["this"][period],
            n=fmt_num(row["n"], lang),
            share=fmt_num(100 * row["share"], lang, 1),
        )
    ]
    ratio, p = row.get("ratio"), row.get("p_value")
    known = ratio is not None and not _isnan(ratio)
    if known and row.get("new"):
        parts.append(
            t["new"].format(k=k, period=t["period"][period], p=isolate(fmt_p(p, lang), ltr=True))
        )
    elif known and ratio >= 1.1:
        parts.append(
            t["up"].format(
                pct=fmt_num(100 * (ratio - 1), lang),
                k=k,
                period=t["period"][period],
                p=isolate(fmt_p(p, lang), ltr=True),
            )
        )
    elif known and ratio <= 0.9:
        parts.append(
            t["down"].format(pct=fmt_num(100 * (1 - ratio), lang), k=k, period=t["period"][period])
        )
    elif known:
        parts.append(t["flat"].format(k=k, period=t["period"][period]))
    share = row.get("top_excess_share")
    if (
        known
        and ratio >= 1.1
        and row.get("top_value")
        and share is not None
        and not _isnan(share)
        and share >= 0.5
    ):
        parts.append(
            t["where"].format(
                dim=t["dims"].get(row["top_dim"], row["top_dim"]),
                value=isolate(str(row["top_value"])),
            )
        )
    impact = row.get("impact")
    if score_kind is not None and impact is not None and not _isnan(impact):
        decimals = 0 if score_kind == "nps" else 2
        if abs(impact) >= (0.5 if score_kind == "nps" else 0.005):
            parts.append(
                t["impact"].format(
                    impact=fmt_num(impact, lang, decimals), metric=t["metric"][score_kind]
                )
            )
        else:
            parts.append(t["no_impact"].format(metric=t["metric"][score_kind]))
    return "".join(parts) + t["end"]


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


__all__ = [
    "GROWTH_CAP",
    "TEXT",
    "WEIGHTS",
    "fmt_num",
    "fmt_p",
    "improvement_table",
    "isolate",
    "localize_digits",
    "sentence",
]
