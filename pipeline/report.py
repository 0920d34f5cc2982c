"""Write the run's report: HTML (RTL, self-contained, escaped), Markdown, CSV and JSON tables.

:func:`write_report` is called by the orchestrator after the run is committed to the history
store. It reads the store once (:func:`build_report`), computes trends, spike alerts, score
drivers and the ranked improvement table with the pure functions of :mod:`pipeline.trends`,
:mod:`pipeline.alerts`, :mod:`pipeline.drivers` and :mod:`pipeline.improvement`, draws inline
SVG charts (:mod:`pipeline.charts`) and writes:

- ``report.html``: one self-contained RTL page (no script, no external resource; a CSP forbids both);
- ``report.md``: the same content as Markdown;
- ``themes.csv``: one row per theme (this run's counts, the current period, drivers, priority);
- ``trends.csv``: the long trend table (per period, theme/cluster, segment);
- ``alerts.json``: the spike test, its parameters and every alert of the recent periods.

Everything is computed from the run history by ``created_at``; the only line that changes
between two reports of the same history is the one holding :data:`GENERATED_MARK`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline import charts
from pipeline.alerts import alert_records, select_alerts, spike_tests
from pipeline.drivers import driver_table, overall_metric, primary_kind
from pipeline.improvement import (
    GROWTH_CAP,
    WEIGHTS,
    fmt_num,
    fmt_p,
    improvement_table,
    isolate,
    localize_digits,
    sentence,
)
from pipeline.taxonomy import load_taxonomy
from pipeline.trends import (
    Period,
    current_period,
    load_history,
    period_list,
    shift,
    trend_table,
)

_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
#: Every report shows the alerts of this many most recent periods (the current one first).
ALERT_LOOKBACK = 8
#: Lines holding this mark are the only ones that differ between reports of the same history.
GENERATED_MARK = "generated-at"
#: Minimum rate ratio for an alert, on top of ReportConfig.spike_p_value and spike_min_count.
SPIKE_MIN_RATIO = 1.5

LABELS = {
    "fa": {
        "title": "گزارش شکایات مشتریان",
        "generated": "ساخته‌شده در",
        "period": "دورهٔ جاری",
        "to": "تا",
        "previous": "دورهٔ قبل",
        "week": {"W": "هفته", "D": "روز", "M": "ماه"},
        "kpi_complaints": "شکایت‌ها در دورهٔ جاری",
        "kpi_share": "سهم شکایت از بازخوردها",
        "kpi_score": "امتیاز در دورهٔ جاری",
        "kpi_alerts": "هشدارهای دورهٔ جاری",
        "vs_prev": "دورهٔ قبل",
        "improve": "حوزه‌های نیازمند بهبود",
        "improve_intro": "رتبه‌بندی موضوع‌ها بر پایهٔ حجم، رشد و اثر بر امتیاز. فرمول:",
        "rank": "رتبه",
        "theme": "موضوع",
        "priority": "اولویت",
        "count": "تعداد",
        "share": "سهم",
        "growth": "رشد نسبت به خط پایه",
        "impact": "اثر بر امتیاز",
        "why": "شرح",
        "alerts": "هشدارهای جهش",
        "alerts_intro": "آزمون: آزمون پواسون یک‌طرفه روی تعداد این دوره در برابر نرخ {k} دورهٔ قبل؛ مقدار p با روش بنیامینی–هوخبرگ تصحیح شده است. شرط هشدار: q ≤ {p}، دست‌کم {m} شکایت و دست‌کم {r} برابر مقدار مورد انتظار.",
        "no_alerts": "در دوره‌های اخیر هشداری نبود.",
        "segment": "بخش",
        "expected": "مورد انتظار",
        "baseline": "سهم پایه",
        "ratio": "نسبت",
        "new": "تازه",
        "emerging": "مسائل نوظهور",
        "no_emerging": "مسئلهٔ نوظهوری یافت نشد.",
        "trends": "روندها",
        "trend_chart": "سهم هر موضوع از بازخوردها در هر {w}",
        "themes_table": "جدول موضوع‌ها",
        "prev_count": "تعداد دورهٔ قبل",
        "prev_share": "سهم دورهٔ قبل",
        "change": "تغییر",
        "trend": "روند",
        "segments": "بخش‌ها",
        "records": "بازخوردها",
        "complaints": "شکایت‌ها",
        "drivers": "عوامل امتیاز",
        "drivers_intro": "میانگین امتیاز بازخوردهای دارای هر موضوع در برابر بقیه، در {k} {w} منتهی به دورهٔ جاری. اثر = سهم × (میانگین بدون − میانگین با): اگر شکایت‌های این موضوع رفع شود، امتیاز کل حدوداً به این اندازه بالا می‌رود.",
        "no_scores": "ستون امتیازی در داده‌ها نیست؛ تحلیل عوامل انجام نشد.",
        "with": "میانگین با موضوع",
        "without": "میانگین بدون موضوع",
        "n_with": "تعداد با موضوع",
        "interval": "بازهٔ ۹۵٪",
        "patterns": "الگوها (خوشه‌ها)",
        "no_patterns": "خوشه‌ای در این اجرا ساخته نشد.",
        "keywords": "واژه‌های کلیدی",
        "size": "اندازه",
        "status": "وضعیت",
        "examples": "نمونه‌ها",
        "examples_theme": "نمونهٔ بازخوردها برای هر موضوع",
        "run": "خلاصهٔ اجرا",
        "run_id": "شناسهٔ اجرا",
        "model": "نسخهٔ مدل",
        "read": "خوانده‌شده",
        "processed": "پردازش‌شده",
        "quarantined": "قرنطینه",
        "already_seen": "تکراری (قبلاً دیده‌شده)",
        "history": "تاریخچه",
        "history_text": "{n} اجرا، بازخوردهای {a} تا {b}",
        "method": "روش",
        "no_data": "هنوز داده‌ای در تاریخچه نیست.",
        "metric": {"rating": "میانگین امتیاز (۱ تا ۵)", "csat": "میانگین CSAT", "nps": "NPS"},
        "dims": {"all": "همه", "channel": "کانال", "product": "محصول", "region": "منطقه"},
        "statuses": {"new": "تازه", "active": "فعال", "dormant": "خاموش"},
        "kinds": {"theme": "موضوع", "cluster": "خوشه"},
        "formula": "اولویت = ۱۰۰ × (۰٫۴ × حجم + ۰٫۳ × رشد + ۰٫۳ × اثر)",
        "formula_terms": [
            "حجم = تعداد شکایت‌های موضوع در دورهٔ جاری ÷ تعداد شکایت‌های پرتکرارترین موضوع",
            "رشد = رشد نسبت به میانگین دوره‌های قبل (نسبت به تعداد مورد انتظار)، بین ۰ و ۲۰۰٪، تقسیم بر ۲۰۰٪",
            "اثر = اثر موضوع بر امتیاز ÷ بیشترین اثر (اثر منفی = ۰)",
            "اگر ستون امتیاز نباشد: اولویت = ۱۰۰ × (۰٫۴ × حجم + ۰٫۳ × رشد) ÷ ۰٫۷",
        ],
    },
    "ar": {
        "title": "تقرير شكاوى العملاء",
        "generated": "أُنشئ في",
        "period": "الفترة الحالية",
        "to": "إلى",
        "previous": "الفترة السابقة",
        "week": {"W": "أسبوع", "D": "يوم", "M": "شهر"},
        "kpi_complaints": "الشكاوى في الفترة الحالية",
        "kpi_share": "نسبة الشكاوى من الملاحظات",
        "kpi_score": "التقييم في الفترة الحالية",
        "kpi_alerts": "تنبيهات الفترة الحالية",
        "vs_prev": "الفترة السابقة",
        "improve": "مجالات تحتاج إلى تحسين",
        "improve_intro": "ترتيب المواضيع حسب الحجم والنمو والأثر على التقييم. المعادلة:",
        "rank": "الترتيب",
        "theme": "الموضوع",
        "priority": "الأولوية",
        "count": "العدد",
        "share": "النسبة",
        "growth": "النمو مقارنة بخط الأساس",
        "impact": "الأثر على التقييم",
        "why": "الشرح",
        "alerts": "تنبيهات الارتفاع المفاجئ",
        "alerts_intro": "الاختبار: اختبار بواسون أحادي الجانب لعدد هذه الفترة مقابل معدل الـ{k} فترات السابقة؛ قيم p مصححة بطريقة بنيامين–هوخبرغ. شرط التنبيه: q ≤ {p}، و{m} شكاوى على الأقل، و{r} أضعاف العدد المتوقع على الأقل.",
        "no_alerts": "لا توجد تنبيهات في الفترات الأخيرة.",
        "segment": "الشريحة",
        "expected": "المتوقع",
        "baseline": "نسبة الأساس",
        "ratio": "النسبة إلى المتوقع",
        "new": "جديد",
        "emerging": "القضايا الناشئة",
        "no_emerging": "لم تُرصد قضايا ناشئة.",
        "trends": "الاتجاهات",
        "trend_chart": "نسبة كل موضوع من الملاحظات في كل {w}",
        "themes_table": "جدول المواضيع",
        "prev_count": "العدد في الفترة السابقة",
        "prev_share": "النسبة في الفترة السابقة",
        "change": "التغير",
        "trend": "الاتجاه",
        "segments": "الشرائح",
        "records": "الملاحظات",
        "complaints": "الشكاوى",
        "drivers": "محركات التقييم",
        "drivers_intro": "متوسط تقييم الملاحظات التي تتضمن كل موضوع مقابل غيرها، خلال آخر {k} {w}. الأثر = النسبة × (المتوسط بدون − المتوسط مع): مقدار ارتفاع التقييم العام تقريباً لو حُلّت شكاوى هذا الموضوع.",
        "no_scores": "لا يوجد عمود تقييم في البيانات؛ لم يُجرَ تحليل المحركات.",
        "with": "المتوسط مع الموضوع",
        "without": "المتوسط بدون الموضوع",
        "n_with": "العدد مع الموضوع",
        "interval": "فترة ٩٥٪",
        "patterns": "الأنماط (العناقيد)",
        "no_patterns": "لم تُنشأ عناقيد في هذا التشغيل.",
        "keywords": "الكلمات المفتاحية",
        "size": "الحجم",
        "status": "الحالة",
        "examples": "أمثلة",
        "examples_theme": "أمثلة من الملاحظات لكل موضوع",
        "run": "ملخص التشغيل",
        "run_id": "معرّف التشغيل",
        "model": "إصدار النموذج",
        "read": "المقروءة",
        "processed": "المعالجة",
        "quarantined": "المعزولة",
        "already_seen": "مكررة (شوهدت سابقاً)",
        "history": "السجل",
        "history_text": "{n} تشغيلات، ملاحظات من {a} إلى {b}",
        "method": "المنهجية",
        "no_data": "لا توجد بيانات في السجل بعد.",
        "metric": {"rating": "متوسط التقييم (١ إلى ٥)", "csat": "متوسط CSAT", "nps": "NPS"},
        "dims": {"all": "الكل", "channel": "القناة", "product": "المنتج", "region": "المنطقة"},
        "statuses": {"new": "جديد", "active": "نشط", "dormant": "خامل"},
        "kinds": {"theme": "موضوع", "cluster": "عنقود"},
        "formula": "الأولوية = ١٠٠ × (٠٫٤ × الحجم + ٠٫٣ × النمو + ٠٫٣ × الأثر)",
        "formula_terms": [
            "الحجم = عدد شكاوى الموضوع في الفترة الحالية ÷ عدد شكاوى الموضوع الأكثر تكراراً",
            "النمو = النمو مقارنة بمتوسط الفترات السابقة (نسبة إلى العدد المتوقع)، بين ٠ و٢٠٠٪، مقسوماً على ٢٠٠٪",
            "الأثر = أثر الموضوع على التقييم ÷ أكبر أثر (الأثر السلبي = ٠)",
            "بدون عمود تقييم: الأولوية = ١٠٠ × (٠٫٤ × الحجم + ٠٫٣ × النمو) ÷ ٠٫٧",
        ],
    },
}


def neutralize_csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a single quote."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_CSV_TRIGGERS) else v
            )
    return out


def md_text(value) -> str:
    """Data text made inert for Markdown: on one line, no HTML tag or entity, Markdown marks escaped.

    ``<`` starting a tag (``<script``, ``</``, ``<!``, ``<?``) and every ``&`` become entities;
    a lone ``<`` (as in ``p < 0.01``) is left readable.
    """
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;")
    text = _TAG_START.sub("&lt;", text)
    for ch in ("\\", "|", "`", "*", "_", "[", "]", "#"):
        text = text.replace(ch, "\\" + ch)
    return text


@dataclass
class ReportData:
    """Everything the HTML and Markdown templates show (plain Python values)."""

    lang: str
    labels: dict
    summary: dict
    period_kind: str
    trailing: int
    current: Period | None
    previous: Period | None = None
    history_text: str = ""
    kpis: dict = field(default_factory=dict)
    improvement: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    emerging: list[dict] = field(default_factory=list)
    themes: list[dict] = field(default_factory=list)
    drivers: list[dict] = field(default_factory=list)
    score_kind: str | None = None
    segments: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)
    charts: dict = field(default_factory=dict)
    alert_params: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)


def write_report(run_dir: Path, *, summary: dict, clusters: pd.DataFrame, store, config) -> None:
    """Write report.html, report.md, themes.csv, trends.csv and alerts.json into ``run_dir``."""
    run_dir = Path(run_dir)
    taxonomy = load_taxonomy(config.run.taxonomy)
    run_records = pd.read_parquet(
        run_dir / "complaints.parquet", columns=["record_id", "is_complaint", "themes"]
    )
    data = build_report(
        summary=summary,
        clusters=clusters,
        store=store,
        config=config,
        taxonomy=taxonomy,
        run_records=run_records,
    )
    generated = datetime.now(UTC).replace(microsecond=0).isoformat()
    (run_dir / "report.html").write_text(render_html(data, generated), encoding="utf-8")
    (run_dir / "report.md").write_text(render_markdown(data, generated), encoding="utf-8")
    neutralize_csv_cells(data.tables["themes"]).to_csv(
        run_dir / "themes.csv", index=False, float_format="%.6g"
    )
    neutralize_csv_cells(data.tables["trends"]).to_csv(
        run_dir / "trends.csv", index=False, float_format="%.6g"
    )
    payload = {
        "test": data.alert_params,
        "current_period": None
        if data.current is None
        else {"start": str(data.current.start), "end": str(data.current.end)},
        "alerts": data.tables["alerts"],
    }
    (run_dir / "alerts.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def build_report(
    *, summary: dict, clusters: pd.DataFrame, store, config, taxonomy, run_records: pd.DataFrame
) -> ReportData:
    """Read the history store and compute every table and chart of the report (no writing)."""
    rc = config.report
    lang = rc.language
    L = LABELS[lang]
    names = {t.id: t.name(lang) for t in taxonomy.themes}
    theme_ids = list(taxonomy.ids)
    history = load_history(store)
    current = current_period(history.volume_daily, rc.period)
    data = ReportData(
        lang=lang,
        labels=L,
        summary=summary,
        period_kind=rc.period,
        trailing=rc.trailing_periods,
        current=current,
    )
    data.alert_params = {
        "name": "one-sided Poisson test of the period's count against the trailing rate, Benjamini-Hochberg adjusted",
        "baseline": f"rate = (count + 0.5) / feedback volume over the previous {rc.trailing_periods} periods",
        "expected_count": "baseline rate x this period's feedback volume in the same segment",
        "p_value_max": rc.spike_p_value,
        "min_count": rc.spike_min_count,
        "min_rate_ratio": SPIKE_MIN_RATIO,
        "period": rc.period,
        "lookback_periods": ALERT_LOOKBACK,
    }
    run_counts = _run_theme_counts(run_records)
    cluster_frame = clusters if clusters is not None else pd.DataFrame()
    if current is None:
        data.tables = _empty_tables(theme_ids, names, run_counts)
        data.clusters = _cluster_rows(cluster_frame, pd.DataFrame(), lang)
        return data
    data.previous = shift(current, -1, rc.period)
    periods = period_list(history.volume_daily, current, rc.period)
    theme_ids = list(
        dict.fromkeys(theme_ids + sorted(history.theme_daily["theme"].dropna().unique().tolist()))
    )
    trends = trend_table(history, themes=theme_ids, current=current, period=rc.period)
    tests = spike_tests(trends, trailing=rc.trailing_periods)
    alerts = select_alerts(
        tests, p_value=rc.spike_p_value, min_count=rc.spike_min_count, min_ratio=SPIKE_MIN_RATIO
    )
    recent = {p.start for p in periods[-ALERT_LOOKBACK:]}
    alerts = alerts[alerts["period_start"].isin(recent)].reset_index(drop=True)
    cluster_names = _cluster_names(cluster_frame)

    def display(kind: str, key: str) -> str:
        if kind == "theme":
            return names.get(key, key)
        if kind == "cluster":
            return cluster_names.get(str(key), f"#{key}")
        return L["complaints"]

    # -- scores: drivers over the trailing window, metric for the current and previous period
    first_day = shift(current, -rc.trailing_periods, rc.period).start
    scored = store.query(
        "SELECT created_at, score, score_kind, is_complaint, themes FROM records "
        "WHERE score IS NOT NULL AND created_at BETWEEN ? AND ? ORDER BY record_key",
        [first_day, current.end],
    )
    scored["created_at"] = pd.to_datetime(scored["created_at"]).dt.date
    window_start = shift(current, -(rc.trailing_periods - 1), rc.period).start
    in_window = scored[scored["created_at"] >= window_start]
    kind = primary_kind(in_window)
    drivers = driver_table(in_window, theme_ids) if kind else pd.DataFrame()
    main_drivers = drivers[drivers["score_kind"] == kind] if kind else None
    data.score_kind = kind

    # -- current-period summaries
    cur = trends[trends["period_start"] == current.start]
    cur_all = cur[cur["dim"] == "all"]
    cur_tests = tests[tests["period_start"] == current.start]
    theme_cur = cur_all[cur_all["kind"] == "theme"].merge(
        cur_tests[(cur_tests["kind"] == "theme") & (cur_tests["dim"] == "all")][
            ["key", "expected", "ratio", "p_value", "q_value", "baseline_share", "new"]
        ],
        on="key",
        how="left",
    )
    improvement = improvement_table(
        theme_cur,
        drivers=main_drivers,
        segments=cur_tests[cur_tests["dim"] != "all"],
    )
    every = cur_all[cur_all["kind"] == "all"].iloc[0]
    prev_every = every["prev_n"], _prev_records(trends, data.previous)
    data.kpis = {
        "complaints": fmt_num(every["n"], lang),
        "complaints_prev": fmt_num(every["prev_n"], lang),
        "share": fmt_num(100 * every["share"], lang, 1) + "٪",
        "share_prev": fmt_num(100 * prev_every[0] / prev_every[1], lang, 1) + "٪"
        if prev_every[1]
        else "–",
        "alerts": fmt_num(int((alerts["period_start"] == current.start).sum()), lang),
    }
    if kind:
        cur_metric = overall_metric(scored[scored["created_at"] >= current.start], kind)
        prev_metric = overall_metric(
            scored[
                (scored["created_at"] >= data.previous.start)
                & (scored["created_at"] <= data.previous.end)
            ],
            kind,
        )
        decimals = 0 if kind == "nps" else 2
        data.kpis["score"] = fmt_num(cur_metric, lang, decimals)
        data.kpis["score_prev"] = fmt_num(prev_metric, lang, decimals)
        data.kpis["score_name"] = L["metric"][kind]

    runs = store.query("SELECT count(*) AS n FROM runs")["n"].iat[0]
    days = pd.to_datetime(history.volume_daily["day"])
    data.history_text = L["history_text"].format(
        n=fmt_num(int(runs), lang),
        a=_day(days.min().date(), lang),
        b=_day(days.max().date(), lang),
    )

    # -- rows for the templates
    for row in improvement.to_dict("records"):
        data.improvement.append(
            {
                "rank": fmt_num(row["rank"], lang),
                "name": names.get(row["theme"], row["theme"]),
                "priority": fmt_num(row["priority"], lang, 1),
                "count": fmt_num(row["n"], lang),
                "share": fmt_num(100 * row["share"], lang, 1) + "٪",
                "growth": _fmt_growth(row["growth"], lang),
                "p": ""
                if _nan(row["p_value"]) or row["growth"] < 0.1
                else fmt_p(row["p_value"], lang),
                "impact": "–"
                if _nan(row["impact"])
                else fmt_num(row["impact"], lang, 0 if kind == "nps" else 2),
                "sentence": sentence(
                    row,
                    name=names.get(row["theme"], row["theme"]),
                    lang=lang,
                    period=rc.period,
                    trailing=rc.trailing_periods,
                    score_kind=kind,
                ),
            }
        )
    data.alerts = [_alert_row(a, lang, L, display, current) for a in alerts.to_dict("records")]
    data.emerging = _emerging_rows(cluster_frame, alerts, lang, L, display)
    data.themes = _theme_rows(trends, theme_cur, names, lang, L)
    data.segments = _segment_rows(cur, theme_cur, names, lang)
    if kind:
        data.drivers = [
            {
                "name": names.get(r["theme"], r["theme"]),
                "n_with": fmt_num(r["n_with"], lang),
                "with": fmt_num(r["mean_with"], lang, 0 if kind == "nps" else 2),
                "without": fmt_num(r["mean_without"], lang, 0 if kind == "nps" else 2),
                "impact": fmt_num(r["impact"], lang, 0 if kind == "nps" else 2),
                "interval": "–"
                if _nan(r["impact_low"])
                else f"{fmt_num(r['impact_low'], lang, 2)} … {fmt_num(r['impact_high'], lang, 2)}",
                "p": "–" if _nan(r["p_value"]) else fmt_p(r["p_value"], lang),
            }
            for r in main_drivers.to_dict("records")
            if r["n_with"] > 0
        ]
    data.clusters = _cluster_rows(cluster_frame, trends, lang)
    for row in data.clusters:
        row["status"] = L["statuses"].get(row["status"], row["status"])
    examples = _theme_examples(store, current, rc, first_day)
    for row in data.themes:
        row["examples"] = examples.get(row["theme"], [])

    # -- charts (all text escaped inside pipeline.charts)
    pct = lambda v: fmt_num(100 * v, lang, 1) + "٪"
    all_rows = trends[(trends["dim"] == "all") & (trends["kind"] == "theme")]
    top = [r["theme"] for r in data.themes[:6]]
    series = []
    for key in top:
        sub = all_rows[all_rows["key"] == key].sort_values("period_start")
        series.append((names.get(key, key), sub["share"].tolist()))
    x_labels = [localize_digits(p.start.strftime("%m/%d"), lang) for p in periods]
    data.charts["trend"] = Markup(
        charts.line_chart(
            x_labels,
            series,
            title=L["trend_chart"].format(w=L["week"][rc.period]),
            fmt=pct,
            highlight=len(periods) - 1,
        )
    )
    if len(improvement):
        data.charts["priority"] = Markup(
            charts.bar_chart(
                [
                    (names.get(t, t), float(p))
                    for t, p in zip(improvement["theme"], improvement["priority"], strict=True)
                ],
                title=L["improve"],
                fmt=lambda v: fmt_num(v, lang, 1),
            )
        )
    if kind and data.drivers:
        rows = [
            (names.get(r["theme"], r["theme"]), float(r["impact"]))
            for r in main_drivers.to_dict("records")
            if r["n_with"] > 0
        ]
        data.charts["impact"] = Markup(
            charts.bar_chart(
                rows,
                title=L["drivers"],
                fmt=lambda v: fmt_num(v, lang, 0 if kind == "nps" else 2),
                color=charts.PALETTE[1],
            )
        )

    # -- machine-readable tables
    data.tables = {
        "themes": _themes_csv(
            theme_ids, names, run_counts, theme_cur, improvement, drivers, kind, examples
        ),
        "trends": _trends_csv(trends, display),
        "alerts": alert_records(alerts),
    }
    for rec in data.tables["alerts"]:
        rec["name"] = display(rec["kind"], rec["key"])
    return data


# -- helpers -----------------------------------------------------------------------------------
def _day(day, lang: str) -> str:
    """A date in the report's digits, isolated left-to-right (Arabic-script digits after Arabic
    letters would otherwise be reordered by the bidi algorithm: 2026-11-01 shown as 01-11-2026).

    Slashes, not hyphens: Arabic-Indic digits are "Arabic numbers" to the bidi algorithm, and only
    a common separator such as ``/`` keeps them in one run even inside an LTR isolate."""
    return isolate(localize_digits(str(day).replace("-", "/"), lang), ltr=True)


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _fmt_growth(growth: float, lang: str) -> str:
    if _nan(growth):
        return "–"
    sign = "+" if growth >= 0 else "−"
    return localize_digits(f"{sign}{abs(100 * growth):.0f}", lang) + "٪"


def _prev_records(trends: pd.DataFrame, previous: Period) -> int:
    rows = trends[
        (trends["kind"] == "all")
        & (trends["dim"] == "all")
        & (trends["period_start"] == previous.start)
    ]
    return int(rows["n_records"].iat[0]) if len(rows) else 0


def _run_theme_counts(run_records: pd.DataFrame) -> dict[str, int]:
    complaints = run_records[run_records["is_complaint"]]
    exploded = complaints["themes"].explode().dropna()
    return {str(k): int(v) for k, v in exploded.value_counts().items()}


def _cluster_names(clusters: pd.DataFrame) -> dict[str, str]:
    out = {}
    for row in clusters.to_dict("records") if len(clusters) else []:
        label = row.get("label")
        if _nan(label) or not label:
            keywords = row.get("keywords")
            label = "، ".join(list(keywords)[:3]) if keywords is not None and len(keywords) else ""
        out[str(row["cluster_id"])] = f"#{row['cluster_id']} {label}".strip()
    return out


def _segment_label(dim: str, value: str, L: dict) -> str:
    return L["dims"]["all"] if dim == "all" else f"{L['dims'].get(dim, dim)}: {value}"


def _alert_row(a: dict, lang: str, L: dict, display, current: Period) -> dict:
    return {
        "start": _day(a["period_start"], lang),
        "end": _day(a["period_end"], lang),
        "current": a["period_start"] == current.start,
        "kind": L["kinds"].get(a["kind"], a["kind"]),
        "name": display(a["kind"], a["key"]),
        "segment": _segment_label(a["dim"], a["value"], L),
        "count": fmt_num(a["n"], lang),
        "share": fmt_num(100 * a["share"], lang, 1) + "٪",
        "baseline": fmt_num(100 * a["baseline_share"], lang, 1) + "٪",
        "expected": fmt_num(a["expected"], lang, 1),
        "ratio": fmt_num(a["ratio"], lang, 1) + "×",
        "z": "–" if _nan(a["z"]) else fmt_num(a["z"], lang, 1),
        "p": fmt_p(a["p_value"], lang),
        "q": fmt_p(a["q_value"], lang).replace("p", "q", 1),
        "new": bool(a["new"]),
    }


def _emerging_rows(
    clusters: pd.DataFrame, alerts: pd.DataFrame, lang: str, L: dict, display
) -> list[dict]:
    rows = []
    if len(clusters) and "emerging" in clusters:
        for c in clusters.sort_values("cluster_id").to_dict("records"):
            if not bool(c.get("emerging")):
                continue
            keywords = c.get("keywords")
            rows.append(
                {
                    "kind": L["kinds"]["cluster"],
                    "name": display("cluster", str(c["cluster_id"])),
                    "detail": str(c.get("emerging_reason") or ""),
                    "keywords": "، ".join(list(keywords)) if keywords is not None else "",
                    "examples": [str(e) for e in list(c.get("examples") or [])[:3]],
                }
            )
    for a in alerts[alerts["new"]].to_dict("records") if len(alerts) else []:
        rows.append(
            {
                "kind": L["kinds"].get(a["kind"], a["kind"]),
                "name": display(a["kind"], a["key"]),
                "detail": _day(a["period_start"], lang)
                + f" {L['to']} "
                + _day(a["period_end"], lang)
                + f" — {_segment_label(a['dim'], a['value'], L)}: {fmt_num(a['n'], lang)} ({isolate(fmt_p(a['p_value'], lang), ltr=True)})",
                "keywords": "",
                "examples": [],
            }
        )
    return rows


def _theme_rows(
    trends: pd.DataFrame, theme_cur: pd.DataFrame, names: dict, lang: str, L: dict
) -> list[dict]:
    rows = []
    hist = trends[(trends["kind"] == "theme") & (trends["dim"] == "all")]
    ordered = theme_cur.sort_values(["n", "key"], ascending=[False, True], kind="stable")
    for r in ordered.to_dict("records"):
        series = hist[hist["key"] == r["key"]].sort_values("period_start")["share"].tolist()
        change = r["share"] / r["prev_share"] - 1 if r["prev_share"] > 0 else float("nan")
        rows.append(
            {
                "theme": r["key"],
                "name": names.get(r["key"], r["key"]),
                "count": fmt_num(r["n"], lang),
                "share": fmt_num(100 * r["share"], lang, 1) + "٪",
                "prev_count": fmt_num(r["prev_n"], lang),
                "prev_share": fmt_num(100 * r["prev_share"], lang, 1) + "٪",
                "change": _fmt_growth(change, lang),
                "spark": Markup(charts.sparkline(series, title=names.get(r["key"], r["key"]))),
            }
        )
    return rows


def _segment_rows(cur: pd.DataFrame, theme_cur: pd.DataFrame, names: dict, lang: str) -> list[dict]:
    """Per segment dimension: each value's volume, complaint share and change, and its top theme."""
    out = []
    for dim in [d for d in ("channel", "product", "region") if d in set(cur["dim"])]:
        every = cur[(cur["dim"] == dim) & (cur["kind"] == "all")].sort_values(
            ["n_records", "value"], ascending=[False, True], kind="stable"
        )
        themes = cur[(cur["dim"] == dim) & (cur["kind"] == "theme")]
        rows = []
        for r in every.head(10).to_dict("records"):
            sub = themes[themes["value"] == r["value"]].sort_values(
                ["n", "key"], ascending=[False, True], kind="stable"
            )
            top = sub.iloc[0] if len(sub) and sub["n"].iat[0] > 0 else None
            change = r["share"] / r["prev_share"] - 1 if r["prev_share"] > 0 else float("nan")
            rows.append(
                {
                    "value": r["value"],
                    "records": fmt_num(r["n_records"], lang),
                    "complaints": fmt_num(r["n"], lang),
                    "share": fmt_num(100 * r["share"], lang, 1) + "٪",
                    "prev_share": fmt_num(100 * r["prev_share"], lang, 1) + "٪",
                    "change": _fmt_growth(change, lang),
                    "top": ""
                    if top is None
                    else f"{names.get(top['key'], top['key'])} ({fmt_num(top['n'], lang)})",
                }
            )
        out.append({"dim": dim, "rows": rows})
    return out


