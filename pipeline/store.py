"""Run history in an embedded DuckDB file: runs, per-record results, daily counts, watermarks.

The store is the only memory the nightly job has between runs. A run's rows become visible
only when :meth:`HistoryStore.commit_run` finishes its single transaction, so a crash leaves
no half-written run behind.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

SCHEMA_VERSION = 1

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR,
        source VARCHAR,
        model_version VARCHAR,
        engine VARCHAR,
        n_read BIGINT,
        n_processed BIGINT,
        n_quarantined BIGINT,
        n_new BIGINT,
        n_already_seen BIGINT,
        watermark DATE,
        summary_json VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS records (
        record_key VARCHAR PRIMARY KEY,
        record_id VARCHAR,
        run_id VARCHAR,
        created_at DATE,
        channel VARCHAR,
        product VARCHAR,
        region VARCHAR,
        score DOUBLE,
        score_kind VARCHAR,
        lang VARCHAR,
        is_complaint BOOLEAN,
        complaint_proba DOUBLE,
        needs_review BOOLEAN,
        themes VARCHAR[],
        cluster_id INTEGER,
        text_norm VARCHAR,
        display_text VARCHAR
    )""",
    # Per-theme and per-cluster daily counts, always consistent with the records table.
    """CREATE OR REPLACE VIEW theme_daily AS
        SELECT created_at AS day, theme, channel, product, region,
               count(*) AS n_complaints
        FROM (SELECT created_at, channel, product, region, unnest(themes) AS theme
              FROM records WHERE is_complaint)
        GROUP BY ALL""",
    """CREATE OR REPLACE VIEW cluster_daily AS
        SELECT created_at AS day, cluster_id, count(*) AS n_complaints
        FROM records WHERE is_complaint AND cluster_id >= 0
        GROUP BY ALL""",
    """CREATE OR REPLACE VIEW volume_daily AS
        SELECT created_at AS day, channel, product, region,
               count(*) AS n_records, count(*) FILTER (WHERE is_complaint) AS n_complaints
        FROM records GROUP BY ALL""",
]


class StoreError(RuntimeError):
    """The history store cannot be opened or is from an incompatible version."""


class HistoryStore:
    """A thin, explicit wrapper over one DuckDB file.

    Parameters
    ----------
    path : path of the DuckDB file (created on first use), or ``":memory:"``.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- connection -----------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self._con = duckdb.connect(self.path)
            except duckdb.Error as exc:
                raise StoreError(f"cannot open history store {self.path}: {exc}") from exc
            for stmt in _SCHEMA:
                self._con.execute(stmt)
            self._con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    # -- reads ----------------------------------------------------------------------------
    def known_keys(self, keys: list[str]) -> set[str]:
        """The subset of ``keys`` already stored by an earlier, completed run."""
        if not keys:
            return set()
        frame = pd.DataFrame({"record_key": keys})
        con = self.con
        con.register("_probe_keys", frame)
        try:
            rows = con.execute(
                "SELECT k.record_key FROM _probe_keys k JOIN records r USING (record_key)"
            ).fetchall()
        finally:
            con.unregister("_probe_keys")
        return {r[0] for r in rows}

    def runs(self, limit: int = 50) -> pd.DataFrame:
        return self.con.execute(
            "SELECT run_id, started_at, finished_at, status, source, model_version, engine, "
            "n_read, n_processed, n_quarantined, n_new, n_already_seen, watermark "
            "FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
            [limit],
        ).df()

    def last_watermark(self, source: str | None = None) -> datetime | None:
        sql = "SELECT max(watermark) FROM runs WHERE status = 'complete'"
        params: list = []
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        value = self.con.execute(sql, params).fetchone()[0]
        return value

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    # -- writes ---------------------------------------------------------------------------
    def commit_run(self, run: dict, records_parquet: str | None, extra_writes=None) -> None:
        """Insert a finished run and its records in one transaction.

        ``records_parquet`` is a Parquet file (or glob) with the columns of ``records``.
        Records whose key already exists are left untouched, so a re-run never double-counts.
        ``extra_writes(con)``, when given, runs inside the same transaction (e.g. the cluster
        registry), so a run's state lands whole or not at all.
        """
        with self.transaction() as con:
            if extra_writes is not None:
                extra_writes(con)
            if records_parquet is not None:
                con.execute(
                    "INSERT OR IGNORE INTO records "
                    "SELECT record_key, record_id, run_id, created_at, channel, product, region, "
                    "score, score_kind, lang, is_complaint, complaint_proba, needs_review, "
                    "themes, cluster_id, text_norm, display_text "
                    f"FROM read_parquet({json.dumps(records_parquet)})"
                )
            con.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    run["run_id"],
                    run["started_at"],
                    datetime.now(UTC).replace(tzinfo=None),
                    "complete",
                    run.get("source"),
                    run.get("model_version"),
                    run.get("engine"),
                    run["n_read"],
                    run["n_processed"],
                    run["n_quarantined"],
                    run.get("n_new", 0),
                    run.get("n_already_seen", 0),
                    run.get("watermark"),
                    json.dumps(run.get("summary", {}), ensure_ascii=False, sort_keys=True),
                ],
            )

    def apply_retention(self, days: int) -> int:
        """Drop per-record rows older than ``days`` days (by created_at); 0 keeps everything."""
        if days <= 0:
            return 0
        before = self.con.execute("SELECT count(*) FROM records").fetchone()[0]
        self.con.execute(
            "DELETE FROM records WHERE created_at < current_date - CAST(? AS INTEGER)", [days]
        )
        after = self.con.execute("SELECT count(*) FROM records").fetchone()[0]
        return before - after
