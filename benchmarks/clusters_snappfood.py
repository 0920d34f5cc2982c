"""Clusters found in real complaints: the Snappfood dev split, SAD comments.

Reads ``../shared/data/snappfood/dev.csv`` (TAB-separated, ``comment``, ``label``), keeps the
SAD comments (complaints), normalises and masks them, gives each a top theme (the shipped model
when it loads, otherwise the taxonomy's seed phrases, said in the output), runs
:func:`pipeline.cluster.discover_patterns` on an in-memory store and prints every cluster: id,
size, share, theme, label, keywords and three verbatims.

With ``--nights`` the complaints are split by a hash of their row into two disjoint halves that
run as night 1 and night 2 against one store; the cross-night signature similarities are printed
(the evidence for ``match_threshold``).

    python -m benchmarks.clusters_snappfood [--nights] [--examples 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "snappfood" / "dev.csv"


def load_complaints(path: Path = DATA) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    sad = frame[frame["label"] == "SAD"].reset_index(drop=True)
    return pd.DataFrame({"record_key": [f"sf-{i:05d}" for i in range(len(sad))], "text": sad["comment"]})


def themes_for(texts: list[str]) -> tuple[list[str | None], str]:
    """Top theme per normalised text: the shipped model, else the first matching seed theme."""
    from pipeline.model_io import ModelIntegrityError, load_model

    try:
        model = load_model()
        pred = model.predict_frame(texts)
        return pred["top_theme"].tolist(), "shipped model"
    except (OSError, ModelIntegrityError) as exc:  # no trained model here: seed phrases instead
        from pipeline.normalize import normalize
        from pipeline.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
        seeds = [(t.id, [f" {normalize(s)} " for s in t.seeds]) for t in taxonomy.themes]
        out = []
        for text in texts:
            padded = f" {text} "
            hit = next((tid for tid, ss in seeds if any(s in padded for s in ss)), None)
            out.append(hit)
        return out, f"taxonomy seed phrases (model not available: {type(exc).__name__})"


def to_parts(frame: pd.DataFrame, folder: Path, rows_per_part: int = 1000) -> list[Path]:
    from pipeline.run import RESULT_SCHEMA

    folder.mkdir(parents=True, exist_ok=True)
    n = len(frame)
    full = pd.DataFrame(
        {
            "record_key": frame["record_key"], "record_id": frame["record_key"], "run_id": "snappfood",
            "row_number": np.arange(n, dtype=np.int64), "created_at": pd.Timestamp("2026-09-01").date(),
            "channel": None, "product": None, "region": None, "score": np.nan, "score_kind": None,
            "lang": "fa", "latin_script": False, "pii_masked": np.zeros(n, dtype=np.int32),
            "is_complaint": True, "complaint_proba": 1.0, "needs_review": False,
            "themes": [[t] if t else [] for t in frame["top_theme"]], "top_theme": frame["top_theme"],
            "cluster_id": np.full(n, -1, dtype=np.int32), "text_norm": frame["text_norm"],
            "display_text": frame["display_text"],
        }
    )
    paths = []
    for i, start in enumerate(range(0, n, rows_per_part)):
        path = folder / f"part-{i:05d}.parquet"
        table = pa.Table.from_pandas(full.iloc[start : start + rows_per_part], schema=RESULT_SCHEMA, preserve_index=False)
        pq.write_table(table, path)
        paths.append(path)
    return paths


def prepare() -> tuple[pd.DataFrame, str]:
    from pipeline.normalize import display_text, normalize

    frame = load_complaints()
    frame["text_norm"] = [normalize(t) for t in frame["text"]]
    frame["display_text"] = [display_text(t) for t in frame["text"]]
    themes, source = themes_for(frame["text_norm"].tolist())
    frame["top_theme"] = themes
    return frame, source


def run_night(frame: pd.DataFrame, store, run_id: str, work: Path, config):
    from pipeline.cluster import discover_patterns

    parts = to_parts(frame, work / run_id)
    sample = frame[["record_key", "text_norm", "top_theme"]].assign(
        themes=[[t] if t else [] for t in frame["top_theme"]]
    )
    result = discover_patterns(parts, sample, config, store, run_id)
    return result


def print_clusters(result, examples: int) -> None:
    s = result.summary
    print(
        f"complaints {s['n_complaints']}, clustered {s['n_clustered']} "
        f"(unclustered {s['unclustered_share']:.1%}), clusters {s['n_clusters']}, k by group {s['k_by_group']}"
    )
    for row in result.clusters.itertuples(index=False):
        flag = " EMERGING" if row.emerging else ""
        print(f"\n#{row.cluster_id} [{row.status}{flag}] size {row.size} ({row.share:.1%}) "
              f"theme={row.dominant_theme} group={row.group}  ({row.emerging_reason})")
        print(f"  label:    {row.label}")
        print(f"  keywords: {', '.join(row.keywords)}")
        for text in row.examples[:examples]:
            print(f"  - {text[:160]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", action="store_true", help="two disjoint halves as two nights")
    parser.add_argument("--examples", type=int, default=3)
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"dataset not available: {DATA}", file=sys.stderr)
        return 2

    from pipeline.cluster_registry import read_state, signature_similarity
    from pipeline.config import ClusterConfig
    from pipeline.store import HistoryStore

    config = ClusterConfig()
    frame, source = prepare()
    print(f"Snappfood dev SAD comments: {len(frame)}; themes from {source}")
    print("theme counts:", frame["top_theme"].fillna("(no theme)").value_counts().to_dict())
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(":memory:") as store:
        work = Path(tmp)
        if not args.nights:
            print_clusters(run_night(frame, store, "snappfood", work, config), args.examples)
            return 0
        half = pd.util.hash_array(frame["record_key"].to_numpy(dtype=object)) % 2
        first = run_night(frame[half == 0].reset_index(drop=True), store, "night1", work, config)
        with store.transaction() as con:
            first.write(con)
        before = read_state(store.con, config.trailing_runs).registry
        second = run_night(frame[half == 1].reset_index(drop=True), store, "night2", work, config)
        print("=== night 1 ===")
        print_clusters(first, args.examples)
        print("\n=== night 2 ===")
        print_clusters(second, args.examples)
        ids = sorted(second.signatures)
        sim = signature_similarity(
            [second.signatures[i] for i in ids],
            [(list(t), list(w)) for t, w in zip(before["terms"], before["weights"], strict=True)],
        )
        best = np.sort(sim, axis=1)[:, ::-1]
        print("\nnight-2 cluster vs night-1 clusters: best and second-best signature similarity")
        for cid, row in zip(ids, best, strict=True):
            print(f"  #{cid}: {row[0]:.2f}  {row[1] if len(row) > 1 else 0:.2f}")
        kept = second.clusters[second.clusters["status"] == "active"]
        print(f"kept ids: {len(kept)} of {len(second.clusters[second.clusters['status'] != 'dormant'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
