"""Pattern discovery on tiny planted-topic corpora (Persian and Arabic) written for these tests.

Each topic is a handful of phrases; a complaint is two or three phrases of one topic plus,
sometimes, a filler. Topics come in pairs per theme group, so every group has real structure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cluster import discover_patterns, fit_sample
from pipeline.cluster_labels import is_label_term, load_stopwords
from pipeline.config import ClusterConfig
from pipeline.store import HistoryStore

TOPICS: dict[str, tuple[str | None, list[str]]] = {
    # delivery: courier late, food cold (fa)
    "late": ("delivery", [
        "پیک یک ساعت دیر رسید", "غذا کاملا سرد شده بود", "زمان ارسال خیلی طولانی شد",
        "پیک دیر آورد و غذا یخ کرده بود", "یک ساعت منتظر پیک ماندم", "سفارش خیلی دیر تحویل شد",
    ]),
    # delivery: courier asks for extra cash (ar)
    "cash": ("delivery", [
        "المندوب طلب مبلغ إضافي نقدا", "السائق طلب فلوس زيادة عند الباب",
        "المندوب رفض التسليم بدون دفع إضافي", "طلب مني المندوب بقشيش إجباري",
        "دفعت كاش زيادة للمندوب", "المندوب يطلب رسوم توصيل إضافية",
    ]),
    # packaging: sauce leaked (fa)
    "leak": ("packaging", [
        "بسته‌بندی جدید نشتی داشت", "سس از ظرف بیرون ریخته بود", "کیسه خیس و کثیف شده بود",
        "درب ظرف باز شده بود و سوپ ریخت", "بسته‌بندی نشت کرده بود", "روغن از جعبه بیرون زده بود",
    ]),
    # packaging: box crushed (fa)
    "crushed": ("packaging", [
        "جعبه پیتزا له شده بود", "کارتن کاملا مچاله شده بود", "پیتزا به درب جعبه چسبیده بود",
        "جعبه شکسته و پاره رسید", "کیک داخل جعبه له شد", "کارتن پاره و کج بود",
    ]),
    # no theme: app charges twice (fa)
    "double": (None, [
        "اپلیکیشن دوبار مبلغ را از کارت کم کرد", "بعد از آپدیت دو بار پرداخت انجام شد",
        "پول دوبار از حسابم برداشت شد", "تراکنش تکراری در اپلیکیشن ثبت شد",
        "برنامه بعد از به‌روزرسانی دوبار پول گرفت", "مبلغ سفارش دو بار کسر شد",
    ]),
    # no theme: app crashes (ar)
    "crash": (None, [
        "التطبيق يغلق فجأة عند الفتح", "التطبيق يعلق في صفحة الدخول",
        "لا أستطيع تسجيل الدخول للتطبيق", "التطبيق يتوقف بعد التحديث الجديد",
        "شاشة بيضاء في التطبيق", "التطبيق بطيء جدا ويهنج",
    ]),
    # the planted new issue of night 2: discount code not applied (fa)
    "coupon": (None, [
        "کد تخفیف اعمال نشد", "کوپن تخفیف قبول نمی‌شود", "کد تخفیف منقضی اعلام شد",
        "تخفیف روی فاکتور حساب نشد", "کد هدیه کار نکرد", "کوپن تخفیف نامعتبر اعلام شد",
    ]),
}
FILLERS = ["متاسفانه", "واقعا ناراضی هستم", "للأسف", "خیلی بد بود", "تجربة سيئة"]
BASE = ["late", "cash", "leak", "crushed", "double", "crash"]
CONFIG = ClusterConfig(max_k=6)


def complaints(topic: str, n: int, seed: int, prefix: str) -> pd.DataFrame:
    theme, phrases = TOPICS[topic]
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(n):
        picked = [phrases[i] for i in rng.choice(len(phrases), size=int(rng.integers(2, 4)), replace=False)]
        if rng.random() < 0.4:
            picked.append(FILLERS[int(rng.integers(len(FILLERS)))])
        texts.append("، ".join(picked))
    return pd.DataFrame(
        {
            "record_key": [f"{prefix}-{topic}-{i:04d}" for i in range(n)],
            "text_norm": texts,
            "display_text": [t + " <PHONE>" for t in texts],
            "top_theme": [theme] * n,
            "topic": topic,
            "is_complaint": True,
        }
    )


def night(topics: list[str], n: int, seed: int, prefix: str, extra: dict | None = None) -> pd.DataFrame:
    """One night: ``n`` complaints per topic, extra planted ones, 20 praises; shuffled."""
    frames = [complaints(t, n, seed + i, prefix) for i, t in enumerate(topics)]
    frames += [complaints(t, k, seed + 100, f"{prefix}-x") for t, k in (extra or {}).items()]
    praise = complaints("late", 20, seed, f"{prefix}-ok").assign(
        text_norm="غذا عالی بود ممنون", display_text="غذا عالی بود ممنون", is_complaint=False,
        topic="praise", top_theme=None,
    )
    frame = pd.concat([*frames, praise], ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def write_parts(frame: pd.DataFrame, folder, rows: int = 250) -> list:
    """Parquet parts with the orchestrator's RESULT_SCHEMA."""
    from pipeline.run import RESULT_SCHEMA

    folder.mkdir(parents=True, exist_ok=True)
    n = len(frame)
    full = pd.DataFrame(
        {
            "record_key": frame["record_key"], "record_id": frame["record_key"], "run_id": "t",
            "row_number": np.arange(n, dtype=np.int64), "created_at": pd.Timestamp("2026-09-01").date(),
            "channel": "app", "product": "food", "region": "Tehran", "score": 1.0,
            "score_kind": "rating", "lang": "fa", "latin_script": False,
            "pii_masked": np.zeros(n, dtype=np.int32), "is_complaint": frame["is_complaint"],
            "complaint_proba": 0.9, "needs_review": False,
            "themes": [[t] if t else [] for t in frame["top_theme"]], "top_theme": frame["top_theme"],
            "cluster_id": np.full(n, -1, dtype=np.int32), "text_norm": frame["text_norm"],
            "display_text": frame["display_text"],
        }
    )
    paths = []
    for i, start in enumerate(range(0, max(n, 1), rows)):
        path = folder / f"part-{i:05d}.parquet"
        chunk = full.iloc[start : start + rows]
        pq.write_table(pa.Table.from_pandas(chunk, schema=RESULT_SCHEMA, preserve_index=False), path)
        paths.append(path)
    return paths


