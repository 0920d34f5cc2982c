"""Operator UX: config file covering every flag, dry run, exit codes, logs, history, examples."""

from __future__ import annotations

import json
import py_compile
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import FLAG_TO_CONFIG, app
from pipeline.config import Config, load_config

from ops_fixtures import ROOT, complaints, feedback_rows, write_csv

pytest_plugins = ["ops_model_fixture"]


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _config_paths(obj, prefix="") -> set[str]:
    out = set()
    for f in fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        out |= _config_paths(value, path + ".") if is_dataclass(value) else {path}
    return out


def test_every_run_flag_has_a_config_key():
    import typer.main

    command = typer.main.get_command(app).commands["run"]
    flags = {p.name for p in command.params if p.param_type_name == "option"} - {"config"}
    assert flags == set(FLAG_TO_CONFIG)
    assert set(FLAG_TO_CONFIG.values()) <= _config_paths(Config())


def test_example_config_sets_every_flag_and_loads():
    cfg = load_config(ROOT / "examples" / "config.toml")
    text = (ROOT / "examples" / "config.toml").read_text(encoding="utf-8")
    for flag in FLAG_TO_CONFIG:
        assert "--" + flag.replace("_", "-") in text, flag
    assert cfg.run.log_json is True and cfg.ingest.columns.text == "text"


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[run]\nretention_dayz = 3\n", "unknown key(s) in [config.run]: retention_dayz"),
        ("[run]\nworkers = 'two'\n", "config.run.workers must be an integer"),
        ("[run]\nsince = 'last tuesday'\n", "run.since: cannot parse date"),
        ("[run]\nprogress = 'sometimes'\n", "run.progress must be auto, always or never"),
        ("[ingest]\nsql_table = 'a'\nsql_query = 'SELECT 1'\n", "not both"),
        ("[run\n", "invalid TOML"),
    ],
)
def test_invalid_config_is_exit_2_naming_the_key(tmp_path, toml, words):
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    result = cli("run", "--config", path, "--input", "x.csv")
    assert result.exit_code == 2
    assert words in result.stderr


def test_flags_override_the_config_file(tmp_path, ops_model):
    feed = write_csv(tmp_path / "feed.csv", [{**r, "msg": r["text"]} for r in feedback_rows(5)])
    path = tmp_path / "config.toml"
    path.write_text(
        f'[run]\ninput = "{feed}"\nout = "{tmp_path / "out"}"\nmodel_dir = "{ops_model}"\n'
        '[ingest.columns]\ntext = "no_such_column"\n',
        encoding="utf-8",
    )
    assert cli("run", "--config", path, "--dry-run").exit_code == 2  # the config's column
    result = cli("run", "--config", path, "--dry-run", "--text-column", "msg", "--log-json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["records"]["read"] == 5


def test_dry_run_validates_and_writes_nothing(tmp_path, ops_model):
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(12))
    out = tmp_path / "out"
    result = cli("run", "--input", feed, "--out", out, "--model", ops_model, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "dry run" in result.stderr and "read 12" in result.stdout
    assert not out.exists()
    missing = cli("run", "--input", feed, "--out", out, "--model", tmp_path / "no_model", "--dry-run")
    assert missing.exit_code == 2 and "model sidecar not found" in missing.stderr


def test_usage_errors_are_exit_2():
    assert cli("run").exit_code == 2  # no input
    assert cli("run", "--input", "x.csv", "--since", "someday").exit_code == 2
    assert cli("run", "--input", "x.csv", "--log-level", "LOUD").exit_code == 2
    assert cli("run", "--input", "feed.txt").exit_code == 2  # unknown format
    assert cli("run", "--no-such-flag").exit_code == 2


def test_json_logs_and_no_progress_bar_off_a_terminal(tmp_path, ops_model):
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(6))
    proc = complaints("run", "--input", feed, "--out", tmp_path / "out", "--model", ops_model,
                      "--dry-run", "--log-json", "--log-level", "DEBUG")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])
    assert any("encoding utf-8" in line["msg"] for line in lines)
    assert "rows/s" not in proc.stderr and "\r" not in proc.stderr  # stderr is a pipe: no tqdm
    result = json.loads(proc.stdout)
    assert result["status"] == "dry_run" and result["exit_code"] == 0


def test_history_lists_runs(tmp_path, ops_model, monkeypatch):
    monkeypatch.setattr("pipeline.report.write_report", lambda run_dir, **_: None)
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(15))
    out = tmp_path / "out"
    run = cli("run", "--input", feed, "--out", out, "--model", ops_model, "--night", "2026-08-01", "--workers", "1")
    assert run.exit_code == 0, run.stderr
    listing = cli("history", "--store", out / "history.duckdb")
    assert listing.exit_code == 0 and "20260801-" in listing.stdout and "complete" in listing.stdout
    rows = [json.loads(line) for line in cli("history", "--store", out / "history.duckdb", "--json").stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["n_read"] == 15 and rows[0]["exit_code"] == 0
    assert cli("history", "--store", tmp_path / "none.duckdb").exit_code == 2


def test_examples_are_well_formed():
    examples = ROOT / "examples"
    py_compile.compile(str(examples / "airflow_dag.py"), doraise=True)
    service = (examples / "complaints.service").read_text(encoding="utf-8")
    assert "ExecStart=" in service and "SuccessExitStatus=3" in service
    assert "OnCalendar=" in (examples / "complaints.timer").read_text(encoding="utf-8")
    cron = [line for line in (examples / "crontab").read_text().splitlines() if line and not line.startswith("#")]
    assert any(len(line.split()) > 6 and "complaints run" in line for line in cron)


def test_operations_doc_lists_the_exit_codes():
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |"):
        assert code in doc


def test_lock_path_is_next_to_the_store(tmp_path):
    from pipeline.run import lock_path

    cfg = Config()
    assert lock_path(cfg, tmp_path) == Path("history.duckdb.lock")