def _cluster_rows(clusters: pd.DataFrame, trends: pd.DataFrame, lang: str) -> list[dict]:
    rows = []
    if not len(clusters):
        return rows
    hist = (
        trends[(trends["kind"] == "cluster") & (trends["dim"] == "all")] if len(trends) else trends
    )
    names = _cluster_names(clusters)
    order = clusters.sort_values(["size", "cluster_id"], ascending=[False, True], kind="stable")
    for c in order.to_dict("records"):
        key = str(c["cluster_id"])
        series = (
            hist[hist["key"] == key].sort_values("period_start")["n"].tolist() if len(hist) else []
        )
        keywords = c.get("keywords")
        share = c.get("share")
        rows.append(
            {
                "name": names.get(key, f"#{key}"),
                "keywords": "، ".join(str(k) for k in list(keywords))
                if keywords is not None
                else "",
                "size": fmt_num(int(c.get("size") or 0), lang),
                "share": ""
                if _nan(share) or share is None
                else fmt_num(100 * float(share), lang, 1) + "٪",
                "status": str(c.get("status") or ""),
                "emerging": bool(c.get("emerging")) if not _nan(c.get("emerging")) else False,
                "examples": [
                    str(e) for e in list(c.get("examples") if c.get("examples") is not None else [])
                ],
                "spark": Markup(charts.sparkline(series, title=names.get(key, key)))
                if series
                else "",
            }
        )
    return rows


