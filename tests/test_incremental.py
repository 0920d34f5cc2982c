"""Incremental, idempotent runs: keys, watermark, re-runs, --full-refresh, --since, retention.

These call :func:`pipeline.run.run_pipeline` in-process with the real normaliser, model and
clustering; only ``write_report`` is replaced by a stub (the report has its own tests), so the
orchestration is what is under test.
"""

from __future__ import annotations

import gzip
from dataclasses import replace
from datetime import date

import pytest

from pipeline.config import Config
from pipeline.ingest import InputError
from pipeline.run import RunFailed, run_pipeline
from pipeline.store import HistoryStore

from ops_fixtures import feedback_rows, write_csv

pytest_plugins = ["ops_model_fixture"]


@pytest.fixture(autouse=True)
def stub_report(monkeypatch):
    def write_report(run_dir, *, summary, clusters, store, config):
        n = store.query("SELECT coalesce(sum(n_records), 0) AS n FROM volume_daily")["n"].iloc[0]
        (run_dir / "report.md").write_text(f"records in history: {n}\n", encoding="utf-8")

    monkeypatch.setattr("pipeline.report.write_report", write_report)


@pytest.fixture
def config(tmp_path, ops_model):
    cfg = Config()
    return replace(cfg, run=replace(cfg.run, store=tmp_path / "out" / "history.duckdb", model_dir=ops_model, workers=1))


def night(config, feed, day, **kwargs):
    return run_pipeline(str(feed), config.run.store.parent, config, night=date.fromisoformat(day), **kwargs)


def store_counts(config) -> dict:
    with HistoryStore(config.run.store, read_only=True) as hs:
        def q(sql):
            return int(hs.query(sql).iloc[0, 0])

        return {
            "runs": q("SELECT count(*) FROM runs WHERE status = 'complete'"),
            "failed": q("SELECT count(*) FROM runs WHERE status = 'failed'"),
            "records": q("SELECT count(*) FROM records"),
            "volume": q("SELECT coalesce(sum(n_records), 0) FROM volume_daily"),
            "complaints": q("SELECT coalesce(sum(n_complaints), 0) FROM volume_daily"),
            "record_complaints": q("SELECT count(*) FILTER (WHERE is_complaint) FROM records"),
            "themes": q("SELECT coalesce(sum(n_complaints), 0) FROM theme_daily"),
            "record_themes": q("SELECT coalesce(sum(len(themes)) FILTER (WHERE is_complaint), 0) FROM records"),
            "clusters": q("SELECT coalesce(sum(n_complaints), 0) FROM cluster_daily"),
            "record_clusters": q("SELECT count(*) FILTER (WHERE is_complaint AND cluster_id >= 0) FROM records"),
        }


def assert_counts_consistent(c: dict) -> None:
    """The daily-count deltas agree with the records: nothing counted twice or lost."""
    assert c["volume"] == c["records"]
    assert c["complaints"] == c["record_complaints"]
    assert c["themes"] == c["record_themes"]
    assert c["clusters"] == c["record_clusters"]


def test_rerunning_the_same_night_changes_nothing(tmp_path, config):
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(40))
    first = night(config, feed, "2026-08-01")
    before = store_counts(config)
    again = night(config, feed, "2026-08-01")
    assert again.status == "already_complete" and again.run_id == first.run_id
    assert again.out_dir == first.out_dir and again.exit_code == first.exit_code
    assert store_counts(config) == before == {**before, "runs": 1, "records": 40}
    assert_counts_consistent(before)


def test_next_night_processes_only_new_records(tmp_path, config):
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(30, day="2026-08-01"))
    night(config, feed, "2026-08-01")
    # The export grows: yesterday's rows again plus 20 new ones (two of them late arrivals).
    rows = feedback_rows(30, day="2026-08-01") + feedback_rows(18, start=30, day="2026-08-02")
    rows += feedback_rows(2, start=48, day="2026-07-30")
    write_csv(feed, rows)
    second = night(config, feed, "2026-08-02")
    rec = second.summary["records"]
    assert (rec["read"], rec["processed"], rec["already_seen"], rec["quarantined"]) == (50, 20, 30, 0)
    assert rec["late_arrivals"] == 2
    assert second.summary["watermark"] == {"before": "2026-08-01", "after": "2026-08-02"}
    counts = store_counts(config)
    assert counts["runs"] == 2 and counts["records"] == 50
    assert_counts_consistent(counts)
    with HistoryStore(config.run.store, read_only=True) as hs:
        assert hs.last_watermark() == date(2026, 8, 2)


