"""Profile a whole run with pyinstrument, every stage in this one process.

    python -m benchmarks.profile_run 100000 [--label before] [--model DIR] [--workers N]

By default the run uses one worker (``run.workers = 1``), so ingest, normalisation,
classification, clustering, the store and the report all execute here, where the sampling
profiler sees them. With ``--workers 2`` the chunks go to the process pool and the profile
shows this process only: ingest, waiting for the workers, and every stage after them.
Writes ``benchmarks/_work/profile-<label>.txt`` (call tree) and ``...-flat.txt`` (functions by
self time) and prints the flat list's top entries.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from benchmarks.synth import WORK, feed_path


def profile(n: int, label: str, *, model_dir: Path | None = None, workers: int = 1, top: int = 25) -> str:
    from pyinstrument import Profiler

    from pipeline.config import Config
    from pipeline.run import run_pipeline

    out = WORK / "profile-runs" / label
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    config = Config()
    run = replace(config.run, workers=workers, store=out / "history.duckdb", model_dir=model_dir or config.run.model_dir)
    config = replace(config, run=run)
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int, nargs="?", default=100_000)
    parser.add_argument("--label", default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(profile(args.size, args.label or str(args.size), model_dir=args.model, workers=args.workers))
