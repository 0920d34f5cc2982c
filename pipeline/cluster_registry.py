"""Stable cluster ids across nights, and the emerging-issue test, over the DuckDB run history.

Why term-space signatures
-------------------------
Each night refits its vectoriser vocabulary and SVD, so LSA centroids of two nights live in
different spaces and cannot be compared. Every cluster is therefore also described by a
*signature* in term space: the mean of its records' L2-normalised TF-IDF vectors, cut to its
:data:`SIGNATURE_TERMS` heaviest terms and L2-normalised, stored as ``(terms, weights)`` with the
term strings themselves (no hashing, so no collisions and readable rows). Two signatures are
compared by cosine similarity over the union of their terms; this is independent of either
night's vocabulary or SVD.

Matching rule
-------------
Tonight's clusters are matched one-to-one to every stored cluster (active or dormant, any theme
group) by maximum total similarity (Hungarian assignment, ``scipy.optimize.linear_sum_assignment``);
a pair counts only when its cosine similarity is at least ``ClusterConfig.match_threshold``
(default 0.5). On the Snappfood complaints, the same issue refitted on disjoint halves of the
data scores about 0.6–0.95, and different issues mostly below 0.35 (``docs/clustering.md``).

* matched → keeps the stored id, status ``active`` (a dormant one comes back);
* unmatched tonight → a new id (``max(id) + 1``, in a deterministic order), status ``new``;
* stored, not dormant, unmatched → status ``dormant`` (kept, so it can come back later).

A matched cluster's stored signature moves towards tonight's by an exponential moving average
(weight :data:`SIGNATURE_ALPHA` on tonight), so it follows slow drift in wording without
jumping to another issue in one night.

Emerging test
-------------
A cluster is *emerging* when

* it is new and no stored cluster reaches ``novelty_threshold`` (0.3) with it: a genuinely
  new vocabulary, not a re-cut of a known issue (on the first clustered run nothing is
  flagged: there is no baseline). On two disjoint halves of the Snappfood complaints run as two
  nights, the new clusters (re-cuts) all resembled a stored cluster at 0.33–0.49; a planted
  issue with its own words scores near 0. Or
* its share of tonight's complaints grew against the trailing window: the last
  ``trailing_runs`` clustered runs, pooled (its count there, 0 where it was absent, over all
  their complaints). One-sided two-proportion z-test with a pooled variance; flagged when
  ``z >= emerging_z`` (3.0), share ``>= emerging_ratio`` (1.5) x trailing share, and at least
  ``emerging_min_size`` records tonight. The effect-size floor keeps a million-record night from
  flagging a 0.1-point wobble that is "significant" only because n is huge.

A new cluster that does reach the threshold with a stored cluster that was already claimed is
a *split* of that cluster: it gets a new id but is not flagged (reason says which cluster).

Tables (created by :func:`write_state`, inside the run's transaction)
---------------------------------------------------------------------
``cluster_registry``  one row per stable id: group, status, first/last seen run, label,
keywords, signature terms and weights.
``cluster_run_sizes`` one row per (run, cluster): size, share, status, emerging, reason.
``cluster_runs``      one row per run: complaints, clustered records, k per group.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

__all__ = [
    "DDL",
    "RegistryState",
    "blend_signatures",
    "emerging_test",
    "match_clusters",
    "read_state",
    "signature_similarity",
    "write_state",
]

#: Terms kept in a stored signature.
SIGNATURE_TERMS = 100
#: Weight of tonight's signature when a matched cluster's stored signature is updated.
SIGNATURE_ALPHA = 0.3

DDL = [
    """CREATE TABLE IF NOT EXISTS cluster_registry (
        cluster_id INTEGER PRIMARY KEY,
        group_key VARCHAR,
        status VARCHAR,
        first_seen_run VARCHAR,
        last_seen_run VARCHAR,
        label VARCHAR,
        keywords VARCHAR[],
        terms VARCHAR[],
        weights DOUBLE[],
        updated_run VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS cluster_run_sizes (
        run_id VARCHAR,
        cluster_id INTEGER,
        size BIGINT,
        share DOUBLE,
        status VARCHAR,
        emerging BOOLEAN,
        emerging_reason VARCHAR,
        match_similarity DOUBLE,
        PRIMARY KEY (run_id, cluster_id)
    )""",
    """CREATE TABLE IF NOT EXISTS cluster_runs (
        run_id VARCHAR PRIMARY KEY,
        n_complaints BIGINT,
        n_clustered BIGINT,
        k_by_group VARCHAR
    )""",
]

_REGISTRY_COLUMNS = [
    "cluster_id", "group_key", "status", "first_seen_run", "last_seen_run", "label",
    "keywords", "terms", "weights", "updated_run",
]


@dataclass
class RegistryState:
    """What earlier runs left: the registry, the trailing window, last night's k per group."""

    registry: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_REGISTRY_COLUMNS))
    #: Runs of the trailing window (oldest first) and their complaint counts.
    trailing_runs: list[str] = field(default_factory=list)
    trailing_n: int = 0
    #: cluster_id -> summed size over the trailing window.
    trailing_sizes: dict[int, int] = field(default_factory=dict)
    previous_k: dict[str, int] = field(default_factory=dict)

    @property
    def has_history(self) -> bool:
        return len(self.registry) > 0


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def read_state(con, trailing_runs: int) -> RegistryState:
    """Read earlier state from the store without writing anything (tables may not exist yet)."""
    tables = _tables(con)
    state = RegistryState()
    if "cluster_registry" in tables:
        state.registry = con.execute(
            f"SELECT {', '.join(_REGISTRY_COLUMNS)} FROM cluster_registry ORDER BY cluster_id"
        ).df()
    if "cluster_runs" in tables:
        order = "r.run_id"
        join = ""
        if "runs" in tables:
            join = "LEFT JOIN runs USING (run_id)"
            order = "runs.started_at, r.run_id"
        runs = con.execute(
            f"SELECT r.run_id, r.n_complaints, r.k_by_group FROM cluster_runs r {join} "
            f"ORDER BY {order}"
        ).fetchall()
        if runs:
            state.previous_k = {k: int(v) for k, v in json.loads(runs[-1][2] or "{}").items()}
        window = runs[-trailing_runs:] if trailing_runs > 0 else []
        state.trailing_runs = [r[0] for r in window]
        state.trailing_n = int(sum(r[1] or 0 for r in window))
        if window and "cluster_run_sizes" in tables:
            rows = con.execute(
                "SELECT cluster_id, sum(size) FROM cluster_run_sizes "
                "WHERE list_contains(?, run_id) GROUP BY cluster_id ORDER BY cluster_id",
                [state.trailing_runs],
            ).fetchall()
            state.trailing_sizes = {int(c): int(n) for c, n in rows}
    return state


