"""Tests for pipeline.normalize: (input, expected) tables with a comment per case."""

from __future__ import annotations

import pickle

import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

from pipeline.normalize import (
    NormalizedText,
    TextNormalizer,
    display_text,
    normalize,
    normalize_many,
    normalize_record,
)
from pipeline.tokenize import tokenize

Z = "\u200c"  # ZWNJ

NORMALIZE_CASES = [
    # --- Persian letters, digits, marks
    ("خيلي بد بود", "خیلی بد بود"),  # Arabic yeh -> Persian yeh
    ("كتاب خوبي بود", "کتاب خوبی بود"),  # Arabic kaf -> Persian keheh
    ("۱۲۳ تومان", "123 تومان"),  # Persian digits -> ASCII (a price, not PII)
    ("خیلـــــی خوب", "خیلی خوب"),  # tatweel removed
    ("سَلامٌ", "سلام"),  # diacritics removed
    ("ﮐـﻮﺭﻭﺵ", "کوروش"),  # presentation forms -> ordinary letters (NFKC)
    ("ﻻ", "لا"),  # lam-alef ligature
    ("مؤسسه", "موسسه"),  # waw-hamza folded
    ("آب سرد", "آب سرد"),  # Persian keeps alef-madda
    ("رسالة", "رساله"),  # teh marbuta -> heh (decision: also in Persian)
    ("سلام\u200f دنیا", "سلام دنیا"),  # RLM dropped
    ("  فاصله   زیاد  ", "فاصله زیاد"),  # whitespace collapsed and stripped
    ("a\tb\nc", "a b c"),  # tabs and newlines are spaces
    # --- ZWNJ and affixes
    ("کتاب ها", f"کتاب{Z}ها"),  # plural suffix joined with ZWNJ
    ("کتاب های خوب", f"کتاب{Z}های خوب"),  # -های
    ("بزرگ تر", f"بزرگ{Z}تر"),  # comparative
    ("بزرگ ترین", f"بزرگ{Z}ترین"),  # superlative
    ("می خوام", f"می{Z}خوام"),  # verbal prefix می
    ("نمی خوام", f"نمی{Z}خوام"),  # negative prefix نمی
    ("نمي دونم", f"نمی{Z}دونم"),  # prefix with Arabic yeh
    ("خسته ام", f"خسته{Z}ام"),  # clitic after final ه
    ("رفته اند", f"رفته{Z}اند"),  # clitic اند
    ("یه خونه ای", f"یه خونه{Z}ای"),  # indefinite ای after ه
    ("ای خدا", "ای خدا"),  # vocative ای at the start stays apart
    ("کار ها", "کارها"),  # no ZWNJ after non-joining ر (hazm writes کار‌ها)
    ("در ها", "درها"),  # no ZWNJ after non-joining ر
    (f"کار{Z}ها", "کارها"),  # existing ZWNJ after non-joining letter removed
    (f"کتاب{Z}{Z}{Z}ها", f"کتاب{Z}ها"),  # ZWNJ runs collapsed
    (f"{Z}سلام{Z}", "سلام"),  # stray ZWNJ at word edges
    (f"کتاب {Z} ها", f"کتاب{Z}ها"),  # ZWNJ next to spaces is stray; the suffix rule joins
    (f"می{Z}خوام", f"می{Z}خوام"),  # already correct
    ("میخوام", "میخوام"),  # attached prefix left alone (میز/میوه make splitting unsafe)
    ("همه ساندویچ‌ها سرد بود", "همه ساندویچ‌ها سرد بود"),  # already normalised text unchanged
    # --- squeezing
    ("خیییییلی", "خیلی"),  # 3+ repeats -> 1 for Arabic script
    ("عالییییی", "عالی"),  # elongated final letter
    ("الله", "الله"),  # real double letters stay
    ("محقق", "محقق"),  # real double letters stay
    ("goooood", "good"),  # Latin 3+ -> 2
    ("soooo bad", "soo bad"),  # Latin keeps two (documented trade-off)
    ("چرا؟؟؟", "چرا?"),  # Arabic question marks -> one ASCII ?
    ("بد!!!!", "بد!"),  # repeated exclamation squeezed
    ("خوب… ولی", "خوب... ولی"),  # ellipsis character
    ("«عالی»", '"عالی"'),  # guillemets -> straight quotes
    ("۵۰٪", "50%"),  # Arabic percent sign
    ("عالی،ممنون", "عالی,ممنون"),  # Arabic comma
    # --- Arabic features
    ("الخدمة ممتازة", "الخدمه ممتازه"),  # teh marbuta -> heh
    ("الطعام باردٌ جداً", "الطعام بارد جدا"),  # tanwin removed
    ("أنا لن أعود إلى هذا المطعم", "انا لن اعود الي هذا المطعم"),  # alef variants, alef maksura
    ("مستشفى", "مستشفي"),  # alef maksura -> yeh
    ("مسؤول عن الطلب", "مسوول عن الطلب"),  # waw-hamza
    ("هذه مشكلة كبيرة", "هذه مشكله كبيره"),  # Arabic kaf kept for Arabic
    ("ما عجبني الاكل", "ما عجبني الاكل"),  # negation ما kept
    ("مو زين", "مو زين"),  # Gulf negation kept
    ("٤٥٦ ريال", "456 ريال"),  # Arabic-Indic digits
    ("ٱلله", "الله"),  # alef wasla
    # --- English and mixed
    ("The Food Was COLD", "the food was cold"),  # lower-cased
    ("غذا خوب بود but the delivery was late", "غذا خوب بود but the delivery was late"),  # mixed
    ("iPhone 13 خریدم", "iphone 13 خریدم"),  # Latin brand lower-cased
    # --- Finglish
    ("ghaza kheili sard bood", "غذا خیلی سرد بود"),  # lexicon words transliterated
    ("peyk dir umad", "پیک دیر اومد"),  # spoken verb form
    ("ghaza xyzq bood", "غذا xyzq بود"),  # unknown Finglish word stays Latin
    ("kheiliii bad", "خیلی بد"),  # squeezed then looked up; «bad» is Persian here too
    ("ghazaa sard", "غذا سرد"),  # doubled vowel resolved
    ("Ghaza SARD Bood", "غذا سرد بود"),  # case does not matter
    # --- emoji and emoticons
    ("غذا 😡😡😡", "غذا EMONEG"),  # repeated emoji -> one token
    ("عالی 😍", "عالی EMOPOS"),  # positive emoji
    ("👍👍 ok", "EMOPOS ok"),  # thumbs up
    ("😐", "EMONEU"),  # neutral
    ("🍕🍕 خوب", "خوب"),  # unmapped emoji dropped
    ("❤️", "EMOPOS"),  # heart with variation selector
    ("👍🏽", "EMOPOS"),  # skin-tone modifier dropped
    (":)", "EMOPOS"),  # emoticon
    ("بد بود :(", "بد بود EMONEG"),  # sad emoticon
    ("عالی:)))", "عالی EMOPOS"),  # glued, repeated emoticon
    ("قارچ بود:::))))", "قارچ بود EMOPOS"),  # squeezed punctuation before faces
    ("ساعت 12:30", "ساعت 12:30"),  # times are not faces
    ("پیک 🤬 بود", "پیک EMONEG بود"),  # emoji between words
    # --- PII inside normalisation
    ("شماره ۰۹۱۲۱۲۳۴۵۶۷", "شماره <PHONE>"),  # Persian-digit phone
    ("شمارم0912-123-4567لطفا", "شمارم <PHONE> لطفا"),  # glued phone gets spaces
    ("ایمیل Ali.R@Gmail.com", "ایمیل <EMAIL>"),  # e-mail
    ("سایت www.Example.ir/x", "سایت <URL>"),  # URL
    ("کد پیگیری ۱۲۳۴۵۶۷۸", "کد پیگیری <ORDER_ID>"),  # order id after keyword
    ("<phone>", "<PHONE>"),  # placeholders keep their case
    ("EMONEG", "EMONEG"),  # tokens are stable
    # --- degenerate input
    ("", ""),  # empty
    ("   ", ""),  # blank
    ("\x00\ud800", ""),  # NUL and a lone surrogate
    ("12345", "12345"),  # short numbers stay
    ("۱۴۰۲/۰۵/۱۲", "1402/05/12"),  # dates stay
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_CASES)
def test_normalize_table(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_CASES)
def test_normalize_output_is_a_fixed_point(text, expected):
    assert normalize(expected) == expected


