"""Hostile inputs: each gives a completed run with exact quarantine counts, or a clean error.

Never a traceback, never a lost row: for every file the test knows how many data rows it
holds and checks ``read`` against that, and ``read = processed + quarantined``.
Most files go through ``complaints run --dry-run`` (the whole ingest and validation, the same
counts and exit codes as a real run, without the model's work); one real run checks the
quarantine file itself.
"""

from __future__ import annotations

import gzip
import json
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import IngestConfig
from pipeline.ingest import iter_records

from ops_fixtures import feedback_rows, write_csv

pytest_plugins = ["ops_model_fixture"]


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


def dry_run(path, out, model, *extra):
    result = cli("run", "--input", path, "--out", out, "--model", model, "--dry-run", "--log-json", *extra)
    summary = None
    if result.exit_code in (0, 3):
        summary = json.loads(result.stdout.strip().splitlines()[-1])
    return result, summary


def _csv(path, lines, encoding="utf-8"):
    path.write_bytes(("id,text\n" + "".join(lines)).encode(encoding))
    return path


# name -> (builder(tmp) -> path, expected data rows, expected quarantine reasons {reason: n})
def _truncated_gzip(tmp):
    data = write_csv(tmp / "src.csv", feedback_rows(5000)).read_bytes()
    path = tmp / "truncated.csv.gz"
    path.write_bytes(gzip.compress(data)[:-4000])
    return path


def _quotes(tmp):
    lines = ['1,"a complaint\nover two lines"\n', '2,"never closed\n', "3,fine\n", '4,"x"y\n', "5,also fine\n"]
    return _csv(tmp / "quotes.csv", lines)


def _mixed(tmp):
    path = tmp / "mixed.csv"
    rows = [f"{i},سفارش {i} دیر رسید\n".encode() for i in range(30)]
    for i in (3, 17):
        rows[i] = f"{i},سفارش خراب بود\n".encode("cp1256")
    path.write_bytes(b"id,text\n" + b"".join(rows))
    return path


def _nul(tmp):
    return _csv(tmp / "nul.csv", ["1,ok\n", "2,bad\x00\x00\x00bytes\n", "3,\x00\x01\x02\x03\x04\n", "4,ok too\n"])


def _huge_cell(tmp):
    return _csv(tmp / "huge.csv", ["1,short\n", "2," + "ب" * 10_000_000 + "\n", "3,short too\n"])


def _emoji(tmp):
    return _csv(tmp / "emoji.csv", ["1,😡😡😡\n", "2,👍\n", "3,🙂🙂\n"])


def _html_cells(tmp):
    return _csv(tmp / "html.csv", ['1,"<script>alert(1)</script> غذا سرد بود"\n', '2,"<b>عالی</b>"\n'])


def _html_page(tmp):
    path = tmp / "page.csv"
    path.write_text("<!DOCTYPE html>\n<html><body><h1>502 Bad Gateway</h1></body></html>\n", encoding="utf-8")
    return path


def _zero(tmp):
    path = tmp / "zero.csv"
    path.write_bytes(b"")
    return path


def _header_only(tmp):
    return _csv(tmp / "header.csv", [])


def _random_bytes(tmp):
    import random

    path = tmp / "random.csv"
    path.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(20_000)))
    return path


def _parquet_named_csv(tmp):
    path = tmp / "really_parquet.csv"
    pd.DataFrame(feedback_rows(3)).to_parquet(path)
    return path


def _broken_parquet(tmp):
    good = tmp / "good.parquet"
    pd.DataFrame(feedback_rows(300)).to_parquet(good)
    path = tmp / "broken.parquet"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _not_xlsx(tmp):
    path = tmp / "not.xlsx"
    path.write_text("id,text\n1,x\n", encoding="utf-8")
    return path


def _bad_jsonl(tmp):
    path = tmp / "bad.jsonl"
    path.write_text('{"id": "1", "text": "خوب"}\n{"id": "2", "text": "نیمه\n"just a string"\n{"id": "3", "text": ""}\n', encoding="utf-8")
    return path


COMPLETED = {
    # name: (builder, rows read, {reason: count})
    "quotes": (_quotes, 5, {"unbalanced_quote": 1, "malformed_row": 1}),
    "mixed_encodings": (_mixed, 30, {"undecodable_bytes": 2}),
    "nul_bytes": (_nul, 4, {"binary_garbage": 2}),
    "10mb_cell": (_huge_cell, 3, {"text_too_long": 1}),
    "only_emoji": (_emoji, 3, {}),
    "html_in_cells": (_html_cells, 2, {}),
    "header_only": (_header_only, 0, {}),
    "bad_jsonl": (_bad_jsonl, 4, {"malformed_json": 2, "empty_text": 1}),
}

