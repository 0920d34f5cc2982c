"""Read raw feedback in streaming chunks, map columns, and quarantine bad rows with a reason.

Every input row ends up in exactly one of two places: the accepted records of a chunk or the
quarantine rows of a chunk. Nothing is dropped silently, so ``read = accepted + quarantined``.
Only an input that is unusable as a whole (missing or empty file, wrong format, no text column,
a truncated compressed stream) raises :class:`InputError`.

Formats: CSV and TSV (optionally ``.gz``), JSON lines (optionally ``.gz``), Parquet, XLSX and a
SQL source (a SQLAlchemy URL plus a table or a query). Text files are read line by line and
decoded line by line, so a file of any size is read in bounded memory, and one bad line costs
one quarantined row, never the night.

Row numbers are 1-based data rows in reading order (the header is not counted); for text
formats ``line_number`` is the physical line of the file where the row starts (the header is
line 1), which is what an editor shows.

Examples
--------
>>> from pipeline.config import IngestConfig
>>> from pipeline.ingest import parse_date
>>> parse_date("۱۴۰۳/۰۵/۰۸")
datetime.date(2024, 7, 29)
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import math
import operator
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import ColumnMap, IngestConfig

log = logging.getLogger(__name__)

__all__ = [
    "QUARANTINE_COLUMNS",
    "RECORD_COLUMNS",
    "IngestChunk",
    "InputError",
    "SourceInfo",
    "content_key",
    "detect_format",
    "iter_records",
    "parse_date",
    "redact_source",
    "source_fingerprint",
]

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
QUARANTINE_COLUMNS = ["row_number", "line_number", "record_id", "reason", "text_preview"]
ROLES = ("text", "id", "created_at", "channel", "product", "region", "rating", "nps", "csat")

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_JALALI = re.compile(r"^\s*(1[34]\d\d)[/\-.](\d{1,2})[/\-.](\d{1,2})(?!\d)")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T ]|\s)")
# Control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates (undecodable bytes under "surrogateescape") and U+FFFD (under "replace").
_UNDECODABLE = re.compile(r"[\udc80-\udcff\ufffd]")
_SUSPECT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff\ufffd]")
_SAMPLE_BYTES = 1 << 20
_FIELD_LIMIT = 1 << 28


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
    #: Why this encoding: "given", "byte order mark", "valid UTF-8", ...
    encoding_reason: str | None = None
    compression: str | None = None
    columns: dict = field(default_factory=dict)
    #: Blank lines of a text file: not rows, so neither read nor quarantined, but counted.
    blank_lines: int = 0
    #: Scores (rating/nps/csat) that did not parse; the record is kept without a score.
    unparsable_scores: int = 0

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "compression": self.compression,
            "encoding": self.encoding,
            "encoding_detected": self.encoding_detected,
            "encoding_reason": self.encoding_reason,
            "columns": dict(self.columns),
            "blank_lines": self.blank_lines,
            "unparsable_scores": self.unparsable_scores,
        }


# -- field parsers ------------------------------------------------------------------------


def parse_date(value) -> date | None:
    """Parse an ISO/Gregorian or Jalali (۱۴۰۳/۰۵/۰۸) date; ``None`` when empty; raise when invalid.

    Jalali dates are recognised by their year (1300-1499) and converted to Gregorian; digits may
    be Persian, Arabic-Indic or ASCII. A time part after the date is ignored.

    >>> parse_date("2024-07-29T10:00:00Z"), parse_date("1403-05-08 14:30")
    (datetime.date(2024, 7, 29), datetime.date(2024, 7, 29))
    """
    if value is None or _isnan(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    text = str(value).translate(_DIGITS).strip()
    if not text:
        return None
    m = _JALALI.match(text)
    if m:
        import jdatetime

        y, mo, d = (int(g) for g in m.groups())
        return jdatetime.date(y, mo, d).togregorian()
    m = _ISO.match(text)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    ts = pd.to_datetime(text, errors="raise", utc=False, format="mixed")
    if pd.isna(ts):
        raise ValueError(f"not a date: {text!r}")
    return ts.date()


class _DateCache:
    """Memoises :func:`parse_date` for the repeated date strings of a nightly export."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._seen: dict = {}

    def __call__(self, value):
        if not isinstance(value, str):
            return parse_date(value)
        hit = self._seen.get(value)
        if hit is None:
            try:
                hit = (parse_date(value), None)
            except (ValueError, TypeError, OverflowError) as exc:
                hit = (None, str(exc))
            if len(self._seen) >= self.limit:
                self._seen.clear()
            self._seen[value] = hit
        if hit[1] is not None:
            raise ValueError(hit[1])
        return hit[0]


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def content_key(text: str) -> str:
    """A stable key for records without an id: a hash of the whitespace-normalised text."""
    canon = " ".join(text.split())
    return "h:" + hashlib.sha256(canon.encode("utf-8")).hexdigest()[:24]


