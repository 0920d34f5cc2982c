"""The ``complaints`` command: a thin shell over the Python API.

Exit codes: 0 ok; 1 run failed; 2 bad usage or unusable input; 3 completed, but more records
were quarantined than ``run.max_quarantine_share`` allows.
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
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _parse_day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    from pipeline.ingest import parse_date

    try:
        return parse_date(value)
    except (ValueError, TypeError):
        _fail(f"{flag}: cannot parse date {value!r} (use YYYY-MM-DD or a Jalali date)")


def _build_config(
    config_path: Path | None,
    *,
    text_column: str | None = None,
    id_column: str | None = None,
    date_column: str | None = None,
    encoding: str | None = None,
    sql_table: str | None = None,
    sql_query: str | None = None,
    store: Path | None = None,
    model: Path | None = None,
    taxonomy: Path | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    language: str | None = None,
    log_level: str | None = None,
    log_json: bool | None = None,
) -> Config:
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    cols = cfg.ingest.columns
    if text_column:
        cols = replace(cols, text=text_column)
    if id_column:
        cols = replace(cols, id=id_column)
    if date_column:
        cols = replace(cols, created_at=date_column)
    ingest = replace(
        cfg.ingest,
        columns=cols,
        encoding=encoding or cfg.ingest.encoding,
        sql_table=sql_table or cfg.ingest.sql_table,
        sql_query=sql_query or cfg.ingest.sql_query,
    )
    run = cfg.run
    run = replace(
        run,
        store=store or run.store,
        model_dir=model or run.model_dir,
        taxonomy=taxonomy or run.taxonomy,
        engine=engine or run.engine,
        scheduler=scheduler or run.scheduler,
        log_level=log_level or run.log_level,
        log_json=run.log_json if log_json is None else log_json,
    )
    report = replace(cfg.report, language=language or cfg.report.language)
    cfg = replace(cfg, ingest=ingest, run=run, report=report)
    try:
        validate(cfg)
    except ConfigError as exc:
        _fail(str(exc))
    return cfg


@app.command()
def run(
    input: Annotated[str, typer.Option("--input", "-i", help="File (csv/tsv/jsonl/parquet/xlsx) or postgresql:// URL")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output root; each run writes OUT/<run-id>/")] = Path("out"),
    config: Annotated[Path | None, typer.Option(help="TOML config file")] = None,
    text_column: Annotated[str | None, typer.Option(help="Name of the text column (default: text)")] = None,
    id_column: Annotated[str | None, typer.Option(help="Name of the id column (default: id)")] = None,
    date_column: Annotated[str | None, typer.Option(help="Name of the date column (default: created_at)")] = None,
    encoding: Annotated[str | None, typer.Option(help="auto, utf-8, utf-8-sig, utf-16, cp1256 ...")] = None,
    sql_table: Annotated[str | None, typer.Option(help="Table to read from a SQL source")] = None,
    sql_query: Annotated[str | None, typer.Option(help="SELECT query for a SQL source")] = None,
    store: Annotated[Path | None, typer.Option(help="DuckDB run-history file")] = None,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: models/default)")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy TOML for display names")] = None,
    engine: Annotated[str | None, typer.Option(help="local or dask")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")] = None,
    language: Annotated[str | None, typer.Option(help="Report language: fa or ar")] = None,
    full_refresh: Annotated[bool, typer.Option("--full-refresh", help="Reprocess records already in the history")] = False,
    since: Annotated[str | None, typer.Option(help="Only records created on or after this date")] = None,
    until: Annotated[str | None, typer.Option(help="Only records created before this date")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate input and config; write nothing")] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING, ERROR")] = "INFO",
    log_json: Annotated[bool, typer.Option("--log-json", help="Log as JSON lines")] = False,
) -> None:
    """Run the nightly job over INPUT and write a report into OUT/<run-id>/."""
    setup_logging(log_level, log_json)
    cfg = _build_config(
        config,
        text_column=text_column,
        id_column=id_column,
        date_column=date_column,
        encoding=encoding,
        sql_table=sql_table,
        sql_query=sql_query,
        store=store or (out / "history.duckdb"),
        model=model,
        taxonomy=taxonomy,
        engine=engine,
        scheduler=scheduler,
        language=language,
        log_level=log_level,
        log_json=log_json,
    )
    from pipeline.ingest import InputError
    from pipeline.run import run_pipeline

    try:
        result = run_pipeline(
            input,
            out,
            cfg,
            full_refresh=full_refresh,
            since=_parse_day(since, "--since"),
            until=_parse_day(until, "--until"),
            dry_run=dry_run,
        )
    except (InputError, ConfigError) as exc:
        _fail(str(exc), 2)
    except Exception as exc:
        log.exception("run failed")
        _fail(f"run failed: {exc.__class__.__name__}: {exc}", 1)
    rec = result.summary["records"]
    typer.echo(
        f"run {result.run_id}: read {rec['read']}, processed {rec['processed']}, "
        f"quarantined {rec['quarantined']}, already seen {rec['already_seen']}"
        + (f" -> {result.out_dir}" if result.out_dir else " (dry run)")
    )
    raise typer.Exit(result.exit_code)


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
    data: Annotated[list[Path], typer.Option("--data", help="Labelled file(s); repeat the flag")],
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
    store: Annotated[Path, typer.Option(help="DuckDB run-history file")] = Path("out/history.duckdb"),
    limit: Annotated[int, typer.Option(help="How many runs")] = 20,
) -> None:
    """List the runs recorded in the history store, newest first."""
    from pipeline.store import HistoryStore

    if not store.exists():
        _fail(f"no history store at {store}")
    with HistoryStore(store) as hs:
        frame = hs.runs(limit)
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
