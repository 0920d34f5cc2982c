"""Run every benchmark in one session and write ``benchmarks/results.md``.

    make bench                                   # everything, 100k and 1M records
    python -m benchmarks.run_all --quick         # 10k and 100k, for a quick look
    python -m benchmarks.run_all --skip-dask     # without the Dask comparison

Each comparison runs side by side in this session and is reported as a ratio. Synthetic feeds
are generated once into ``benchmarks/_work/`` (git-ignored) and reused.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import traceback
from datetime import UTC, datetime
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from benchmarks.synth import feed_path, length_stats

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.md"

TARGET_SPEEDUP = 5.0
TARGET_1M_SECONDS = 180.0
TARGET_RSS_MB = 2048.0
TARGET_RSS_GROWTH = 1.3


def machine() -> dict[str, str]:
    """CPU, cores, memory and library versions of this machine."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    info = {
        "CPU": cpu,
        "cores (usable / logical / physical)": (
            f"{usable} / {psutil.cpu_count()} / {psutil.cpu_count(logical=False)}"
        ),
        "RAM": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }
    for dist in ("numpy", "scipy", "scikit-learn", "pandas", "pyarrow", "duckdb", "hazm", "dask", "distributed"):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = "not installed"
    return info


def _mark(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _normalize_section(lines: list[str], targets: list[tuple[str, str, str]]) -> None:
    """The normaliser developer's benchmark (``benchmarks/bench_normalize.py``), reused as is."""
    lines.append("## Normaliser vs hazm.Normalizer\n")
    try:
        bench = import_module("benchmarks.bench_normalize")
    except ImportError as exc:
        lines.append(f"Not run: `benchmarks/bench_normalize.py` is not available ({exc}).\n")
        targets.append(("normaliser ≥ 5× hazm.Normalizer", "not run", "—"))
        return
    result = bench.run()
    fields = result if isinstance(result, dict) else vars(result)
    lines.append("| measure | value |\n|---|---|")
    for key, value in fields.items():
        lines.append(f"| {key} | {_fmt(value)} |")
    lines.append("")
    ratio = next((fields[k] for k in ("ratio", "speedup", "speedup_x") if k in fields), None)
    if ratio is None and hasattr(result, "ratio"):
        ratio = result.ratio
    if ratio is not None:
        targets.append(("normaliser ≥ 5× hazm.Normalizer", f"{ratio:.1f}×", _mark(ratio >= TARGET_SPEEDUP)))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _classify_section(lines: list[str], targets: list, args) -> None:
    from benchmarks import bench_classify

    c = bench_classify.run(model_dir=args.model)
    lines += [
        "## Classify path vs the naive hazm + scikit-learn path\n",
        (
            f"{c.docs:,} synthetic records, one process, prediction only (models trained/loaded "
            "before timing). Shipped: `process_chunk` (normalise + PII mask + language id → "
            "features → complaint + themes, plus the display text) with the shipped model. "
            "Naive: hazm Normalizer + WordTokenizer + Lemmatizer → TfidfVectorizer(1–2) → "
            "LogisticRegression / one-vs-rest LogisticRegression trained on "
            "`data/labelled/*.jsonl`.\n"
        ),
        "| path | seconds | docs/s | complaint rate | naive time / this time |\n|---|---:|---:|---:|---:|",
        (
            f"| shipped: `process_chunk` | {c.shipped_s:.2f} | {c.docs / c.shipped_s:,.0f} | "
            f"{c.shipped_complaint_rate:.1%} | **{c.ratio:.2f}×** |"
        ),
        (
            f"| shipped: model `predict_frame` on raw text only | {c.model_only_s:.2f} | "
            f"{c.docs / c.model_only_s:,.0f} | | **{c.model_only_ratio:.2f}×** |"
        ),
        (
            f"| shipped: `process_chunk` on the local engine, {c.engine_workers} workers "
            f"({bench_classify.ENGINE_CHUNK:,}-record parts; pool start-up included) | "
            f"{c.engine_s:.2f} | {c.docs / c.engine_s:,.0f} | | **{c.engine_ratio:.2f}×** |"
        ),
        f"| naive (one process) | {c.naive_s:.2f} | {c.docs / c.naive_s:,.0f} | {c.naive_complaint_rate:.1%} | 1× |",
        "",
    ]
    targets += [
        ("classify path (`process_chunk`) ≥ 5× naive", f"{c.ratio:.2f}×", _mark(c.ratio >= TARGET_SPEEDUP)),
        ("model alone (`predict_frame`) ≥ 5× naive", f"{c.model_only_ratio:.2f}×", _mark(c.model_only_ratio >= TARGET_SPEEDUP)),
        (
            f"classify path on the local engine ({c.engine_workers} workers) ≥ 5× naive (one process)",
            f"{c.engine_ratio:.2f}×",
            _mark(c.engine_ratio >= TARGET_SPEEDUP),
        ),
    ]


def _runs_section(lines: list[str], targets: list, args, small: int, large: int):
    from benchmarks import bench_run

    runs = bench_run.run((small, large), model=args.model)
    lines += [
        "## Full `complaints run` (ingest → report), local engine\n",
        (
            "Synthetic feeds from the sample's vocabulary (`benchmarks/synth.py`); one fresh "
            "`python -m pipeline.cli run` subprocess per size, new history store each time. "
            "Memory is polled over the whole process tree (RSS every 0.1 s, PSS every 0.5 s; CLI, fork server, "
            "worker processes): *RSS sum* counts pages shared between processes once per "
            "process (an upper bound); *PSS sum* splits shared pages between their sharers "
            "(what the tree really occupies). CPU s: user + system seconds of the whole tree. "
            "Load average: other work on the machine when the run started (2.0 fills both "
            "cores).\n"
        ),
        (
            "| records | words/text (mean, p50, p90, p99) | wall s | docs/s | CPU s | "
            "peak RSS sum MB | peak PSS sum MB | largest process MB | load avg at start | exit |\n"
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        ),
    ]
    for n, m in zip((small, large), runs, strict=True):
        s = length_stats(feed_path(n))
        lines.append(
            f"| {m.records:,} | {s['mean']}, {s['p50']}, {s['p90']}, {s['p99']} | {m.wall_s:.1f} | "
            f"{m.docs_per_s:,.0f} | {m.cpu_s:,.0f} | {m.peak_tree_rss_mb:,.0f} | {m.peak_tree_pss_mb:,.0f} | "
            f"{m.peak_process_rss_mb:,.0f} | {m.load_before:.1f} | {m.exit_code} |"
        )
    growth = _ratio(runs[1].peak_tree_rss_mb, runs[0].peak_tree_rss_mb)
    growth_pss = _ratio(runs[1].peak_tree_pss_mb, runs[0].peak_tree_pss_mb)
    lines.append(
        f"\nPeak memory at {large:,} / at {small:,}: RSS sum **{growth:.2f}×**, PSS sum **{growth_pss:.2f}×**.\n"
    )
    for m in runs:
        if m.exit_code not in (0, 3):
            lines += [f"Run `{m.label}` failed:\n", "```", m.output.strip()[-2000:], "```\n"]
    big = runs[1]
    ok_1m = big.wall_s <= TARGET_1M_SECONDS and big.exit_code in (0, 3)
    targets += [
        (f"{large:,} records ≤ 3 min", f"{big.wall_s:.0f} s", _mark(ok_1m)),
        (f"peak RSS ≤ 2 GB at {large:,}, RSS sum", f"{big.peak_tree_rss_mb:,.0f} MB", _mark(big.peak_tree_rss_mb <= TARGET_RSS_MB)),
        (f"peak RSS ≤ 2 GB at {large:,}, PSS sum", f"{big.peak_tree_pss_mb:,.0f} MB", _mark(big.peak_tree_pss_mb <= TARGET_RSS_MB)),
        (f"RSS({large:,}) ≤ 1.3 × RSS({small:,}), RSS sum", f"{growth:.2f}×", _mark(growth <= TARGET_RSS_GROWTH)),
        (f"RSS({large:,}) ≤ 1.3 × RSS({small:,}), PSS sum", f"{growth_pss:.2f}×", _mark(growth_pss <= TARGET_RSS_GROWTH)),
    ]
    return big


def _dask_section(lines: list[str], targets: list, args, large: int, local) -> None:
    from benchmarks import bench_dask

    d = bench_dask.run(large, local=local, model=args.model)
    lines += [
        "## Dask engine (2-worker LocalCluster) vs local engine\n",
        (
            "Same feed, same session, `--engine dask` with no `--scheduler` (a LocalCluster of "
            "two single-threaded worker processes, started and stopped inside the run).\n"
        ),
        (
            "| engine | wall s | docs/s | CPU s | peak RSS sum MB | peak PSS sum MB | load avg at start | exit |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|"
        ),
    ]
    for m in (d.local, d.dask):
        lines.append(
            f"| {m.label} | {m.wall_s:.1f} | {m.docs_per_s:,.0f} | {m.cpu_s:,.0f} | "
            f"{m.peak_tree_rss_mb:,.0f} | {m.peak_tree_pss_mb:,.0f} | {m.load_before:.1f} | {m.exit_code} |"
        )
    lines.append(f"\n**Dask overhead: {d.overhead:.2f}×** the local wall time.\n")
    if d.dask.exit_code not in (0, 3):
        lines += ["Dask run failed:\n", "```", d.dask.output.strip()[-2000:], "```\n"]
    targets.append(("Dask overhead vs local (reported)", f"{d.overhead:.2f}×", "reported"))


def _describe_model(model_dir: Path | None) -> str:
    from pipeline.config import DEFAULT_MODEL_DIR
    from pipeline.model_io import model_version

    directory = model_dir or DEFAULT_MODEL_DIR
    try:
        shown = directory.resolve().relative_to(ROOT)
    except ValueError:
        shown = directory
    try:
        return f"`{shown}` (version {model_version(directory)})"
    except Exception as exc:  # noqa: BLE001 - reported, the sections that need it fail on their own
        return f"`{shown}` (not loadable: {exc.__class__.__name__})"


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _guarded(name: str, lines: list[str], targets: list, fn, *args):
    """Run one section; a failure is written into the results and the other sections still run."""
    print(f"{name} ...", flush=True)
    try:
        return fn(lines, targets, *args)
    except Exception as exc:  # noqa: BLE001 - a benchmark report records failures, it does not stop
        traceback.print_exc()
        lines += [f"## {name}\n", f"Failed: `{exc.__class__.__name__}: {exc}`\n"]
        targets.append((name, "failed", "**not run**"))
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k records instead of 100k and 1M")
    parser.add_argument("--skip-dask", action="store_true", help="leave out the Dask engine comparison")
    parser.add_argument("--model", type=Path, default=None, help="model directory (default: models/default)")
    args = parser.parse_args(argv)
    small, large = (10_000, 100_000) if args.quick else (100_000, 1_000_000)

    started = time.perf_counter()
    command = "python -m benchmarks.run_all" + (" --quick" if args.quick else "")
    lines = [
        "# Benchmark results\n",
        (
            f"Written by `make bench` (`{command}`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
            "Every comparison ran side by side in that one session.\n"
        ),
        "## Machine\n",
        "| | |\n|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in machine().items()]
    lines += ["", f"Model: {_describe_model(args.model)}.\n"]
    targets: list[tuple[str, str, str]] = []

    _guarded("Normaliser vs hazm.Normalizer", lines, targets, _normalize_section)
    _guarded("Classify path vs naive", lines, targets, _classify_section, args)
    big = _guarded("Full runs", lines, targets, _runs_section, args, small, large)
    if not args.skip_dask and big is not None:
        _guarded("Dask engine", lines, targets, _dask_section, args, large, big)

    lines += ["## Targets\n", "| target | measured | status |\n|---|---|---|"]
    lines += [f"| {t} | {v} | {s} |" for t, v, s in targets]
    lines.append(f"\nTotal benchmark time: {time.perf_counter() - started:.0f} s.\n")
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