def redact_source(source: str) -> str:
    """``source`` with any password of a URL replaced by ``***`` (for logs, summary, history)."""
    return re.sub(r"^([a-z][a-z0-9+.\-]*://[^:/@]*):[^@/]*@", r"\1:***@", source, flags=re.IGNORECASE)


# -- format and encoding ------------------------------------------------------------------

_SQL_PREFIXES = ("postgresql://", "postgres://", "postgresql+", "sqlite://", "mysql")
_SUFFIXES = (
    (".csv", "csv"),
    (".tsv", "tsv"),
    (".tab", "tsv"),
    (".jsonl", "jsonl"),
    (".ndjson", "jsonl"),
    (".json", "jsonl"),
    (".parquet", "parquet"),
    (".xlsx", "xlsx"),
)
_MAGIC = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a ZIP/XLSX file",
    b"%PDF": "a PDF file",
    b"\x89PNG": "a PNG image",
    b"SQLite format": "an SQLite database",
}


def detect_format(source: str) -> str:
    """``csv``, ``tsv``, ``jsonl``, ``parquet``, ``xlsx`` or ``sql`` from the name of ``source``."""
    low = source.lower()
    if low.startswith(_SQL_PREFIXES):
        return "sql"
    for suffix, fmt in _SUFFIXES:
        if low.endswith((suffix, suffix + ".gz")):
            return fmt
    raise InputError(
        f"cannot tell the format of {source!r}: use a .csv, .tsv, .jsonl, .parquet or .xlsx file "
        "(optionally .gz for text formats) or a postgresql:// URL"
    )


def _open_binary(path: Path, info: SourceInfo):
    """Open ``path`` for reading bytes, transparently gunzipping; checks the magic bytes."""
    with path.open("rb") as fh:
        magic = fh.read(16)
    if magic[:2] == b"\x1f\x8b":
        info.compression = "gzip"
        return gzip.open(path, "rb")
    if path.name.lower().endswith(".gz"):
        raise InputError(f"{path}: named .gz but is not gzip-compressed")
    return path.open("rb")


def _check_magic(head: bytes, path: Path, fmt: str) -> None:
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path}: expected {fmt.upper()} text but the file is {what}")


def _choose_encoding(head: bytes, requested: str, info: SourceInfo) -> str:
    """Pick the encoding of a text file from its first MiB and record why in ``info``."""
    if requested != "auto":
        try:
            "".encode(requested)
        except LookupError as exc:
            raise InputError(f"unknown encoding {requested!r}") from exc
        info.encoding, info.encoding_detected, info.encoding_reason = requested, False, "given"
        return requested
    info.encoding_detected = True
    if head.startswith(b"\xef\xbb\xbf"):
        enc, why = "utf-8-sig", "UTF-8 byte order mark"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc, why = "utf-16", "UTF-16 byte order mark"
    elif len(head) >= 4 and head[1::2].count(0) > 0.3 * len(head) / 2:
        enc, why = "utf-16-le", "UTF-16-LE without byte order mark (every other byte is NUL)"
    elif len(head) >= 4 and head[0::2].count(0) > 0.3 * len(head) / 2:
        enc, why = "utf-16-be", "UTF-16-BE without byte order mark (every other byte is NUL)"
    else:
        lines = head.split(b"\n")
        if len(head) == _SAMPLE_BYTES and len(lines) > 1:
            lines = lines[:-1]  # the last sampled line may be cut inside a character
        high = [ln for ln in lines if any(b > 0x7F for b in ln)]
        bad = 0
        for ln in high:
            try:
                ln.decode("utf-8")
            except UnicodeDecodeError:
                bad += 1
        if not high:
            enc, why = "utf-8", "ASCII only"
        elif bad == 0:
            enc, why = "utf-8", "valid UTF-8"
        elif bad <= len(high) / 2:
            enc = "utf-8"
            why = (
                f"UTF-8 with {bad} of {len(high)} sampled non-ASCII lines not valid UTF-8 "
                "(mixed encodings: those rows are quarantined as undecodable_bytes)"
            )
        else:
            enc = "cp1256"
            why = (
                f"not UTF-8 ({bad} of {len(high)} sampled non-ASCII lines invalid); "
                "decoded as Windows-1256 (cp1256); pass --encoding to override"
            )
    info.encoding, info.encoding_reason = enc, why
    return enc


def _is_ascii_compatible(encoding: str) -> bool:
    return not encoding.lower().replace("_", "-").startswith(("utf-16", "utf16", "utf-32"))