def sample_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The orchestrator's sample columns."""
    c = frame[frame["is_complaint"]]
    return pd.DataFrame(
        {
            "record_key": c["record_key"], "text_norm": c["text_norm"],
            "themes": [[t] if t else [] for t in c["top_theme"]],
            "created_at": pd.Timestamp("2026-09-01").date(),
        }
    )


def run(frame, folder, store, run_id, config=CONFIG, commit=True):
    parts = write_parts(frame, folder)
    result = discover_patterns(parts, sample_of(frame), config, store, run_id)
    if commit:
        with store.transaction() as con:
            result.write(con)
    ids = pd.concat([pq.read_table(p, columns=["record_key", "cluster_id"]).to_pandas() for p in parts])
    return result, frame[["record_key", "topic"]].merge(ids, on="record_key"), parts


def topic_ids(assigned: pd.DataFrame) -> dict[str, int]:
    """The majority cluster id of every topic."""
    return assigned.groupby("topic")["cluster_id"].agg(lambda s: int(s.mode().iat[0])).to_dict()


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    """Night 1 (six topics), night 2 (same topics, new records, +20% planted coupon issue)."""
    tmp = tmp_path_factory.mktemp("nights")
    store = HistoryStore(tmp / "history.duckdb")
    first = run(night(BASE, 80, 1, "n1"), tmp / "n1", store, "20260901T020000-aaaaaa")
    second = run(night(BASE, 80, 7, "n2", {"coupon": 120}), tmp / "n2", store, "20260902T020000-bbbbbb")
    yield first, second, store
    store.close()


