"""Read raw feedback in streaming chunks, map columns, and quarantine bad rows with a reason.

Every input row ends up in exactly one of two places: the accepted records of a chunk or the
quarantine rows of a chunk. Nothing is dropped silently, so ``read = accepted + quarantined``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import ColumnMap, IngestConfig

log = logging.getLogger(__name__)

RECORD_COLUMNS = [
    "record_key",
    "record_id",
    "row_number",
    "text",
    "created_at",
    "channel",
    "product",
    "region",
    "score",
    "score_kind",
]
QUARANTINE_COLUMNS = ["row_number", "record_id", "reason", "text_preview"]

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_JALALI = re.compile(r"^\s*(1[34]\d\d)[/\-.](\d{1,2})[/\-.](\d{1,2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


class InputError(ValueError):
    """The input as a whole is unusable (missing file, wrong format, no text column)."""


@dataclass
class IngestChunk:
    records: pd.DataFrame
    quarantine: pd.DataFrame


@dataclass
class SourceInfo:
    """What was read and how; reported in the log and in ``summary.json``."""

    source: str
    format: str
    encoding: str | None = None
    encoding_detected: bool = False
    columns: dict = field(default_factory=dict)


# -- field parsers ------------------------------------------------------------------------


def parse_date(value) -> date | None:
    """Parse an ISO/Gregorian or Jalali (۱۴۰۳/۰۵/۰۸) date; ``None`` when empty; raise when invalid."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).translate(_DIGITS).strip()
    if not text:
        return None
    m = _JALALI.match(text)
    if m:
        import jdatetime

        y, mo, d = (int(g) for g in m.groups())
        return jdatetime.date(y, mo, d).togregorian()
    ts = pd.to_datetime(text, errors="raise", utc=False, format="mixed")
    return ts.date()


def content_key(text: str) -> str:
    """A stable key for records without an id: a hash of the whitespace-normalised text."""
    canon = " ".join(text.split())
    return "h:" + hashlib.sha256(canon.encode("utf-8")).hexdigest()[:24]


# -- readers ------------------------------------------------------------------------------


def detect_format(source: str) -> str:
    low = source.lower()
    if low.startswith(("postgresql://", "postgres://", "postgresql+", "sqlite://", "mysql")):
        return "sql"
    for suffix, fmt in (
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
        (".parquet", "parquet"),
        (".xlsx", "xlsx"),
    ):
        if low.endswith(suffix) or low.endswith(suffix + ".gz"):
            return fmt
    raise InputError(
        f"cannot tell the format of {source!r}: use a .csv, .tsv, .jsonl, .parquet or .xlsx file "
        "or a postgresql:// URL"
    )


def _raw_chunks(source: str, fmt: str, cfg: IngestConfig, info: SourceInfo) -> Iterator[pd.DataFrame]:
    """Yield raw DataFrames of strings (all columns as object) of at most ``chunk_size`` rows."""
    if fmt == "sql":
        yield from _sql_chunks(source, cfg, info)
        return
    path = Path(source)
    if not path.is_file():
        raise InputError(f"input file not found: {source}")
    if fmt in {"csv", "tsv"}:
        encoding = _choose_encoding(path, cfg.encoding, info)
        reader = pd.read_csv(
            path,
            sep="\t" if fmt == "tsv" else ",",
            dtype=str,
            keep_default_na=False,
            encoding=encoding,
            encoding_errors="replace",
            chunksize=cfg.chunk_size,
            engine="python" if False else "c",
            on_bad_lines="warn",
        )
        yield from reader
    elif fmt == "jsonl":
        encoding = _choose_encoding(path, cfg.encoding, info)
        reader = pd.read_json(
            path, lines=True, dtype=False, chunksize=cfg.chunk_size, encoding=encoding
        )
        for chunk in reader:
            yield chunk.astype(object).where(chunk.notna(), None)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        info.encoding = "n/a (parquet)"
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=cfg.chunk_size):
            frame = batch.to_pandas()
            yield frame.astype(object).where(frame.notna(), None)
    elif fmt == "xlsx":
        info.encoding = "n/a (xlsx)"
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        for start in range(0, len(frame), cfg.chunk_size):
            yield frame.iloc[start : start + cfg.chunk_size]
    else:  # pragma: no cover - detect_format guards this
        raise InputError(f"unsupported format {fmt}")


