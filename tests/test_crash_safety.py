"""Crash safety: a run killed at any point converges, on the next run, to one clean run.

Real end-to-end runs of the ``complaints`` command (real normaliser, model, clustering and
report). The clean reference run and the crashed-then-repeated run use the same night and the
same input file, so they have the same run id; their outputs and history are compared with
:func:`ops_fixtures.snapshot` (everything but wall-clock times).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ops_fixtures import CLI, ROOT, complaints, feedback_rows, run_dirs, snapshot, write_csv

NIGHT = "2026-08-02"

pytest_plugins = ["ops_model_fixture"]


def _args(feed, out, model, *extra):
    return ["run", "--input", feed, "--out", out, "--model", model, "--night", NIGHT,
            "--workers", "1", "--chunk-size", "150", "--log-level", "WARNING", *extra]


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    rows = feedback_rows(2400)
    rows[7]["text"] = ""  # one quarantined row, so quarantine.csv is not trivially empty
    return write_csv(tmp_path_factory.mktemp("feed") / "feed.csv", rows)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, feed, ops_model):
    out = tmp_path_factory.mktemp("clean")
    proc = complaints(*_args(feed, out, ops_model))
    assert proc.returncode == 0, proc.stderr
    return snapshot(out, out / "history.duckdb")


def test_kill_9_mid_run_then_rerun_equals_one_clean_run(tmp_path, feed, ops_model, clean):
    out = tmp_path / "out"
    proc = subprocess.Popen(CLI + [str(a) for a in _args(feed, out, ops_model)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        parts = list(out.glob(".staging-*/_parts/part-*.parquet"))
        if len(parts) >= 3:
            killed_at = len(parts)
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(timeout=60)
    assert killed_at is not None, "the run finished before it could be killed; enlarge the input"
    assert proc.returncode == -signal.SIGKILL
    # Killed mid-ingest: no run folder, unfinished staging left behind, nothing committed.
    assert run_dirs(out) == []
    assert list(out.glob(".staging-*"))

    again = complaints(*_args(feed, out, ops_model, "--log-level", "INFO"))
    assert again.returncode == 0, again.stderr
    assert "rolled back run" in again.stderr
    assert "Traceback" not in again.stderr
    assert snapshot(out, out / "history.duckdb") == clean


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import pipeline.run as run
    import pipeline.store as store

    point = sys.argv[1]
    if point == "before_commit":
        original = store.HistoryStore.commit_run

        def commit_run(self, *args, before_commit=None, **kwargs):
            def crash(con):
                before_commit(con)  # the report and summary are written and fsynced ...
                os._exit(9)  # ... and the process dies before COMMIT
            return original(self, *args, before_commit=crash, **kwargs)

        store.HistoryStore.commit_run = commit_run
    elif point == "after_commit":
        run._publish = lambda *a, **k: os._exit(9)  # committed, not yet moved into place
    sys.argv = ["complaints", *sys.argv[2:]]
    from pipeline.cli import main
    main()
    """
)


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
def test_crash_at_the_commit_boundary_converges(tmp_path, feed, ops_model, clean, point):
    out = tmp_path / "out"
    crashed = subprocess.run(  # noqa: PLW1510 - the caller checks returncode
        [sys.executable, "-c", CRASH_SCRIPT, point, *map(str, _args(feed, out, ops_model))],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert crashed.returncode == 9, crashed.stderr
    assert run_dirs(out) == []  # nothing moved into place yet in either window

    again = complaints(*_args(feed, out, ops_model, "--log-level", "INFO"))
    assert again.returncode == 0, again.stderr
    expected = "rolled back run" if point == "before_commit" else "rolled forward run"
    assert expected in again.stderr
    if point == "after_commit":
        assert "already complete" in again.stderr  # the committed run is not redone
    assert snapshot(out, out / "history.duckdb") == clean


def test_second_concurrent_run_is_refused_with_the_holder(tmp_path, feed, ops_model):
    from pipeline.locking import RunLock

    out = tmp_path / "out"
    with RunLock(out / "history.duckdb.lock"):
        proc = complaints(*_args(feed, out, ops_model))
    assert proc.returncode == 1
    assert "another run is in progress" in proc.stderr
    assert f"pid {os.getpid()}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "history.duckdb").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    import json
    import socket

    from pipeline.locking import RunLock

    path = tmp_path / "history.duckdb.lock"
    dead = subprocess.run(  # noqa: PLW1510 - the caller checks returncode
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    path.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "started": "x"}))
    with RunLock(path) as lock:
        assert lock.stale is not None and lock.stale["pid"] == int(dead.stdout)
        assert lock.holder()["pid"] == os.getpid()
    assert not path.exists()
