"""The ``complaints`` command: a thin shell over the Python API.

Exit codes (see docs/operations.md): 0 ok; 1 run failed or refused (another run holds the
lock); 2 bad usage, config or unusable input; 3 completed, but more records were quarantined
than ``run.max_quarantine_share`` allows.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import DEFAULT_SAMPLE, Config, ConfigError, load_config, validate

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Mine Persian and Arabic customer feedback for complaints, themes and patterns.",
)
log = logging.getLogger("pipeline")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Log to stderr at ``level``, as text or as one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = level.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        _fail(f"--log-level must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    root.setLevel(level)
    logging.captureWarnings(True)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _parse_day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    from pipeline.ingest import parse_date

    try:
        return parse_date(value)
    except (ValueError, TypeError, OverflowError):
        _fail(f"{flag}: cannot parse date {value!r} (use YYYY-MM-DD or a Jalali date)")


#: CLI flag name -> dotted path of the config field it overrides (every run option has one).
FLAG_TO_CONFIG = {
    "input": "run.input",
    "out": "run.out",
    "text_column": "ingest.columns.text",
    "id_column": "ingest.columns.id",
    "date_column": "ingest.columns.created_at",
    "channel_column": "ingest.columns.channel",
    "product_column": "ingest.columns.product",
    "region_column": "ingest.columns.region",
    "rating_column": "ingest.columns.rating",
    "nps_column": "ingest.columns.nps",
    "csat_column": "ingest.columns.csat",
    "encoding": "ingest.encoding",
    "chunk_size": "ingest.chunk_size",
    "max_text_chars": "ingest.max_text_chars",
    "sql_table": "ingest.sql_table",
    "sql_query": "ingest.sql_query",
    "store": "run.store",
    "model": "run.model_dir",
    "taxonomy": "run.taxonomy",
    "engine": "run.engine",
    "scheduler": "run.scheduler",
    "workers": "run.workers",
    "language": "report.language",
    "full_refresh": "run.full_refresh",
    "since": "run.since",
    "until": "run.until",
    "night": "run.night",
    "dry_run": "run.dry_run",
    "quarantine_format": "run.quarantine_format",
    "max_quarantine_share": "run.max_quarantine_share",
    "retention_days": "run.retention_days",
    "progress": "run.progress",
    "log_level": "run.log_level",
    "log_json": "run.log_json",
}


def _override(cfg, path: str, value):
    head, _, rest = path.partition(".")
    if not rest:
        return replace(cfg, **{head: value})
    return replace(cfg, **{head: _override(getattr(cfg, head), rest, value)})


def _build_config(config_path: Path | None, **flags) -> Config:
    """Load the TOML config (or defaults) and apply the flags that were given (not None)."""
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    for name, value in flags.items():
        if value is None:
            continue
        path = FLAG_TO_CONFIG[name]
        if isinstance(value, Path) and path in {"run.input", "ingest.encoding"}:
            value = str(value)
        cfg = _override(cfg, path, value)
    try:
        validate(cfg)
    except ConfigError as exc:
        _fail(str(exc))
    return cfg


@app.command()
def run(
    input: Annotated[str | None, typer.Option("--input", "-i", help="File (csv/tsv/jsonl[.gz], parquet, xlsx) or postgresql:// URL [config: run.input]")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output root; each run writes OUT/<run-id>/ [run.out, default: out]")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file; flags override its values")] = None,
    text_column: Annotated[str | None, typer.Option(help="Text column (default: text) [ingest.columns.text]")] = None,
    id_column: Annotated[str | None, typer.Option(help="Id column (default: id) [ingest.columns.id]")] = None,
    date_column: Annotated[str | None, typer.Option(help="Date column, Gregorian or Jalali (default: created_at)")] = None,
    channel_column: Annotated[str | None, typer.Option(help="Channel column (default: channel)")] = None,
    product_column: Annotated[str | None, typer.Option(help="Product column (default: product)")] = None,
    region_column: Annotated[str | None, typer.Option(help="Region column (default: region)")] = None,
    rating_column: Annotated[str | None, typer.Option(help="Rating column (default: rating)")] = None,
    nps_column: Annotated[str | None, typer.Option(help="NPS column (default: nps)")] = None,
    csat_column: Annotated[str | None, typer.Option(help="CSAT column (default: csat)")] = None,
    encoding: Annotated[str | None, typer.Option(help="auto (detect and log), utf-8, utf-8-sig, utf-16, cp1256 ...")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Rows per chunk (memory bound) [ingest.chunk_size]")] = None,
    max_text_chars: Annotated[int | None, typer.Option(help="Longer texts are quarantined [ingest.max_text_chars]")] = None,
    sql_table: Annotated[str | None, typer.Option(help="Table to read from a SQL source")] = None,
    sql_query: Annotated[str | None, typer.Option(help="SELECT for a SQL source; may use :watermark, :since, :until")] = None,
    store: Annotated[Path | None, typer.Option(help="DuckDB run-history file (default: OUT/history.duckdb)")] = None,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: models/default)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy TOML for display names")] = None,
    engine: Annotated[str | None, typer.Option(help="local or dask")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (0: one per core)")] = None,
    language: Annotated[str | None, typer.Option(help="Report language: fa or ar")] = None,
    full_refresh: Annotated[bool | None, typer.Option("--full-refresh/--no-full-refresh", help="Reprocess records already in the history (replacing them)")] = None,
    since: Annotated[str | None, typer.Option(help="Only records created on or after this date (backfill)")] = None,
    until: Annotated[str | None, typer.Option(help="Only records created before this date")] = None,
    night: Annotated[str | None, typer.Option(help="The night this run belongs to (default: today); part of the run id")] = None,
    dry_run: Annotated[bool | None, typer.Option("--dry-run/--no-dry-run", help="Validate input and config; write nothing")] = None,
    quarantine_format: Annotated[str | None, typer.Option(help="csv or parquet")] = None,
    max_quarantine_share: Annotated[float | None, typer.Option(help="Exit 3 above this share of quarantined rows (default 0.05)")] = None,
    retention_days: Annotated[int | None, typer.Option(help="Keep per-record history this many days (0: all)")] = None,
    progress: Annotated[str | None, typer.Option(help="Progress bar: auto (terminals only), always, never")] = None,
    log_level: Annotated[str | None, typer.Option(help="DEBUG, INFO, WARNING, ERROR")] = None,
    log_json: Annotated[bool | None, typer.Option("--log-json/--no-log-json", help="Log as JSON lines")] = None,
) -> None:
    """Run the nightly job over INPUT and write a report into OUT/<run-id>/.

    Exit codes: 0 ok; 1 run failed (or another run holds the lock); 2 bad usage, config or
    input; 3 completed, but more rows were quarantined than run.max_quarantine_share allows.
    """
    setup_logging(log_level or "INFO", bool(log_json))
    flags = {k: v for k, v in locals().items() if k in FLAG_TO_CONFIG}
    cfg = _build_config(config, **flags)
    setup_logging(cfg.run.log_level, cfg.run.log_json)
    rc = cfg.run
    if not rc.input:
        _fail("no input: pass --input FILE|URL or set run.input in the config")
    if store is None and (config is None or _store_unset(config)):
        cfg = _override(cfg, "run.store", rc.out / "history.duckdb")

    from pipeline.ingest import InputError
    from pipeline.locking import LockHeld
    from pipeline.model_io import ModelIntegrityError
    from pipeline.run import EXIT_BAD_INPUT, EXIT_FAILED, RunFailed, run_pipeline
    from pipeline.store import StoreError

    try:
        result = run_pipeline(
            rc.input,
            rc.out,
            cfg,
            full_refresh=rc.full_refresh,
            since=_parse_day(rc.since, "--since"),
            until=_parse_day(rc.until, "--until"),
            night=_parse_day(rc.night, "--night"),
            dry_run=rc.dry_run,
        )
    except (InputError, ConfigError, ModelIntegrityError) as exc:
        log.error("%s", exc)
        _fail(str(exc), EXIT_BAD_INPUT)
    except (LockHeld, RunFailed, StoreError) as exc:
        log.error("%s", exc)
        _fail(str(exc), EXIT_FAILED)
    except Exception as exc:
        log.exception("run failed")
        _fail(f"run failed: {exc.__class__.__name__}: {exc}", EXIT_FAILED)
    _report_result(result, rc.log_json)
    raise typer.Exit(result.exit_code)


def _store_unset(config_path: Path) -> bool:
    """Whether the config file leaves run.store at its default (then it goes under OUT)."""
    import tomllib

    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return True
    return "store" not in data.get("run", {})


def _report_result(result, as_json: bool) -> None:
    rec = result.summary["records"]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "run_id": result.run_id,
                    "status": result.status,
                    "exit_code": result.exit_code,
                    "out_dir": str(result.out_dir) if result.out_dir else None,
                    "records": rec,
                    "quarantine_reasons": result.summary.get("quarantine_reasons", {}),
                    "messages": result.messages,
                },
                ensure_ascii=False,
                sort_keys=True,
            )
        )
        return
    for message in result.messages:
        typer.echo(message, err=True)
    where = f" -> {result.out_dir}" if result.out_dir else ""
    typer.echo(
        f"run {result.run_id} [{result.status}]: read {rec['read']}, processed {rec['processed']}, "
        f"quarantined {rec['quarantined']}, already seen {rec['already_seen']}, "
        f"out of window {rec['out_of_window']}{where}"
    )
    if result.exit_code == 3:
        share = result.summary.get("quarantine_share", 0)
        limit = result.summary.get("quarantine_threshold")
        typer.echo(
            f"warning: {share:.1%} of rows quarantined (limit {limit:.1%}): see the quarantine file",
            err=True,
        )


@app.command()
def normalize(
    lang: Annotated[str, typer.Option(help="auto, fa or ar")] = "auto",
    with_lang: Annotated[bool, typer.Option("--with-lang", help="Prefix each line with <lang><TAB>")] = False,
    no_mask: Annotated[bool, typer.Option("--no-mask", help="Do not mask PII")] = False,
) -> None:
    """Normalise text lines from stdin to stdout, one output line per input line."""
    from pipeline.normalize import normalize_record

    if lang not in {"auto", "fa", "ar"}:
        _fail("--lang must be auto, fa or ar")
    mask = frozenset() if no_mask else None
    stdin = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    lines = stdin.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out = sys.stdout
    for line in lines:
        rec = normalize_record(line.rstrip("\r"), lang=lang, mask=mask)
        text = rec.text.replace("\n", " ")
        out.write(f"{rec.lang}\t{text}\n" if with_lang else f"{text}\n")
    out.flush()


@app.command()
def train(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled file(s); repeat the flag; FILE@W weights its rows by W")],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write")],
    extra: Annotated[list[Path] | None, typer.Option("--extra", help="Extra labelled file(s), e.g. an analyst's review export")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy TOML")] = None,
    seed: Annotated[int, typer.Option(help="Random seed")] = 0,
    cv_folds: Annotated[int, typer.Option(help="Cross-validation folds")] = 5,
) -> None:
    """Train a model from labelled files and write it with its JSON sidecar."""
    setup_logging()
    from pipeline.labelled import LabelledDataError
    from pipeline.train import train_model

    try:
        sidecar = train_model(list(data), out, extra=list(extra or []), taxonomy_path=taxonomy, seed=seed, cv_folds=cv_folds)
    except (LabelledDataError, ConfigError) as exc:
        _fail(str(exc))
    typer.echo(json.dumps(sidecar.get("metrics", {}), ensure_ascii=False, indent=2, sort_keys=True))


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Labelled file (JSONL or CSV contract)")],
    model: Annotated[Path | None, typer.Option(help="Model directory (default: models/default)")] = None,
) -> None:
    """Evaluate a model on a labelled file; prints one JSON object."""
    from pipeline.evaluate import evaluate as evaluate_model
    from pipeline.labelled import LabelledDataError, read_labelled
    from pipeline.model_io import load_model

    try:
        frame = read_labelled(data)
    except LabelledDataError as exc:
        _fail(str(exc))
    report = evaluate_model(load_model(model), frame)
    typer.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))


@app.command("review-export")
def review_export(
    input: Annotated[Path, typer.Option("--input", help="Feedback file to pick from")],
    n: Annotated[int, typer.Option("--n", help="How many records to export")] = 200,
    out: Annotated[Path, typer.Option("--out", help="CSV to write")] = Path("review.csv"),
    model: Annotated[Path | None, typer.Option(help="Model directory")] = None,
    text_column: Annotated[str | None, typer.Option(help="Name of the text column")] = None,
) -> None:
    """Export the records the model is least sure about, for an analyst to label."""
    from pipeline.active import review_export as export
    from pipeline.ingest import InputError, iter_records
    from pipeline.labelled import write_labelled_csv
    from pipeline.model_io import load_model

    cfg = _build_config(None, text_column=text_column)
    texts, ids = [], []
    try:
        for chunk in iter_records(str(input), cfg.ingest):
            texts.extend(chunk.records["text"].tolist())
            ids.extend(chunk.records["record_id"].tolist())
    except InputError as exc:
        _fail(str(exc))
    frame = export(load_model(model), texts, ids, n)
    write_labelled_csv(frame, out)
    typer.echo(f"wrote {len(frame)} records to {out}")


@app.command()
def history(
    store: Annotated[Path | None, typer.Option(help="DuckDB run-history file (default: out/history.duckdb)")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config file (for run.store / run.out)")] = None,
    limit: Annotated[int, typer.Option(help="How many runs")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per run")] = False,
) -> None:
    """List the runs recorded in the history store, newest first."""
    from pipeline.store import HistoryStore, StoreError

    if store is None:
        cfg = _build_config(config)
        store = cfg.run.store if config is not None and not _store_unset(config) else cfg.run.out / "history.duckdb"
    if not store.exists():
        _fail(f"no history store at {store}")
    try:
        with HistoryStore(store, read_only=True) as hs:
            frame = hs.runs(limit)
    except StoreError as exc:
        _fail(f"{exc} (is a run in progress? try again when it finishes)", 1)
    except Exception as exc:  # noqa: BLE001 - a store with no runs table yet
        _fail(f"cannot read the history store {store}: {exc}", 1)
    if as_json:
        for row in frame.to_dict("records"):
            typer.echo(json.dumps(row, default=str, ensure_ascii=False, sort_keys=True))
        return
    if frame.empty:
        typer.echo("no runs")
        return
    typer.echo(frame.to_string(index=False))


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Output root")] = Path("out"),
    input: Annotated[Path, typer.Option(help="Sample feed")] = DEFAULT_SAMPLE,
) -> None:
    """Replay the shipped sample night by night (weekly) into a fresh history and report."""
    setup_logging("WARNING")
    from pipeline.run import run_backfill

    store = out / "history.duckdb"
    if store.exists():
        store.unlink()
    cfg = _build_config(None, store=store)
    results = run_backfill(str(input), out, cfg, period="W")
    last = results[-1]
    for r in results:
        rec = r.summary["records"]
        typer.echo(f"{r.run_id}: processed {rec['processed']}, quarantined {rec['quarantined']}")
    typer.echo(f"report: {last.out_dir / 'report.html'}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