# -- signatures -------------------------------------------------------------------------------


def _matrix(signatures: list[tuple[list[str], list[float]]], index: dict[str, int]) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i, (terms, weights) in enumerate(signatures):
        for t, w in zip(terms, weights, strict=True):
            rows.append(i)
            cols.append(index[t])
            vals.append(float(w))
    m = sp.csr_matrix((vals, (rows, cols)), shape=(len(signatures), len(index)), dtype=np.float64)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ m


def signature_similarity(
    left: list[tuple[list[str], list[float]]], right: list[tuple[list[str], list[float]]]
) -> np.ndarray:
    """Cosine similarity matrix (len(left) x len(right)) of term-space signatures."""
    vocab = sorted({t for terms, _ in left for t in terms} | {t for terms, _ in right for t in terms})
    index = {t: i for i, t in enumerate(vocab)}
    if not left or not right:
        return np.zeros((len(left), len(right)))
    return np.asarray((_matrix(left, index) @ _matrix(right, index).T).todense())


def top_signature(weights: dict[str, float], n: int = SIGNATURE_TERMS) -> tuple[list[str], list[float]]:
    """Keep the ``n`` heaviest terms (ties by term), L2-normalised, weights rounded to 1e-6."""
    items = sorted(((t, w) for t, w in weights.items() if w > 0), key=lambda kv: (-kv[1], kv[0]))[:n]
    norm = math.sqrt(sum(w * w for _, w in items)) or 1.0
    return [t for t, _ in items], [round(w / norm, 6) for _, w in items]


def blend_signatures(
    stored: tuple[list[str], list[float]], tonight: tuple[list[str], list[float]],
    alpha: float = SIGNATURE_ALPHA,
) -> tuple[list[str], list[float]]:
    """Exponential moving average of two signatures, re-cut and re-normalised."""
    mixed: dict[str, float] = {}
    for terms, weights, a in ((stored[0], stored[1], 1 - alpha), (tonight[0], tonight[1], alpha)):
        for t, w in zip(terms, weights, strict=True):
            mixed[t] = mixed.get(t, 0.0) + a * float(w)
    return top_signature(mixed)


# -- matching ---------------------------------------------------------------------------------


@dataclass
class Match:
    """Per tonight's cluster: matched stored row (or -1), its similarity, best similarity to any."""

    matched: np.ndarray
    similarity: np.ndarray
    best_any: np.ndarray
    best_any_row: np.ndarray