def test_forced_language_overrides_detection():
    assert normalize("كتاب", lang="fa") == "کتاب"
    assert normalize("کتاب", lang="ar") == "كتاب"


def test_mask_frozenset_empty_keeps_pii_and_subset_masks_only_that_kind():
    assert normalize("شماره 09121234567", mask=frozenset()) == "شماره 09121234567"
    assert normalize("a@b.com 09121234567", mask=frozenset({"email"})) == "<EMAIL> 09121234567"


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="lang"):
        normalize("x", lang="de")
    with pytest.raises(ValueError, match="unknown PII kinds"):
        normalize("x", mask=frozenset({"ssn"}))
    with pytest.raises(TypeError, match="expects str"):
        normalize(None)


RECORD_CASES = [
    # (text, lang, latin_script, pii kinds with non-zero counts)
    ("غذا خیلی سرد بود", "fa", False, {}),  # Persian
    ("الطعام بارد جدا", "ar", False, {}),  # Arabic
    ("ghaza sard bood :(", "fa", True, {}),  # Finglish
    ("the food was cold", "en", False, {}),  # English
    ("😡😡", "unknown", False, {}),  # emoji only
    ("شماره 09121234567 و a@b.com", "fa", False, {"phone": 1, "email": 1}),  # PII counts
]


