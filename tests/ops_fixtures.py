"""Helpers of the operations tests (issue 7); the fixtures are in ``ops_model_fixture`` and
``pg_fixture`` (load them with ``pytest_plugins``)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "pipeline.cli"]

FA_TEXTS = [
    "سفارش دیر رسید و غذا سرد بود",
    "پیک بی‌ادب بود و پول اضافه خواست",
    "کیفیت عالی بود، ممنون از شما",
    "بسته‌بندی پاره بود و محصول خراب رسید",
    "پشتیبانی جواب نداد، خیلی بد بود",
    "همه چیز خوب بود، باز هم سفارش می‌دم",
    "قیمت نسبت به کیفیت خیلی گران است",
    "اپلیکیشن موقع پرداخت خطا داد",
]
AR_TEXTS = [
    "الطلب وصل متأخر جداً والأكل بارد",
    "خدمة العملاء لم ترد على اتصالي",
    "المنتج ممتاز وشكراً لكم",
    "السعر مرتفع جداً مقارنة بالجودة",
]


def feedback_rows(n: int, *, start: int = 0, day: str = "2026-08-01", prefix: str = "r") -> list[dict]:
    """``n`` valid feedback rows with unique ids and texts (Persian and Arabic)."""
    texts = FA_TEXTS + AR_TEXTS
    rows = []
    for i in range(start, start + n):
        rows.append(
            {
                "id": f"{prefix}{i:06d}",
                "created_at": day,
                "channel": "app" if i % 2 else "web",
                "product": "food",
                "region": "Tehran" if i % 3 else "Cairo",
                "rating": str(1 + i % 5),
                "text": f"{texts[i % len(texts)]} (#{i})",
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict], *, fieldnames: list[str] | None = None) -> Path:
    fieldnames = fieldnames or list(rows[0])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return path


def complaints(*args: str, cwd: Path = ROOT, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real ``complaints`` command in a subprocess."""
    return subprocess.run(  # noqa: PLW1510 - callers check returncode
        CLI + [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.is_symlink())


def read_summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def snapshot(out: Path, store: Path) -> dict:
    """Everything a run leaves behind, minus wall-clock times: for equality of two runs.

    Outputs: every file of every run folder (report.html/.md carry a "generated at" time and
    are compared without it); the store: every table, with the runs' start/finish times and
    the timing keys of their summary removed.
    """
    import duckdb
    import pandas as pd

    from pipeline.run import VOLATILE_SUMMARY_KEYS

    snap: dict = {"dirs": [p.name for p in run_dirs(out)], "leftovers": sorted(p.name for p in out.iterdir() if p.name.startswith(".staging"))}
    for run_dir in run_dirs(out):
        for path in sorted(run_dir.iterdir()):
            key = f"{run_dir.name}/{path.name}"
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
                snap[key] = frame.astype(str).to_csv(index=False)
            elif path.name == "summary.json":
                data = json.loads(path.read_text(encoding="utf-8"))
                for k in VOLATILE_SUMMARY_KEYS:
                    data.pop(k, None)
                snap[key] = data
            elif path.name in {"report.html", "report.md"}:
                snap[key] = len(path.read_bytes()) // 1000  # generated-at time differs
            else:
                snap[key] = path.read_bytes()
    con = duckdb.connect(str(store), read_only=True)
    try:
        for (table,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
        ).fetchall():
            frame = con.execute(f"SELECT * FROM {table}").df()
            frame = frame.drop(columns=[c for c in ("started_at", "finished_at") if c in frame.columns])
            if "summary_json" in frame.columns:
                def strip(text):
                    data = json.loads(text)
                    for k in VOLATILE_SUMMARY_KEYS:
                        data.pop(k, None)
                    return json.dumps(data, sort_keys=True)

                frame["summary_json"] = frame["summary_json"].map(strip)
            frame = frame.astype(str)
            snap[f"store:{table}"] = frame.sort_values(list(frame.columns)).to_csv(index=False)
    finally:
        con.close()
    return snap
