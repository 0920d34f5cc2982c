"""Registry building blocks: signature matching, the emerging test, reading and writing state."""

from __future__ import annotations

import pytest

from pipeline.cluster_registry import (
    blend_signatures,
    emerging_test,
    match_clusters,
    read_state,
    signature_similarity,
    top_signature,
    write_state,
)
from pipeline.store import HistoryStore

LATE = top_signature({"پیک": 0.8, "دیر": 0.6, "سرد": 0.3})
LEAK = top_signature({"بسته‌بندی": 0.7, "نشتی": 0.6, "سس": 0.4})
CASH = top_signature({"مندوب": 0.8, "إضافي": 0.5, "نقدا": 0.4})


def test_signature_similarity_is_cosine_over_term_strings():
    sim = signature_similarity([LATE, LEAK], [LATE, CASH])
    assert sim[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert sim[1, 0] == 0.0 and sim[1, 1] == 0.0


def test_matching_is_one_to_one_and_respects_the_threshold():
    late_again = top_signature({"پیک": 0.7, "دیر": 0.7, "ساعت": 0.2})
    m = match_clusters([late_again, LATE, CASH], [LATE, LEAK], threshold=0.5)
    assert sorted(m.matched[:2].tolist()) == [-1, 0]  # only one of the two takes stored LATE
    assert m.matched[2] == -1 and m.best_any[2] == 0.0  # nothing like CASH was stored
    assert m.best_any[0] >= 0.5 and m.best_any_row[0] == 0  # the loser is a split of LATE


def test_blended_signature_stays_normalised_and_bounded():
    terms, weights = blend_signatures(LATE, LEAK, alpha=0.3)
    assert terms[0] == "پیک" and len(terms) == 6
    assert sum(w * w for w in weights) == pytest.approx(1.0, abs=1e-4)
    big = top_signature({f"t{i}": 1.0 / (i + 1) for i in range(500)})
    assert len(big[0]) == 100


@pytest.mark.parametrize(
    ("size", "n", "t_size", "t_n", "flag"),
    [
        (40, 1000, 10, 4000, True),  # 4.0% vs 0.25%: clearly up
        (12, 1000, 40, 4000, False),  # 1.2% vs 1.0%: within noise
        (4, 100, 0, 4000, False),  # up, but too few records tonight
        (30_000, 1_000_000, 110_000, 4_000_000, False),  # 3.0% vs 2.75%: significant, not 1.5x
        (10, 1000, 0, 0, False),  # no trailing window: cannot say
    ],
)
def test_emerging_needs_significance_effect_size_and_volume(size, n, t_size, t_n, flag):
    got, reason = emerging_test(size, n, t_size, t_n, z_min=3.0, ratio=1.5, min_size=5)
    assert got is flag
    assert "share" in reason


def test_state_round_trip_and_trailing_window():
    import pandas as pd

    with HistoryStore(":memory:") as store:
        assert read_state(store.con, 4).registry.empty
        tables = {r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "cluster_registry" not in tables  # reading creates nothing
        for night in range(6):
            run_id = f"2026090{night + 1}T020000-abcdef"
            rows = pd.DataFrame(
                [{"cluster_id": 1, "group_key": "delivery", "status": "active" if night else "new",
                  "first_seen_run": "20260901T020000-abcdef", "last_seen_run": run_id,
                  "label": "پیک، دیر", "keywords": ["پیک", "دیر"], "terms": LATE[0],
                  "weights": LATE[1]}]
            )
            sizes = pd.DataFrame(
                [{"cluster_id": 1, "size": 10 + night, "share": 0.1, "status": "active",
                  "emerging": False, "emerging_reason": "", "match_similarity": 1.0}]
            )
            with store.transaction() as con:
                write_state(con, run_id=run_id, registry_rows=rows, dormant_ids=[], run_sizes=sizes,
                            n_complaints=100, n_clustered=95, k_by_group={"delivery": 1})
        state = read_state(store.con, 4)
        assert state.registry["cluster_id"].tolist() == [1]
        assert state.trailing_runs[-1] == "20260906T020000-abcdef" and len(state.trailing_runs) == 4
        assert state.trailing_n == 400 and state.trailing_sizes == {1: 12 + 13 + 14 + 15}
        assert state.previous_k == {"delivery": 1}
        with store.transaction() as con:
            write_state(con, run_id="20260907T020000-abcdef", registry_rows=rows.iloc[:0],
                        dormant_ids=[1], run_sizes=sizes.iloc[:0], n_complaints=0, n_clustered=0,
                        k_by_group={})
        assert read_state(store.con, 4).registry["status"].tolist() == ["dormant"]
