"""Profile a whole run with pyinstrument, every stage in this one process.

    python -m benchmarks.profile_run 100000 [label]

The run uses one worker (``run.workers = 1``), so ingest, normalisation, classification,
clustering, the store and the report all execute here, where the sampling profiler sees them.
Writes ``benchmarks/_work/profile-<label>.txt`` (call tree) and ``...-flat.txt`` (functions by
self time) and prints the flat list's top entries.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from datetime import datetime

from benchmarks.synth import WORK, feed_path


def profile(n: int, label: str, *, top: int = 25) -> str:
    from pyinstrument import Profiler

    from pipeline.config import Config
    from pipeline.run import run_pipeline

    out = WORK / "profile-runs" / label
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = Config()
    config = replace(config, run=replace(config.run, workers=1, store=out / "history.duckdb"))
    feed = str(feed_path(n))
    profiler = Profiler(interval=0.005)
    profiler.start()
    run_pipeline(feed, out, config, now=datetime(2026, 11, 2, 2, 0, 0))
    profiler.stop()
    (WORK / f"profile-{label}.txt").write_text(profiler.output_text(unicode=True), encoding="utf-8")
    flat = profiler.output_text(unicode=True, flat=True)
    (WORK / f"profile-{label}-flat.txt").write_text(flat, encoding="utf-8")
    return "\n".join(flat.splitlines()[: top + 8])


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(profile(size, sys.argv[2] if len(sys.argv) > 2 else f"{size}"))