def _text_lines(path: Path, cfg: IngestConfig, info: SourceInfo) -> Iterator[tuple[str, bool]]:
    """Yield ``(line, undecodable)`` for each physical line, decoded one line at a time."""
    if path.stat().st_size == 0:
        raise InputError(
            f"{path}: the file is empty (0 bytes, not even a header); the export probably failed"
        )
    with _open_binary(path, info) as fh:
        head = fh.read(_SAMPLE_BYTES)
        if not head:
            raise InputError(f"{path}: the file is empty after decompression")
        _check_magic(head, path, info.format)
        encoding = _choose_encoding(head, cfg.encoding, info)
        fh.seek(0)
        if _is_ascii_compatible(encoding):
            first = True
            strict_utf8_check = encoding.startswith("cp")
            for raw in fh:
                if first:
                    first = False
                    if raw.startswith(b"\xef\xbb\xbf") and encoding.startswith("utf-8"):
                        raw = raw[3:]
                try:
                    line = raw.decode(encoding)
                    bad = False
                except UnicodeDecodeError:
                    line = raw.decode(encoding, errors="surrogateescape")
                    bad = True
                if strict_utf8_check and not bad and not raw.isascii():
                    # A valid UTF-8 line inside a Windows-1256 file: decoding it as cp1256
                    # would be silent mojibake, so it is quarantined instead.
                    try:
                        raw.decode("utf-8")
                        bad = True
                    except UnicodeDecodeError:
                        pass
                yield line, bad
        else:
            text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
            first = True
            for line in text:
                if first:
                    first = False
                    line = line.lstrip("\ufeff")
                yield line, "\ufffd" in line


# -- readers ------------------------------------------------------------------------------


@dataclass
class _Batch:
    """Raw rows of one chunk: a frame of the mapped columns plus rows already found bad."""

    frame: pd.DataFrame
    row_numbers: list[int]
    line_numbers: list[int | None]
    #: Quarantine rows found by the reader (malformed lines, undecodable bytes).
    bad: list[dict]


def _bad(row_number: int, line_number: int | None, reason: str, text: str) -> dict:
    return {
        "row_number": row_number,
        "line_number": line_number,
        "record_id": None,
        "reason": reason,
        "text_preview": _preview(text),
    }


class _LineFeed:
    """Physical lines with their numbers and a push-back stack, for re-parsing after an error."""

    def __init__(self, lines: Iterator[tuple[str, bool]]):
        self._lines = lines
        self._back: list[tuple[int, str, bool]] = []
        self._lineno = 0

    def next(self) -> tuple[int, str, bool] | None:
        if self._back:
            return self._back.pop()
        item = next(self._lines, None)
        if item is None:
            return None
        self._lineno += 1
        return (self._lineno, item[0], item[1])

    def push_back(self, items: list[tuple[int, str, bool]]) -> None:
        self._back.extend(reversed(items))


