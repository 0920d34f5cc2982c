"""The nightly job: ingest → normalise → classify → cluster → store → report.

This orchestrator is the only place that sequences the stages, and it owns everything an
operator relies on (see ``docs/operations.md``):

- **One run at a time.** A lock file next to the history store (:mod:`pipeline.locking`).
- **Deterministic run ids.** ``<night>-<hash>``, the hash covering the source (password
  redacted), a fingerprint of its content (SHA-256 of a file; the row count of a SQL source),
  the model version, the settings that change results and the backfill flags. The same
  night over the same input is the same run: once committed, running it again changes
  nothing (the command reports the committed run and exits with its exit code).
- **Crash safety by two phases.** Everything is built in ``OUT/.staging-<run-id>/``. The run is
  committed to DuckDB in one transaction; the report and ``summary.json`` are written and
  fsynced *inside* that transaction (so they see tonight's rows) and only after COMMIT is the
  folder renamed to ``OUT/<run-id>``. The next run first recovers: a staged run the store has
  committed is moved into place (roll forward), any other staging folder is deleted (roll
  back). A run killed at any point therefore converges, on the next invocation, to exactly
  the history and outputs of one clean run.
- **Nothing lost, nothing counted twice.** ``read = processed + quarantined + already_seen +
  out_of_window`` is checked before committing; a run that does not balance fails (exit 1)
  and commits nothing. Records are keyed by id (or content hash) and a key already stored is
  never inserted again.

Memory stays bounded: records flow in chunks through normalisation and classification into
Parquet parts on disk (on the engine of :mod:`pipeline.engine`); quarantined rows are appended
to their file chunk by chunk; clustering fits on a bounded sample.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import Config
from pipeline.ingest import (
    QUARANTINE_COLUMNS,
    IngestChunk,
    InputError,
    SourceInfo,
    detect_format,
    iter_records,
    redact_source,
    source_fingerprint,
)

log = logging.getLogger(__name__)

RESULT_SCHEMA = pa.schema(
    [
        ("record_key", pa.string()),
        ("record_id", pa.string()),
        ("run_id", pa.string()),
        ("row_number", pa.int64()),
        ("created_at", pa.date32()),
        ("channel", pa.string()),
        ("product", pa.string()),
        ("region", pa.string()),
        ("score", pa.float64()),
        ("score_kind", pa.string()),
        ("lang", pa.string()),
        ("latin_script", pa.bool_()),
        ("pii_masked", pa.int32()),
        ("is_complaint", pa.bool_()),
        ("complaint_proba", pa.float64()),
        ("needs_review", pa.bool_()),
        ("themes", pa.list_(pa.string())),
        ("top_theme", pa.string()),
        ("cluster_id", pa.int32()),
        ("text_norm", pa.string()),
        ("display_text", pa.string()),
    ]
)
#: A Parquet part in the staging folder: the result columns plus each complaint's cluster terms
#: (:func:`pipeline.cluster.terms_column`), dropped when the parts become ``complaints.parquet``.
PART_SCHEMA = RESULT_SCHEMA.append(pa.field("cluster_terms", pa.string()))
QUARANTINE_SCHEMA = pa.schema(
    [
        ("row_number", pa.int64()),
        ("line_number", pa.int64()),
        ("record_id", pa.string()),
        ("reason", pa.string()),
        ("text_preview", pa.string()),
    ]
)

#: Exit codes of ``complaints run`` (documented in docs/operations.md).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_QUARANTINE = 0, 1, 2, 3
STAGING_PREFIX = ".staging-"
#: Keys of summary.json that are wall-clock times, the only ones that differ between runs.
VOLATILE_SUMMARY_KEYS = ("started_at", "finished_at", "duration_s")


class RunFailed(RuntimeError):
    """The run could not complete; nothing was committed (exit code 1)."""


@dataclass
class RunResult:
    run_id: str
    out_dir: Path | None
    summary: dict
    exit_code: int = EXIT_OK
    messages: list[str] = field(default_factory=list)
    #: "complete", "already_complete" (an idempotent re-run) or "dry_run".
    status: str = "complete"


def make_run_id(night: date, identity: dict) -> str:
    """``YYYYMMDD-<10 hex>``: the night plus a hash of everything that defines the run."""
    blob = json.dumps(identity, sort_keys=True, default=str, ensure_ascii=False)
    return f"{night:%Y%m%d}-" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:10]


def process_chunk(
    records: pd.DataFrame, model, run_id: str, mask: frozenset[str], lang: str
) -> pd.DataFrame:
    """Normalise and classify one chunk of accepted records (pure: no I/O)."""
    from pipeline.normalize import display_text, normalize_many

    normalized = normalize_many(records["text"].tolist(), lang=lang, mask=mask)
    out = records.drop(columns=["text"]).copy()
    out["run_id"] = run_id
    out["lang"] = [n.lang for n in normalized]
    out["latin_script"] = [n.latin_script for n in normalized]
    out["pii_masked"] = [sum(n.pii.values()) for n in normalized]
    out["text_norm"] = [n.text for n in normalized]
    out["display_text"] = [display_text(t, mask=mask) for t in records["text"].tolist()]
    predictions = model.predict_frame(out["text_norm"].tolist(), normalized=True)
    predictions.index = out.index
    out["is_complaint"] = predictions["is_complaint"].astype(bool)
    out["complaint_proba"] = predictions["complaint_proba"].astype(float)
    out["needs_review"] = predictions["needs_review"].astype(bool)
    out["themes"] = predictions["themes"].map(list)
    out["top_theme"] = predictions["top_theme"]
    out["cluster_id"] = -1
    return out


def _to_table(frame: pd.DataFrame, schema: pa.Schema = RESULT_SCHEMA) -> pa.Table:
    frame = frame.copy()
    frame["created_at"] = pd.to_datetime(frame["created_at"]).dt.date
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def lock_path(config: Config, out_root: Path) -> Path:
    """The lock file of a run: next to the history store (or in OUT for an in-memory store)."""
    store = str(config.run.store)
    return out_root / ".complaints.lock" if store == ":memory:" else Path(store + ".lock")


def run_pipeline(
    source: str,
    out_root: str | Path,
    config: Config,
    *,
    full_refresh: bool = False,
    since: date | None = None,
    until: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    night: date | None = None,
) -> RunResult:
    """Run the whole job once over ``source``; see the module docstring.

    Raises
    ------
    InputError
        The input as a whole is unusable (exit code 2).
    pipeline.locking.LockHeld
        Another run holds the lock (exit code 1).
    RunFailed
        The run did not balance or could not complete; nothing was committed (exit code 1).
    """
    from pipeline.locking import RunLock
    from pipeline.model_io import model_version
    from pipeline.store import HistoryStore

    started = now or datetime.now(UTC)
    if started.tzinfo is not None:
        started = started.astimezone(UTC).replace(tzinfo=None)
    started = started.replace(microsecond=0)
    night = night or (now.date() if now is not None else date.today())
    fmt = detect_format(source)
    if fmt != "sql" and not Path(source).is_file():
        raise InputError(f"input file not found: {source}")
    out_root = Path(out_root)
    if dry_run:
        return _dry_run(source, out_root, config, full_refresh, since, until, started, night)

    out_root.mkdir(parents=True, exist_ok=True)
    with RunLock(lock_path(config, out_root)):
        store = HistoryStore(config.run.store)
        try:
            recover(out_root, store)
            version = model_version(config.run.model_dir)
            safe_source = redact_source(source)
            fingerprint = source_fingerprint(source, config.ingest)
            identity = {
                "source": safe_source,
                "fingerprint": fingerprint,
                "model": version,
                "full_refresh": full_refresh,
                "since": since,
                "until": until,
                "settings": [repr(config.ingest), repr(config.normalize), repr(config.cluster), repr(config.report)],
            }
            run_id = make_run_id(night, identity)
            done = store.get_run(run_id)
            if done is not None and done["status"] == "complete":
                return _already_complete(run_id, done, out_root)
            ctx = _Context(
                source=source,
                safe_source=safe_source,
                out_root=out_root,
                config=config,
                store=store,
                run_id=run_id,
                night=night,
                started=started,
                version=version,
                fingerprint=fingerprint,
                full_refresh=full_refresh,
                since=since,
                until=until,
            )
            return _execute(ctx)
        finally:
            store.close()


@dataclass
class _Context:
    source: str
    safe_source: str
    out_root: Path
    config: Config
    store: object
    run_id: str
    night: date
    started: datetime
    version: str
    fingerprint: str
    full_refresh: bool
    since: date | None
    until: date | None


def recover(out_root: Path, store) -> list[str]:
    """Finish or discard the work of interrupted runs; returns what was done, one line each.

    A staging folder whose run the store has committed is moved into place (the crash came
    between COMMIT and the rename); any other staging folder is the work of a run that never
    committed and is deleted. Call with the run lock held.
    """
    actions = []
    for staging in sorted(Path(out_root).glob(STAGING_PREFIX + "*")):
        run_id = staging.name[len(STAGING_PREFIX) :]
        staged, final = staging / "run", Path(out_root) / run_id
        done = store.get_run(run_id)
        committed = done is not None and done["status"] == "complete"
        if committed and staged.is_dir() and not final.exists():
            os.replace(staged, final)
            _fsync_dir(Path(out_root))
            _point_latest(Path(out_root), run_id)
            actions.append(f"rolled forward run {run_id}: committed before the crash, outputs moved into place")
        elif not committed:
            actions.append(f"rolled back run {run_id}: interrupted before commit, its unfinished work deleted")
        shutil.rmtree(staging, ignore_errors=True)
    for line in actions:
        log.warning("recovery: %s", line)
    return actions


def _already_complete(run_id: str, done: dict, out_root: Path) -> RunResult:
    final = out_root / run_id
    summary = done["summary"]
    code = int(done.get("exit_code") or summary.get("exit_code") or EXIT_OK)
    message = (
        f"run {run_id} (this night, this input) is already complete; nothing to do. "
        "Use --full-refresh to reprocess."
    )
    if not final.is_dir():
        message += f" Its output folder {final} is missing (deleted?); the history is intact."
        log.warning("%s", message)
    else:
        log.info("%s", message)
    return RunResult(run_id, final if final.is_dir() else None, summary, code, [message], "already_complete")


def _execute(ctx: _Context) -> RunResult:
    from pipeline.cluster import discover_patterns
    from pipeline.engine import make_engine, process_parts
    from pipeline.model_io import load_model
    from pipeline.report import write_report

    config, store = ctx.config, ctx.store
    staging = ctx.out_root / f"{STAGING_PREFIX}{ctx.run_id}"
    shutil.rmtree(staging, ignore_errors=True)
    parts_dir, run_dir = staging / "_parts", staging / "run"
    parts_dir.mkdir(parents=True)
    run_dir.mkdir()
    committed = False
    log.info("run %s: night %s, source %s", ctx.run_id, ctx.night, ctx.safe_source)
    # One engine for the per-chunk work and the cluster assignment (it starts nothing until
    # its first task); closed once the clusters are known.
    engine = make_engine(config.run)
    try:
        model = load_model(config.run.model_dir)
        info = SourceInfo(source=ctx.safe_source, format="")
        watermark_before = store.last_watermark(ctx.safe_source)
        params = _sql_params(ctx, watermark_before)
        counts = dict.fromkeys(("read", "processed", "quarantined", "already_seen", "out_of_window"), 0)
        counts["late_arrivals"] = 0
        reasons: dict[str, int] = {}
        quarantine = _QuarantineWriter(run_dir, config.run.quarantine_format)
        bar = _progress_bar(config)
        sample_parts: list[pd.DataFrame] = []
        max_day: date | None = None

        def fresh_chunks():
            for chunk in iter_records(ctx.source, config.ingest, info, params=params):
                n = len(chunk.records) + len(chunk.quarantine)
                counts["read"] += n
                counts["quarantined"] += len(chunk.quarantine)
                quarantine.write(chunk.quarantine)
                for reason in chunk.quarantine["reason"]:
                    key = reason.split(" ", 1)[0]
                    reasons[key] = reasons.get(key, 0) + 1
                bar.update(n)
                fresh = _select_new(chunk, store, ctx.full_refresh, ctx.since, ctx.until, counts)
                if watermark_before is not None and len(fresh):
                    days = pd.to_datetime(fresh["created_at"])
                    counts["late_arrivals"] += int((days < pd.Timestamp(watermark_before)).sum())
                if len(fresh):
                    yield fresh

        try:
            chunks = fresh_chunks()
            for part in process_parts(chunks, model, config, run_id=ctx.run_id, parts_dir=parts_dir, engine=engine):
                counts["processed"] += part.n_records
                if part.max_day is not None:
                    max_day = part.max_day if max_day is None or part.max_day > max_day else max_day
                sample_parts.append(part.sample)
                if sum(len(f) for f in sample_parts) > 2 * config.cluster.fit_sample:
                    sample_parts = [_cap_sample(pd.concat(sample_parts, ignore_index=True), config.cluster.fit_sample)]
        finally:
            bar.close()
            quarantine.close()

        balanced = counts["read"] == (
            counts["processed"] + counts["quarantined"] + counts["already_seen"] + counts["out_of_window"]
        )
        if not balanced:
            raise RunFailed(f"records do not balance, nothing committed: {counts}")

        parts = sorted(parts_dir.glob("part-*.parquet"))
        clusters, extra_writes, cluster_summary, cluster_ids = _empty_clusters(), None, {}, None
        if parts:
            sample = _cap_sample(pd.concat(sample_parts, ignore_index=True), config.cluster.fit_sample)
            patterns = discover_patterns(
                parts, sample, config.cluster, store, ctx.run_id, engine=engine, write_ids=False
            )
            clusters, extra_writes = patterns.clusters, patterns.write
            cluster_summary, cluster_ids = patterns.summary or {}, patterns.part_ids
        engine.close()
        _write_complaints(parts, run_dir / "complaints.parquet", cluster_ids)

        watermark_after = max(d for d in (watermark_before, max_day) if d is not None) if (
            watermark_before or max_day
        ) else None
        summary = _summary(ctx, info, counts, reasons, watermark_before, watermark_after)
        summary["themes"] = _theme_counts(run_dir / "complaints.parquet")
        if cluster_summary:
            summary["clusters"] = cluster_summary
        exit_code = _exit_code(summary, config)
        summary["exit_code"] = exit_code
        retention_before = (
            ctx.night - timedelta(days=config.run.retention_days) if config.run.retention_days else None
        )
        run_row = {
            "run_id": ctx.run_id,
            "started_at": ctx.started,
            "source": ctx.safe_source,
            "model_version": ctx.version,
            "engine": config.run.engine,
            "n_read": counts["read"],
            "n_processed": counts["processed"],
            "n_quarantined": counts["quarantined"],
            "n_new": counts["processed"],
            "n_already_seen": counts["already_seen"],
            "watermark": watermark_after,
            "night": ctx.night,
            "fingerprint": ctx.fingerprint,
            "exit_code": exit_code,
            "summary": summary,
        }

        def before_commit(con) -> None:
            # Inside the run's transaction: the report sees tonight's rows; nothing is visible
            # outside the staging folder until COMMIT succeeds.
            write_report(run_dir, summary=summary, clusters=clusters, store=store, config=config)
            finished = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
            summary["finished_at"] = finished.isoformat()
            summary["duration_s"] = (finished - ctx.started).total_seconds()
            _write_json(run_dir / "summary.json", summary)
            _fsync_tree(run_dir)

        records_path = str(run_dir / "complaints.parquet") if parts else None
        changed = store.commit_run(
            run_row,
            records_path,
            extra_writes,
            replace=ctx.full_refresh,
            retention_before=retention_before,
            before_commit=before_commit,
        )
        committed = True
        if changed["retention_deleted"]:
            log.info("retention: deleted %d records created before %s", changed["retention_deleted"], retention_before)
        final = _publish(run_dir, ctx.out_root, ctx.run_id)
        shutil.rmtree(staging, ignore_errors=True)
        rec = summary["records"]
        log.info(
            "run %s complete: read %d = processed %d + quarantined %d + already seen %d + out of window %d",
            ctx.run_id, rec["read"], rec["processed"], rec["quarantined"], rec["already_seen"], rec["out_of_window"],
        )
        return RunResult(ctx.run_id, final, summary, exit_code)
    except BaseException as exc:
        if not committed:
            _record_failure(ctx, exc)
        raise
    finally:
        engine.close()
        if not committed:
            # Roll back: nothing of this run reached the store, so none of its files may stay.
            shutil.rmtree(staging, ignore_errors=True)


def _record_failure(ctx: _Context, exc: BaseException) -> None:
    """Note a failed run in the history (best effort: the store itself may be what failed)."""
    import duckdb

    code = EXIT_BAD_INPUT if isinstance(exc, InputError) else EXIT_FAILED
    row = {
        "run_id": ctx.run_id,
        "started_at": ctx.started,
        "source": ctx.safe_source,
        "model_version": ctx.version,
        "engine": ctx.config.run.engine,
        "night": ctx.night,
        "fingerprint": ctx.fingerprint,
    }
    try:
        ctx.store.record_failure(row, f"{exc.__class__.__name__}: {exc}"[:2000], code)
    except duckdb.Error as store_exc:
        log.warning("could not record the failed run in the history: %s", store_exc)


def _sql_params(ctx: _Context, watermark_before: date | None) -> dict:
    """Bind parameters a SQL query may use: ``:watermark``, ``:since``, ``:until``."""
    floor = date(1900, 1, 1)
    if ctx.since is not None:
        watermark = ctx.since
    elif ctx.full_refresh or watermark_before is None:
        watermark = floor
    else:
        watermark = watermark_before - timedelta(days=ctx.config.ingest.lookback_days)
    return {"watermark": watermark, "since": ctx.since or floor, "until": ctx.until or date(9999, 12, 31)}


def _publish(run_dir: Path, out_root: Path, run_id: str) -> Path:
    """Move the committed run folder into place atomically and point OUT/latest at it."""
    final = out_root / run_id
    if final.exists():  # only if someone made it by hand: keep nothing half-replaced
        trash = out_root / f".trash-{run_id}"
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(final, trash)
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(run_dir, final)
    _fsync_dir(out_root)
    _point_latest(out_root, run_id)
    return final


def _point_latest(out_root: Path, run_id: str) -> None:
    link, tmp = out_root / "latest", out_root / ".latest.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(run_id)
        os.replace(tmp, link)
    except OSError as exc:  # e.g. a file system without symlinks
        log.debug("cannot update %s: %s", link, exc)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, payload: dict) -> None:
    path.write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )


class _QuarantineWriter:
    """Appends quarantined rows chunk by chunk to quarantine.csv or quarantine.parquet."""

    def __init__(self, run_dir: Path, fmt: str):
        self.fmt = fmt
        self.path = run_dir / f"quarantine.{fmt}"
        self._writer = None
        self._fh = None
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(self.path, QUARANTINE_SCHEMA)
        else:
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            pd.DataFrame(columns=QUARANTINE_COLUMNS).to_csv(self._fh, index=False)

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self._writer is not None:
            table = pa.Table.from_pandas(frame[QUARANTINE_COLUMNS], schema=QUARANTINE_SCHEMA, preserve_index=False)
            self._writer.write_table(table)
        else:
            from pipeline.report import neutralize_csv_cells

            neutralize_csv_cells(frame[QUARANTINE_COLUMNS]).to_csv(self._fh, index=False, header=False)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(config: Config):
    """A tqdm bar on stderr when it is a terminal (``run.progress = "auto"``), else nothing."""
    mode = config.run.progress
    show = mode == "always" or (mode == "auto" and sys.stderr.isatty() and not config.run.log_json)
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(unit=" rows", unit_scale=True, file=sys.stderr, desc="ingest", dynamic_ncols=True)


def _select_new(
    chunk: IngestChunk,
    store,
    full_refresh: bool,
    since: date | None,
    until: date | None,
    counts: dict,
) -> pd.DataFrame:
    """Drop records outside [since, until) and, unless refreshing, records already stored."""
    records = chunk.records
    if (since is not None or until is not None) and len(records):
        days = pd.to_datetime(records["created_at"])
        keep = pd.Series(True, index=records.index)
        if since is not None:
            keep &= days.isna() | (days >= pd.Timestamp(since))
        if until is not None:
            keep &= days.isna() | (days < pd.Timestamp(until))
        counts["out_of_window"] += int((~keep).sum())
        records = records[keep]
    if not full_refresh and len(records) and store is not None:
        known = store.known_keys(records["record_key"].tolist())
        if known:
            mask = records["record_key"].isin(known)
            counts["already_seen"] += int(mask.sum())
            records = records[~mask]
    return records


def _cap_sample(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Keep the ``limit`` rows with the smallest hash of their key.

    The choice depends only on the keys, not on chunk boundaries or arrival order, so the
    clustering sample is the same on every engine and stays bounded however large the input.
    """
    if len(frame) <= limit:
        return frame
    order = pd.util.hash_pandas_object(frame["record_key"], index=False).to_numpy()
    keep = np.sort(np.argsort(order, kind="stable")[:limit])
    return frame.iloc[keep].reset_index(drop=True)