REFUSED = {
    # name: (builder, words the error message must contain)
    "truncated_gzip": (_truncated_gzip, "truncated"),
    "zero_bytes": (_zero, "empty (0 bytes"),
    "html_page": (_html_page, "no text column"),
    "random_bytes": (_random_bytes, "no text column"),
    "parquet_named_csv": (_parquet_named_csv, "Parquet file"),
    "broken_parquet": (_broken_parquet, "Parquet"),
    "not_xlsx": (_not_xlsx, "XLSX"),
}


@pytest.mark.parametrize("name", sorted(COMPLETED))
def test_hostile_file_completes_with_exact_quarantine(tmp_path, ops_model, name):
    builder, n_rows, expected = COMPLETED[name]
    path = builder(tmp_path)
    result, summary = dry_run(path, tmp_path / "out", ops_model)
    assert result.exit_code in (0, 3), result.stderr
    rec = summary["records"]
    assert rec["read"] == n_rows
    assert rec["read"] == rec["processed"] + rec["quarantined"]
    assert summary["quarantine_reasons"] == expected
    share = rec["quarantined"] / rec["read"] if rec["read"] else 0
    assert result.exit_code == (3 if share > 0.05 else 0)
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusable_file_is_a_clean_error_with_exit_2(tmp_path, ops_model, name):
    builder, words = REFUSED[name]
    path = builder(tmp_path)
    result = cli("run", "--input", path, "--out", tmp_path / "out", "--model", ops_model, "--night", "2026-08-01")
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr
    assert result.stderr.count("error:") == 1
    # Nothing was committed and no output folder appeared.
    out = tmp_path / "out"
    assert not out.exists() or not [p for p in out.iterdir() if p.is_dir()]


def test_real_run_writes_every_quarantined_row_with_row_number_and_reason(tmp_path, ops_model):
    rows = feedback_rows(40)
    rows[3]["text"] = ""
    rows[9]["id"] = rows[8]["id"]
    rows[12]["created_at"] = "۱۴۰۳/۱۳/۴۰"  # Jalali month 13: invalid
    rows[20]["text"] = "\x00\x01garbage\x02\x03"
    path = write_csv(tmp_path / "feed.csv", rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('r999999,2026-08-01,app,food,Tehran,3,"never closed\n')
    out = tmp_path / "out"
    result = cli("run", "--input", path, "--out", out, "--model", ops_model, "--night", "2026-08-01",
                 "--workers", "1", "--max-quarantine-share", "0.2")
    assert result.exit_code == 0, result.stderr
    run_dir = out / "latest"
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    quarantine = pd.read_csv(run_dir / "quarantine.csv", dtype={"record_id": str})
    assert summary["records"]["read"] == 41 == summary["records"]["processed"] + len(quarantine)
    assert quarantine["row_number"].tolist() == [4, 10, 13, 21, 41]
    assert quarantine["line_number"].tolist() == [5, 11, 14, 22, 42]
    assert quarantine["reason"].str.split(" ").str[0].tolist() == [
        "empty_text", "duplicate_id", "unparsable_date", "binary_garbage", "unbalanced_quote"]
    assert quarantine["record_id"].iloc[1] == rows[8]["id"]
    assert summary["encoding"] == "utf-8" and summary["encoding_detected"] is True
    assert len(pd.read_parquet(run_dir / "complaints.parquet")) == 36


def test_quarantine_above_threshold_exits_3(tmp_path, ops_model):
    rows = feedback_rows(10)
    for r in rows[:3]:
        r["text"] = ""
    path = write_csv(tmp_path / "feed.csv", rows)
    result, summary = dry_run(path, tmp_path / "out", ops_model, "--max-quarantine-share", "0.25")
    assert result.exit_code == 3 and summary["records"]["quarantined"] == 3
    result, _ = dry_run(path, tmp_path / "out", ops_model, "--max-quarantine-share", "0.3")
    assert result.exit_code == 0


@pytest.mark.slow
def test_a_million_rows_stream_through_ingest(tmp_path):
    path = tmp_path / "million.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,text\n")
        for i in range(1_000_000):
            fh.write(f"{i},نظر شماره {i}\n" if i % 100_000 else f"{i},\n")  # 10 empty texts
    start = time.monotonic()
    read = quarantined = chunks = 0
    for chunk in iter_records(str(path), IngestConfig(chunk_size=100_000)):
        chunks += 1
        assert len(chunk.records) + len(chunk.quarantine) <= 100_000  # bounded chunks
        read += len(chunk.records) + len(chunk.quarantine)
        quarantined += len(chunk.quarantine)
    assert (read, quarantined, chunks) == (1_000_000, 10, 10)
    assert time.monotonic() - start < 60