def test_full_refresh_replaces_without_double_counting(tmp_path, config):
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(30))
    night(config, feed, "2026-08-01")
    refreshed = night(config, feed, "2026-08-01", full_refresh=True)
    assert refreshed.status == "complete"  # a different run id: the flag is part of it
    rec = refreshed.summary["records"]
    assert (rec["processed"], rec["already_seen"]) == (30, 0)
    counts = store_counts(config)
    assert counts["records"] == 30 and counts["runs"] == 2
    assert_counts_consistent(counts)


def test_since_and_until_select_a_backfill_window(tmp_path, config):
    rows = (feedback_rows(10, day="2026-07-01") + feedback_rows(10, start=10, day="2026-07-15")
            + feedback_rows(10, start=20, day="2026-08-01"))
    feed = write_csv(tmp_path / "feed.csv", rows)
    result = night(config, feed, "2026-08-02", since=date(2026, 7, 10), until=date(2026, 8, 1))
    rec = result.summary["records"]
    assert (rec["read"], rec["processed"], rec["out_of_window"]) == (30, 10, 20)
    assert result.summary["mode"] == {"full_refresh": False, "since": "2026-07-10", "until": "2026-08-01"}
    # The rest later, incrementally: the window's records are already seen.
    rest = night(config, feed, "2026-08-03")
    assert rest.summary["records"]["processed"] == 20 and rest.summary["records"]["already_seen"] == 10
    assert_counts_consistent(store_counts(config))


def test_records_without_id_are_deduplicated_by_content_across_runs(tmp_path, config):
    rows = [{k: v for k, v in r.items() if k != "id"} for r in feedback_rows(12)]
    feed = write_csv(tmp_path / "feed.csv", rows)
    night(config, feed, "2026-08-01")
    write_csv(feed, rows + [{k: v for k, v in r.items() if k != "id"} for r in feedback_rows(3, start=12)])
    second = night(config, feed, "2026-08-02")
    assert second.summary["records"]["processed"] == 3 and second.summary["records"]["already_seen"] == 12


def test_retention_drops_old_records_but_keeps_daily_counts(tmp_path, config):
    cfg = replace(config, run=replace(config.run, retention_days=30))
    rows = feedback_rows(10, day="2026-06-01") + feedback_rows(10, start=10, day="2026-08-01")
    feed = write_csv(tmp_path / "feed.csv", rows)
    night(cfg, feed, "2026-08-02")
    counts = store_counts(cfg)
    assert counts["records"] == 10  # June records are past retention
    assert counts["volume"] == 20  # the daily counts keep them


def test_a_run_that_does_not_balance_commits_nothing(tmp_path, config, monkeypatch):
    import pipeline.run as run_module

    original = run_module._select_new

    def lossy(chunk, *args):
        return original(chunk, *args).iloc[1:]  # silently drops a record: must be caught

    monkeypatch.setattr(run_module, "_select_new", lossy)
    feed = write_csv(tmp_path / "feed.csv", feedback_rows(10))
    with pytest.raises(RunFailed, match="do not balance"):
        night(config, feed, "2026-08-01")
    assert store_counts(config)["runs"] == 0 and store_counts(config)["failed"] == 1
    out = config.run.store.parent
    assert sorted(p.name for p in out.iterdir()) == ["history.duckdb"]  # no staging, no lock
    with HistoryStore(config.run.store, read_only=True) as hs:
        assert hs.runs()["status"].tolist() == ["failed"]
        assert "do not balance" in hs.query("SELECT summary_json FROM runs").iloc[0, 0]
    # The same night succeeds once the cause is gone, replacing the failure.
    monkeypatch.setattr(run_module, "_select_new", original)
    assert night(config, feed, "2026-08-01").status == "complete"
    assert store_counts(config)["failed"] == 0 and store_counts(config)["runs"] == 1


def test_input_failing_mid_stream_commits_nothing(tmp_path, config):
    data = write_csv(tmp_path / "src.csv", feedback_rows(3000)).read_bytes()
    feed = tmp_path / "feed.csv.gz"
    feed.write_bytes(gzip.compress(data)[:-2000])
    cfg = replace(config, ingest=replace(config.ingest, chunk_size=500))
    with pytest.raises(InputError, match="truncated"):
        night(cfg, feed, "2026-08-01")
    assert store_counts(cfg)["runs"] == 0 and store_counts(cfg)["failed"] == 1
    assert [p.name for p in config.run.store.parent.iterdir()] == ["history.duckdb"]
