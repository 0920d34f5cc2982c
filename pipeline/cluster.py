"""Pattern discovery: cluster complaints within each theme, label them, keep ids stable.

The taxonomy catches the issues the business already knows; this stage finds the ones it does
not know yet. Design (details and numbers in ``docs/clustering.md``):

Features
    Terms are unigrams and bigrams of :func:`pipeline.tokenize.content_tokens` (lemmatised,
    stopword-free) over ``text_norm`` (normalised, PII-masked); counts over a vocabulary fitted
    on the night's sample (``min_df=2``, at most ``max_features`` terms, sorted), smoothed IDF,
    L2-normalised TF-IDF rows. Each text is tokenised once (identical texts of a chunk once).

Groups
    Complaints are clustered *within* their top theme, plus one group for complaints with no
    theme. Themes with fewer than ``min_group_size`` sampled complaints are pooled into one
    ``(mixed)`` group. Each group gets its own TruncatedSVD (LSA, ``svd_components``) fitted on
    its sample rows, so its clusters resolve differences *inside* the theme.

Fit on a bounded, stratified sample
    The orchestrator's sample is cut to about ``fit_sample`` records, stratified by group
    (proportional, at least 500 per group when available), choosing records by a fixed hash of
    ``record_key`` so the choice does not depend on input order.

k, chosen per group
    Criterion: the mean silhouette (cosine geometry: unit-length LSA vectors) on a fixed
    3,000-point subsample of the group. Candidates are

    * *fresh*: KMeans (``n_init=3``, fixed seed) for every k in
      ``[max(2, min_k), min(max_k, n_group // min_cluster_size)]``;
    * *warm*: KMeans started from the group's stored clusters (their term-space signatures
      projected into tonight's LSA space), alone and with one or two extra centroids placed on
      the points farthest from them (room for a new issue).

    The best fresh candidate wins only if it beats the best warm one by more than
    ``k_tolerance`` (0.02); otherwise last night's partition, refitted to tonight's data, is kept.
    This hysteresis is what stops the cluster count and the partition from swinging on noise.
    Clusters with fewer than ``min_cluster_size`` sample members are then dissolved one at a
    time (smallest first) into their nearest neighbours, and centroids are recomputed as
    normalised member means.

Unclustered share, bounded
    Every complaint goes to the nearest centroid of its group by cosine similarity (no outlier
    bucket by construction). It is left unclustered (``-1``) only if its similarity is below
    ``min(1 - outlier_distance, q)``, where ``q`` is the ``max_unclustered_share`` quantile
    (5%) of the group's sample similarities, so at most ~5% of a group is unclustered, plus
    complaints with no known term at all (empty after stopwords, or only unseen words).

Assignment at scale
    The parts are streamed once: per chunk, sparse TF-IDF times the group's SVD components,
    times the centroids (two matrix products), no per-record Python beyond tokenisation. The
    pass keeps only per-cluster term counts, TF-IDF sums, sizes, theme counts, 30 central
    candidates per cluster, and one int32 per record; a second pass writes ``cluster_id`` into
    each part. On the Dask engine the first pass runs on the workers (the fitted model sent to
    each once, :func:`assign_part`); each part's sums come back sparse and are added here in
    part order, which keeps every engine's result the same.

Labels, stable ids, emerging issues
    :mod:`pipeline.cluster_labels` (c-TF-IDF keywords, verbatims) and
    :mod:`pipeline.cluster_registry` (term-space signatures, matching threshold, dormant,
    emerging test, DuckDB tables).

Determinism
    Fixed seeds, sorted vocabulary, hash-ordered sample, stable sorts with key tie-breaks: the
    same parts, sample, config and store give byte-identical ``cluster_id`` columns and tables.
    BLAS and OpenMP run single-threaded inside this stage (``threadpool_limits(1)``): the sums
    then do not depend on the thread count, and on a busy 2-core machine multi-threaded BLAS on
    these small matrices was 10-30x *slower* (spin-waiting threads) than one thread.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import pairwise_distances_chunked, silhouette_score
from sklearn.utils import check_array
from threadpoolctl import threadpool_limits

from pipeline.cluster_labels import (
    class_tfidf,
    is_label_term,
    label_from_keywords,
    load_stopwords,
    pick_examples,
    top_keywords,
)
from pipeline.cluster_registry import (
    RegistryState,
    blend_signatures,
    emerging_test,
    match_clusters,
    read_state,
    top_signature,
    write_state,
)
from pipeline.config import ClusterConfig

__all__ = [
    "CLUSTER_COLUMNS",
    "PatternModel",
    "PatternResult",
    "assign_part",
    "content_terms",
    "discover_patterns",
    "fit_sample",
    "terms_column",
    "with_cluster_ids",
]

NO_THEME = "(no theme)"
MIXED = "(mixed)"
#: Fewer complaints than this: no clustering at all (every record stays -1).
MIN_COMPLAINTS = 10
_GROUP_FLOOR = 500
_SILHOUETTE_POINTS = 3000
_CANDIDATES = 30
_READ_COLUMNS = ["record_key", "is_complaint", "top_theme", "text_norm", "display_text", "cluster_terms"]

CLUSTER_COLUMNS = [
    "cluster_id", "label", "keywords", "size", "share", "dominant_theme", "examples",
    "example_ids", "status", "emerging", "emerging_reason", "group", "match_similarity",
]


# -- terms ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    return load_stopwords()


@lru_cache(maxsize=1 << 18)
def _keep(token: str) -> bool:
    return is_label_term(token, _stopwords())


def content_terms(text: str) -> list[str]:
    """Content tokens of ``text`` that may appear in a label (see :func:`is_label_term`)."""
    from pipeline.tokenize import content_tokens

    if not isinstance(text, str) or not text:
        return []
    return [t for t in content_tokens(text) if _keep(t)]


def terms_column(frame: pd.DataFrame) -> list[str | None]:
    """:func:`content_terms` of each complaint's ``text_norm``, space-joined (``None`` for
    other rows). The engines compute it with the chunk, on their workers, and write it into
    the Parquet part, so assigning the parts to clusters later need not tokenise again."""
    out: list[str | None] = [None] * len(frame)
    mask = frame["is_complaint"].fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        return out
    codes, uniques = pd.factorize(frame.loc[mask, "text_norm"].fillna("").astype(str), sort=False)
    joined = [" ".join(content_terms(t)) for t in uniques]
    for row, code in zip(np.flatnonzero(mask), codes, strict=True):
        out[row] = joined[code]
    return out


def _ngrams(tokens: list[str]) -> list[str]:
    """Unigrams plus space-joined adjacent bigrams of content tokens."""
    return tokens + [f"{a} {b}" for a, b in pairwise(tokens)]


def _passthrough(doc: list[str]) -> list[str]:
    """Analyzer for pre-tokenised documents (module-level so the vectoriser pickles)."""
    return doc


def _group_keys(frame: pd.DataFrame) -> np.ndarray:
    """Top theme per row (``top_theme``, else the first of ``themes``), or :data:`NO_THEME`."""
    if "top_theme" in frame.columns:
        raw = frame["top_theme"]
    elif "themes" in frame.columns:
        raw = frame["themes"].map(lambda t: t[0] if t is not None and len(t) else None)
    else:
        raw = pd.Series([None] * len(frame), index=frame.index)
    keys = raw.where(raw.notna() & (raw.astype(str) != ""), NO_THEME)
    return keys.astype(str).to_numpy(dtype=object)


def _normalize_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norms = np.linalg.norm(m, axis=1)
    ok = norms > 0
    m[ok] /= norms[ok, None]
    return m, ok


# -- the sample -------------------------------------------------------------------------------


def fit_sample(sample: pd.DataFrame, config: ClusterConfig) -> pd.DataFrame:
    """A bounded sample stratified by group, chosen by a fixed hash of ``record_key``.

    Returns columns ``record_key``, ``text_norm``, ``group``; order is (group, hash, key), so the
    result does not depend on the order of ``sample``.
    """
    if sample is None or len(sample) == 0:
        return pd.DataFrame({"record_key": [], "text_norm": [], "group": []})
    frame = sample.drop_duplicates("record_key", keep="first")
    out = pd.DataFrame(
        {
            "record_key": frame["record_key"].astype(str).to_numpy(),
            "text_norm": frame["text_norm"].fillna("").astype(str).to_numpy(),
            "group": _group_keys(frame),
        }
    )
    out["_h"] = pd.util.hash_array(out["record_key"].to_numpy(dtype=object))
    out = out.sort_values(["group", "_h", "record_key"], kind="mergesort")
    total = len(out)
    if total > config.fit_sample:
        sizes = out["group"].value_counts()
        quota = {
            g: min(int(n), max(_GROUP_FLOOR, math.ceil(config.fit_sample * n / total)))
            for g, n in sizes.items()
        }
        rank = out.groupby("group", sort=False).cumcount()
        out = out[rank.to_numpy() < out["group"].map(quota).to_numpy()]
    return out.drop(columns="_h").reset_index(drop=True)


# -- the model --------------------------------------------------------------------------------


@dataclass
class _Group:
    key: str
    components: np.ndarray  # (d, n_terms) float32
    centroids: np.ndarray  # (k, d) float32, unit rows
    min_similarity: float
    first: int  # index of the group's first cluster in the model's cluster list
    silhouette: dict[str, float | str]


class PatternModel:
    """Per-group LSA + KMeans over content terms, fitted on a sample, applied chunk by chunk.

    Parameters
    ----------
    config : ClusterConfig
        Sizes, k range, thresholds and seed.
    warm_start : dict[str, list[tuple[list[str], list[float]]]] or None
        Stored term-space signatures per group, the warm candidates of the k choice.

    Attributes
    ----------
    vectorizer_ : CountVectorizer over pre-tokenised terms (sorted vocabulary).
    idf_ : ndarray, smoothed IDF of the fit sample.
    terms_ : ndarray of str, the vocabulary in column order.
    groups_ : dict[str, _Group]
    cluster_group_ : list[str], the group of each cluster, in cluster order.
    k_by_group_ : dict[str, int]

    Examples
    --------
    >>> from pipeline.config import ClusterConfig
    >>> docs = [["پیک", "دیر"], ["غذا", "سرد"]] * 10
    >>> m = PatternModel(config=ClusterConfig(min_cluster_size=2)).fit(docs, ["delivery"] * 20)
    >>> m.k_by_group_
    {'delivery': 2}
    """

    def __init__(self, *, config: ClusterConfig, warm_start: dict | None = None):
        self.config = config
        self.warm_start = warm_start

    # fitting
    def fit(self, docs: list[list[str]], groups) -> PatternModel:
        cfg = self.config
        groups = np.asarray(groups, dtype=object)
        self.groups_: dict[str, _Group] = {}
        self.cluster_group_: list[str] = []
        self.k_by_group_: dict[str, int] = {}
        self.vectorizer_ = CountVectorizer(
            analyzer=_passthrough,
            min_df=2 if len(docs) >= 20 else 1,
            max_features=cfg.max_features,
            dtype=np.float32,
        )
        try:
            counts = self.vectorizer_.fit_transform(docs).tocsr()
        except ValueError:  # empty vocabulary
            self.terms_ = np.array([], dtype=object)
            self.idf_ = np.zeros(0, dtype=np.float32)
            return self
        self.terms_ = self.vectorizer_.get_feature_names_out()
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        n = counts.shape[0]
        self.idf_ = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        tfidf = self._weigh(counts)
        nonempty = np.diff(tfidf.indptr) > 0

        sizes = pd.Series(groups[nonempty]).value_counts()
        small = {g for g, c in sizes.items() if c < cfg.min_group_size}
        routed = np.where(np.isin(groups, list(small)), MIXED, groups) if small else groups
        for key in sorted(set(routed[nonempty])):
            rows = np.flatnonzero((routed == key) & nonempty)
            fitted = self._fit_group(key, tfidf[rows], (self.warm_start or {}).get(key, []))
            if fitted is not None:
                self.groups_[key] = fitted
        return self

    def _warm_centroids(self, signatures: list, components: np.ndarray) -> np.ndarray:
        """Stored signatures projected into this group's LSA space (unit rows, empty dropped)."""
        vocab = self.vectorizer_.vocabulary_
        rows, cols, vals = [], [], []
        for i, (terms, weights) in enumerate(signatures):
            for t, w in zip(terms, weights, strict=True):
                j = vocab.get(t)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    vals.append(w)
        m = sp.csr_matrix((vals, (rows, cols)), shape=(len(signatures), len(vocab)), dtype=np.float32)
        z, ok = _normalize_rows(np.asarray(m @ components.T, dtype=np.float32))
        return z[ok]

    def _fit_group(self, key: str, tfidf: sp.csr_matrix, warm: list) -> _Group | None:
        cfg = self.config
        n, n_terms = tfidf.shape
        if n < MIN_COMPLAINTS:
            return None
        n_comp = min(cfg.svd_components, n - 1, n_terms - 1)
        if n_comp >= 2:
            svd = TruncatedSVD(n_comp, algorithm="randomized", n_iter=5, random_state=cfg.seed)
            svd.fit(tfidf)
            components = svd.components_.astype(np.float32)
        else:
            components = np.eye(n_terms, dtype=np.float32)
        z, ok = _normalize_rows(np.asarray(tfidf @ components.T, dtype=np.float32))
        z = z[ok]
        if len(z) < MIN_COMPLAINTS:
            return None

        k_max = min(cfg.max_k, len(z) // max(cfg.min_cluster_size, 1))
        probe = len(z[:_SILHOUETTE_POINTS])  # rows are in hash order: a fixed random subsample
        distances: list[np.ndarray] = []  # of the probe rows, computed once for every candidate

        def score(labels: np.ndarray) -> float | None:
            if len(np.unique(labels[:probe])) < 2:
                return None
            if not distances:
                distances.append(_silhouette_distances(z[:probe]))
            return round(float(silhouette_score(distances[0], labels[:probe], metric="precomputed")), 6)

        scores: dict[str, float] = {}
        candidates: dict[str, np.ndarray] = {}
        if k_max >= 2:
            for k in range(max(2, cfg.min_k), k_max + 1):
                labels = KMeans(k, n_init=3, random_state=cfg.seed).fit(z).labels_
                if (s := score(labels)) is not None:
                    scores[f"fresh{k}"], candidates[f"fresh{k}"] = s, labels
        init = self._warm_centroids(warm, components) if warm else np.zeros((0, z.shape[1]))
        for extra in range(3):
            if 2 <= len(init) <= k_max:
                labels = KMeans(len(init), init=init, n_init=1, random_state=cfg.seed).fit(z).labels_
                if (s := score(labels)) is not None:
                    scores[f"warm{len(init)}"], candidates[f"warm{len(init)}"] = s, labels
            if not len(init) or extra == 2:
                break
            far = int(np.argmin((z @ init.T).max(axis=1)))  # the point worst served so far
            init = np.vstack([init, z[far : far + 1]])
        fresh = {c: s for c, s in scores.items() if c.startswith("fresh")}
        warm_scores = {c: s for c, s in scores.items() if c.startswith("warm")}
        choice = None
        if fresh:
            choice = min(fresh, key=lambda c: (-fresh[c], int(c[5:])))
        if warm_scores:
            best_warm = min(warm_scores, key=lambda c: (-warm_scores[c], int(c[4:])))
            if choice is None or warm_scores[best_warm] >= fresh[choice] - cfg.k_tolerance:
                choice = best_warm
        labels = candidates[choice] if choice else np.zeros(len(z), dtype=np.int64)

        centroids = _centroids(z, labels)
        while len(centroids) > 1:  # dissolve clusters too small to read, smallest first
            labels = np.argmax(z @ centroids.T, axis=1)
            counts = np.bincount(labels, minlength=len(centroids))
            smallest = int(np.argmin(counts))
            if counts[smallest] >= cfg.min_cluster_size:
                break
            rest = np.delete(centroids, smallest, axis=0)
            centroids = _centroids(z, np.argmax(z @ rest.T, axis=1))
        labels = np.argmax(z @ centroids.T, axis=1)
        counts = np.bincount(labels, minlength=len(centroids))
        order = np.lexsort((np.arange(len(counts)), -counts))  # biggest first, stable
        centroids = centroids[order]
        sims = (z @ centroids.T).max(axis=1)
        q = float(np.quantile(sims, cfg.max_unclustered_share)) if len(sims) else 0.0
        min_similarity = min(1.0 - cfg.outlier_distance, q)
        group = _Group(
            key=key,
            components=components,
            centroids=centroids.astype(np.float32),
            min_similarity=float(min_similarity),
            first=len(self.cluster_group_),
            silhouette={**scores, "chosen": choice or "single"},
        )
        self.cluster_group_.extend([key] * len(centroids))
        self.k_by_group_[key] = len(centroids)
        return group

    @property
    def n_clusters_(self) -> int:
        return len(self.cluster_group_)

    # applying
    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        tfidf = counts.multiply(self.idf_[None, :]).tocsr().astype(np.float32)
        norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.diags((1.0 / norms).astype(np.float32)) @ tfidf

    def transform_counts(self, docs: list[list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Term counts and L2-normalised TF-IDF rows of pre-tokenised documents."""
        counts = self.vectorizer_.transform(docs).tocsr()
        return counts, self._weigh(counts)

    def route(self, groups) -> np.ndarray:
        """The fitted group each raw group key is assigned in (or "" when none applies)."""
        groups = np.asarray(groups, dtype=object)
        fallback = MIXED if MIXED in self.groups_ else ""
        return np.array([g if g in self.groups_ else fallback for g in groups], dtype=object)

    def assign(self, tfidf: sp.csr_matrix, routed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest-centroid cluster index per row (-1 = unclustered) and its cosine similarity."""
        n = tfidf.shape[0]
        idx = np.full(n, -1, dtype=np.int32)
        sim = np.zeros(n, dtype=np.float32)
        for key, g in self.groups_.items():
            rows = np.flatnonzero(routed == key)
            if not rows.size:
                continue
            z, ok = _normalize_rows(np.asarray(tfidf[rows] @ g.components.T, dtype=np.float32))
            s = z @ g.centroids.T
            best = np.argmax(s, axis=1)
            best_sim = s[np.arange(len(rows)), best]
            keep = ok & (best_sim >= g.min_similarity)
            idx[rows[keep]] = g.first + best[keep]
            sim[rows] = np.where(ok, best_sim, 0.0)
        return idx, sim


def _silhouette_distances(z: np.ndarray) -> np.ndarray:
    """The Euclidean distances ``silhouette_score(z, labels)`` computes, for ``metric="precomputed"``.

    Computed chunk by chunk exactly as ``silhouette_score`` does (same chunks, zero diagonal),
    so the scores are the same to the last bit; the k search then pays for them once per group
    instead of once per candidate.
    """
    return np.vstack(list(pairwise_distances_chunked(check_array(z, accept_sparse=["csr"]))))


def _centroids(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    k = int(labels.max()) + 1 if len(labels) else 0
    onehot = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(z)))
    sums = np.asarray(onehot @ z)
    sums = sums[np.asarray(onehot.sum(axis=1)).ravel() > 0]
    return _normalize_rows(sums.astype(np.float32))[0]


# -- the streaming pass -----------------------------------------------------------------------


@dataclass
class PartStats:
    """One part's share of the streaming pass: small, whatever the part's size.

    Computed where the part is (a worker, or this process) by :func:`assign_part`, and
    merged in part order by :meth:`_Accumulator.merge`.
    """

    n_complaints: int
    #: Provisional cluster index per row of the part (-1: not a complaint, or unclustered).
    prov: np.ndarray
    #: Per-cluster sums over the part's clustered rows (sparse, clusters x terms).
    counts: sp.csr_matrix | None = None
    tfidf_sums: sp.csr_matrix | None = None
    sizes: np.ndarray | None = None
    #: (cluster index, top theme) -> rows.
    themes: dict = field(default_factory=dict)
    #: The part's best :data:`_CANDIDATES` rows per cluster (see :func:`_top_candidates`).
    candidates: pd.DataFrame | None = None


def assign_part(part: Path | str | pd.DataFrame, model: PatternModel | None) -> PartStats:
    """Assign the complaints of one part (a Parquet path, or a frame of its columns).

    The task the engines run per part, with the fitted ``model`` sent to each worker once.
    BLAS runs single-threaded, as in :func:`discover_patterns`, so the sums do not depend on
    where this runs.
    """
    frame = part if isinstance(part, pd.DataFrame) else _read_part(Path(part))
    with threadpool_limits(limits=1):
        return _part_stats(frame, model)


def _part_stats(frame: pd.DataFrame, model: PatternModel | None) -> PartStats:
    prov = np.full(len(frame), -1, dtype=np.int32)
    mask = frame["is_complaint"].fillna(False).to_numpy(dtype=bool)
    stats = PartStats(int(mask.sum()), prov)
    if model is None or not mask.any():
        return stats
    sub = frame.loc[mask]
    if "cluster_terms" in sub.columns:  # tokenised by the engine (see terms_column)
        codes, uniques = pd.factorize(sub["cluster_terms"].fillna("").astype(str), sort=False)
        tokens = [t.split(" ") if t else [] for t in uniques]
    else:
        codes, uniques = pd.factorize(sub["text_norm"].fillna("").astype(str), sort=False)
        tokens = [content_terms(t) for t in uniques]
    counts_u, tfidf_u = model.transform_counts([_ngrams(t) for t in tokens])
    counts, tfidf = counts_u[codes], tfidf_u[codes]
    idx, sim = model.assign(tfidf, model.route(_group_keys(sub)))
    prov[mask] = idx
    ok = np.flatnonzero(idx >= 0)
    if not ok.size:
        return stats
    k = model.n_clusters_
    onehot = sp.csr_matrix((np.ones(ok.size), (idx[ok], np.arange(ok.size))), shape=(k, ok.size))
    stats.counts = (onehot @ counts[ok]).tocsr()
    stats.tfidf_sums = (onehot @ tfidf[ok]).tocsr()
    stats.sizes = np.bincount(idx[ok], minlength=k)
    themes = sub["top_theme"].iloc[ok].fillna("").astype(str).to_numpy()
    pairs = pd.Series(1, index=pd.MultiIndex.from_arrays([idx[ok], themes])).groupby(level=[0, 1]).sum()
    stats.themes = {key: int(n) for key, n in pairs.items()}
    n_terms = np.array([len(t) for t in tokens])[codes]
    stats.candidates = _top_candidates(
        pd.DataFrame(
            {
                "prov": idx[ok],
                "similarity": sim[ok].astype(np.float64),
                "record_key": sub["record_key"].iloc[ok].astype(str).to_numpy(),
                "display_text": sub["display_text"].iloc[ok].fillna("").astype(str).to_numpy(),
                "text_norm": sub["text_norm"].iloc[ok].fillna("").astype(str).to_numpy(),
                "n_terms": n_terms[ok],
            }
        )
    )
    return stats


def _top_candidates(cand: pd.DataFrame) -> pd.DataFrame:
    """The best :data:`_CANDIDATES` rows per cluster: most similar first, then by key.

    The sort is stable, so the top rows of concatenated frames are the top rows of their
    tops: merging part by part keeps exactly what one pass over all rows would.
    """
    cand = cand.assign(_neg=-cand["similarity"].round(9))
    cand = cand.sort_values(["prov", "_neg", "record_key"], kind="mergesort")
    return cand.groupby("prov", sort=False).head(_CANDIDATES).drop(columns="_neg")


@dataclass
class _Accumulator:
    """Per-cluster statistics gathered over all parts, bounded by (clusters x vocabulary)."""

    model: PatternModel | None
    n_complaints: int = 0
    counts: np.ndarray | None = None
    tfidf_sums: np.ndarray | None = None
    sizes: np.ndarray | None = None
    themes: dict = field(default_factory=dict)
    candidates: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.model is not None:
            k, v = self.model.n_clusters_, len(self.model.terms_)
            self.counts = np.zeros((k, v))
            self.tfidf_sums = np.zeros((k, v))
            self.sizes = np.zeros(k, dtype=np.int64)

    def add(self, frame: pd.DataFrame) -> np.ndarray:
        """Assign one chunk here; returns the provisional cluster index per row (-1 elsewhere)."""
        return self.merge(_part_stats(frame, self.model))

    def merge(self, stats: PartStats) -> np.ndarray:
        """Add one part's statistics (parts in order); returns its provisional indices."""
        self.n_complaints += stats.n_complaints
        if stats.sizes is None:
            return stats.prov
        self.counts += stats.counts.toarray()
        self.tfidf_sums += stats.tfidf_sums.toarray()
        self.sizes += stats.sizes
        for key, n in stats.themes.items():
            self.themes[key] = self.themes.get(key, 0) + n
        if self.candidates is None:
            self.candidates = stats.candidates
        else:
            self.candidates = _top_candidates(pd.concat([self.candidates, stats.candidates], ignore_index=True))
        return stats.prov


def _read_part(part: Path) -> pd.DataFrame:
    from pipeline.engine import read_part_columns

    return read_part_columns(part, _READ_COLUMNS)


def with_cluster_ids(table: pa.Table, ids: np.ndarray) -> pa.Table:
    """``table`` with its ``cluster_id`` column replaced by ``ids``."""
    i = table.schema.get_field_index("cluster_id")
    return table.set_column(i, table.schema.field(i), pa.array(ids, type=pa.int32()))


def _write_cluster_ids(part: Path, ids: np.ndarray) -> None:
    """Replace the ``cluster_id`` column of one Parquet part (atomically, via a temp file)."""
    table = with_cluster_ids(pq.read_table(part), ids)
    tmp = part.with_name(part.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, part)


# -- the result -------------------------------------------------------------------------------


@dataclass
class PatternResult:
    """Tonight's clusters and the registry state to commit with the run.

    Attributes
    ----------
    clusters : DataFrame with :data:`CLUSTER_COLUMNS`, emerging first, then size descending.
    summary : counts (complaints, clustered, unclustered share), k per group, silhouettes.
    """

    clusters: pd.DataFrame
    summary: dict
    run_id: str = ""
    registry_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    dormant_ids: list[int] = field(default_factory=list)
    #: Tonight's own term-space signature per cluster id (before blending with stored ones).
    signatures: dict = field(default_factory=dict)
    #: The ``cluster_id`` of every row, one int32 array per part, in part order.
    part_ids: list[np.ndarray] = field(default_factory=list)

    def write(self, con) -> None:
        """Write the registry and per-run sizes; pass as ``extra_writes`` to ``commit_run``."""
        sizes = self.clusters[["cluster_id", "size", "share", "status", "emerging",
                               "emerging_reason", "match_similarity"]]
        write_state(
            con,
            run_id=self.run_id,
            registry_rows=self.registry_rows,
            dormant_ids=self.dormant_ids,
            run_sizes=sizes,
            n_complaints=self.summary["n_complaints"],
            n_clustered=self.summary["n_clustered"],
            k_by_group=self.summary["k_by_group"],
        )


def _empty_clusters() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in CLUSTER_COLUMNS})


