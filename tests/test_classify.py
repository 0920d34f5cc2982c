"""FeedbackClassifier: negation, mixed messages, calibration, thresholds, abstention,
multi-label output, cold start from the taxonomy, sklearn conventions.

Behaviour tests on language use the shipped model (models/default); mechanism tests fit a tiny
corpus written for the test (a few seconds).
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from pipeline.classify import PREDICTION_COLUMNS, FeedbackClassifier
from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.features import FeedbackFeatures
from pipeline.taxonomy import Theme, load_taxonomy

# A tiny hand-written corpus: (text, complaint, themes).
TINY = [
    ("پیک یک ساعت دیر رسید", True, ["delivery"]),
    ("سفارش خیلی دیر رسید و پیک هم بداخلاق بود", True, ["delivery"]),
    ("ارسال سه روز طول کشید", True, ["delivery"]),
    ("غذا سرد و بی مزه بود", True, ["product_quality"]),
    ("کیفیت پیتزا خیلی بد بود", True, ["product_quality"]),
    ("برنج شفته بود و گوشت بوی بد میداد", True, ["product_quality"]),
    ("خیلی گرون بود، ارزش نداره", True, ["price_value"]),
    ("قیمت ها دو برابر شده", True, ["price_value"]),
    ("بسته بندی پاره بود و سس ریخته بود", True, ["packaging"]),
    ("پشتیبانی اصلا جواب نمیده", True, ["customer_service"]),
    ("دیر رسید و سرد هم بود", True, ["delivery", "product_quality"]),
    ("وصل الطلب متاخر ساعتين", True, ["delivery"]),
    ("المندوب تأخر كثيرا", True, ["delivery"]),
    ("الجودة سيئة جدا والطعم بارد", True, ["product_quality"]),
    ("المنتج رديء ومكسور", True, ["product_quality"]),
    ("السعر غالي جدا ولا يستحق", True, ["price_value"]),
    ("التغليف ممزق والعلبة مفتوحة", True, ["packaging"]),
    ("خدمة العملاء لا يردون ابدا", True, ["customer_service"]),
    ("غذا عالی بود، ممنون", False, []),
    ("خیلی خوشمزه و داغ بود", False, []),
    ("سریع رسید، راضی هستم", False, []),
    ("بسته بندی عالی بود", False, []),
    ("همه چیز خوب بود مرسی", False, []),
    ("الطعام لذيذ جدا شكرا", False, []),
    ("التوصيل سريع وممتاز", False, []),
    ("منتج رائع انصح به", False, []),
    ("كل شيء جميل", False, []),
    ("خدمة ممتازة", False, []),
]


def tiny_frame(repeat: int = 3) -> pd.DataFrame:
    rows = [
        {"id": f"t{r}-{i}", "text": t, "complaint": c, "themes": th}
        for r in range(repeat)
        for i, (t, c, th) in enumerate(TINY)
    ]
    return pd.DataFrame(rows)


def tiny_model(**params) -> FeedbackClassifier:
    frame = tiny_frame()
    params.setdefault("features", FeedbackFeatures(min_df=1))
    params.setdefault("min_theme_positives", 3)
    return FeedbackClassifier(**params).fit(frame["text"].tolist(), frame)


@pytest.fixture(scope="module")
def small() -> FeedbackClassifier:
    return tiny_model()


@pytest.fixture(scope="module")
def shipped() -> FeedbackClassifier:
    from pipeline.model_io import load_model

    if not (DEFAULT_MODEL_DIR / "model.joblib").is_file():
        pytest.skip("shipped model models/default is not built yet")
    return load_model()


# ----------------------------------------------------------------- language behaviour
@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("غذا بد نبود", False),  # negated negative: "not bad"
        ("کیفیتش بد نبود، راضی بودم", False),
        ("الطعام ليس سيئا", False),  # Arabic negated negative
        ("غذا خوب نبود", True),  # negated positive: "was not good"
        ("اصلا خوشمزه نبود", True),
        ("الاكل مو زين", True),  # Gulf negation of "good"
        ("المنتج ليس جيدا", True),
    ],
)
def test_negation_flips_polarity(shipped, text, complaint):
    pred = shipped.predict_frame([text])
    assert bool(pred.loc[0, "is_complaint"]) is complaint, pred.loc[0, "complaint_proba"]


@pytest.mark.parametrize(
    "text",
    [
        "غذا عالی بود ولی یک ساعت دیر رسید",  # praise + delivery complaint
        "الاكل ممتاز لكن التوصيل تأخر ساعة",
    ],
)
def test_mixed_message_is_a_delivery_complaint(shipped, text):
    pred = shipped.predict_frame([text]).iloc[0]
    assert pred["is_complaint"]
    assert pred["top_theme"] == "delivery"
    assert "product_quality" not in pred["themes"]


def test_several_themes_for_one_record(shipped):
    pred = shipped.predict_frame(["پیک دو ساعت دیر رسید و غذا هم سرد و بی مزه بود"]).iloc[0]
    assert {"delivery", "product_quality"} <= set(pred["themes"])
    # sorted by probability, most probable first
    probs = [pred["theme_proba"][t] for t in pred["themes"]]
    assert probs == sorted(probs, reverse=True)


# ----------------------------------------------------------------- mechanism (tiny model)
def test_predict_frame_columns_and_alignment(small):
    texts = ["پیک دیر رسید", "عالی بود", "", "السعر غالي"]
    pred = small.predict_frame(texts)
    assert list(pred.columns) == PREDICTION_COLUMNS
    assert list(pred.index) == [0, 1, 2, 3]
    assert not pred.loc[2, "is_complaint"]  # empty text is never a complaint
    assert pred.loc[0, "top_theme"] == (pred.loc[0, "themes"][0] if pred.loc[0, "themes"] else None)


def test_probabilities_are_calibrated_into_unit_interval(small):
    pred = small.predict_frame([t for t, _, _ in TINY])
    assert pred["complaint_proba"].between(0, 1).all()
    for row in pred["theme_proba"]:
        assert set(row) == set(small.themes_)
        assert all(0.0 <= p <= 1.0 for p in row.values())
    assert small.calibration_.shape == (1 + len(small.themes_), 2)


def test_thresholds_are_tuned_and_stored(small):
    assert set(small.thresholds_) == set(small.themes_)
    assert all(0.1 <= v <= 0.9 for v in small.thresholds_.values())
    assert all(isinstance(v, float) for v in small.thresholds_.values())


def test_non_complaints_get_no_themes(small):
    pred = small.predict_frame(["غذا عالی بود، ممنون", "الطعام لذيذ جدا شكرا"])
    assert not pred["is_complaint"].any()
    assert all(ts == [] for ts in pred["themes"])


def test_abstains_and_flags_review_when_no_theme_is_confident(small):
    model = pickle.loads(pickle.dumps(small))
    model.thresholds_ = {t: 1.01 for t in model.themes_}  # nothing can pass
    pred = model.predict_frame(["پیک یک ساعت دیر رسید"]).iloc[0]
    assert pred["is_complaint"]
    assert pred["themes"] == [] and pred["top_theme"] is None
    assert pred["needs_review"]


def test_cold_start_theme_from_taxonomy_seeds():
    taxonomy = load_taxonomy().with_theme(
        Theme(
            id="hygiene",
            name_fa="بهداشت",
            name_ar="النظافة",
            description="Hair, insects or dirt in the food.",
            seeds_fa=("مو توی غذا", "سوسک", "کثیف"),
            seeds_ar=("شعر في الاكل", "حشرة", "صرصور"),
        )
    )
    model = tiny_model(taxonomy=taxonomy.to_dict())
    assert "hygiene" in model.themes_
    assert model.theme_sources_["hygiene"] in {"weak", "rule"}
    assert model.theme_sources_["delivery"] == "labelled"
    pred = model.predict_frame(
        ["یه سوسک توی غذا بود، افتضاح بود", "وجدت شعر في الاكل، سيء جدا", "پیک دیر رسید"]
    )
    assert "hygiene" in pred.loc[0, "themes"]
    assert "hygiene" in pred.loc[1, "themes"]
    assert "hygiene" not in pred.loc[2, "themes"]


def test_fit_requires_labels():
    with pytest.raises(ValueError, match="needs labels"):
        FeedbackClassifier().fit(["x"], None)


# ----------------------------------------------------------------- sklearn conventions
def test_init_only_stores_params_and_clone_round_trips():
    clf = FeedbackClassifier(C_complaint=2.0, theme_rows="all")
    params = clf.get_params(deep=False)
    assert params["C_complaint"] == 2.0 and params["theme_rows"] == "all"
    twin = clone(clf)
    assert twin.get_params(deep=False)["C_complaint"] == 2.0
    assert not hasattr(twin, "themes_")
    twin.set_params(C_theme=8.0)
    assert twin.C_theme == 8.0


def test_unfitted_model_refuses_to_predict():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        FeedbackClassifier().predict_frame(["x"])


def test_pickle_round_trip_gives_identical_predictions(small):
    texts = ["پیک دیر رسید", "السعر غالي", "عالی"]
    again = pickle.loads(pickle.dumps(small))
    a, b = small.predict_frame(texts), again.predict_frame(texts)
    np.testing.assert_array_equal(a["complaint_proba"], b["complaint_proba"])
    assert a["themes"].tolist() == b["themes"].tolist()


def test_fast_feature_paths_equal_sklearn_vectorisers(small):
    """The word and char blocks skip sklearn's per-document work; the numbers must not change,
    and the speed-up caches must not leak into the pickled model."""
    from pipeline.features import analyze_texts

    feats = small.features_
    texts = [
        "غذا خیلی سرد بود و پیک یک ساعت دیر رسید",
        "الطلب وصل متأخر والأكل بارد",
        "بد نبود ولی گرون بود گرون بود",
        "",
        "ممتاز",
    ]
    docs = analyze_texts(texts)
    word = feats._word_transform(docs)
    assert word.shape == (len(texts), len(feats.word_.vocabulary_))
    assert abs(word - feats.word_.transform(docs)).max() < 1e-6
    if feats.char_ is not None:
        assert abs(feats._char_transform(docs) - feats.char_.transform(docs)).max() < 1e-6
    feats.transform(docs)  # warms the caches
    state = pickle.loads(pickle.dumps(feats)).__dict__
    assert "_char_cache" not in state and "_memo" not in state.get("seeds_").__dict__


def _brute_force_matches(tokens, index):
    """Every (start, end, class) a phrase of ``index`` covers, trying every phrase everywhere."""
    from pipeline.features import _variants

    hits = []
    for i, tok in enumerate(tokens):
        first = next((v for v in _variants(tok) if v in index), None)
        if first is None:
            continue
        for rest, k in index[first]:
            end = i + 1 + len(rest)
            if end <= len(tokens) and all(
                want in _variants(tokens[i + 1 + j]) for j, want in enumerate(rest)
            ):
                hits.append((i, end, k))
    return sorted(hits)


def test_indexed_phrase_matching_equals_brute_force():
    """The lexicon blocks look up a start word's longer phrases by the next token's forms; they
    must find exactly the phrases that trying every phrase at every position finds."""
    from pipeline.features import PolarityFeatures, _match_positions, _PhraseMemo, analyze_texts

    index = PolarityFeatures().fit().index_
    multi = [(first, rest) for first, entries in index.items() for rest, _k in entries if len(rest) >= 2]
    assert multi, "the lexicons have phrases of three or more tokens"
    texts = [
        "غذا خیلی بد نبود ولی خیلی دیر رسید و اصلا ارزش نداشت",
        "ما يستاهل السعر والتوصيل كان سيء جدا بس المنتج ممتاز",
        "کیفیتش عالی بود، قیمتش هم مناسب. بسته بندیش افتضاح بود",
        "لا توجد مشاكل في التوصيل ولكن الجودة ليست جيدة",
        "",
    ] + [" ".join((first, *rest)) for first, rest in multi[:300]]
    memo = _PhraseMemo(index)
    for tokens in analyze_texts(texts):
        assert sorted(_match_positions(tokens, index, memo)) == _brute_force_matches(tokens, index)


def test_intensifier_before_a_negative_word_is_not_praise():
    """«فوق العاده بد» ("extremely bad") is one negative signal, not a positive and a negative
    that cancel out; «فوق العاده خوشمزه» stays praise."""
    from pipeline.features import POLARITY_FEATURES, PolarityFeatures, analyze_texts

    pf = PolarityFeatures().fit()
    worse, better = analyze_texts(["کیفیتش فوق العاده بد بود", "فوق العاده خوشمزه بود"])
    row = dict(zip(POLARITY_FEATURES, pf._row(worse)))
    assert row["pos"] == 0 and row["neg"] == 1 and row["net"] == -1
    row = dict(zip(POLARITY_FEATURES, pf._row(better)))
    assert row["pos"] >= 1 and row["neg"] == 0


def test_contrast_tail_is_what_follows_the_last_marker():
    from pipeline.features import analyze_texts, contrast_tail

    docs = analyze_texts([
        "خوشمزه و تازه بود ولی یکم گرونه",
        "المنتج ممتاز بس البطارية ضعيفة",
        "عالی بود، فقط سرد رسید",
        "همه چیز عالی بود",
        "عالی بود ولی",
    ])
    assert [list(contrast_tail(d)) for d in docs] == [
        ["یکم", "گرونه"],
        ["البطاريه", "ضعيفه"],
        ["سرد", "رسید"],
        [],
        [],
    ]


def test_tail_block_repeats_the_word_block_of_the_tail():
    """The tail block is the word TF-IDF of the tail alone: the complaint word after «ولی» gets
    the weight it would have in a message of its own, however much praise precedes it."""
    from pipeline.features import analyze_texts

    frame = tiny_frame()
    off = FeedbackFeatures(min_df=1, tail_weight=0.0).fit(analyze_texts(frame["text"]))
    on = FeedbackFeatures(min_df=1, tail_weight=0.5).fit(analyze_texts(frame["text"]))
    docs = analyze_texts(["غذا عالی و خوشمزه بود ولی دیر رسید", "غذا عالی بود"])
    a, b = off.transform(docs), on.transform(docs)
    n_word = len(on.word_.vocabulary_)
    assert b.shape[1] == a.shape[1] + n_word
    np.testing.assert_allclose(b[:, : a.shape[1]].toarray(), a.toarray())
    tail = b[:, a.shape[1] :].toarray()
    alone = on._word_transform(analyze_texts(["دیر رسید"])).toarray()[0]
    np.testing.assert_allclose(tail[0], 0.5 * alone, rtol=1e-6)
    assert not tail[1].any()
    names = on.get_feature_names_out()
    assert len(names) == b.shape[1] and names[-1].startswith("tail__")