def _choose_encoding(path: Path, requested: str, info: SourceInfo) -> str:
    if requested != "auto":
        info.encoding, info.encoding_detected = requested, False
        return requested
    head = path.read_bytes()[:65536]
    if head.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        try:
            head.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 64 KiB boundary is still UTF-8.
            if exc.start >= len(head) - 4:
                enc = "utf-8"
            else:
                from charset_normalizer import from_bytes

                best = from_bytes(head, cp_isolation=["cp1256", "utf_16", "cp1252"]).best()
                enc = best.encoding if best is not None else "cp1256"
    info.encoding, info.encoding_detected = enc, True
    return enc


def _sql_chunks(url: str, cfg: IngestConfig, info: SourceInfo) -> Iterator[pd.DataFrame]:
    import sqlalchemy as sa

    if not (cfg.sql_query or cfg.sql_table):
        raise InputError("a SQL source needs --sql-table or --sql-query")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    info.encoding = "n/a (sql)"
    engine = sa.create_engine(url)
    if cfg.sql_query:
        query = sa.text(cfg.sql_query)
    else:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", cfg.sql_table or ""):
            raise InputError(f"invalid SQL table name {cfg.sql_table!r}")
        query = sa.text(f"SELECT * FROM {cfg.sql_table}")
    try:
        with engine.connect().execution_options(stream_results=True) as conn:
            for chunk in pd.read_sql(query, conn, chunksize=cfg.chunk_size):
                yield chunk.astype(object).where(chunk.notna(), None)
    except sa.exc.SQLAlchemyError as exc:
        raise InputError(f"SQL source failed: {exc.__class__.__name__}: {exc}") from exc
    finally:
        engine.dispose()


# -- validation ---------------------------------------------------------------------------


def _resolve_columns(frame: pd.DataFrame, columns: ColumnMap, source: str) -> dict[str, str | None]:
    present = set(frame.columns)
    if columns.text not in present:
        raise InputError(
            f"{source}: no text column {columns.text!r}; columns are {sorted(map(str, present))}. "
            "Pass --text-column NAME."
        )
    resolved = {}
    for role in ("id", "created_at", "channel", "product", "region", "rating", "nps", "csat"):
        name = getattr(columns, role)
        resolved[role] = name if name in present else None
    resolved["text"] = columns.text
    return resolved