def _theme_or_none(group: str) -> str | None:
    return None if group in (NO_THEME, MIXED, "") else group


def _resolve(acc: _Accumulator, state: RegistryState, config: ClusterConfig, run_id: str):
    """Labels, matching, ids, emerging flags; returns (clusters, registry rows, dormant, id map)."""
    model = acc.model
    k = model.n_clusters_ if model is not None else 0
    id_map = np.full(k, -1, dtype=np.int32)
    live = np.flatnonzero(acc.sizes > 0) if k else np.array([], dtype=np.int64)
    n_total = acc.n_complaints
    rows: list[dict] = []
    registry_rows: list[dict] = []
    signatures: dict[int, tuple[list[str], list[float]]] = {}
    reg = state.registry.reset_index(drop=True)
    stored = [(list(t), list(w)) for t, w in zip(reg["terms"], reg["weights"], strict=True)]

    if len(live):
        weights = class_tfidf(acc.counts[live])
        keywords = [top_keywords(weights[i], model.terms_, config.n_keywords) for i in range(len(live))]
        sigs = []
        for c in live:
            row = acc.tfidf_sums[c] / acc.sizes[c]
            top = np.argsort(-row, kind="stable")[:200]
            sigs.append(top_signature({str(model.terms_[j]): float(row[j]) for j in top if row[j] > 0}))
        match = match_clusters(sigs, stored, config.match_threshold)
        next_id = int(reg["cluster_id"].max()) + 1 if len(reg) else 1
        unmatched = [i for i in range(len(live)) if match.matched[i] < 0]
        unmatched.sort(key=lambda i: (model.cluster_group_[live[i]], -int(acc.sizes[live[i]]), keywords[i]))
        new_ids = {i: next_id + j for j, i in enumerate(unmatched)}
        claimed = {int(reg.at[int(match.matched[i]), "cluster_id"]) for i in range(len(live)) if match.matched[i] >= 0}
        # A new cluster that resembles an already matched stored one is a split of it: the
        # emerging test of the matched cluster counts its splits too (the whole share).
        splits: dict[int, list[int]] = {}
        for i in unmatched:
            if match.best_any[i] >= config.match_threshold:
                splits.setdefault(int(match.best_any_row[i]), []).append(i)
        for i, c in enumerate(live):
            group = model.cluster_group_[c]
            size = int(acc.sizes[c])
            if match.matched[i] >= 0:
                r = int(match.matched[i])
                cid = int(reg.at[r, "cluster_id"])
                status = "active"
                first_seen = reg.at[r, "first_seen_run"]
                terms, wts = blend_signatures(stored[r], sigs[i])
                family = splits.get(r, [])
                emerging, reason = emerging_test(
                    size + sum(int(acc.sizes[live[j]]) for j in family), n_total,
                    state.trailing_sizes.get(cid, 0), state.trailing_n,
                    z_min=config.emerging_z, ratio=config.emerging_ratio,
                    min_size=config.emerging_min_size,
                )
                if family:
                    reason = f"with splits {', '.join(f'#{new_ids[j]}' for j in family)}: {reason}"
                if reg.at[r, "status"] == "dormant":
                    reason = f"back from dormant; {reason}"
            else:
                cid = new_ids[i]
                status = "new"
                first_seen = run_id
                terms, wts = sigs[i]
                if not state.has_history:
                    emerging, reason = False, "first clustered run (baseline)"
                elif match.best_any[i] >= config.novelty_threshold:
                    near = int(reg.at[int(match.best_any_row[i]), "cluster_id"])
                    emerging = False
                    kind = "split of" if match.best_any[i] >= config.match_threshold else "re-cut near"
                    if kind == "split of" and near not in claimed:
                        kind = "near"
                    reason = f"{kind} #{near} (similarity {match.best_any[i]:.2f})"
                else:
                    emerging = size >= config.emerging_min_size
                    reason = f"new ({size / n_total:.1%} of complaints)"
            id_map[c] = cid
            signatures[cid] = sigs[i]
            label = label_from_keywords(keywords[i])
            cand = acc.candidates[acc.candidates["prov"] == c]
            ex = pick_examples(cand, config.n_examples)
            themes = {t: n for (p, t), n in acc.themes.items() if p == c and t}
            dominant = min(themes, key=lambda t: (-themes[t], t)) if themes else _theme_or_none(group)
            rows.append(
                {
                    "cluster_id": cid, "label": label, "keywords": keywords[i], "size": size,
                    "share": round(size / n_total, 6) if n_total else 0.0,
                    "dominant_theme": dominant, "examples": ex["example"].tolist(),
                    "example_ids": ex["record_key"].tolist(), "status": status,
                    "emerging": bool(emerging), "emerging_reason": reason, "group": group,
                    "match_similarity": round(float(match.similarity[i]), 4),
                }
            )
            registry_rows.append(
                {
                    "cluster_id": cid, "group_key": group, "status": status,
                    "first_seen_run": first_seen, "last_seen_run": run_id, "label": label,
                    "keywords": keywords[i], "terms": terms, "weights": wts,
                }
            )
    seen = {r["cluster_id"] for r in rows}
    dormant_ids = []
    for r in reg.itertuples(index=False):
        if int(r.cluster_id) in seen or r.status == "dormant":
            continue
        dormant_ids.append(int(r.cluster_id))
        rows.append(
            {
                "cluster_id": int(r.cluster_id), "label": r.label, "keywords": list(r.keywords),
                "size": 0, "share": 0.0, "dominant_theme": _theme_or_none(r.group_key),
                "examples": [], "example_ids": [], "status": "dormant", "emerging": False,
                "emerging_reason": f"not seen tonight (last seen {r.last_seen_run})",
                "group": r.group_key, "match_similarity": 0.0,
            }
        )
    clusters = pd.DataFrame(rows, columns=CLUSTER_COLUMNS) if rows else _empty_clusters()
    if len(clusters):
        clusters = clusters.sort_values(
            ["emerging", "size", "cluster_id"], ascending=[False, False, True], kind="mergesort"
        ).reset_index(drop=True)
        clusters["cluster_id"] = clusters["cluster_id"].astype(np.int32)
        clusters["size"] = clusters["size"].astype(np.int64)
        for col in ("label", "dominant_theme", "status", "emerging_reason", "group"):
            values = clusters[col].astype(object)
            clusters[col] = values.where(values.notna(), None)  # None, not NaN, for "no theme"
    registry = pd.DataFrame(
        registry_rows,
        columns=["cluster_id", "group_key", "status", "first_seen_run", "last_seen_run", "label",
                 "keywords", "terms", "weights"],
    )
    return clusters, registry, dormant_ids, id_map, signatures