def test_planted_topics_become_clusters(two_nights):
    (result, assigned, _), _, _ = two_nights
    complaints_only = assigned[assigned["topic"] != "praise"]
    purity = complaints_only.groupby("topic")["cluster_id"].agg(lambda s: (s == s.mode().iat[0]).mean())
    assert (purity >= 0.95).all(), purity
    assert len(set(topic_ids(complaints_only).values())) == len(BASE)
    assert (assigned.loc[assigned["topic"] == "praise", "cluster_id"] == -1).all()
    assert result.summary["unclustered_share"] <= CONFIG.max_unclustered_share
    clusters = result.clusters
    assert set(clusters["status"]) == {"new"} and not clusters["emerging"].any()
    assert clusters["size"].sum() == result.summary["n_clustered"]
    by_id = clusters.set_index("cluster_id")
    assert by_id.at[topic_ids(complaints_only)["leak"], "dominant_theme"] == "packaging"
    assert by_id.at[topic_ids(complaints_only)["crash"], "dominant_theme"] is None


def test_labels_are_readable_content_words(two_nights):
    (result, _, _), (second, _, _), _ = two_nights
    stop = load_stopwords()
    for clusters in (result.clusters, second.clusters):
        for row in clusters.itertuples():
            assert 3 <= len(row.keywords) <= CONFIG.n_keywords
            assert row.label and row.label.split("، ")[0] == row.keywords[0]
            for term in row.keywords:
                assert is_label_term(term, stop), term
                assert not any(part in stop for part in term.split(" ")), term
                assert not term.startswith("\u200c") and not term.endswith("\u200c")


def test_examples_are_masked_members_of_their_cluster(two_nights):
    (result, assigned, _), _, _ = two_nights
    key_to_id = assigned.set_index("record_key")["cluster_id"]
    for row in result.clusters.itertuples():
        assert 3 <= len(row.examples) <= 5 and len(row.examples) == len(row.example_ids)
        assert all(text.endswith("<PHONE>") for text in row.examples)  # display_text, masked
        assert all(key_to_id[k] == row.cluster_id for k in row.example_ids)


def test_ids_stay_stable_and_planted_issue_is_emerging(two_nights):
    (_, first, _), (result, second, _), _ = two_nights
    old = topic_ids(first[first["topic"] != "praise"])
    new = topic_ids(second[second["topic"] != "praise"])
    assert {t: new[t] for t in BASE} == old
    coupon = result.clusters.set_index("cluster_id").loc[new["coupon"]]
    assert new["coupon"] not in old.values()
    assert coupon["status"] == "new" and coupon["emerging"]
    assert coupon["emerging_reason"].startswith("new")
    assert result.clusters.iloc[0]["cluster_id"] == new["coupon"]  # emerging first
    others = result.clusters[result.clusters["cluster_id"] != new["coupon"]]
    assert set(others["status"]) == {"active"} and not others["emerging"].any()
    assert others["emerging_reason"].str.contains("vs trailing").all()


def test_vanished_cluster_goes_dormant_and_grown_one_emerges(two_nights, tmp_path):
    (_, first, _), _, store = two_nights
    old = topic_ids(first[first["topic"] != "praise"])
    topics = [t for t in BASE if t != "crash"]
    frame = night(topics, 60, 11, "n3", {"leak": 300})
    result, assigned, _ = run(frame, tmp_path / "n3", store, "20260903T020000-cccccc", commit=False)
    by_id = result.clusters.set_index("cluster_id")
    assert by_id.at[old["crash"], "status"] == "dormant" and by_id.at[old["crash"], "size"] == 0
    assert topic_ids(assigned[assigned["topic"] != "praise"])["leak"] == old["leak"]
    assert by_id.at[old["leak"], "emerging"], by_id.at[old["leak"], "emerging_reason"]
    assert "vs trailing" in by_id.at[old["leak"], "emerging_reason"]


