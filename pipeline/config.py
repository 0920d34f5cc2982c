"""All settings in one typed place.

A run is configured by a TOML file (``complaints run --config FILE``) whose sections mirror the
dataclasses below, and CLI flags override single values. Nothing here touches disk except
:func:`load_config`, and nothing happens at import time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

#: Repository root when the package is used from a checkout (editable install).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TAXONOMY = PROJECT_ROOT / "data" / "taxonomy.toml"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "default"
DEFAULT_SAMPLE = PROJECT_ROOT / "data" / "sample" / "feedback.csv"


class ConfigError(ValueError):
    """Raised for an invalid configuration file or option, with the offending key in the message."""


@dataclass(frozen=True)
class ColumnMap:
    """Names of the input columns; ``None`` means the column is absent."""

    text: str = "text"
    id: str | None = "id"
    created_at: str | None = "created_at"
    channel: str | None = "channel"
    product: str | None = "product"
    region: str | None = "region"
    rating: str | None = "rating"
    nps: str | None = "nps"
    csat: str | None = "csat"


@dataclass(frozen=True)
class IngestConfig:
    columns: ColumnMap = field(default_factory=ColumnMap)
    #: "auto" detects and logs; or utf-8, utf-8-sig, utf-16, cp1256 ...
    encoding: str = "auto"
    chunk_size: int = 50_000
    #: Texts longer than this many characters are quarantined.
    max_text_chars: int = 20_000
    #: A quoted CSV field may span at most this many lines; beyond, its first line is
    #: quarantined as an unbalanced quote and parsing resumes on the next line.
    max_record_lines: int = 1000
    #: For SQL sources: a table name or a SELECT query. A query may use the bind parameters
    #: ``:watermark`` (last committed created_at minus ``lookback_days``, or --since),
    #: ``:since`` and ``:until`` to read only new rows.
    sql_table: str | None = None
    sql_query: str | None = None
    #: Days before the watermark that a SQL ``:watermark`` query still re-reads (late arrivals).
    lookback_days: int = 7


@dataclass(frozen=True)
class NormalizeConfig:
    lang: str = "auto"
    #: PII kinds to mask (all by default); remove a kind to keep it in the text.
    mask_pii: tuple[str, ...] = (
        "email",
        "url",
        "iban",
        "card",
        "national_id",
        "phone",
        "order_id",
    )


@dataclass(frozen=True)
class ClusterConfig:
    #: Fit on at most this many complaints; the rest are assigned in chunks.
    fit_sample: int = 20_000
    min_k: int = 2
    max_k: int = 12
    svd_components: int = 64
    #: Cosine similarity of centroids above which tonight's cluster keeps a stored id.
    match_threshold: float = 0.5
    #: Points farther than this cosine distance from every centroid are "unclustered"...
    outlier_distance: float = 0.9
    #: ...but never more than this share of a group's fit sample (see docs/clustering.md).
    max_unclustered_share: float = 0.05
    #: A cluster needs this many fit-sample members; smaller ones are dissolved into neighbours.
    min_cluster_size: int = 8
    #: Themes with fewer sampled complaints than this are pooled into one mixed group.
    min_group_size: int = 40
    #: Keep last night's partition (warm-started) unless a fresh k beats its silhouette by more.
    k_tolerance: float = 0.02
    #: Vocabulary cap of the clustering features (unigrams + bigrams of content tokens).
    max_features: int = 30_000
    #: Emerging test: this many earlier runs form the trailing window...
    trailing_runs: int = 4
    #: ...and a share is "up" when z >= emerging_z, share >= emerging_ratio x trailing share,
    #: and the cluster has at least emerging_min_size records tonight.
    emerging_z: float = 3.0
    emerging_ratio: float = 1.5
    emerging_min_size: int = 5
    #: A new cluster is flagged only if no stored cluster reaches this similarity (else a re-cut).
    novelty_threshold: float = 0.3
    n_keywords: int = 8
    n_examples: int = 5
    seed: int = 0


@dataclass(frozen=True)
class ReportConfig:
    #: Report language: "fa" or "ar".
    language: str = "fa"
    examples_per_theme: int = 5
    #: Spike test: one-sided Poisson test of this period's count against the trailing rate.
    spike_p_value: float = 0.01
    spike_min_count: int = 8
    trailing_periods: int = 4
    period: str = "W"


@dataclass(frozen=True)
class RunConfig:
    #: Input file or SQL URL (``--input``); the CLI flag wins over the config.
    input: str | None = None
    #: Output root; each run writes OUT/<run-id>/ (``--out``).
    out: Path = Path("out")
    #: DuckDB history; default OUT/history.duckdb when the CLI runs.
    store: Path = Path("history.duckdb")
    model_dir: Path = DEFAULT_MODEL_DIR
    taxonomy: Path | None = None
    engine: str = "local"
    scheduler: str | None = None
    workers: int = 0
    #: Exit code 3 when more than this share of records is quarantined.
    max_quarantine_share: float = 0.05
    #: Keep per-record history this many days (0 keeps everything).
    retention_days: int = 0
    log_level: str = "INFO"
    log_json: bool = False
    #: Progress bar: "auto" (only when stderr is a terminal), "always" or "never".
    progress: str = "auto"
    #: Quarantined rows are written as quarantine.csv or quarantine.parquet.
    quarantine_format: str = "csv"
    #: The night a run belongs to (YYYY-MM-DD; default: today). Part of the run id, so a
    #: re-run of the same night over the same input is recognised; Airflow passes {{ ds }}.
    night: str | None = None
    full_refresh: bool = False
    #: Only records created on or after ``since`` and before ``until`` (YYYY-MM-DD or Jalali).
    since: str | None = None
    until: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class Config:
    ingest: IngestConfig = field(default_factory=IngestConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    run: RunConfig = field(default_factory=RunConfig)


def _coerce(cls: type, data: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [{where}]: {', '.join(unknown)}; known keys: {', '.join(known)}"
        )
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        current = getattr(defaults, name)
        key = f"{where}.{name}"
        if is_dataclass(current):
            kwargs[name] = _coerce(type(current), value, key)
        elif isinstance(current, Path) or name in {"taxonomy"}:
            if not isinstance(value, str):
                raise ConfigError(f"{key} must be a path string, got {value!r}")
            kwargs[name] = Path(value)
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{key} must be true or false, got {value!r}")
            kwargs[name] = value
        elif isinstance(current, int) and not isinstance(current, bool):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"{key} must be an integer, got {value!r}")
            kwargs[name] = value
        elif isinstance(current, float):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ConfigError(f"{key} must be a number, got {value!r}")
            kwargs[name] = float(value)
        elif isinstance(current, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{key} must be a list of strings, got {value!r}")
            kwargs[name] = tuple(value)
        else:  # str or optional str
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{key} must be a string, got {value!r}")
            kwargs[name] = value
    return replace(defaults, **kwargs)


def read_toml(path: str | Path, what: str) -> dict:
    """Parse a TOML file, raising :class:`ConfigError` that names ``what`` and the path."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc


