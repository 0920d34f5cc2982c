"""Run history in an embedded DuckDB file: runs, per-record results, daily counts, watermarks.

The store is the only memory the nightly job has between runs. A run's rows become visible
only when :meth:`HistoryStore.commit_run` finishes its single transaction, so a crash leaves
no half-written run behind (DuckDB replays its write-ahead log on the next open and drops an
uncommitted transaction).

Tables
------
``runs``           one row per committed run (status ``complete``): counts, model version,
                   night, input fingerprint, watermark, exit code and the run's summary as
                   JSON; and one row per run that failed before committing (status
                   ``failed``, with the error), replaced when that run later succeeds.
``records``        one row per record key (an id, or a content hash when there is none); a
                   record belongs to the run that first stored it (or re-stored it with
                   ``--full-refresh``).
``theme_counts``, ``cluster_counts``, ``volume_counts``
                   append-only per-run deltas of the daily counts: ``+n`` for records a run
                   inserted, ``-n`` for the old versions a full refresh replaced. They are
                   written in the run's transaction from exactly the rows inserted or deleted,
                   so they cannot double count, and retention (which deletes old ``records``)
                   does not touch them.
``theme_daily``, ``cluster_daily``, ``volume_daily``
                   views summing those deltas per day (the columns the report and trends read).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Self

import duckdb
import pandas as pd

__all__ = ["MEMORY_LIMIT_MB", "SCHEMA_VERSION", "HistoryStore", "StoreError"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
#: DuckDB memory limit (MiB) of a file store, besides its primary-key index: bounds the commit
#: of a large run (its Parquet rows are streamed into ``records``) and the report's queries;
#: beyond it DuckDB evicts cached blocks and spills joins and sorts to ``<path>.tmp``.
MEMORY_LIMIT_MB = 512
#: Memory the ``records`` primary-key index needs per key: the index cannot be evicted and
#: grows with the history (measured: ~100 B per key, e.g. 3M stored + 1M new fails at 488
#: MiB), so each commit's limit is ``MEMORY_LIMIT_MB`` plus this much per stored and new key.
_INDEX_BYTES_PER_KEY = 160

_RECORD_COLUMNS = (
    "record_key, record_id, run_id, created_at, channel, product, region, score, score_kind, "
    "lang, is_complaint, complaint_proba, needs_review, themes, cluster_id, text_norm, display_text"
)

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
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS night DATE",
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS fingerprint VARCHAR",
    "ALTER TABLE runs ADD COLUMN IF NOT EXISTS exit_code INTEGER",
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
    """CREATE TABLE IF NOT EXISTS theme_counts (
        run_id VARCHAR, day DATE, theme VARCHAR, channel VARCHAR, product VARCHAR,
        region VARCHAR, n BIGINT)""",
    """CREATE TABLE IF NOT EXISTS cluster_counts (
        run_id VARCHAR, day DATE, cluster_id INTEGER, n BIGINT)""",
    """CREATE TABLE IF NOT EXISTS volume_counts (
        run_id VARCHAR, day DATE, channel VARCHAR, product VARCHAR, region VARCHAR,
        n_records BIGINT, n_complaints BIGINT)""",
    """CREATE OR REPLACE VIEW theme_daily AS
        SELECT day, theme, channel, product, region, CAST(sum(n) AS BIGINT) AS n_complaints
        FROM theme_counts GROUP BY ALL HAVING sum(n) <> 0""",
    """CREATE OR REPLACE VIEW cluster_daily AS
        SELECT day, cluster_id, CAST(sum(n) AS BIGINT) AS n_complaints
        FROM cluster_counts GROUP BY ALL HAVING sum(n) <> 0""",
    """CREATE OR REPLACE VIEW volume_daily AS
        SELECT day, channel, product, region, CAST(sum(n_records) AS BIGINT) AS n_records,
               CAST(sum(n_complaints) AS BIGINT) AS n_complaints
        FROM volume_counts GROUP BY ALL HAVING sum(n_records) <> 0""",
]

# Daily-count deltas of the rows of relation ``{rel}`` with sign ``{sign}`` for run ``?``.
_COUNT_DELTAS = [
    """INSERT INTO theme_counts
        SELECT ?, created_at, theme, channel, product, region, {sign} * count(*)
        FROM (SELECT created_at, channel, product, region, unnest(themes) AS theme
              FROM {rel} WHERE is_complaint)
        GROUP BY ALL""",
    """INSERT INTO cluster_counts
        SELECT ?, created_at, cluster_id, {sign} * count(*)
        FROM {rel} WHERE is_complaint AND cluster_id >= 0 GROUP BY ALL""",
    """INSERT INTO volume_counts
        SELECT ?, created_at, channel, product, region, {sign} * count(*),
               {sign} * count(*) FILTER (WHERE is_complaint)
        FROM {rel} GROUP BY ALL""",
]


def _sql_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (for table-function arguments in views)."""
    return "'" + str(text).replace("'", "''") + "'"


def _reset(con, setting: str) -> None:
    """Back to DuckDB's default for ``setting``; a failed transaction must ROLLBACK first."""
    try:
        con.execute(f"RESET {setting}")
    except duckdb.Error:
        pass