def test_same_input_gives_byte_identical_ids_and_labels(tmp_path):
    frame = night(BASE, 50, 3, "d")
    outputs = []
    for i in range(2):
        with HistoryStore(tmp_path / f"h{i}.duckdb") as store:
            result, _, parts = run(frame, tmp_path / f"run{i}", store, "20260901T020000-dddddd")
            ids = b"".join(pq.read_table(p, columns=["cluster_id"]).column(0).to_numpy().tobytes() for p in parts)
            outputs.append((ids, result.clusters.to_json(force_ascii=False).encode()))
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("n_complaints", [0, 1, 9])
def test_tiny_inputs_give_no_clusters(tmp_path, n_complaints):
    frame = night(["late"], n_complaints, 5, "tiny") if n_complaints else night([], 0, 5, "tiny")
    with HistoryStore(":memory:") as store:
        result, assigned, _ = run(frame, tmp_path / "p", store, "20260901T020000-eeeeee")
        assert result.clusters.empty
        assert (assigned["cluster_id"] == -1).all()
        assert result.summary["n_complaints"] == n_complaints


def test_no_parts_at_all():
    with HistoryStore(":memory:") as store:
        result = discover_patterns([], sample_of(night([], 0, 1, "x")), CONFIG, store, "r")
        assert result.clusters.empty and result.summary["n_clustered"] == 0


def test_nothing_is_written_before_commit(tmp_path):
    with HistoryStore(":memory:") as store:
        result, _, _ = run(night(BASE, 30, 2, "c"), tmp_path / "p", store, "r1", commit=False)
        tables = {r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert not tables & {"cluster_registry", "cluster_run_sizes", "cluster_runs"}
        with pytest.raises(RuntimeError), store.transaction() as con:
            result.write(con)
            raise RuntimeError("crash inside the run's transaction")
        tables = {r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert "cluster_registry" not in tables


def test_fit_sample_is_bounded_stratified_and_order_free():
    frame = sample_of(night(BASE, 200, 4, "s"))
    config = ClusterConfig(fit_sample=300)
    a = fit_sample(frame, config)
    b = fit_sample(frame.sample(frac=1.0, random_state=9), config)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) <= 300 + 3 * 500
    assert set(a["group"]) == {"delivery", "packaging", "(no theme)"}


def test_terms_written_by_the_engine_give_the_same_clusters(tmp_path):
    """The engines store each complaint's terms in the part (``cluster_terms``); assigning from
    them must give exactly what tokenising ``text_norm`` again gives."""
    from pipeline.cluster import content_terms, terms_column

    frame = night(BASE, 40, 3, "t")
    terms = terms_column(frame)
    assert [t is None for t in terms] == (~frame["is_complaint"]).tolist()
    i = int(np.flatnonzero(frame["is_complaint"].to_numpy())[0])
    assert terms[i].split(" ") == content_terms(frame["text_norm"].iat[i])

    garbage = [None if t is None else "zzz" for t in terms]
    results = {}
    for variant, column in (("none", None), ("engine", terms), ("garbage", garbage)):
        folder = tmp_path / variant
        parts = write_parts(frame, folder)
        if column is not None:
            by_key = dict(zip(frame["record_key"], column, strict=True))
            for part in parts:
                table = pq.read_table(part)
                keys = table.column("record_key").to_pylist()
                col = pa.array([by_key[k] for k in keys], type=pa.string())
                pq.write_table(table.append_column("cluster_terms", col), part)
        store = HistoryStore(folder / "history.duckdb")
        try:
            result = discover_patterns(parts, sample_of(frame), CONFIG, store, "20260901T020000-cccccc")
        finally:
            store.close()
        ids = pd.concat([pq.read_table(p, columns=["record_key", "cluster_id"]).to_pandas() for p in parts])
        results[variant] = (result.clusters[["cluster_id", "label", "size"]], ids)
    pd.testing.assert_frame_equal(results["none"][0], results["engine"][0])
    pd.testing.assert_frame_equal(results["none"][1], results["engine"][1])
    assert (results["engine"][1]["cluster_id"] >= 0).any()
    # the stored terms are what assignment reads: nonsense terms match no cluster
    assert not results["none"][1]["cluster_id"].equals(results["garbage"][1]["cluster_id"])
