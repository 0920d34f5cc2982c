"""The nightly job: ingest → normalise → classify → cluster → store → report.

This orchestrator is the only place that sequences the stages. Memory stays bounded: records
flow in chunks through normalisation and classification into Parquet parts on disk; clustering
fits on a bounded sample and assigns the parts chunk by chunk; the history store and the report
read the parts back through DuckDB. Outputs are built in a temporary folder and renamed into
place only after the run has been committed to the history store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import Config
from pipeline.ingest import IngestChunk, SourceInfo, iter_records

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

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_QUARANTINE = 0, 1, 2, 3


@dataclass
class RunResult:
    run_id: str
    out_dir: Path | None
    summary: dict
    exit_code: int = EXIT_OK
    messages: list[str] = field(default_factory=list)


def make_run_id(started: datetime, source: str) -> str:
    digest = hashlib.sha256(f"{source}|{started.isoformat()}".encode()).hexdigest()[:6]
    return started.strftime("%Y%m%dT%H%M%S") + "-" + digest


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
    predictions = model.predict_frame(out["text_norm"].tolist())
    predictions.index = out.index
    out["is_complaint"] = predictions["is_complaint"].astype(bool)
    out["complaint_proba"] = predictions["complaint_proba"].astype(float)
    out["needs_review"] = predictions["needs_review"].astype(bool)
    out["themes"] = predictions["themes"].map(list)
    out["top_theme"] = predictions["top_theme"]
    out["cluster_id"] = -1
    return out


def _to_table(frame: pd.DataFrame) -> pa.Table:
    frame = frame.copy()
    frame["created_at"] = pd.to_datetime(frame["created_at"]).dt.date
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    return pa.Table.from_pandas(frame[RESULT_SCHEMA.names], schema=RESULT_SCHEMA, preserve_index=False)


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
) -> RunResult:
    """Run the whole job once over ``source``; see the module docstring."""
    from pipeline.cluster import discover_patterns
    from pipeline.engine import process_parts
    from pipeline.model_io import load_model, model_version
    from pipeline.report import write_report
    from pipeline.store import HistoryStore

    started = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    run_id = make_run_id(started, source)
    out_root = Path(out_root)
    info = SourceInfo(source=source, format="")

    model = load_model(config.run.model_dir)
    version = model_version(config.run.model_dir)
    store = HistoryStore(config.run.store)

    work = Path(tempfile.mkdtemp(prefix=f".{run_id}-", dir=_ensure_dir(out_root)))
    parts_dir = work / "_parts"
    parts_dir.mkdir()
    try:
        counts = {"read": 0, "processed": 0, "quarantined": 0, "already_seen": 0, "out_of_window": 0}
        quarantine_frames: list[pd.DataFrame] = []
        sample_parts: list[pd.DataFrame] = []
        max_day: date | None = None

        def fresh_chunks():
            for chunk in iter_records(source, config.ingest, info):
                counts["read"] += len(chunk.records) + len(chunk.quarantine)
                if len(chunk.quarantine):
                    quarantine_frames.append(chunk.quarantine)
                counts["quarantined"] += len(chunk.quarantine)
                fresh = _select_new(chunk, store, full_refresh, since, until, counts)
                if fresh.empty:
                    continue
                if dry_run:
                    counts["processed"] += len(fresh)
                    continue
                yield fresh

        # process_chunk + one Parquet part per chunk, on the configured engine, in chunk order.
        for part in process_parts(fresh_chunks(), model, config, run_id=run_id, parts_dir=parts_dir):
            counts["processed"] += part.n_records
            if part.max_day is not None:
                max_day = part.max_day if max_day is None or part.max_day > max_day else max_day
            sample_parts.append(part.sample)

        summary = _summary(run_id, started, source, info, counts, version, config)
        if dry_run:
            return RunResult(run_id, None, summary, _exit_code(summary, config), ["dry run: nothing written"])

        parts = sorted(parts_dir.glob("part-*.parquet"))
        clusters = pd.DataFrame()
        if parts:
            sample = pd.concat(sample_parts, ignore_index=True)
            clusters = discover_patterns(parts, sample, config.cluster, store, run_id)
        run_dir = work / "run"
        run_dir.mkdir()
        quarantine = (
            pd.concat(quarantine_frames, ignore_index=True)
            if quarantine_frames
            else pd.DataFrame(columns=["row_number", "record_id", "reason", "text_preview"])
        )
        _write_tables(parts, quarantine, run_dir)
        summary["themes"] = _theme_counts(run_dir / "complaints.parquet")
        summary["quarantine_reasons"] = quarantine["reason"].str.split(" ").str[0].value_counts().sort_index().to_dict()
        run_row = {
            "run_id": run_id,
            "started_at": started,
            "source": source,
            "model_version": version,
            "engine": config.run.engine,
            "n_read": counts["read"],
            "n_processed": counts["processed"],
            "n_quarantined": counts["quarantined"],
            "n_new": counts["processed"],
            "n_already_seen": counts["already_seen"],
            "watermark": max_day,
            "summary": summary,
        }
        records_glob = str(run_dir / "complaints.parquet") if parts else None
        store.commit_run(run_row, records_glob)
        if config.run.retention_days:
            store.apply_retention(config.run.retention_days)
        write_report(run_dir, summary=summary, clusters=clusters, store=store, config=config)
        (run_dir / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
        final = out_root / run_id
        os.replace(run_dir, final)
        return RunResult(run_id, final, summary, _exit_code(summary, config))
    finally:
        store.close()
        shutil.rmtree(work, ignore_errors=True)


def _ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    if not full_refresh and len(records):
        known = store.known_keys(records["record_key"].tolist())
        if known:
            mask = records["record_key"].isin(known)
            counts["already_seen"] += int(mask.sum())
            records = records[~mask]
    return records


def _sample_complaints(result: pd.DataFrame, limit: int, seed: int) -> pd.DataFrame:
    complaints = result[result["is_complaint"]]
    cols = ["record_key", "text_norm", "themes", "created_at"]
    if len(complaints) <= limit:
        return complaints[cols]
    return complaints[cols].sample(n=limit, random_state=seed)


def _write_tables(parts: list[Path], quarantine: pd.DataFrame, run_dir: Path) -> None:
    from pipeline.report import neutralize_csv_cells

    if parts:
        writer = None
        for part in parts:
            table = pq.read_table(part)
            if writer is None:
                writer = pq.ParquetWriter(run_dir / "complaints.parquet", table.schema)
            writer.write_table(table)
        writer.close()
    else:
        pq.write_table(RESULT_SCHEMA.empty_table(), run_dir / "complaints.parquet")
    neutralize_csv_cells(quarantine).to_csv(run_dir / "quarantine.csv", index=False)


def _theme_counts(path: Path) -> dict:
    import duckdb

    rows = duckdb.execute(
        f"SELECT theme, count(*) FROM (SELECT unnest(themes) AS theme FROM read_parquet('{path}') "
        "WHERE is_complaint) GROUP BY theme ORDER BY theme"
    ).fetchall()
    return {theme: int(n) for theme, n in rows}


def _summary(run_id, started, source, info, counts, version, config) -> dict:
    ok = counts["read"] == (
        counts["processed"] + counts["quarantined"] + counts["already_seen"] + counts["out_of_window"]
    )
    return {
        "run_id": run_id,
        "started_at": started.isoformat(),
        "source": source,
        "format": info.format,
        "encoding": info.encoding,
        "encoding_detected": info.encoding_detected,
        "columns": info.columns,
        "model_version": version,
        "engine": config.run.engine,
        "records": {
            "read": counts["read"],
            "processed": counts["processed"],
            "quarantined": counts["quarantined"],
            "already_seen": counts["already_seen"],
            "out_of_window": counts["out_of_window"],
        },
        "balanced": bool(ok),
    }


def _exit_code(summary: dict, config: Config) -> int:
    rec = summary["records"]
    if not summary["balanced"]:
        return EXIT_FAILED
    if rec["read"] and rec["quarantined"] / rec["read"] > config.run.max_quarantine_share:
        return EXIT_QUARANTINE
    return EXIT_OK


__all__ = ["RESULT_SCHEMA", "RunResult", "process_chunk", "run_pipeline"]


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
        results.append(run_pipeline(source, out_root, config, until=until, now=nightly))
    return results
