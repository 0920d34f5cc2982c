"""The Dask engine on a 2-worker LocalCluster against the local engine, same feed, same session.

The local and the Dask run are full ``complaints run`` subprocesses measured the same way
(:mod:`benchmarks.bench_run`); the overhead is the ratio of their wall times. The Dask figure
includes starting the LocalCluster (scheduler and two worker processes) and shipping every
chunk to a worker and the model to each worker once.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_run import RunMeasure, run_cli
from benchmarks.synth import feed_path


@dataclass
class DaskMeasure:
    local: RunMeasure
    dask: RunMeasure

    @property
    def overhead(self) -> float:
        """Dask wall time over local wall time (1.0 = no overhead)."""
        return self.dask.wall_s / self.local.wall_s


def run(n: int = 1_000_000, *, local: RunMeasure | None = None, model: Path | None = None) -> DaskMeasure:
    """Run the Dask engine on ``n`` records; reuse ``local`` if this session already ran it."""
    feed = feed_path(n)
    if local is None:
        local = run_cli(feed, f"local-{n}", engine="local", model=model)
    dask = run_cli(feed, f"dask-{n}", engine="dask", model=model)
    return DaskMeasure(local=local, dask=dask)


if __name__ == "__main__":
    m = run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
    for r in (m.local, m.dask):
        print(f"{r.label}: {r.wall_s:.1f} s, peak tree RSS {r.peak_tree_rss_mb:,.0f} MB, exit {r.exit_code}")
    print(f"dask overhead: {m.overhead:.2f}x")