def load_config(path: str | Path | None = None) -> Config:
    """Read a TOML config file (or return the defaults when ``path`` is None)."""
    if path is None:
        return Config()
    data = read_toml(path, "config")
    config = _coerce(Config, data, "config")
    validate(config)
    return config


def validate(config: Config) -> None:
    """Check value ranges that types alone do not catch."""
    if config.report.language not in {"fa", "ar"}:
        raise ConfigError(f"report.language must be 'fa' or 'ar', got {config.report.language!r}")
    if config.run.engine not in {"local", "dask"}:
        raise ConfigError(f"run.engine must be 'local' or 'dask', got {config.run.engine!r}")
    if config.ingest.chunk_size < 1:
        raise ConfigError("ingest.chunk_size must be >= 1")
    if not 0 <= config.run.max_quarantine_share <= 1:
        raise ConfigError("run.max_quarantine_share must be between 0 and 1")
    if not 0 < config.cluster.match_threshold <= 1:
        raise ConfigError("cluster.match_threshold must be in (0, 1]")
    run = config.run
    if run.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"run.log_level must be DEBUG, INFO, WARNING or ERROR, got {run.log_level!r}")
    if run.progress not in {"auto", "always", "never"}:
        raise ConfigError(f"run.progress must be auto, always or never, got {run.progress!r}")
    if run.quarantine_format not in {"csv", "parquet"}:
        raise ConfigError(f"run.quarantine_format must be csv or parquet, got {run.quarantine_format!r}")
    if run.retention_days < 0:
        raise ConfigError("run.retention_days must be >= 0 (0 keeps everything)")
    if run.workers < 0:
        raise ConfigError("run.workers must be >= 0 (0 means one per core)")
    if config.ingest.max_text_chars < 1 or config.ingest.max_record_lines < 1:
        raise ConfigError("ingest.max_text_chars and ingest.max_record_lines must be >= 1")
    if config.ingest.lookback_days < 0:
        raise ConfigError("ingest.lookback_days must be >= 0")
    if config.ingest.sql_table and config.ingest.sql_query:
        raise ConfigError("give ingest.sql_table or ingest.sql_query, not both")
    for name in ("night", "since", "until"):
        value = getattr(run, name)
        if value is not None:
            from pipeline.ingest import parse_date

            try:
                parse_date(value)
            except (ValueError, TypeError, OverflowError):
                raise ConfigError(
                    f"run.{name}: cannot parse date {value!r} (use YYYY-MM-DD or a Jalali date)"
                ) from None
    if config.normalize.lang not in {"auto", "fa", "ar"}:
        raise ConfigError(f"normalize.lang must be auto, fa or ar, got {config.normalize.lang!r}")
