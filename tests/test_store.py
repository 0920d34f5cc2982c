"""HistoryStore.commit_run: runs streamed from Parquet, counted once, replaced exactly, atomically.

The Parquet files have a run's real schema (``pipeline.run.RESULT_SCHEMA``), extra columns included.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.run import RESULT_SCHEMA
from pipeline.store import HistoryStore


def records(
    keys,
    run_id: str,
    *,
    complaint=lambda i: i % 3 != 0,
    themes=lambda i: ["delivery", "price"][: 1 + i % 2],
    cluster=lambda i: i % 4 - 1,
) -> pd.DataFrame:
    rows = []
    for i in keys:
        is_complaint = complaint(i)
        rows.append(
            {
                "record_key": f"k{i:04d}",
                "record_id": f"id{i}",
                "run_id": run_id,
                "row_number": i,
                "created_at": date(2026, 10, 1 + i % 5),
                "channel": ["app", "web"][i % 2],
                "product": "food",
                "region": None if i % 7 == 0 else "north",
                "score": float(i % 5 + 1),
                "score_kind": "rating",
                "lang": "fa",
                "is_complaint": is_complaint,
                "complaint_proba": 0.8 if is_complaint else 0.2,
                "needs_review": False,
                "themes": themes(i) if is_complaint else [],
                "top_theme": themes(i)[0] if is_complaint else None,
                "latin_script": False,
                "pii_masked": 0,
                "cluster_id": cluster(i) if is_complaint else -1,
                "text_norm": f"متن {i}",
                "display_text": f"متن {i}",
            }
        )
    return pd.DataFrame(rows)


def write(frame: pd.DataFrame, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pandas(
            frame[RESULT_SCHEMA.names], schema=RESULT_SCHEMA, preserve_index=False
        ),
        path,
    )
    return str(path)


def run_row(run_id: str, n: int) -> dict:
    return {
        "run_id": run_id,
        "started_at": pd.Timestamp("2026-11-02 02:00"),
        "n_read": n,
        "n_processed": n,
        "n_quarantined": 0,
    }


def daily(store: HistoryStore) -> dict[str, list]:
    """The three daily views, sorted, as plain rows."""
    return {
        "theme": store.query("SELECT * FROM theme_daily ORDER BY ALL").values.tolist(),
        "cluster": store.query("SELECT * FROM cluster_daily ORDER BY ALL").values.tolist(),
        "volume": store.query("SELECT * FROM volume_daily ORDER BY ALL").values.tolist(),
    }


def recounted(store: HistoryStore) -> dict[str, list]:
    """The daily counts recomputed from scratch from the stored records."""
    return {
        "theme": store.query(
            "SELECT created_at, theme, channel, product, region, count(*) FROM "
            "(SELECT *, unnest(themes) AS theme FROM records WHERE is_complaint) GROUP BY ALL ORDER BY ALL"
        ).values.tolist(),
        "cluster": store.query(
            "SELECT created_at, cluster_id, count(*) FROM records WHERE is_complaint AND cluster_id >= 0 "
            "GROUP BY ALL ORDER BY ALL"
        ).values.tolist(),
        "volume": store.query(
            "SELECT created_at, channel, product, region, count(*), count(*) FILTER (WHERE is_complaint) "
            "FROM records GROUP BY ALL ORDER BY ALL"
        ).values.tolist(),
    }


@pytest.fixture
def store(tmp_path):
    with HistoryStore(tmp_path / "history.duckdb") as s:
        yield s


def test_rerun_and_overlap_never_double_count(store, tmp_path):
    first = write(records(range(60), "r1"), tmp_path / "r1.parquet")
    assert store.commit_run(run_row("r1", 60), first)["inserted"] == 60
    once = daily(store)
    assert once == recounted(store) and once["theme"] and once["cluster"]

    # The same rows again under another run: nothing inserted, nothing counted.
    assert store.commit_run(run_row("r2", 60), first)["inserted"] == 0
    assert daily(store) == once

    # Half old, half new: only the new half is inserted and counted; old rows keep their run.
    overlap = write(records(range(30, 90), "r3", complaint=lambda i: True), tmp_path / "r3.parquet")
    assert store.commit_run(run_row("r3", 60), overlap)["inserted"] == 30
    assert store.query("SELECT count(*) AS n FROM records")["n"].iloc[0] == 90
    owners = store.query("SELECT run_id, count(*) AS n FROM records GROUP BY ALL ORDER BY run_id")
    assert owners.values.tolist() == [["r1", 60], ["r3", 30]]
    assert daily(store) == recounted(store)
    assert daily(store) != once


def test_full_refresh_subtracts_the_old_versions(store, tmp_path):
    write_old = write(records(range(40), "r1"), tmp_path / "r1.parquet")
    store.commit_run(run_row("r1", 40), write_old)
    # A refresh of keys 20-59 where every record changed its answer (complaint, themes, cluster).
    new = records(
        range(20, 60),
        "r2",
        complaint=lambda i: i % 3 == 0,
        themes=lambda i: ["quality"],
        cluster=lambda i: 7,
    )
    changed = store.commit_run(run_row("r2", 40), write(new, tmp_path / "r2.parquet"), replace=True)
    assert changed["replaced"] == 20 and changed["inserted"] == 40
    assert store.query("SELECT count(*) AS n FROM records")["n"].iloc[0] == 60
    assert daily(store) == recounted(store)
    refreshed = store.query("SELECT DISTINCT run_id FROM records WHERE record_key >= 'k0020'")
    assert refreshed["run_id"].tolist() == ["r2"]
    # The deltas of the refresh net out the replaced rows: -20 records, +40.
    net = store.query("SELECT sum(n_records) AS n FROM volume_counts WHERE run_id = 'r2'")[
        "n"
    ].iloc[0]
    assert net == 20


def test_a_failure_inside_the_transaction_commits_nothing(store, tmp_path):
    first = write(records(range(30), "r1"), tmp_path / "r1.parquet")
    store.commit_run(run_row("r1", 30), first)
    before = daily(store)

    def boom(con):
        raise RuntimeError("report failed")

    more = write(records(range(30, 50), "r2"), tmp_path / "r2.parquet")
    with pytest.raises(RuntimeError, match="report failed"):
        store.commit_run(run_row("r2", 20), more, before_commit=boom)
    assert store.query("SELECT count(*) AS n FROM records")["n"].iloc[0] == 30
    assert store.get_run("r2") is None
    assert daily(store) == before
    # The session setting the merge changes is back to DuckDB's default after the rollback.
    assert (
        store.con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
        is True
    )
    # ... and the same run then commits normally.
    assert store.commit_run(run_row("r2", 20), more)["inserted"] == 20
    assert daily(store) == recounted(store)


def test_paths_with_quotes_and_globs(store, tmp_path):
    folder = tmp_path / "it's a folder"
    write(records(range(10), "r1"), folder / "part-0.parquet")
    write(records(range(10, 25), "r1"), folder / "part-1.parquet")
    changed = store.commit_run(run_row("r1", 25), str(folder / "part-*.parquet"))
    assert changed["inserted"] == 25
    assert daily(store) == recounted(store)


def test_memory_limit_applies_to_file_stores_only(tmp_path):
    with HistoryStore(tmp_path / "a.duckdb", memory_limit_mb=256) as s:
        limit = s.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit == "256.0 MiB"
        # A commit adds the key index's share: 160 B per stored and incoming key, rounded up.
        s.commit_run(run_row("r1", 60), write(records(range(60), "r1"), tmp_path / "r1.parquet"))
        more = write(records(range(60, 7000), "r2"), tmp_path / "r2.parquet")
        s.commit_run(run_row("r2", 6940), more)
        limit = s.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit == "258.0 MiB"  # 256 + ceil(7000 * 160 / 2**20)
    with HistoryStore(":memory:", memory_limit_mb=256) as s:
        limit = s.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert "GiB" in limit or float(limit.split()[0]) > 300


def test_out_of_memory_retries_once_without_the_limit(store, tmp_path, monkeypatch, caplog):
    first = write(records(range(30), "r1"), tmp_path / "r1.parquet")
    original = HistoryStore._merge_records
    calls = []

    def merge(con, *args, **kwargs):
        calls.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        if len(calls) == 1:
            con.execute(
                "INSERT INTO theme_counts VALUES ('r1', DATE '2026-10-01', 'x', NULL, NULL, NULL, 99)"
            )
            raise duckdb.OutOfMemoryException("Out of Memory Error: simulated")
        return original(con, *args, **kwargs)

    monkeypatch.setattr(HistoryStore, "_merge_records", staticmethod(merge))
    with caplog.at_level("WARNING", logger="pipeline.store"):
        changed = store.commit_run(run_row("r1", 30), first)
    assert changed["inserted"] == 30
    assert len(calls) == 2 and calls[0] != calls[1]  # the second try ran without the limit
    assert "retrying without the limit" in caplog.text
    assert daily(store) == recounted(store)  # the first try's partial write was rolled back
    # Without a limit there is nothing to relax: the error propagates.
    with HistoryStore(tmp_path / "b.duckdb", memory_limit_mb=None) as unlimited:
        calls.clear()
        with pytest.raises(duckdb.OutOfMemoryException):
            unlimited.commit_run(run_row("r1", 30), first)
        assert unlimited.get_run("r1") is None
