"""End to end: the `complaints` CLI on the shipped sample, checked by the content of its outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, shared_file

CLI = [sys.executable, "-m", "pipeline.cli"]


def complaints(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        CLI + list(args), input=stdin, capture_output=True, text=True, cwd=cwd, timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory, sample_path):
    out = tmp_path_factory.mktemp("run")
    proc = complaints("run", "--input", str(sample_path), "--out", str(out))
    assert proc.returncode in (0, 3), proc.stderr
    run_dirs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(run_dirs) == 1, list(out.iterdir())
    return run_dirs[0]


def test_run_writes_every_output(sample_run):
    for name in ("report.html", "themes.csv", "complaints.parquet", "summary.json", "quarantine.csv"):
        assert (sample_run / name).is_file(), name


def test_records_in_equal_processed_plus_quarantined(sample_run, sample_path):
    summary = json.loads((sample_run / "summary.json").read_text(encoding="utf-8"))
    rec = summary["records"]
    with sample_path.open(encoding="utf-8") as fh:
        n_rows = len(pd.read_csv(fh, dtype=str, keep_default_na=False))
    assert rec["read"] == n_rows
    assert rec["read"] == rec["processed"] + rec["quarantined"]
    frame = pd.read_parquet(sample_run / "complaints.parquet")
    assert len(frame) == rec["processed"]
    quarantine = pd.read_csv(sample_run / "quarantine.csv")
    assert len(quarantine) == rec["quarantined"]
    # The sample plants empty texts and duplicate ids; each must be quarantined with its reason.
    reasons = set(quarantine["reason"].str.split(" ").str[0])
    assert {"empty_text", "duplicate_id"} <= reasons


def test_complaints_parquet_has_one_row_per_record_with_results(sample_run):
    frame = pd.read_parquet(sample_run / "complaints.parquet")
    for col in ("record_id", "text_norm", "lang", "is_complaint", "themes", "cluster_id"):
        assert col in frame.columns
    assert frame["record_id"].is_unique
    assert set(frame["lang"]) >= {"fa", "ar"}
    # Persian text arrives with Arabic ي/ك; the normalised text must not keep them in Persian rows.
    fa = frame[frame["lang"] == "fa"]["text_norm"]
    assert not fa.str.contains("ي|ك").any()
    share = frame["is_complaint"].mean()
    assert 0.3 < share < 0.9
    complaints_only = frame[frame["is_complaint"]]
    assert complaints_only["themes"].map(len).gt(0).mean() > 0.6
    assert not frame[~frame["is_complaint"]]["themes"].map(len).any()
    assert (complaints_only["cluster_id"] >= 0).mean() > 0.5


def test_themes_csv_counts_match_parquet(sample_run):
    themes = pd.read_csv(sample_run / "themes.csv")
    frame = pd.read_parquet(sample_run / "complaints.parquet")
    counted = frame[frame["is_complaint"]].explode("themes")["themes"].value_counts()
    for row in themes.itertuples():
        assert row.count == counted.get(row.theme, 0)
    summary = json.loads((sample_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["themes"] == {k: int(v) for k, v in counted.items()}
    # Every theme of the default taxonomy occurs in the sample.
    assert (themes["count"] > 0).all(), themes


def test_report_is_rtl_and_has_no_raw_pii(sample_run):
    html = (sample_run / "report.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in html
    assert "09121234567" not in html
    frame = pd.read_parquet(sample_run / "complaints.parquet")
    assert not frame["text_norm"].str.contains(r"09\d{9}").any()
    assert not frame["display_text"].str.contains(r"09\d{9}").any()


def test_normalize_cli_keeps_line_count():
    lines = ["سلام، غذا خيلييييي سرد بود 😡", "", "الطلب وصل متأخر جداً", "call me 09121234567"]
    proc = complaints("normalize", "--with-lang", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.split("\n")[:-1]
    assert len(out) == len(lines)
    assert out[0].startswith("fa\t")
    assert out[2].startswith("ar\t")
    assert "09121234567" not in proc.stdout


def test_run_on_missing_file_exits_2(tmp_path):
    proc = complaints("run", "--input", str(tmp_path / "nope.csv"), "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_evaluate_prints_contract_fields_on_real_reviews():
    path = shared_file("labelled/parsinlu_food_themes.jsonl")
    proc = complaints("evaluate", "--data", str(path))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    for key in ("n", "complaint_accuracy", "complaint_f1", "theme_micro_f1", "theme_macro_f1", "per_theme"):
        assert key in report
    assert report["n"] == sum(1 for line in path.open(encoding="utf-8") if line.strip())
    for scores in report["per_theme"].values():
        assert set(scores) == {"precision", "recall", "f1", "support"}
        assert 0.0 <= scores["f1"] <= 1.0
