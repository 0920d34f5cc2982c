"""A full ``complaints run`` (ingest → report) on a synthetic feed, in a fresh subprocess.

Each run gets its own output folder and history store under ``benchmarks/_work/``. Wall time is
measured around the subprocess; memory by polling the whole process tree (the CLI process,
and the pool's or the Dask cluster's worker processes), two ways: the sum of the
resident set sizes (RSS), where pages shared between processes (libraries, the fork server's
preloaded modules) count once per process, an upper bound; and the sum of the proportional
set sizes (PSS), where a shared page is split between its sharers, so that the sum is the
memory the tree really occupies. RSS is sampled every 0.1 s, PSS (dearer to read) every 0.5 s.
The largest single process seen is reported too, and the CPU time of the tree
(user + system, summed over every process seen, from the same polling), which unlike wall time
does not depend on what else the machine is doing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.synth import WORK, feed_path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class RunMeasure:
    label: str
    records: int
    wall_s: float
    peak_tree_rss_mb: float
    peak_process_rss_mb: float
    processed: int
    exit_code: int
    output: str
    peak_tree_pss_mb: float = 0.0
    #: CPU seconds of the whole process tree (user + system).
    cpu_s: float = 0.0
    #: 1-minute load average when the run started (other work on the machine).
    load_before: float = 0.0

    @property
    def docs_per_s(self) -> float:
        return self.records / self.wall_s if self.wall_s else 0.0


#: Seconds between samples of RSS and CPU time (cheap: /proc/PID/statm and stat).
POLL_S = 0.1
#: PSS needs /proc/PID/smaps_rollup, which walks every mapping: read on every 5th sample only,
#: so the poller itself takes a few percent of a core instead of about a fifth.
PSS_EVERY = 5


def _tree_sample(proc: psutil.Process, cpu: dict[int, float], *, with_pss: bool = True) -> tuple[int, int, int]:
    """(RSS sum, largest RSS, PSS sum or 0) of ``proc`` and its descendants; records CPU seconds."""
    sizes = []
    pss = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    for p in procs:
        try:
            with p.oneshot():
                mem = p.memory_full_info() if with_pss else p.memory_info()
                times = p.cpu_times()
            sizes.append(mem.rss)
            pss += mem.pss if with_pss else 0
            cpu[p.pid] = max(cpu.get(p.pid, 0.0), times.user + times.system)
        except psutil.Error:
            pass
    return sum(sizes), max(sizes, default=0), pss


def run_cli(
    feed: Path, label: str, *, engine: str = "local", model: Path | None = None, extra: list[str] | None = None
) -> RunMeasure:
    """Run ``python -m pipeline.cli run`` on ``feed`` and measure it."""
    out = WORK / "runs" / label
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [
        sys.executable, "-m", "pipeline.cli", "run",
        "--input", str(feed), "--out", str(out), "--store", str(out / "history.duckdb"),
        "--engine", engine, "--log-level", "WARNING",
        *(["--model", str(model)] if model else []), *(extra or []),
    ]  # fmt: skip
    peak = largest = peak_pss = 0
    cpu: dict[int, float] = {}
    load = psutil.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched = psutil.Process(proc.pid)
    done = threading.Event()

    def poll() -> None:
        nonlocal peak, largest, peak_pss
        tick = 0
        while not done.is_set():
            tree, one, pss = _tree_sample(watched, cpu, with_pss=tick % PSS_EVERY == 0)
            peak, largest, peak_pss = max(peak, tree), max(largest, one), max(peak_pss, pss)
            tick += 1
            done.wait(POLL_S)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    output, _ = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    records, processed = _counts(output)
    return RunMeasure(
        label=label,
        records=records,
        wall_s=wall,
        peak_tree_rss_mb=peak / 2**20,
        peak_process_rss_mb=largest / 2**20,
        peak_tree_pss_mb=peak_pss / 2**20,
        processed=processed,
        cpu_s=sum(cpu.values()),
        load_before=load,
        exit_code=proc.returncode,
        output=output[-4000:],
    )


def _counts(output: str) -> tuple[int, int]:
    """``read`` and ``processed`` from the CLI's last line (``run ID: read N, processed M, ...``)."""
    import re

    m = re.search(r"read (\d+), processed (\d+)", output)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def run(
    sizes: tuple[int, ...] = (100_000, 1_000_000), *, engine: str = "local", model: Path | None = None
) -> list[RunMeasure]:
    results = []
    for n in sizes:
        feed = feed_path(n)
        results.append(run_cli(feed, f"{engine}-{n}", engine=engine, model=model))
    return results


if __name__ == "__main__":
    for m in run(tuple(int(a) for a in sys.argv[1:]) or (100_000,)):
        print(
            f"{m.label}: {m.records} records in {m.wall_s:.1f} s ({m.docs_per_s:,.0f} docs/s), "
            f"peak tree RSS {m.peak_tree_rss_mb:,.0f} MB, PSS {m.peak_tree_pss_mb:,.0f} MB, CPU {m.cpu_s:.0f} s, "
            f"exit {m.exit_code}"
        )
        if m.exit_code not in (0, 3):
            print(m.output)