def _warm_signatures(state: RegistryState) -> dict[str, list]:
    """Stored signatures of the clusters that were live last time, per group, by id."""
    reg = state.registry
    if not len(reg):
        return {}
    live = reg[reg["status"] != "dormant"].sort_values("cluster_id")
    out: dict[str, list] = {}
    for group, terms, weights in zip(live["group_key"], live["terms"], live["weights"], strict=True):
        out.setdefault(group, []).append((list(terms), list(weights)))
    return out


# -- the entry point --------------------------------------------------------------------------


def discover_patterns(
    parts: list[Path],
    sample: pd.DataFrame,
    config: ClusterConfig,
    store,
    run_id: str,
    *,
    engine=None,
    write_ids: bool = True,
) -> PatternResult:
    """Cluster this run's complaints, write stable ``cluster_id`` into each part, return clusters.

    Parameters
    ----------
    parts : Parquet files with ``pipeline.run.RESULT_SCHEMA``; ``cluster_id`` is rewritten in
        place, one part at a time (unless ``write_ids`` is false).
    sample : bounded sample of this run's complaints (``record_key``, ``text_norm``, ``themes``
        and, when available, ``top_theme``); the model is fitted on it.
    config : clustering settings.
    store : the history store; only read here (earlier clusters, trailing window).
    run_id : this run's id, recorded as first/last seen in the registry.
    engine : where the parts are assigned (:func:`assign_part`, part by part): a
        :mod:`pipeline.engine` engine (:func:`pipeline.engine.map_parts`: the Dask engine's
        workers, the local engine's own process) or ``None`` for this process. The fitted model
        goes to each worker once; what comes back per part is small (sums, sizes, candidates,
        one int32 per record) and is merged here in part order, so every engine gives the same
        clusters and ids.
    write_ids : rewrite each part's ``cluster_id`` column; ``False`` leaves the parts as they
        are for a caller that applies ``result.part_ids`` itself (the orchestrator does, as it
        copies the parts into ``complaints.parquet``: one pass over the rows instead of two).

    Returns
    -------
    PatternResult
        ``.clusters`` (see :data:`CLUSTER_COLUMNS`) and ``.write(con)`` for ``commit_run``'s
        ``extra_writes``. Nothing is written to the store before that.
    """
    with threadpool_limits(limits=1):  # see "Determinism" in the module docstring
        return _discover(parts, sample, config, store, run_id, engine, write_ids)