class StoreError(RuntimeError):
    """The history store cannot be opened or is from an incompatible version."""


class HistoryStore:
    """A thin, explicit wrapper over one DuckDB file.

    Parameters
    ----------
    path : path of the DuckDB file (created on first use), or ``":memory:"``.
    read_only : open without creating or changing anything (for ``--dry-run``).
    memory_limit_mb : DuckDB's memory limit in MiB for a file store (default
        :data:`MEMORY_LIMIT_MB`), raised at each commit by what the primary-key index needs;
        ``None`` keeps DuckDB's default (80% of RAM). An in-memory store keeps DuckDB's
        default: its tables *are* its memory.
    """

    def __init__(
        self, path: str | Path, *, read_only: bool = False, memory_limit_mb: int | None = MEMORY_LIMIT_MB
    ):
        self.path = str(path)
        self.read_only = read_only
        self.memory_limit_mb = memory_limit_mb
        self._limited = False
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- connection -----------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.path != ":memory:" and not self.read_only:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            config = {}
            self._limited = bool(self.memory_limit_mb) and self.path != ":memory:"
            if self._limited:
                config["memory_limit"] = f"{self.memory_limit_mb}MiB"
            try:
                self._con = duckdb.connect(self.path, read_only=self.read_only, config=config)
            except duckdb.Error as exc:
                raise StoreError(f"cannot open history store {self.path}: {exc}") from exc
            if not self.read_only:
                self._migrate(self._con)
        return self._con

    @staticmethod
    def _migrate(con: duckdb.DuckDBPyConnection) -> None:
        row = None
        if con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'meta'"
        ).fetchall()[0][0]:
            rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            row = rows[0] if rows else None
        version = int(row[0]) if row else None
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"history store schema version {version} is newer than this program "
                f"({SCHEMA_VERSION}); upgrade the pipeline"
            )
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in _SCHEMA:
                con.execute(stmt)
            if version == 1:
                # Version 1 computed daily counts as views over records: seed the deltas.
                for stmt in _COUNT_DELTAS:
                    con.execute(stmt.format(sign=1, rel="records"), ["migration-v2"])
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Self:
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
            "SELECT run_id, night, started_at, finished_at, status, exit_code, source, "
            "model_version, n_read, n_processed, n_quarantined, n_already_seen, watermark "
            "FROM runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
            [limit],
        ).df()

    def get_run(self, run_id: str) -> dict | None:
        """The recorded run ``run_id`` as a dict (``summary`` parsed), or ``None``."""
        cur = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
        rows = cur.fetchall()
        if not rows:
            return None
        row = rows[0]
        out = dict(zip([d[0] for d in cur.description], row, strict=True))
        out["summary"] = json.loads(out.pop("summary_json") or "{}")
        return out

    def last_watermark(self, source: str | None = None) -> date | None:
        """The largest ``created_at`` committed by a complete run (of ``source``, when given)."""
        sql = "SELECT max(watermark) FROM runs WHERE status = 'complete'"
        params: list = []
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        return self.con.execute(sql, params).fetchall()[0][0]

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    # -- writes ---------------------------------------------------------------------------
    def commit_run(
        self,
        run: dict,
        records_parquet: str | None,
        extra_writes: Callable | None = None,
        *,
        replace: bool = False,
        retention_before: date | None = None,
        before_commit: Callable | None = None,
    ) -> dict:
        """Insert a finished run and its records in one transaction; return what changed.

        ``records_parquet`` is a Parquet file (or glob) with the columns of ``records``.
        Records whose key already exists are left untouched (``replace=False``), so a re-run
        never double-counts; with ``replace=True`` (``--full-refresh``) they are replaced and
        their old contribution to the daily counts is subtracted. ``extra_writes(con)``, when
        given, runs inside the same transaction (e.g. the cluster registry), and so does
        ``before_commit(con)``, last, after every row is written (the orchestrator writes the
        report there, so it sees tonight's rows, and moves nothing into place before COMMIT).
        ``retention_before`` deletes per-record rows created before that day.

        The run's rows are streamed from the Parquet file, never copied whole into memory,
        under the store's memory limit plus what the primary-key index of the stored and new
        keys needs. If the transaction still runs out of memory, it is rolled back and run once
        more without the limit, with a warning: that costs a retry, not the night.
        """
        args = (run, records_parquet, extra_writes, replace, retention_before, before_commit)
        try:
            return self._commit(*args)
        except duckdb.OutOfMemoryException as exc:
            if not self._limited:
                raise
            log.warning(
                "history store %s: the commit ran out of DuckDB's memory limit (%s); retrying "
                "without the limit", self.path, str(exc).splitlines()[0],
            )
            self.con.execute("RESET memory_limit")
            self._limited = False
            return self._commit(*args)
        finally:
            if self._con is not None:  # after a ROLLBACK: settings the merge changed
                _reset(self._con, "preserve_insertion_order")

    def _commit(self, run, records_parquet, extra_writes, replace, retention_before, before_commit) -> dict:
        """The transaction of :meth:`commit_run`."""
        changed = {"inserted": 0, "replaced": 0, "retention_deleted": 0}
        run_id = run["run_id"]
        with self.transaction() as con:
            if self._limited:
                self._fit_limit(con, records_parquet)
            if extra_writes is not None:
                extra_writes(con)
            if records_parquet is not None:
                changed["replaced"], changed["inserted"] = self._merge_records(
                    con, records_parquet, run_id, replace=replace
                )
            if retention_before is not None:
                changed["retention_deleted"] = con.execute(
                    "DELETE FROM records WHERE created_at < ?", [retention_before]
                ).fetchall()[0][0]
            summary = run.get("summary", {})
            con.execute(
                "INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, status, source, "
                "model_version, engine, n_read, n_processed, n_quarantined, n_new, "
                "n_already_seen, watermark, summary_json, night, fingerprint, exit_code) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    run_id,
                    run["started_at"],
                    run.get("finished_at") or datetime.now(UTC).replace(tzinfo=None),
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
                    json.dumps(summary, ensure_ascii=False, sort_keys=True, default=str),
                    run.get("night"),
                    run.get("fingerprint"),
                    run.get("exit_code"),
                ],
            )
            if before_commit is not None:
                before_commit(con)
        return changed

    def _fit_limit(self, con, records_parquet: str | None) -> None:
        """Set the memory limit for this commit: the base limit plus the key index's share."""
        keys = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
        if records_parquet is not None:  # from the Parquet footers, not the rows
            keys += con.execute(f"SELECT count(*) FROM read_parquet({_sql_literal(records_parquet)})").fetchall()[0][0]
        mib = self.memory_limit_mb + math.ceil(keys * _INDEX_BYTES_PER_KEY / 2**20)
        con.execute(f"SET memory_limit = '{mib}MiB'")

    @staticmethod
    def _merge_records(con, records_parquet: str, run_id: str, *, replace: bool) -> tuple[int, int]:
        """Move a run's Parquet rows into ``records`` and write their count deltas.

        Nothing of the run is materialised: ``_incoming`` is a view, the Parquet rows whose key
        is not stored yet (an anti-join against ``records``). Its deltas are written first,
        then it is inserted, in the caller's transaction, so deltas and rows are the same set.
        With ``replace`` the stored versions of the run's keys (``_replaced``, also a view) are
        subtracted from the counts and deleted first, so every incoming row is then new.
        Returns ``(replaced, inserted)``.
        """
        source = f"read_parquet({_sql_literal(records_parquet)})"
        replaced = 0
        if replace:
            con.execute(
                "CREATE OR REPLACE TEMP VIEW _replaced AS SELECT * FROM records "
                f"SEMI JOIN (SELECT record_key FROM {source}) USING (record_key)"
            )
            for stmt in _COUNT_DELTAS:
                con.execute(stmt.format(sign=-1, rel="_replaced"), [run_id])
            con.execute("DROP VIEW _replaced")
            replaced = con.execute(
                f"DELETE FROM records WHERE record_key IN (SELECT record_key FROM {source})"
            ).fetchall()[0][0]
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW _incoming AS SELECT {_RECORD_COLUMNS} "
            f"FROM {source} ANTI JOIN records USING (record_key)"
        )
        for stmt in _COUNT_DELTAS:
            con.execute(stmt.format(sign=1, rel="_incoming"), [run_id])
        # Row order in ``records`` carries no meaning (every reader orders by key or
        # aggregates); not preserving it lets DuckDB stream the insert with less buffering.
        # (A failed insert leaves the setting to commit_run to reset, after the ROLLBACK.)
        con.execute("SET preserve_insertion_order = false")
        inserted = con.execute("INSERT INTO records SELECT * FROM _incoming").fetchall()[0][0]
        _reset(con, "preserve_insertion_order")
        con.execute("DROP VIEW _incoming")
        return replaced, inserted

    def record_failure(self, run: dict, error: str, exit_code: int) -> None:
        """Record a run that failed before committing (status ``failed``, no records).

        A later successful run of the same run id replaces this row.
        """
        self.con.execute(
            "INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, status, source, "
            "model_version, engine, n_read, n_processed, n_quarantined, n_new, n_already_seen, "
            "watermark, summary_json, night, fingerprint, exit_code) "
            "VALUES (?, ?, ?, 'failed', ?, ?, ?, 0, 0, 0, 0, 0, NULL, ?, ?, ?, ?)",
            [
                run["run_id"],
                run["started_at"],
                datetime.now(UTC).replace(tzinfo=None),
                run.get("source"),
                run.get("model_version"),
                run.get("engine"),
                json.dumps({"error": error}, ensure_ascii=False),
                run.get("night"),
                run.get("fingerprint"),
                exit_code,
            ],
        )

    def apply_retention(self, days: int, today: date | None = None) -> int:
        """Drop per-record rows created more than ``days`` days before ``today``; 0 keeps all."""
        if days <= 0:
            return 0
        today = today or date.today()
        cutoff = pd.Timestamp(today) - pd.Timedelta(days=days)
        return self.con.execute("DELETE FROM records WHERE created_at < ?", [cutoff.date()]).fetchall()[0][0]
