"""The report writer on a small history store filled by the test (no model, no full pipeline)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import Config
from pipeline.report import GENERATED_MARK, md_text, neutralize_csv_cells, write_report
from pipeline.store import HistoryStore

FIRST_MONDAY = date(2026, 9, 7)
WEEKS = 8
SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.title='PWNED'\">"
FORMULA_PRODUCT = '=HYPERLINK("http://x","y")'
THEMES = ["delivery", "product_quality", "customer_service", "price_value", "packaging"]


def make_records(seed: int = 0) -> pd.DataFrame:
    """Eight weeks of feedback with a planted delivery spike in Tehran in week 7 (2026-10-19)."""
    rng = np.random.default_rng(seed)
    rows = []
    for week in range(WEEKS):
        for i in range(120):
            day = FIRST_MONDAY + timedelta(days=7 * week + int(rng.integers(0, 7)))
            region = ["Tehran", "Mashhad", "Shiraz"][i % 3]
            complaint = rng.random() < 0.5
            themes = (
                [THEMES[int(rng.choice(5, p=[0.3, 0.25, 0.2, 0.15, 0.1]))]] if complaint else []
            )
            rows.append((day, region, complaint, themes))
        if week == 6:  # the planted spike: 30 extra late deliveries in Tehran
            for i in range(30):
                rows.append(
                    (FIRST_MONDAY + timedelta(days=7 * week + i % 7), "Tehran", True, ["delivery"])
                )
    out = []
    for n, (day, region, complaint, themes) in enumerate(rows):
        rating = 5.0 if not complaint else (1.0 if "delivery" in themes else 3.0)
        text = "غذا خیلی دیر رسید و سرد بود" if "delivery" in themes else "همه چیز خوب بود"
        if n == 5:
            text = SCRIPT + " ارسال افتضاح"
            themes, complaint = ["delivery"], True
        if n == 6:
            text = IMG + " بسته‌بندی پاره"
            themes, complaint = ["packaging"], True
        out.append(
            {
                "record_key": f"k{n:05d}",
                "record_id": f"id-{n:05d}",
                "run_id": "r1",
                "created_at": day,
                "channel": ["app", "web"][n % 2],
                "product": FORMULA_PRODUCT if n % 50 == 0 else "food",
                "region": region,
                "score": rating,
                "score_kind": "rating",
                "lang": "fa",
                "is_complaint": complaint,
                "complaint_proba": 0.9 if complaint else 0.1,
                "needs_review": False,
                "themes": themes,
                "cluster_id": (0 if "delivery" in themes else 1) if complaint else -1,
                "text_norm": text,
                "display_text": text,
            }
        )
    return pd.DataFrame(out)


def fill_store(store: HistoryStore, records: pd.DataFrame, run_dir: Path) -> Path:
    """Write ``records`` as this run's complaints.parquet and commit them as one run."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "complaints.parquet"
    table = pa.Table.from_pandas(records, preserve_index=False)
    pq.write_table(table, path)
    store.commit_run(
        {
            "run_id": "r1",
            "started_at": pd.Timestamp("2026-11-02 02:00"),
            "n_read": len(records),
            "n_processed": len(records),
            "n_quarantined": 0,
            "model_version": "test-model",
        },
        str(path),
    )
    return path


def clusters_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cluster_id": [0, 1],
            "label": ["ارسال دیر", "<b>bold</b> label"],
            "keywords": [["دیر", "رسید"], ["خوب", IMG]],
            "size": [300, 200],
            "share": [0.6, 0.4],
            "dominant_theme": ["delivery", "product_quality"],
            "examples": [["غذا دیر رسید", SCRIPT], ["بسته‌بندی نشتی داشت"]],
            "example_ids": [["id-1"], ["id-2"]],
            "status": ["stable", "new"],
            "emerging": [False, True],
            "emerging_reason": ["", "new since 2026-10-26"],
        }
    )


SUMMARY = {
    "run_id": "20261102T020000-abc123",
    "model_version": "test-model",
    "records": {
        "read": 1000,
        "processed": 990,
        "quarantined": 10,
        "already_seen": 0,
        "out_of_window": 0,
    },
}


def build(tmp_path: Path, language: str = "fa", run_name: str = "run") -> Path:
    """Fill a store, write the report into tmp_path/run_name and return that folder."""
    config = Config()
    config = replace(config, report=replace(config.report, language=language))
    run_dir = tmp_path / run_name
    with HistoryStore(tmp_path / f"{run_name}.duckdb") as store:
        fill_store(store, make_records(), run_dir)
        write_report(
            run_dir, summary=SUMMARY, clusters=clusters_frame(), store=store, config=config
        )
    return run_dir


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("report"))


def test_writes_every_output(report_dir):
    for name in ("report.html", "report.md", "themes.csv", "trends.csv", "alerts.json"):
        assert (report_dir / name).is_file(), name


