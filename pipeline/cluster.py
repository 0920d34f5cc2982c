"""Pattern discovery over complaints (first version: LSA + KMeans on a sample, assigned per part)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer

from pipeline.config import ClusterConfig
from pipeline.tokenize import content_tokens


def discover_patterns(parts: list[Path], sample: pd.DataFrame, config: ClusterConfig, store, run_id: str) -> pd.DataFrame:
    """Fit clusters on ``sample`` complaints, write ``cluster_id`` into each part, return cluster table."""
    if len(sample) < max(10, config.min_k * 3):
        return pd.DataFrame(columns=["cluster_id", "size", "keywords", "dominant_theme"])
    sample = sample.sort_values("record_key").reset_index(drop=True)
    vec = TfidfVectorizer(tokenizer=content_tokens, token_pattern=None, lowercase=False, min_df=2, sublinear_tf=True)
    X = vec.fit_transform(sample["text_norm"])
    n_comp = max(2, min(config.svd_components, X.shape[1] - 1, X.shape[0] - 1))
    lsa = make_pipeline(TruncatedSVD(n_comp, random_state=config.seed), Normalizer(copy=False))
    Z = lsa.fit_transform(X)
    best = None
    for k in range(config.min_k, min(config.max_k, len(sample) // 5) + 1):
        km = KMeans(k, n_init=4, random_state=config.seed).fit(Z)
        score = silhouette_score(Z, km.labels_, random_state=config.seed, sample_size=min(5000, len(Z)))
        if best is None or score > best[0]:
            best = (score, km)
    km = best[1]
    terms = np.asarray(vec.get_feature_names_out())
    rows = []
    for part in parts:
        table = pq.read_table(part)
        frame = table.to_pandas()
        mask = frame["is_complaint"].to_numpy()
        ids = np.full(len(frame), -1, dtype=np.int32)
        if mask.any():
            Zp = lsa.transform(vec.transform(frame.loc[mask, "text_norm"]))
            ids[mask] = km.predict(Zp)
        frame["cluster_id"] = ids
        import pyarrow as pa

        pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), part)
        rows.append(frame.loc[mask, ["cluster_id", "top_theme"]])
    assigned = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["cluster_id", "top_theme"])
    Xs = vec.transform(sample["text_norm"])
    labels = km.predict(lsa.transform(Xs))
    out = []
    for c in range(km.n_clusters):
        members = Xs[labels == c]
        weights = np.asarray(members.mean(axis=0)).ravel() if members.shape[0] else np.zeros(len(terms))
        top = terms[np.argsort(-weights, kind="stable")[:6]].tolist()
        sub = assigned[assigned["cluster_id"] == c]
        out.append({
            "cluster_id": c,
            "size": len(sub),
            "keywords": top,
            "dominant_theme": sub["top_theme"].mode().iat[0] if len(sub) and sub["top_theme"].notna().any() else None,
        })
    return pd.DataFrame(out)