def match_clusters(
    tonight: list[tuple[list[str], list[float]]],
    stored: list[tuple[list[str], list[float]]],
    threshold: float,
) -> Match:
    """One-to-one matching of tonight's signatures to stored ones (see the module docstring)."""
    m = len(tonight)
    matched = np.full(m, -1, dtype=np.int64)
    similarity = np.zeros(m)
    if not m or not stored:
        return Match(matched, similarity, np.zeros(m), np.full(m, -1, dtype=np.int64))
    sim = signature_similarity(tonight, stored)
    gain = np.where(sim >= threshold, sim, 0.0)
    rows, cols = linear_sum_assignment(-gain)
    for r, c in zip(rows, cols, strict=True):
        if gain[r, c] > 0:
            matched[r] = c
            similarity[r] = sim[r, c]
    return Match(matched, similarity, sim.max(axis=1), sim.argmax(axis=1))


# -- emerging ---------------------------------------------------------------------------------


def emerging_test(
    size: int, n: int, trailing_size: int, trailing_n: int, *, z_min: float, ratio: float,
    min_size: int,
) -> tuple[bool, str]:
    """One-sided two-proportion z-test of tonight's share against the pooled trailing share.

    >>> emerging_test(40, 1000, 10, 4000, z_min=3.0, ratio=1.5, min_size=5)
    (True, 'share 4.0% vs trailing 0.2%, z=10.3')
    """
    if n <= 0:
        return False, "no complaints tonight"
    p1 = size / n
    if trailing_n <= 0:
        return False, f"share {p1:.1%}; no trailing window"
    p0 = trailing_size / trailing_n
    pooled = (size + trailing_size) / (n + trailing_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / trailing_n))
    z = (p1 - p0) / se if se > 0 else 0.0
    flag = z >= z_min and p1 >= ratio * p0 and size >= min_size
    return bool(flag), f"share {p1:.1%} vs trailing {p0:.1%}, z={z:.1f}"


# -- writing ----------------------------------------------------------------------------------


def write_state(
    con, *, run_id: str, registry_rows: pd.DataFrame, dormant_ids: list[int],
    run_sizes: pd.DataFrame, n_complaints: int, n_clustered: int, k_by_group: dict[str, int],
) -> None:
    """Write tonight's registry changes and sizes; call inside the run's transaction."""
    for stmt in DDL:
        con.execute(stmt)
    if len(registry_rows):
        rows = registry_rows[_REGISTRY_COLUMNS[:-1]].assign(
            cluster_id=registry_rows["cluster_id"].astype("int32"),
            keywords=[list(map(str, k)) for k in registry_rows["keywords"]],
            terms=[list(map(str, t)) for t in registry_rows["terms"]],
            weights=[list(map(float, w)) for w in registry_rows["weights"]],
            updated_run=run_id,
        )
        con.register("_cluster_registry_rows", rows)
        try:
            con.execute(
                "INSERT OR REPLACE INTO cluster_registry "
                f"SELECT {', '.join(_REGISTRY_COLUMNS)} FROM _cluster_registry_rows"
            )
        finally:
            con.unregister("_cluster_registry_rows")
    if dormant_ids:
        con.execute(
            "UPDATE cluster_registry SET status = 'dormant', updated_run = ? "
            "WHERE list_contains(?, cluster_id)",
            [run_id, [int(i) for i in dormant_ids]],
        )
    if len(run_sizes):
        sizes = pd.DataFrame(
            {
                "run_id": run_id,
                "cluster_id": run_sizes["cluster_id"].astype("int32").to_numpy(),
                "size": run_sizes["size"].astype("int64").to_numpy(),
                "share": run_sizes["share"].astype(float).to_numpy(),
                "status": run_sizes["status"].astype(str).to_numpy(),
                "emerging": run_sizes["emerging"].astype(bool).to_numpy(),
                "emerging_reason": run_sizes["emerging_reason"].astype(str).to_numpy(),
                "match_similarity": run_sizes["match_similarity"].astype(float).to_numpy(),
            }
        )
        con.register("_cluster_run_sizes_rows", sizes)
        try:
            con.execute("INSERT OR REPLACE INTO cluster_run_sizes SELECT * FROM _cluster_run_sizes_rows")
        finally:
            con.unregister("_cluster_run_sizes_rows")
    con.execute(
        "INSERT OR REPLACE INTO cluster_runs VALUES (?,?,?,?)",
        [run_id, int(n_complaints), int(n_clustered), json.dumps(k_by_group, sort_keys=True)],
    )