def _sample_complaints(result: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    complaints = result[result["is_complaint"]]
    cols = [c for c in ("record_key", "text_norm", "themes", "top_theme", "created_at") if c in complaints.columns]
    return _cap_sample(complaints[cols], limit)


def _empty_clusters() -> pd.DataFrame:
    return pd.DataFrame(columns=["cluster_id", "size", "keywords", "dominant_theme"])


def _write_complaints(parts: list[Path], target: Path, cluster_ids: list[np.ndarray] | None = None) -> None:
    """Concatenate the parts, in order, into one Parquet file (streamed, part by part).

    ``cluster_ids``, one array per part, replaces the parts' ``cluster_id`` column on the way.
    """
    from pipeline.cluster import with_cluster_ids

    writer = pq.ParquetWriter(target, RESULT_SCHEMA)
    try:
        for i, part in enumerate(parts):
            table = pq.read_table(part, columns=RESULT_SCHEMA.names)
            if cluster_ids is not None:
                table = with_cluster_ids(table, cluster_ids[i])
            writer.write_table(table.cast(RESULT_SCHEMA))
    finally:
        writer.close()


def _theme_counts(path: Path) -> dict:
    import duckdb

    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT theme, count(*) FROM (SELECT unnest(themes) AS theme FROM read_parquet(?) "
            "WHERE is_complaint) GROUP BY theme ORDER BY theme",
            [str(path)],
        ).fetchall()
    finally:
        con.close()
    return {theme: int(n) for theme, n in rows}


def _summary(ctx: _Context, info: SourceInfo, counts: dict, reasons: dict, wm_before, wm_after) -> dict:
    config = ctx.config
    read = counts["read"]
    return {
        "run_id": ctx.run_id,
        "status": "complete",
        "night": ctx.night.isoformat(),
        "started_at": ctx.started.isoformat(),
        "source": ctx.safe_source,
        "input_fingerprint": ctx.fingerprint,
        **{k: v for k, v in info.as_dict().items()},
        "model_version": ctx.version,
        "engine": config.run.engine,
        "mode": {
            "full_refresh": ctx.full_refresh,
            "since": ctx.since.isoformat() if ctx.since else None,
            "until": ctx.until.isoformat() if ctx.until else None,
        },
        "records": {
            "read": read,
            "processed": counts["processed"],
            "quarantined": counts["quarantined"],
            "already_seen": counts["already_seen"],
            "out_of_window": counts["out_of_window"],
            "late_arrivals": counts["late_arrivals"],
        },
        "balance": "read = processed + quarantined + already_seen + out_of_window",
        "balanced": True,
        "quarantine_reasons": dict(sorted(reasons.items())),
        "quarantine_share": round(counts["quarantined"] / read, 6) if read else 0.0,
        "quarantine_threshold": config.run.max_quarantine_share,
        "quarantine_file": f"quarantine.{config.run.quarantine_format}",
        "watermark": {
            "before": wm_before.isoformat() if wm_before else None,
            "after": wm_after.isoformat() if wm_after else None,
        },
    }


def _exit_code(summary: dict, config: Config) -> int:
    rec = summary["records"]
    if not summary.get("balanced", True):
        return EXIT_FAILED
    if rec["read"] and rec["quarantined"] / rec["read"] > config.run.max_quarantine_share:
        return EXIT_QUARANTINE
    return EXIT_OK


def _dry_run(source, out_root, config, full_refresh, since, until, started, night) -> RunResult:
    """Read and validate the whole input, check model, store and output folder; write nothing."""
    from pipeline.model_io import load_model, model_version
    from pipeline.store import HistoryStore, StoreError

    messages = []
    load_model(config.run.model_dir)
    version = model_version(config.run.model_dir)
    probe = out_root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise InputError(f"output folder {out_root} is not writable (checked {probe})")
    store = None
    store_path = Path(str(config.run.store))
    if str(config.run.store) != ":memory:" and store_path.is_file():
        try:
            store = HistoryStore(store_path, read_only=True)
            store.con  # noqa: B018 - open now, to report a busy store here
        except StoreError as exc:
            store = None
            messages.append(f"history store not checked ({exc}); records counted as new")
    elif str(config.run.store) != ":memory:":
        messages.append(f"no history store yet at {store_path}: every record counts as new")
    safe_source = redact_source(source)
    info = SourceInfo(source=safe_source, format="")
    counts = dict.fromkeys(("read", "processed", "quarantined", "already_seen", "out_of_window"), 0)
    counts["late_arrivals"] = 0
    reasons: dict[str, int] = {}
    try:
        wm = store.last_watermark(safe_source) if store is not None and _has_runs(store) else None
        ctx = _Context(source, safe_source, out_root, config, store, "dry-run", night, started, version,
                       "", full_refresh, since, until)
        for chunk in iter_records(source, config.ingest, info, params=_sql_params(ctx, wm)):
            counts["read"] += len(chunk.records) + len(chunk.quarantine)
            counts["quarantined"] += len(chunk.quarantine)
            for reason in chunk.quarantine["reason"]:
                key = reason.split(" ", 1)[0]
                reasons[key] = reasons.get(key, 0) + 1
            fresh = _select_new(chunk, store if _has_runs(store) else None, full_refresh, since, until, counts)
            counts["processed"] += len(fresh)
    finally:
        if store is not None:
            store.close()
    summary = _summary(ctx, info, counts, reasons, wm, wm)
    summary["status"] = "dry_run"
    summary["run_id"] = None
    summary["exit_code"] = _exit_code(summary, config)
    messages.append("dry run: input and config are valid; nothing was written")
    return RunResult("dry-run", None, summary, summary["exit_code"], messages, "dry_run")


def _has_runs(store) -> bool:
    if store is None:
        return False
    import duckdb

    try:
        store.con.execute("SELECT 1 FROM records LIMIT 1")
        return True
    except duckdb.Error:  # a store from before any run has no tables in read-only mode
        return False


__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_QUARANTINE",
    "RESULT_SCHEMA",
    "RunFailed",
    "RunResult",
    "make_run_id",
    "process_chunk",
    "recover",
    "run_backfill",
    "run_pipeline",
]


def run_backfill(source: str, out_root: str | Path, config: Config, *, period: str = "W") -> list[RunResult]:
    """Replay ``source`` as a series of nightly runs, one per ``period`` of ``created_at``.

    Each run sees the records created before its period ends (as a cumulative nightly export
    would) and, being incremental, processes only the ones the history has not seen.
    """
    days: list[date] = []
    for chunk in iter_records(source, config.ingest):
        days.extend(d for d in chunk.records["created_at"] if d is not None and not pd.isna(d))
    if not days:
        return [run_pipeline(source, out_root, config)]
    ends = pd.period_range(min(days), max(days), freq=period).end_time.normalize() + pd.Timedelta(days=1)
    results = []
    for end in ends:
        until = end.date()
        nightly = datetime(until.year, until.month, until.day, 2, 0, 0)
        results.append(run_pipeline(source, out_root, config, until=until, now=nightly, night=until))
    return results
