"""Time and peak RSS of pattern discovery at 100k and 1M complaints.

Synthetic complaints are recombined from the clauses of the shipped sample (``data/sample``),
normalised once per clause, so the vocabulary, spelling and length mix are the sample's (median
~10 words, log-normal like :mod:`benchmarks.synth`). Each text's top theme is the theme of the
first clause that contains a taxonomy seed phrase (none for the rest). Records are written as
Parquet parts of 50,000 rows (the ingest chunk size) with ``pipeline.run.RESULT_SCHEMA`` and
cached under ``benchmarks/_work/``.

Each size runs in a fresh child process, which builds the orchestrator's sample exactly as
``pipeline.run`` does (up to ``fit_sample`` complaints per part), then times
:func:`pipeline.cluster.discover_patterns` and the registry write, and reports its peak RSS
(``ru_maxrss``: imports, the sample, the model and the streaming pass together).

    python -m benchmarks.bench_cluster              # 100k and 1M
    python -m benchmarks.bench_cluster 200000       # one size
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
PART_ROWS = 50_000
SIZES = (100_000, 1_000_000)


def _clauses() -> tuple[list[str], list[str | None]]:
    """Normalised sample clauses and the theme of each (first seed hit, else None)."""
    from benchmarks.synth import _CLAUSE_SPLIT, sample_frame
    from pipeline.normalize import normalize
    from pipeline.taxonomy import load_taxonomy

    clauses = sorted(
        {c.strip() for t in sample_frame()["text"] for c in _CLAUSE_SPLIT.split(t) if c.strip()}
    )
    norm = [normalize(c) for c in clauses]
    seeds = [(t.id, [f" {normalize(s)} " for s in t.seeds]) for t in load_taxonomy().themes]
    themes = [next((tid for tid, ss in seeds if any(s in f" {c} " for s in ss)), None) for c in norm]
    return norm, themes


def make_parts(n: int, seed: int = 0) -> list[Path]:
    """Cached Parquet parts of ``n`` synthetic complaints."""
    from pipeline.run import RESULT_SCHEMA

    folder = WORK / f"cluster-{n}-s{seed}"
    done = folder / "_complete"
    if done.is_file():
        return sorted(folder.glob("part-*.parquet"))
    folder.mkdir(parents=True, exist_ok=True)
    clauses, themes = _clauses()
    words = np.array([len(c.split()) for c in clauses])
    rng = np.random.default_rng(seed)
    for p, start in enumerate(range(0, n, PART_ROWS)):
        m = min(PART_ROWS, n - start)
        targets = np.clip(np.round(rng.lognormal(np.log(10), 0.85, m)), 1, 120).astype(int)
        picks = rng.integers(0, len(clauses), (m, 12))
        texts, tops = [], []
        for row, target in zip(picks, targets, strict=True):
            parts, count = [], 0
            for i in row:
                parts.append(clauses[i])
                count += words[i]
                if count >= target:
                    break
            texts.append("، ".join(parts))
            tops.append(next((themes[i] for i in row[: len(parts)] if themes[i]), None))
        keys = [f"bench-{start + i:08d}" for i in range(m)]
        frame = pd.DataFrame(
            {
                "record_key": keys, "record_id": keys, "run_id": "bench",
                "row_number": np.arange(start, start + m, dtype=np.int64),
                "created_at": pd.Timestamp("2026-09-01").date(), "channel": "app",
                "product": "food", "region": None, "score": np.nan, "score_kind": None,
                "lang": "fa", "latin_script": False, "pii_masked": np.zeros(m, dtype=np.int32),
                "is_complaint": True, "complaint_proba": 0.9, "needs_review": False,
                "themes": [[t] if t else [] for t in tops], "top_theme": tops,
                "cluster_id": np.full(m, -1, dtype=np.int32), "text_norm": texts,
                "display_text": texts,
            }
        )
        table = pa.Table.from_pandas(frame, schema=RESULT_SCHEMA, preserve_index=False)
        pq.write_table(table, folder / f"part-{p:05d}.parquet")
    done.write_text("ok\n")
    return sorted(folder.glob("part-*.parquet"))


def _child(n: int) -> dict:
    """Run once in this (fresh) process and report time and peak RSS."""
    from pipeline.cluster import discover_patterns
    from pipeline.config import ClusterConfig
    from pipeline.store import HistoryStore

    config = ClusterConfig()
    parts = make_parts(n)
    cols = ["record_key", "text_norm", "themes", "created_at", "top_theme"]
    samples = []
    for part in parts:  # what pipeline.run._sample_complaints does, part by part
        frame = pq.read_table(part, columns=[*cols, "is_complaint"]).to_pandas()
        frame = frame[frame["is_complaint"]][cols]
        if len(frame) > config.fit_sample:
            frame = frame.sample(n=config.fit_sample, random_state=config.seed)
        samples.append(frame)
    sample = pd.concat(samples, ignore_index=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "h.duckdb") as store:
        t0 = time.perf_counter()
        result = discover_patterns(parts, sample, config, store, "20260901T020000-bench0")
        t1 = time.perf_counter()
        with store.transaction() as con:
            result.write(con)
        t2 = time.perf_counter()
    return {
        "n": n,
        "sample_rows": len(sample),
        "seconds_discover": round(t1 - t0, 1),
        "seconds_write": round(t2 - t1, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_mb": round(rss_before),
        "clusters": result.summary["n_clusters"],
        "unclustered_share": result.summary["unclustered_share"],
        "k_by_group": result.summary["k_by_group"],
    }


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "--child":
        print(json.dumps(_child(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or list(SIZES)
    for n in sizes:
        t = time.perf_counter()
        make_parts(n)
        print(f"data {n:,}: ready in {time.perf_counter() - t:.0f} s (cached in {WORK})", flush=True)
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_cluster", "--child", str(n)],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['n']:>9,} complaints: discover {r['seconds_discover']} s + write "
            f"{r['seconds_write']} s, peak RSS {r['peak_rss_mb']} MB (before clustering "
            f"{r['rss_before_mb']} MB, sample {r['sample_rows']:,} rows); {r['clusters']} "
            f"clusters, unclustered {r['unclustered_share']:.1%}, k {r['k_by_group']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