def _discover(parts, sample, config, store, run_id, engine, write_ids) -> PatternResult:
    state = read_state(store.con, config.trailing_runs)
    fit = fit_sample(sample, config)
    model: PatternModel | None = None
    if len(fit) >= MIN_COMPLAINTS:
        docs = [_ngrams(content_terms(t)) for t in fit["text_norm"]]
        model = PatternModel(config=config, warm_start=_warm_signatures(state)).fit(docs, fit["group"])
        if model.n_clusters_ == 0:
            model = None

    acc = _Accumulator(model)
    if engine is None or model is None:
        stats = (assign_part(part, model) for part in parts)
    else:
        from pipeline.engine import map_parts

        stats = map_parts(engine, assign_part, parts, model, columns=_READ_COLUMNS)
    provisional = [acc.merge(s) for s in stats]
    clusters, registry_rows, dormant_ids, id_map, signatures = _resolve(acc, state, config, run_id)

    part_ids = [
        np.where(prov >= 0, id_map[np.maximum(prov, 0)] if len(id_map) else -1, -1).astype(np.int32)
        for prov in provisional
    ]
    n_clustered = sum(int((ids >= 0).sum()) for ids in part_ids)
    if write_ids:
        for part, ids in zip(parts, part_ids, strict=True):
            _write_cluster_ids(part, ids)

    summary = {
        "n_complaints": acc.n_complaints,
        "n_clustered": n_clustered,
        "unclustered_share": round(1 - n_clustered / acc.n_complaints, 4) if acc.n_complaints else 0.0,
        "n_clusters": int((clusters["status"] != "dormant").sum()) if len(clusters) else 0,
        "n_emerging": int(clusters["emerging"].sum()) if len(clusters) else 0,
        "fit_size": len(fit),
        "k_by_group": dict(model.k_by_group_) if model is not None else {},
        "silhouette_by_group": {key: g.silhouette for key, g in model.groups_.items()}
        if model is not None else {},
    }
    return PatternResult(clusters, summary, run_id, registry_rows, dormant_ids, signatures, part_ids)
