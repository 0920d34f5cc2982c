"""Engines: chunk order is kept, and the local and Dask engines write the same outputs.

The equality test runs the whole job on the shipped sample, cut into small chunks so that the
work really spreads over two worker processes: once in this process (one worker, the plain
sequential path), once on the local process pool and once on a 2-worker Dask LocalCluster.
The parts-sent-back path (workers on machines without the run's folder) is checked on the
chunk stage alone, with a stand-in model.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Config
from pipeline.engine import DaskEngine, LocalEngine, make_engine

NOW = datetime(2026, 11, 2, 2, 0, 0)
CHUNK = 120  # the ~620-row sample becomes six chunks


def test_local_engine_yields_results_in_chunk_order_from_two_workers():
    with LocalEngine(workers=2, max_pending=4) as engine:
        assert list(engine.map(divmod, range(30), 7)) == [divmod(i, 7) for i in range(30)]


def test_local_engine_with_one_chunk_starts_no_pool():
    engine = LocalEngine(workers=2)
    assert list(engine.map(divmod, [9], 4)) == [(2, 1)]
    assert engine._pool is None


def test_engine_starts_nothing_for_no_chunks():
    # A dry run or an empty night: no pool, and no connection to a (here unreachable) scheduler.
    assert list(DaskEngine(scheduler="tcp://127.0.0.1:9").map(divmod, [], 3)) == []
    assert list(LocalEngine(workers=2).map(divmod, [], 3)) == []


def test_unreachable_scheduler_fails_with_a_hint():
    engine = DaskEngine(scheduler="tcp://127.0.0.1:9", timeout="1s")
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        list(engine.map(divmod, [1], 3))


def test_dask_engine_yields_results_in_chunk_order():
    with DaskEngine(workers=2, max_pending=3) as engine:
        assert list(engine.map(divmod, range(12), 5)) == [divmod(i, 5) for i in range(12)]


def test_make_engine_follows_the_config():
    run = Config().run
    assert isinstance(make_engine(replace(run, engine="local")), LocalEngine)
    dask = make_engine(replace(run, engine="dask", scheduler="tcp://h:8786"))
    assert isinstance(dask, DaskEngine) and dask.scheduler == "tcp://h:8786"


def _run(sample_path: Path, tmp: Path, name: str, **run_options) -> tuple[pd.DataFrame, dict]:
    from pipeline.run import run_pipeline

    config = Config()
    config = replace(
        config,
        ingest=replace(config.ingest, chunk_size=CHUNK),
        run=replace(config.run, store=tmp / f"{name}.duckdb", **run_options),
    )
    result = run_pipeline(str(sample_path), tmp / name, config, now=NOW)
    assert result.out_dir is not None, result.messages
    frame = pd.read_parquet(result.out_dir / "complaints.parquet").drop(columns=["run_id"])
    frame = frame.sort_values("record_key").reset_index(drop=True)
    summary = {k: result.summary[k] for k in ("records", "themes", "quarantine_reasons", "balanced", "clusters")}
    return frame, summary


@pytest.fixture
def mapped(monkeypatch) -> list[tuple[str, str]]:
    """(engine, task) of every ``engine.map`` call of a run (the tasks run in worker processes)."""
    calls: list[tuple[str, str]] = []
    for cls in (LocalEngine, DaskEngine):
        original = cls.map

        def record(self, fn, items, shared, _original=original):
            calls.append((self.name, fn.__name__))
            return _original(self, fn, items, shared)

        monkeypatch.setattr(cls, "map", record)
    return calls


class KeywordModel:
    """A stand-in for the shipped model: complaint when the text has a negative keyword."""

    words = ("دیر", "سرد", "بد", "متأخر", "سيء", "لم")

    def predict_frame(self, texts, *, normalized=False):
        hits = [any(w in t for w in self.words) for t in texts]
        return pd.DataFrame(
            {
                "is_complaint": hits,
                "complaint_proba": [0.9 if h else 0.1 for h in hits],
                "needs_review": [False] * len(texts),
                "themes": [["delivery"] if h else [] for h in hits],
                "top_theme": ["delivery" if h else None for h in hits],
            }
        )


def _parts(sample_path: Path, parts_dir: Path, **run_options) -> tuple[pd.DataFrame, pd.DataFrame]:
    from pipeline.engine import process_parts
    from pipeline.ingest import iter_records

    config = Config()
    config = replace(
        config,
        ingest=replace(config.ingest, chunk_size=CHUNK),
        run=replace(config.run, **run_options),
        cluster=replace(config.cluster, fit_sample=50),
    )
    parts_dir.mkdir()
    chunks = (c.records for c in iter_records(str(sample_path), config.ingest))
    outcomes = list(process_parts(chunks, KeywordModel(), config, run_id="r", parts_dir=parts_dir))
    assert [o.index for o in outcomes] == list(range(len(outcomes)))
    assert sorted(p.name for p in parts_dir.iterdir()) == [f"part-{o.index:05d}.parquet" for o in outcomes]
    samples = pd.concat([o.sample for o in outcomes], ignore_index=True)
    assert all(len(o.sample) <= 50 for o in outcomes)
    return pd.concat([pd.read_parquet(p) for p in sorted(parts_dir.iterdir())], ignore_index=True), samples


def test_dask_workers_that_cannot_see_the_parts_folder_send_the_parts_back(sample_path, tmp_path, monkeypatch):
    inline, inline_sample = _parts(sample_path, tmp_path / "inline", engine="local", workers=1)
    monkeypatch.setattr(DaskEngine, "can_write", lambda self, path: False)
    remote, remote_sample = _parts(sample_path, tmp_path / "remote", engine="dask", workers=2)
    assert len(inline) > 4 * CHUNK
    pd.testing.assert_frame_equal(inline, remote)
    pd.testing.assert_frame_equal(inline_sample, remote_sample)


def test_local_pool_and_dask_write_the_same_outputs_as_the_sequential_path(sample_path, tmp_path, mapped):
    frame, summary = _run(sample_path, tmp_path, "seq", engine="local", workers=1)
    assert summary["records"]["processed"] == len(frame) > 4 * CHUNK
    assert summary["clusters"]["n_clustered"] > 0 and (frame["cluster_id"] >= 0).any()
    pool = _run(sample_path, tmp_path, "pool", engine="local", workers=2)
    dask = _run(sample_path, tmp_path, "dask", engine="dask", workers=2)
    for name, (other, other_summary) in {"pool": pool, "dask": dask}.items():
        pd.testing.assert_frame_equal(frame, other, obj=name)
        assert summary == other_summary, name
    # The chunks ran on each engine; on Dask the cluster assignment of the parts did too.
    assert mapped == [("local", "process_part")] * 2 + [("dask", "process_part"), ("dask", "assign_part")]


def test_dask_assigns_clusters_on_workers_that_cannot_see_the_parts(sample_path, tmp_path, monkeypatch, mapped):
    frame, summary = _run(sample_path, tmp_path, "seq", engine="local", workers=1)
    monkeypatch.setattr(DaskEngine, "can_write", lambda self, path: False)
    remote, remote_summary = _run(sample_path, tmp_path, "remote", engine="dask", workers=2)
    assert summary["clusters"]["n_clustered"] > 0
    pd.testing.assert_frame_equal(frame, remote)
    assert summary == remote_summary
    assert ("dask", "assign_part") in mapped