def test_html_is_rtl_self_contained_and_forbids_scripts(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fa" dir="rtl">' in html
    assert "script-src 'none'" in html and "default-src 'none'" in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no CDN or remote resource
    assert "Noto Naskh Arabic" in html


def test_feedback_text_is_escaped_everywhere(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=" in html
    assert "<b>bold</b>" not in html  # a cluster label is data too
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md and "<b>" not in md


def test_planted_spike_is_an_alert_with_its_numbers(report_dir):
    payload = json.loads((report_dir / "alerts.json").read_text(encoding="utf-8"))
    assert payload["current_period"] == {"start": "2026-10-26", "end": "2026-11-01"}
    assert payload["test"]["min_count"] == 8
    hits = [
        a
        for a in payload["alerts"]
        if a["kind"] == "theme" and a["key"] == "delivery" and a["period_start"] == "2026-10-19"
    ]
    segments = {(a["segment"]["dim"], a["segment"]["value"]) for a in hits}
    assert ("region", "Tehran") in segments
    tehran = next(a for a in hits if a["segment"] == {"dim": "region", "value": "Tehran"})
    assert tehran["count"] > tehran["baseline"]["expected_count"] * 2
    assert tehran["p_value"] < 0.001
    for key in ("records", "share", "rate_ratio", "q_value", "z_score"):
        assert key in tehran
    # nothing else in the history is a spike: the other weeks are noise around a stable rate
    assert {a["period_start"] for a in payload["alerts"]} == {"2026-10-19"}


def test_themes_csv_counts_this_run_and_ranks_priorities(report_dir):
    themes = pd.read_csv(report_dir / "themes.csv")
    records = make_records()
    counted = records[records["is_complaint"]].explode("themes")["themes"].value_counts()
    for row in themes.itertuples():
        assert row.count == counted.get(row.theme, 0)
    assert set(themes["theme"]) >= set(THEMES)
    delivery = themes.set_index("theme").loc["delivery"]
    assert delivery["mean_with"] < delivery["mean_without"]
    assert delivery["impact"] > 0


def test_csv_cells_that_look_like_formulas_are_neutralised(report_dir):
    trends = pd.read_csv(report_dir / "trends.csv", dtype=str, keep_default_na=False)
    values = set(trends["value"])
    assert "'" + FORMULA_PRODUCT in values
    assert FORMULA_PRODUCT not in values
    for path in ("themes.csv", "trends.csv"):
        frame = pd.read_csv(report_dir / path, dtype=str, keep_default_na=False)
        for col in frame.columns:
            if frame[col].str.match(r"-?\d").all():
                continue  # numbers
            assert not frame[col].str.startswith(("=", "+", "@", "\t", "\r")).any(), (path, col)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("=1+1", "'=1+1"),  # formula
        ("+98912", "'+98912"),  # phone-like, still a formula to Excel
        ("-2", "'-2"),  # minus
        ("@SUM(A1)", "'@SUM(A1)"),  # Lotus-style
        ("\tx", "'\tx"),  # tab
        ("\rx", "'\rx"),  # carriage return
        ("تهران", "تهران"),  # plain text is untouched
    ],
)
def test_neutralize_csv_cells(cell, expected):
    assert neutralize_csv_cells(pd.DataFrame({"c": [cell]}))["c"].iat[0] == expected


def test_md_text_disarms_tags_but_keeps_comparisons():
    assert md_text("<script>x</script>") == "&lt;script>x&lt;/script>"
    assert md_text("p < 0.01") == "p < 0.01"
    assert md_text("a | b\nc") == "a \\| b c"


def test_improvement_table_has_formula_and_sentences(report_dir):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "اولویت = ۱۰۰ × (۰٫۴ × حجم + ۰٫۳ × رشد + ۰٫۳ × اثر)" in html
    assert "شکایت‌های «تأخیر و مشکلات ارسال»" in html
    md = (report_dir / "report.md").read_text(encoding="utf-8")
    assert "## حوزه‌های نیازمند بهبود" in md


def test_same_history_gives_byte_identical_report_but_the_generated_line(tmp_path):
    first = build(tmp_path, run_name="a")
    second = build(tmp_path, run_name="b")
    for name in ("report.html", "report.md", "themes.csv", "trends.csv", "alerts.json"):
        a = (first / name).read_text(encoding="utf-8").splitlines()
        b = (second / name).read_text(encoding="utf-8").splitlines()
        differ = [x for x, y in zip(a, b, strict=True) if x != y]
        assert all(GENERATED_MARK in line for line in differ), (name, differ)
        assert sum(GENERATED_MARK in line for line in a) <= 1


def test_arabic_report(tmp_path):
    run_dir = build(tmp_path, language="ar")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in html
    assert "مجالات تحتاج إلى تحسين" in html
    assert "التأخير ومشاكل التوصيل" in html


def test_empty_history_still_writes_a_report(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    pq.write_table(
        pa.Table.from_pandas(make_records().head(0), preserve_index=False),
        run_dir / "complaints.parquet",
    )
    with HistoryStore(tmp_path / "h.duckdb") as store:
        write_report(
            run_dir, summary=SUMMARY, clusters=pd.DataFrame(), store=store, config=Config()
        )
    assert 'dir="rtl"' in (run_dir / "report.html").read_text(encoding="utf-8")
    assert json.loads((run_dir / "alerts.json").read_text(encoding="utf-8"))["alerts"] == []
