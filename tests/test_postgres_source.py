"""A real PostgreSQL source: ``complaints run --input postgresql://... --sql-table/--sql-query``.

No mocks: a throwaway cluster (:mod:`pg_fixture`), real rows, the real command end to end.
"""

from __future__ import annotations

import json

import pandas as pd
import psycopg
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

from ops_fixtures import complaints, feedback_rows, read_summary

pytest_plugins = ["ops_model_fixture", "pg_fixture"]


def load(url: str, rows: list[dict], table: str = "feedback") -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (ticket text, created_at text, channel text, "
            "product text, region text, nps integer, body text)"
        )
        with con.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(r["id"], r["created_at"], r["channel"], r["product"], r["region"], r.get("nps"), r["text"])
                 for r in rows],
            )


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def rows():
    rows = feedback_rows(40)
    for i, r in enumerate(rows):
        r["nps"] = i % 11
    rows[5]["text"] = None  # NULL text
    rows[6]["id"] = rows[4]["id"]  # duplicate id
    rows[7]["created_at"] = "۱۴۰۳/۰۵/۰۸"  # Jalali date
    rows[8]["created_at"] = "31/31/2026"  # unparsable
    return rows


def test_complaints_run_reads_a_postgres_table(tmp_path, pg_database, rows, ops_model):
    load(pg_database, rows)
    url = pg_database.replace("test@", "test:s3cret@")  # trust auth ignores it; must be redacted
    out = tmp_path / "out"
    args = ["run", "--input", url, "--sql-table", "feedback", "--text-column", "body",
            "--id-column", "ticket", "--out", out, "--model", ops_model, "--night", "2026-08-01",
            "--workers", "1", "--max-quarantine-share", "0.2"]
    proc = complaints(*args)
    assert proc.returncode == 0, proc.stderr
    summary = read_summary(out / "latest")
    assert summary["records"]["read"] == 40
    assert summary["records"]["processed"] == 37 and summary["records"]["quarantined"] == 3
    assert summary["quarantine_reasons"] == {"duplicate_id": 1, "empty_text": 1, "unparsable_date": 1}
    assert summary["format"] == "sql" and summary["columns"]["nps"] == "nps"
    frame = pd.read_parquet(out / "latest" / "complaints.parquet")
    jalali = frame.loc[frame["record_id"] == rows[7]["id"], "created_at"].iloc[0]
    assert str(jalali) == "2024-07-29"
    assert set(frame["score_kind"].dropna()) == {"nps"}
    # The password appears nowhere: not in the log, the summary, or the history.
    assert "s3cret" not in proc.stderr + proc.stdout
    assert "s3cret" not in (out / "latest" / "summary.json").read_text(encoding="utf-8")
    history = cli("history", "--store", out / "history.duckdb", "--json")
    assert history.exit_code == 0 and "s3cret" not in history.stdout
    assert json.loads(history.stdout.splitlines()[0])["source"].endswith("test:***@" + url.split("@", 1)[1])

    # Same night, same rows: nothing to do.
    again = cli(*args)
    assert again.exit_code == 0 and "already complete" in again.stderr
    # New rows arrive in the table: the next run takes only those.
    load(pg_database, feedback_rows(5, start=100, day="2026-08-02"))
    more = cli(*args, "--night", "2026-08-02")  # the last --night wins
    assert more.exit_code == 0, more.stderr
    summary = read_summary(out / "latest")
    assert summary["records"]["processed"] == 5 and summary["records"]["already_seen"] == 37


def test_sql_query_reads_only_rows_from_the_watermark(tmp_path, pg_database, ops_model):
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.execute("CREATE TABLE events (id text, day date, body text)")
        con.cursor().executemany("INSERT INTO events VALUES (%s, %s, %s)",
                                 [(r["id"], r["created_at"], r["text"]) for r in feedback_rows(20, day="2026-06-01")])
    query = "SELECT id, day AS created_at, body AS text FROM events WHERE day >= :watermark"
    out = tmp_path / "out"
    base = ["run", "--input", pg_database, "--sql-query", query, "--out", out, "--model", ops_model, "--workers", "1"]
    first = cli(*base, "--night", "2026-06-02", "--log-json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1])["records"]["read"] == 20
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.cursor().executemany("INSERT INTO events VALUES (%s, %s, %s)",
                                 [(r["id"], r["created_at"], r["text"]) for r in feedback_rows(4, start=50, day="2026-07-01")])
    second = cli(*base, "--night", "2026-07-02", "--log-json")
    rec = json.loads(second.stdout.splitlines()[-1])["records"]
    # Watermark 2026-06-01 minus 7 days of lookback: everything is read again, and keyed.
    assert (rec["read"], rec["processed"], rec["already_seen"]) == (24, 4, 20)
    with psycopg.connect(pg_database, autocommit=True) as con:
        con.cursor().executemany("INSERT INTO events VALUES (%s, %s, %s)",
                                 [(r["id"], r["created_at"], r["text"]) for r in feedback_rows(2, start=60, day="2026-07-03")])
    third = cli(*base, "--night", "2026-07-04", "--log-json")
    rec = json.loads(third.stdout.splitlines()[-1])["records"]
    # Watermark now 2026-07-01: June rows are no longer read at all.
    assert (rec["read"], rec["processed"], rec["already_seen"]) == (6, 2, 4)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--sql-table", "no_such_table"], "UndefinedTable"),
        (["--sql-table", "feedback; DROP TABLE x"], "invalid SQL table name"),
        ([], "needs --sql-table or --sql-query"),
        (["--sql-query", "SELECT * FROM feedback WHERE x = :nope"], ":nope"),
    ],
)
def test_bad_sql_source_is_a_clean_error(tmp_path, pg_database, rows, ops_model, flags, words):
    load(pg_database, rows)
    result = cli("run", "--input", pg_database, *flags, "--out", tmp_path / "out", "--model", ops_model)
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr


def test_unreachable_database_is_a_clean_error(tmp_path, ops_model):
    result = cli("run", "--input", "postgresql://test@127.0.0.1:1/none", "--sql-table", "t",
                 "--out", tmp_path / "out", "--model", ops_model)
    assert result.exit_code == 2 and "OperationalError" in result.stderr