def iter_records(source: str, cfg: IngestConfig, info: SourceInfo | None = None) -> Iterator[IngestChunk]:
    """Stream ``source`` as validated chunks; see the module docstring for the guarantee."""
    fmt = detect_format(source)
    info = info if info is not None else SourceInfo(source=source, format=fmt)
    info.format = fmt
    seen_ids: set[str] = set()
    row_offset = 0
    resolved: dict[str, str | None] | None = None
    try:
        for raw in _raw_chunks(source, fmt, cfg, info):
            if resolved is None:
                resolved = _resolve_columns(raw, cfg.columns, source)
                info.columns = {k: v for k, v in resolved.items() if v}
                log.info("reading %s as %s, encoding %s", source, fmt, info.encoding)
            chunk = _validate(raw, resolved, cfg, row_offset, seen_ids)
            row_offset += len(raw)
            yield chunk
    except (pd.errors.ParserError, UnicodeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{source}: cannot be read as {fmt}: {exc}") from exc
    if resolved is None:
        if fmt in {"csv", "tsv"}:
            _check_header(source, cfg, info)
        # An empty input (header only, or zero bytes) is a valid, empty night.
        log.warning("%s: no rows", source)


def _check_header(source: str, cfg: IngestConfig, info: SourceInfo) -> None:
    path = Path(source)
    if path.stat().st_size == 0:
        return
    header = pd.read_csv(path, nrows=0, encoding=info.encoding or "utf-8", sep=None, engine="python")
    if cfg.columns.text not in header.columns:
        raise InputError(
            f"{source}: no text column {cfg.columns.text!r}; columns are {list(header.columns)}"
        )


def _validate(
    raw: pd.DataFrame,
    cols: dict[str, str | None],
    cfg: IngestConfig,
    row_offset: int,
    seen_ids: set[str],
) -> IngestChunk:
    n = len(raw)
    # Row numbers are 1-based data rows (the header is not counted).
    row_numbers = np.arange(row_offset + 1, row_offset + n + 1)
    texts = raw[cols["text"]].tolist()
    ids = raw[cols["id"]].tolist() if cols["id"] else [None] * n
    dates = raw[cols["created_at"]].tolist() if cols["created_at"] else [None] * n

    score_kind, score_col = None, None
    for kind in ("rating", "nps", "csat"):
        if cols[kind]:
            score_kind, score_col = kind, cols[kind]
            break
    scores = raw[score_col].tolist() if score_col else [None] * n

    keep: list[dict] = []
    bad: list[dict] = []
    for i in range(n):
        text, rid = texts[i], ids[i]
        rid = None if rid is None or str(rid).strip() == "" else str(rid).strip()
        reason = None
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if not text.strip():
            reason = "empty_text"
        elif len(text) > cfg.max_text_chars:
            reason = f"text_too_long ({len(text)} > {cfg.max_text_chars} chars)"
        elif "\ufffd" in text:
            reason = "undecodable_bytes"
        elif _looks_binary(text):
            reason = "binary_garbage"
        created = None
        if reason is None:
            try:
                created = parse_date(dates[i])
            except (ValueError, TypeError, OverflowError):
                reason = f"unparsable_date ({str(dates[i])[:40]!r})"
        score = None
        if reason is None and scores[i] not in (None, ""):
            try:
                score = float(str(scores[i]).translate(_DIGITS))
            except ValueError:
                reason = f"unparsable_{score_kind} ({str(scores[i])[:20]!r})"
        key = rid if rid is not None else (content_key(text) if reason is None else None)
        if reason is None:
            if key in seen_ids:
                reason = "duplicate_id" if rid is not None else "duplicate_text"
            else:
                seen_ids.add(key)
        if reason is not None:
            bad.append(
                {
                    "row_number": int(row_numbers[i]),
                    "record_id": rid,
                    "reason": reason,
                    "text_preview": _preview(text),
                }
            )
            continue
        keep.append(
            {
                "record_key": key,
                "record_id": rid if rid is not None else key,
                "row_number": int(row_numbers[i]),
                "text": text,
                "created_at": created,
                "channel": _opt(raw, cols["channel"], i),
                "product": _opt(raw, cols["product"], i),
                "region": _opt(raw, cols["region"], i),
                "score": score,
                "score_kind": score_kind if score is not None else None,
            }
        )
    records = pd.DataFrame(keep, columns=RECORD_COLUMNS)
    quarantine = pd.DataFrame(bad, columns=QUARANTINE_COLUMNS)
    return IngestChunk(records=records, quarantine=quarantine)


def _opt(raw: pd.DataFrame, col: str | None, i: int) -> str | None:
    if not col:
        return None
    value = raw[col].iat[i]
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _looks_binary(text: str) -> bool:
    controls = len(_CONTROL.findall(text[:4096]))
    return controls > 0 and controls / max(1, min(len(text), 4096)) > 0.05


def _preview(text: str, limit: int = 80) -> str:
    cleaned = _CONTROL.sub("?", text[:limit])
    return cleaned