@pytest.mark.parametrize(("text", "lang", "latin", "pii"), RECORD_CASES)
def test_normalize_record(text, lang, latin, pii):
    rec = normalize_record(text)
    assert isinstance(rec, NormalizedText)
    assert rec.original == text
    assert rec.text == normalize(text)
    assert (rec.lang, rec.latin_script) == (lang, latin)
    assert {k: v for k, v in rec.pii.items() if v} == pii


def test_normalize_record_is_frozen():
    rec = normalize_record("سلام")
    with pytest.raises(AttributeError):
        rec.text = "x"


def test_normalize_many_matches_normalize_record_and_reads_none_as_empty():
    texts = ["غذا سرد بود", "الخدمة سيئة", None]
    out = normalize_many(texts)
    assert [r.text for r in out] == ["غذا سرد بود", "الخدمه سييه", ""]
    assert out[0] == normalize_record("غذا سرد بود")


DISPLAY_CASES = [
    ("پیک دیر اومد 😡 شماره‌ام ۰۹۱۲۳۴۵۶۷۸۹", "پیک دیر اومد 😡 شماره‌ام <PHONE>"),  # emoji, digits kept
    ("Ghaza SARD bood", "Ghaza SARD bood"),  # case and Latin kept
    ("ﮐـﻮﺭﻭﺵ  خوب\u200f", "کـوروش خوب"),  # presentation forms mapped, bidi mark dropped
    ("الخدمة سيئة جداً", "الخدمة سيئة جداً"),  # Arabic untouched (no folding for display)
    ("mail me: a.b@c.com", "mail me: <EMAIL>"),  # PII masked
]


@pytest.mark.parametrize(("text", "expected"), DISPLAY_CASES)
def test_display_text(text, expected):
    assert display_text(text) == expected


# --- TextNormalizer (scikit-learn conventions) -----------------------------------------


def test_text_normalizer_transform_matches_normalize():
    texts = ["غذا سرد بود 😡", "ghaza sard bood", "الخدمة ممتازة"]
    assert TextNormalizer().fit_transform(texts) == [normalize(t) for t in texts]


def test_text_normalizer_params_round_trip_through_clone_and_set_params():
    est = TextNormalizer(lang="fa", mask_pii=False, finglish=False)
    assert est.get_params() == {"lang": "fa", "mask_pii": False, "finglish": False}
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    est.set_params(mask_pii=True)
    assert est.mask_pii is True


def test_text_normalizer_options_change_output():
    assert TextNormalizer(mask_pii=False).transform(["09121234567"]) == ["09121234567"]
    assert TextNormalizer().transform(["09121234567"]) == ["<PHONE>"]
    assert TextNormalizer(finglish=False).transform(["ghaza sard"]) == ["ghaza sard"]
    assert TextNormalizer(mask_pii=frozenset({"email"})).transform(["a@b.io 09121234567"]) == [
        "<EMAIL> 09121234567"
    ]


def test_text_normalizer_is_stateless_and_reads_missing_as_empty():
    est = TextNormalizer()
    assert est.__sklearn_is_fitted__()
    assert est.transform([None, float("nan"), 12]) == ["", "", "12"]


def test_text_normalizer_pickles():
    est = TextNormalizer(lang="auto", mask_pii=True)
    again = pickle.loads(pickle.dumps(est))
    assert again.get_params() == est.get_params()
    assert again.transform(["خیلی بد 😡"]) == est.transform(["خیلی بد 😡"])


def test_text_normalizer_in_a_pipeline_with_tfidf():
    pipe = make_pipeline(
        TextNormalizer(), TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False)
    )
    docs = ["کتاب ها نرسید 😡", "كتاب‌ها خوب بود", "شماره 09121234567"]
    pipe.fit(docs)
    vocab = pipe[-1].vocabulary_
    assert f"کتاب{Z}ها" in vocab and "EMONEG" in vocab and "<PHONE>" in vocab
    assert "09121234567" not in vocab
    again = pickle.loads(pickle.dumps(pipe))
    assert (again.transform(docs) != pipe.transform(docs)).nnz == 0
