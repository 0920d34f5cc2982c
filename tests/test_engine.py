"""Engines: chunk order is kept, and the local and Dask engines write the same outputs.

The equality test runs the whole job on the shipped sample, cut into small chunks so that the
work really spreads over two worker processes: once in this process (one worker, the plain
sequential path), once on the local process pool and once on a 2-worker Dask LocalCluster.
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
    summary = {k: result.summary[k] for k in ("records", "themes", "quarantine_reasons", "balanced")}
    return frame, summary


@pytest.fixture(scope="module")
def sequential(sample_path, tmp_path_factory):
    return _run(sample_path, tmp_path_factory.mktemp("sequential"), "seq", engine="local", workers=1)


def test_local_pool_and_dask_write_the_same_outputs_as_the_sequential_path(
    sample_path, tmp_path, sequential, monkeypatch
):
    frame, summary = sequential
    assert summary["records"]["processed"] == len(frame) > 4 * CHUNK
    pool = _run(sample_path, tmp_path, "pool", engine="local", workers=2)
    dask = _run(sample_path, tmp_path, "dask", engine="dask", workers=2)
    # Workers that cannot see the parts folder (another machine) send the parts back instead.
    monkeypatch.setattr(DaskEngine, "can_write", lambda self, path: False)
    remote = _run(sample_path, tmp_path, "remote", engine="dask", workers=2)
    for name, (other, other_summary) in {"pool": pool, "dask": dask, "remote": remote}.items():
        pd.testing.assert_frame_equal(frame, other, obj=name)
        assert summary == other_summary, name