def _csv_batches(path: Path, fmt: str, cfg: IngestConfig, info: SourceInfo) -> Iterator[_Batch]:
    """Parse CSV/TSV with the ``csv`` module, one record at a time, reporting bad lines.

    A record that cannot be parsed (an unbalanced quote, a stray quote, the wrong number of
    fields) costs only its first physical line: that line is quarantined with its line number,
    and parsing resumes at the next line. A quoted field may span at most
    ``max_record_lines`` lines, so one stray quote cannot swallow the rest of the file.
    """
    delimiter = "\t" if fmt == "tsv" else ","
    feed = _LineFeed(_text_lines(path, cfg, info))
    # The physical line is in memory already; an over-long field is quarantined by size below.
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)

    header_item = feed.next()
    while header_item is not None and not header_item[1].strip():
        header_item = feed.next()
    if header_item is None:
        raise InputError(f"{path}: no header line")
    try:
        header = next(csv.reader([header_item[1]], delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"{path}: line {header_item[0]}: cannot parse the header: {exc}") from exc
    header = [h.strip() for h in header]
    if header_item[2]:
        raise InputError(f"{path}: the header line has undecodable bytes; pass --encoding")
    cols = _resolve_columns(header, cfg.columns, str(path))
    info.columns = {k: v for k, v in cols.items() if v}
    wanted = [(role, header.index(name)) for role, name in cols.items() if name]
    n_fields = len(header)

    row_number = 0
    rows: list[list] = []
    row_numbers: list[int] = []
    line_numbers: list[int | None] = []
    bad: list[dict] = []
    consumed: list[tuple[int, str, bool]] = []

    def flush() -> _Batch:
        frame = pd.DataFrame(rows, columns=[role for role, _ in wanted], dtype=object)
        batch = _Batch(frame, list(row_numbers), list(line_numbers), list(bad))
        for buffer in (rows, row_numbers, line_numbers, bad):
            buffer.clear()
        return batch

    max_lines = cfg.max_record_lines
    undecodable = [False]

    def source_lines():
        back, lines = feed._back, feed._lines
        while True:
            if back:
                item = back.pop()
            else:
                nxt = next(lines, None)
                if nxt is None:
                    return
                feed._lineno += 1
                item = (feed._lineno, nxt[0], nxt[1])
            consumed.append(item)
            if item[2]:
                undecodable[0] = True
            if len(consumed) > max_lines:
                return  # the reader sees end-of-data inside a quoted field
            yield item[1]

    indices = [i for _, i in wanted]
    pick = operator.itemgetter(*indices) if len(indices) > 1 else (lambda f: (f[indices[0]],))
    done = False
    while not done:
        consumed.clear()
        undecodable[0] = False
        reader = csv.reader(source_lines(), delimiter=delimiter, strict=True)
        try:
            for fields in reader:
                first_line = consumed[0][0]
                if not fields or (len(fields) == 1 and len(consumed) == 1 and not fields[0].strip()):
                    info.blank_lines += 1
                    consumed.clear()
                    continue
                row_number += 1
                if undecodable[0]:
                    undecodable[0] = False
                    raw_text = "".join(item[1] for item in consumed)
                    bad.append(_bad(row_number, first_line, "undecodable_bytes", raw_text))
                elif len(fields) != n_fields:
                    raw_text = consumed[0][1]
                    if len(consumed) > 1:
                        # Probably a stray quote joined several lines: only the first is bad.
                        feed.push_back(consumed[1:])
                    bad.append(
                        _bad(
                            row_number,
                            first_line,
                            f"malformed_row ({len(fields)} fields, expected {n_fields})",
                            raw_text,
                        )
                    )
                else:
                    rows.append(pick(fields))
                    row_numbers.append(row_number)
                    line_numbers.append(first_line)
                consumed.clear()
                if len(rows) + len(bad) >= cfg.chunk_size:
                    yield flush()
            done = True
        except csv.Error as exc:
            if not consumed:  # pragma: no cover - the csv module always consumed a line
                raise InputError(f"{path}: {exc}") from exc
            row_number += 1
            first_line, first_text, first_bad = consumed[0]
            feed.push_back(consumed[1:])
            message = str(exc)
            if "field larger than field limit" in message:
                reason = f"text_too_long (a field over {_FIELD_LIMIT} chars)"
            elif "unexpected end of data" in message:
                reason = "unbalanced_quote (a quoted field is never closed)"
            elif len(consumed) > 1:
                reason = f"unbalanced_quote (a quoted field runs into the next line: {message})"
            else:
                reason = f"malformed_row ({message})"
            if first_bad:
                reason = "undecodable_bytes"
            bad.append(_bad(row_number, first_line, reason, first_text))
            if len(rows) + len(bad) >= cfg.chunk_size:
                yield flush()
    if rows or bad:
        yield flush()


def _jsonl_batches(path: Path, cfg: IngestConfig, info: SourceInfo) -> Iterator[_Batch]:
    """JSON lines, one object per line; a line that is not a JSON object is quarantined.

    Keys may vary from line to line, so every configured column is looked up in every object;
    the input is unusable only when no object at all has the text key.
    """
    columns = cfg.columns
    roles = [role for role in ROLES if getattr(columns, role)]
    names = [getattr(columns, role) for role in roles]
    info.columns = dict(zip(roles, names, strict=True))
    rows: list[list] = []
    row_numbers: list[int] = []
    line_numbers: list[int | None] = []
    bad: list[dict] = []
    row_number = 0
    n_objects = 0
    has_text = False
    for line_number, (line, undecodable) in enumerate(_text_lines(path, cfg, info), start=1):
        if not line.strip():
            info.blank_lines += 1
            continue
        row_number += 1
        obj = None
        if undecodable:
            bad.append(_bad(row_number, line_number, "undecodable_bytes", line))
        else:
            try:
                obj = json.loads(line)
            except ValueError as exc:
                bad.append(_bad(row_number, line_number, f"malformed_json ({exc})"[:120], line))
            if obj is not None and not isinstance(obj, dict):
                bad.append(_bad(row_number, line_number, "malformed_json (not an object)", line))
                obj = None
        if obj is not None:
            n_objects += 1
            has_text = has_text or columns.text in obj
            rows.append([_json_scalar(obj.get(name)) for name in names])
            row_numbers.append(row_number)
            line_numbers.append(line_number)
        if len(rows) + len(bad) >= cfg.chunk_size:
            yield _Batch(pd.DataFrame(rows, columns=roles, dtype=object), row_numbers, line_numbers, bad)
            rows, row_numbers, line_numbers, bad = [], [], [], []
    if n_objects and not has_text:
        raise InputError(
            f"{path}: no object has the text key {columns.text!r}; pass --text-column NAME"
        )
    if rows or bad:
        yield _Batch(pd.DataFrame(rows, columns=roles, dtype=object), row_numbers, line_numbers, bad)


def _json_scalar(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _frame_batches(frames: Iterator[pd.DataFrame], cfg: IngestConfig, source: str, info: SourceInfo) -> Iterator[_Batch]:
    """Batches from already-typed frames (Parquet, XLSX, SQL), keeping only the mapped columns."""
    row_offset = 0
    cols: dict | None = None
    for frame in frames:
        if cols is None:
            cols = _resolve_columns([str(c) for c in frame.columns], cfg.columns, source)
            info.columns = {k: v for k, v in cols.items() if v}
        roles = [r for r, name in cols.items() if name]
        picked = frame[[cols[r] for r in roles]].astype(object)
        picked = picked.where(picked.notna(), None)
        picked.columns = roles
        n = len(picked)
        numbers = list(range(row_offset + 1, row_offset + n + 1))
        line_offset = 1 if info.format == "xlsx" else None  # a spreadsheet row = data row + 1
        lines = [r + line_offset for r in numbers] if line_offset else [None] * n
        row_offset += n
        yield _Batch(picked.reset_index(drop=True), numbers, lines, [])


def _parquet_frames(path: Path, cfg: IngestConfig, info: SourceInfo) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    info.encoding, info.encoding_reason = None, "n/a (parquet)"
    with path.open("rb") as fh:
        if fh.read(4) != b"PAR1":
            raise InputError(f"{path}: not a Parquet file (no PAR1 magic bytes)")
    try:
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        cols = _resolve_columns(names, cfg.columns, str(path))
        wanted = [name for name in cols.values() if name]
        for batch in pf.iter_batches(batch_size=cfg.chunk_size, columns=wanted):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot be read as Parquet: {exc}") from exc


def _xlsx_frames(path: Path, cfg: IngestConfig, info: SourceInfo) -> Iterator[pd.DataFrame]:
    import zipfile

    from openpyxl import load_workbook

    info.encoding, info.encoding_reason = None, "n/a (xlsx)"
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as XLSX: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise InputError(f"{path}: the first sheet is empty (no header row)")
        header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        buf: list = []
        for values in rows:
            values = list(values)[: len(header)] + [None] * (len(header) - len(values))
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                info.blank_lines += 1
                continue
            buf.append(values)
            if len(buf) >= cfg.chunk_size:
                yield pd.DataFrame(buf, columns=header, dtype=object)
                buf = []
        # Always one (possibly empty) frame at the end, so the header is checked.
        yield pd.DataFrame(buf, columns=header, dtype=object)
    finally:
        wb.close()


def _check_params(names: set[str], params: dict) -> None:
    unknown = sorted(names - set(params))
    if unknown:
        raise InputError(
            f"the SQL query uses unknown parameter(s) {', '.join(':' + n for n in unknown)}; "
            f"available: {', '.join(':' + n for n in sorted(params))}"
        )


def _sql_frames(url: str, cfg: IngestConfig, info: SourceInfo, params: dict) -> Iterator[pd.DataFrame]:
    import sqlalchemy as sa

    if not (cfg.sql_query or cfg.sql_table):
        raise InputError("a SQL source needs --sql-table or --sql-query")
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    info.encoding, info.encoding_reason = None, "n/a (sql)"
    if cfg.sql_query:
        query = sa.text(cfg.sql_query)
        names = set(re.findall(r"(?<!:):([A-Za-z_]\w*)", cfg.sql_query))
        _check_params(names, params)
        bind = {k: v for k, v in params.items() if k in names}
    else:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", cfg.sql_table or ""):
            raise InputError(f"invalid SQL table name {cfg.sql_table!r}")
        query = sa.text(f"SELECT * FROM {cfg.sql_table}")
        bind = {}
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise InputError(f"invalid SQL URL {redact_source(url)}: {exc}") from exc
    try:
        with engine.connect().execution_options(stream_results=True) as conn:
            empty = True
            for chunk in pd.read_sql(query, conn, params=bind, chunksize=cfg.chunk_size):
                empty = False
                yield chunk
            if empty:
                result = conn.execute(query, bind)
                yield pd.DataFrame(columns=list(result.keys()))
    except sa.exc.SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"SQL source {redact_source(url)} failed: {exc.__class__.__name__}: {first}") from exc
    finally:
        engine.dispose()


def source_fingerprint(source: str, cfg: IngestConfig) -> str:
    """What identifies tonight's input: the SHA-256 of a file, the row count of a SQL source.

    Part of the run id, so a re-run over the same input is the same run. A SQL source is
    counted with its query's parameters at their widest (``:watermark`` and ``:since`` at
    1900-01-01), so the count does not move when the watermark does.
    """
    fmt = detect_format(source)
    if fmt != "sql":
        path = Path(source)
        if not path.is_file():
            raise InputError(f"input file not found: {source}")
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        return "sha256:" + digest.hexdigest()
    import sqlalchemy as sa

    if not (cfg.sql_query or cfg.sql_table):
        raise InputError("a SQL source needs --sql-table or --sql-query")
    if cfg.sql_query:
        inner = cfg.sql_query.strip().rstrip(";")
        names = set(re.findall(r"(?<!:):([A-Za-z_]\w*)", inner))
        wide = {"watermark": date(1900, 1, 1), "since": date(1900, 1, 1), "until": date(9999, 12, 31)}
        _check_params(names, wide)
        bind = {k: v for k, v in wide.items() if k in names}
    else:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", cfg.sql_table or ""):
            raise InputError(f"invalid SQL table name {cfg.sql_table!r}")
        inner, bind = f"SELECT * FROM {cfg.sql_table}", {}
    url = source
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise InputError(f"invalid SQL URL {redact_source(source)}: {exc}") from exc
    try:
        with engine.connect() as conn:
            n = conn.execute(sa.text(f"SELECT count(*) FROM ({inner}) AS _q"), bind).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(
            f"SQL source {redact_source(source)} failed: {exc.__class__.__name__}: {first}"
        ) from exc
    finally:
        engine.dispose()
    query_hash = hashlib.sha256(inner.encode("utf-8")).hexdigest()[:16]
    return f"sql:{query_hash}:rows={n}"


# -- validation ---------------------------------------------------------------------------


def _resolve_columns(
    present: list[str], columns: ColumnMap, source: str, *, strict_text: bool = True
) -> dict[str, str | None]:
    """Map roles to input columns; a column named explicitly (not the default) must exist."""
    present_set = set(present)
    defaults = ColumnMap()
    if columns.text not in present_set and strict_text:
        shown = ", ".join(repr(p[:40]) for p in present[:20]) + (" ..." if len(present) > 20 else "")
        raise InputError(
            f"{source}: no text column {columns.text!r}; the columns are [{shown}]. "
            "Pass --text-column NAME (or [ingest.columns] text = NAME in the config), "
            "or check that the file really is in the format its name says."
        )
    resolved: dict[str, str | None] = {"text": columns.text}
    for role in ROLES[1:]:
        name = getattr(columns, role)
        if name and name not in present_set and name != getattr(defaults, role):
            raise InputError(f"{source}: the {role} column {name!r} (set in the config or flags) is absent")
        resolved[role] = name if name in present_set else None
    return resolved


def iter_records(
    source: str, cfg: IngestConfig, info: SourceInfo | None = None, *, params: dict | None = None
) -> Iterator[IngestChunk]:
    """Stream ``source`` as validated chunks; see the module docstring for the guarantee.

    ``params`` are bind parameters for a SQL query (e.g. ``:watermark``).
    """
    fmt = detect_format(source)
    info = info if info is not None else SourceInfo(source=redact_source(source), format=fmt)
    info.format = fmt
    seen_ids: set[int] = set()
    dates = _DateCache()
    announced = False
    try:
        for batch in _batches(source, fmt, cfg, info, params or {}):
            if not announced:
                announced = True
                log.info(
                    "reading %s as %s%s, encoding %s (%s)",
                    info.source,
                    fmt,
                    f" ({info.compression})" if info.compression else "",
                    info.encoding or "n/a",
                    info.encoding_reason,
                )
            yield _validate(batch, cfg, seen_ids, dates, info)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(
            f"{source}: the compressed stream is truncated or corrupt ({exc}); nothing was "
            "committed: re-export the file and run again"
        ) from exc
    except (UnicodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{source}: cannot be read as {fmt}: {exc}") from exc
    except OSError as exc:
        raise InputError(f"{source}: cannot be read: {exc}") from exc


def _batches(source: str, fmt: str, cfg: IngestConfig, info: SourceInfo, params: dict) -> Iterator[_Batch]:
    if fmt == "sql":
        yield from _frame_batches(_sql_frames(source, cfg, info, params), cfg, info.source, info)
        return
    path = Path(source)
    if not path.is_file():
        raise InputError(f"input file not found: {source}")
    if fmt in {"csv", "tsv"}:
        yield from _csv_batches(path, fmt, cfg, info)
    elif fmt == "jsonl":
        yield from _jsonl_batches(path, cfg, info)
    elif fmt == "parquet":
        yield from _frame_batches(_parquet_frames(path, cfg, info), cfg, source, info)
    elif fmt == "xlsx":
        yield from _frame_batches(_xlsx_frames(path, cfg, info), cfg, source, info)
    else:  # pragma: no cover - detect_format guards this
        raise InputError(f"unsupported format {fmt}")


def _column(frame: pd.DataFrame, role: str) -> list:
    return frame[role].tolist() if role in frame.columns else [None] * len(frame)


def _validate(batch: _Batch, cfg: IngestConfig, seen_ids: set[int], dates: _DateCache, info: SourceInfo) -> IngestChunk:
    """Split one batch into accepted records and quarantined rows, column by column.

    Checks in order of precedence, each on the rows still without a reason: empty text, text
    too long, undecodable bytes or binary garbage, an unparsable date, then a key (id, or a
    hash of the text) already seen in this input. Only the rows left over are keyed into
    ``seen_ids``; the first occurrence of a key wins, across chunks too. Values are parsed
    once per distinct value (dates, scores, segments); what stays per row is C-level.
    """
    raw = batch.frame
    n = len(raw)
    texts = _text_values(_values(raw, "text"))
    ids = _id_values(_values(raw, "id"))
    score_kind = next((k for k in ("rating", "nps", "csat") if k in raw.columns), None)

    # Text checks; the rare suspect texts are looked at one by one.
    reasons = np.full(n, None, dtype=object)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    flagged = (lengths == 0) | np.fromiter(map(str.isspace, texts), dtype=bool, count=n)
    reasons[flagged] = "empty_text"
    for i in np.flatnonzero(~flagged & (lengths > cfg.max_text_chars)):
        reasons[i] = f"text_too_long ({lengths[i]} > {cfg.max_text_chars} chars)"
        flagged[i] = True
    suspect = np.fromiter(map(bool, map(_SUSPECT.search, texts)), dtype=bool, count=n)
    for i in np.flatnonzero(~flagged & suspect):
        if _UNDECODABLE.search(texts[i]):
            reasons[i] = "undecodable_bytes"
        elif _looks_binary(texts[i]):
            reasons[i] = "binary_garbage"
        flagged[i] = reasons[i] is not None

    # Dates, parsed once per distinct value.
    created = _values(raw, "created_at")
    days = np.full(n, None, dtype=object)
    dated = np.flatnonzero(~flagged & ~_is_none(created))
    if dated.size:
        parsed = _map_distinct(lambda v: _try(dates, v), created[dated])
        failed = _is_marker(parsed, _UNPARSABLE)
        parsed[failed] = None
        days[dated] = parsed
        for i in dated[failed]:
            reasons[i] = f"unparsable_date ({str(created[i])[:40]!r})"
        flagged[dated[failed]] = True

    # Keys: the id, or a hash of the text; a key seen before (in any chunk) is a duplicate.
    keys = ids.copy()
    valid = np.flatnonzero(~flagged)
    if valid.size:
        for i in valid[_is_none(ids[valid])]:
            keys[i] = content_key(texts[i])
        markers = list(map(hash, keys[valid]))
        again = np.fromiter(map(seen_ids.__contains__, markers), dtype=bool, count=len(markers))
        again |= pd.Series(markers, dtype=np.int64).duplicated(keep="first").to_numpy()
        seen_ids.update(m for m, dup in zip(markers, again, strict=True) if not dup)
        for i in valid[again]:
            reasons[i] = "duplicate_id" if ids[i] is not None else "duplicate_text"
        flagged[valid[again]] = True

    bad: list[dict] = list(batch.bad)
    for i in np.flatnonzero(flagged):
        rid = ids[i]
        bad.append(
            {
                "row_number": batch.row_numbers[i],
                "line_number": batch.line_numbers[i],
                "record_id": _preview(rid, 64) if rid else None,
                "reason": reasons[i],
                "text_preview": _preview(texts[i]),
            }
        )

    ok = np.flatnonzero(~flagged)
    if score_kind:
        scores = _map_distinct(_parse_score, _values(raw, score_kind)[ok])
        unparsable = _is_marker(scores, _UNPARSABLE)
        info.unparsable_scores += int(unparsable.sum())
        scores[unparsable] = None
        kinds = np.where(_is_none(scores), None, score_kind)
    else:
        scores = kinds = np.full(len(ok), None, dtype=object)
    text_column = np.empty(n, dtype=object)
    text_column[:] = texts
    out = {
        "record_key": keys[ok],
        "record_id": keys[ok],
        "row_number": np.asarray(batch.row_numbers, dtype=np.int64)[ok].tolist(),
        "text": text_column[ok],
        "created_at": days[ok].tolist(),
        **{role: _map_distinct(_opt, _values(raw, role)[ok]) for role in ("channel", "product", "region")},
        "score": scores.tolist(),
        "score_kind": kinds,
    }
    # String columns go in as object arrays (pandas infers them as from lists, 5x faster);
    # an empty chunk as lists, whose inference differs.
    out = {k: v.tolist() if isinstance(v, np.ndarray) and not ok.size else v for k, v in out.items()}
    records = pd.DataFrame(out, columns=RECORD_COLUMNS)
    quarantine = pd.DataFrame(bad, columns=QUARANTINE_COLUMNS)
    if len(batch.bad) and len(quarantine):
        quarantine = quarantine.sort_values("row_number", kind="stable").reset_index(drop=True)
    quarantine = quarantine.astype(
        {"row_number": "int64", "line_number": "Int64", "record_id": object, "reason": object, "text_preview": object}
    )
    return IngestChunk(records=records, quarantine=quarantine)


#: Marks a value that failed to parse (a date or a score) in an object array.
_UNPARSABLE = object()


def _values(frame: pd.DataFrame, role: str) -> np.ndarray:
    """Column ``role`` as an object array (all ``None`` when the column is absent)."""
    if role in frame.columns:
        return frame[role].to_numpy(dtype=object)
    return np.full(len(frame), None, dtype=object)


def _is_none(values: np.ndarray) -> np.ndarray:
    """Element-wise ``value is None``."""
    return _is_marker(values, None)


def _is_marker(values: np.ndarray, marker: object) -> np.ndarray:
    """Element-wise ``value is marker`` (identity, whatever ``==`` of the values does)."""
    return np.fromiter(map(operator.is_, values, repeat(marker)), dtype=bool, count=len(values))


def _text_values(values: np.ndarray) -> list[str]:
    """Texts as ``str``: missing (None, NaN) is ``""``, anything else its ``str()``."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values.tolist()
    return ["" if v is None or _isnan(v) else v if isinstance(v, str) else str(v) for v in values]


def _id_values(values: np.ndarray) -> np.ndarray:
    """Ids stripped, as ``str``; missing or blank ids are ``None``."""
    out = np.empty(len(values), dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        out[:] = [v.strip() or None for v in values]
    else:
        out[:] = [None if v is None else (v if isinstance(v, str) else _format_id(v)).strip() or None for v in values]
    return out


def _try(fn, value):
    try:
        return fn(value)
    except (ValueError, TypeError, OverflowError):
        return _UNPARSABLE


def _parse_score(value):
    """A score as float; ``None`` when missing; :data:`_UNPARSABLE` when it does not parse."""
    if value is None or _isnan(value):
        return None
    value = str(value).translate(_DIGITS).strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return _UNPARSABLE


def _map_distinct(fn, values: np.ndarray) -> np.ndarray:
    """``fn`` (pure) of each value, as an object array, computed once per distinct value.

    All-``str`` columns (CSV, JSON) are factorised; anything else is memoised by type and
    value (``1``, ``1.0`` and ``True`` are equal in Python but not to these parsers), and
    unhashable values are computed one by one.
    """
    out = np.empty(len(values), dtype=object)
    if not len(values):
        return out
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        codes, uniques = pd.factorize(values)
        mapped = np.empty(len(uniques), dtype=object)
        mapped[:] = [fn(v) for v in uniques]
        return mapped[codes]
    cache: dict = {}
    for i, v in enumerate(values):
        try:
            key = (v.__class__, v)
            hit = cache[key] if key in cache else cache.setdefault(key, fn(v))
        except TypeError:
            hit = fn(v)
        out[i] = hit
    return out


def _format_id(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _opt(value) -> str | None:
    if value is None or _isnan(value):
        return None
    value = str(value).strip()
    if not value or _SUSPECT.search(value):
        return None
    return value


def _looks_binary(text: str) -> bool:
    """NUL bytes anywhere, or more than 5% control characters, mean this is not text."""
    if "\x00" in text:
        return True
    head = text[:4096]
    controls = len(_CONTROL.findall(head))
    return controls > 0 and controls / max(1, len(head)) > 0.05


def _preview(text: str | None, limit: int = 80) -> str:
    """The first ``limit`` characters, safe to write anywhere (no controls, no lone surrogates)."""
    if text is None:
        return ""
    cleaned = _CONTROL.sub("?", text[:limit]).replace("\r", " ").replace("\n", " ")
    return cleaned.encode("utf-8", errors="replace").decode("utf-8")