def _theme_examples(store, current: Period, rc, first_day) -> dict[str, list[str]]:
    """Masked verbatims per theme: the current period's most confident complaints first."""
    frame = store.query(
        "SELECT theme, display_text FROM ("
        "  SELECT unnest(themes) AS theme, record_key, created_at, complaint_proba, display_text FROM records"
        "  WHERE is_complaint AND created_at BETWEEN ? AND ?)"
        " QUALIFY row_number() OVER (PARTITION BY theme ORDER BY (created_at >= ?) DESC, complaint_proba DESC,"
        " record_key) <= ? ORDER BY theme, (created_at >= ?) DESC, complaint_proba DESC, record_key",
        [first_day, current.end, current.start, rc.examples_per_theme, current.start],
    )
    out: dict[str, list[str]] = {}
    for theme, text in zip(frame["theme"], frame["display_text"], strict=True):
        out.setdefault(theme, []).append("" if text is None else str(text))
    return out


def _themes_csv(
    theme_ids, names, run_counts, theme_cur, improvement, drivers, kind, examples
) -> pd.DataFrame:
    total = sum(run_counts.values())
    frame = pd.DataFrame({"theme": theme_ids})
    frame["name"] = frame["theme"].map(lambda t: names.get(t, t))
    frame["count"] = frame["theme"].map(lambda t: run_counts.get(t, 0)).astype("int64")
    frame["share"] = (frame["count"] / total).round(6) if total else 0.0
    cur = theme_cur.set_index("key")
    frame["period_count"] = frame["theme"].map(cur["n"]).fillna(0).astype("int64")
    frame["period_share"] = frame["theme"].map(cur["share"])
    frame["prev_count"] = frame["theme"].map(cur["prev_n"]).fillna(0).astype("int64")
    frame["prev_share"] = frame["theme"].map(cur["prev_share"])
    frame["baseline_share"] = frame["theme"].map(cur["baseline_share"])
    frame["rate_ratio"] = frame["theme"].map(cur["ratio"])
    frame["p_value"] = frame["theme"].map(cur["p_value"])
    if kind:
        d = drivers[drivers["score_kind"] == kind].set_index("theme")
        frame["score_kind"] = kind
        frame["mean_with"] = frame["theme"].map(d["mean_with"])
        frame["mean_without"] = frame["theme"].map(d["mean_without"])
        frame["impact"] = frame["theme"].map(d["impact"])
    imp = (
        improvement.set_index("theme")
        if len(improvement)
        else pd.DataFrame(columns=["priority", "rank"])
    )
    frame["priority"] = frame["theme"].map(imp["priority"])
    frame["rank"] = frame["theme"].map(imp["rank"]).astype("Int64")
    frame = frame.sort_values(
        ["count", "theme"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    return frame


def _trends_csv(trends: pd.DataFrame, display) -> pd.DataFrame:
    out = trends.copy()
    out.insert(4, "name", [display(k, key) for k, key in zip(out["kind"], out["key"], strict=True)])
    out["share"] = out["share"].round(6)
    out["prev_share"] = out["prev_share"].round(6)
    return out


def _empty_tables(theme_ids, names, run_counts) -> dict:
    frame = pd.DataFrame({"theme": theme_ids})
    frame["name"] = frame["theme"].map(lambda t: names.get(t, t))
    frame["count"] = frame["theme"].map(lambda t: run_counts.get(t, 0)).astype("int64")
    total = int(frame["count"].sum())
    frame["share"] = (frame["count"] / total).round(6) if total else 0.0
    return {"themes": frame, "trends": pd.DataFrame(columns=["period_start"]), "alerts": []}


# -- rendering ---------------------------------------------------------------------------------
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(data: ReportData, generated: str) -> dict:
    L = data.labels
    weights = {k: v for k, v in WEIGHTS.items()}
    return {
        "d": data,
        "L": L,
        "lang": data.lang,
        "generated": generated,
        "mark": GENERATED_MARK,
        "summary": data.summary,
        "records": data.summary.get("records", {}),
        "current": None if data.current is None else _period_pair(data.current, data.lang),
        "previous": None if data.previous is None else _period_pair(data.previous, data.lang),
        "alerts_intro": L["alerts_intro"].format(
            k=localize_digits(str(data.trailing), data.lang),
            p=localize_digits(str(data.alert_params.get("p_value_max")), data.lang),
            m=localize_digits(str(data.alert_params.get("min_count")), data.lang),
            r=localize_digits(str(data.alert_params.get("min_rate_ratio")), data.lang),
        ),
        "drivers_intro": L["drivers_intro"].format(
            k=localize_digits(str(data.trailing), data.lang), w=L["week"][data.period_kind]
        ),
        "weights": weights,
        "growth_cap": GROWTH_CAP,
        "num": lambda v, d=0: fmt_num(v, data.lang, d),
    }


def _period_pair(p: Period, lang: str) -> dict:
    return {"start": _day(p.start, lang), "end": _day(p.end, lang)}


def render_html(data: ReportData, generated: str) -> str:
    """The self-contained RTL HTML page (every data value autoescaped by Jinja)."""
    return _env().get_template("report.html.j2").render(**_context(data, generated))


def render_markdown(data: ReportData, generated: str) -> str:
    """The same content as Markdown; data text goes through :func:`md_text`."""
    env = _env()
    env.autoescape = False
    env.finalize = md_text  # every {{ value }} is escaped for Markdown
    return env.get_template("report.md.j2").render(**_context(data, generated))


__all__ = [
    "GENERATED_MARK",
    "LABELS",
    "ReportData",
    "build_report",
    "md_text",
    "neutralize_csv_cells",
    "render_html",
    "render_markdown",
    "write_report",
]
