"""Tests for pipeline.tokenize: (input, expected) tables with a comment per case."""

from __future__ import annotations

import pickle

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.normalize import normalize
from pipeline.tokenize import STOPWORDS_AR, STOPWORDS_FA, content_tokens, tokenize

Z = "\u200c"

TOKENIZE_CASES = [
    (f"کتاب{Z}ها رسید", [f"کتاب{Z}ها", "رسید"]),  # ZWNJ word is one token
    (f"نمی{Z}خوام", [f"نمی{Z}خوام"]),  # negated verb kept whole
    ("غذا سرد نبود", ["غذا", "سرد", "نبود"]),  # negation kept
    ("این خیلی بد بود", ["این", "خیلی", "بد", "بود"]),  # stopwords kept
    ("شماره <PHONE> است", ["شماره", "<PHONE>", "است"]),  # placeholder is one token
    ("عالی EMOPOS", ["عالی", "EMOPOS"]),  # emoji token
    ("خوب<PHONE>", ["خوب", "<PHONE>"]),  # glued placeholder split off
    ("بد بود! چرا?", ["بد", "بود", "!", "چرا", "?"]),  # ! and ? kept as sentiment cues
    ("غذا, سرد. بود", ["غذا", "سرد", "بود"]),  # other punctuation dropped
    ("الطعام ليس جيدا", ["الطعام", "ليس", "جيدا"]),  # Arabic negation ليس
    ("مو زين", ["مو", "زين"]),  # Gulf negation مو
    ("ما عجبني", ["ما", "عجبني"]),  # negation ما
    ("لم يصل الطلب", ["لم", "يصل", "الطلب"]),  # negation لم
    ("غير جيد", ["غير", "جيد"]),  # negation غير
    ("the app doesn't work", ["the", "app", "doesn't", "work"]),  # English contraction
    ("iphone 13 pro", ["iphone", "13", "pro"]),  # digits are tokens
    ("4.5 ستاره", ["4.5", "ستاره"]),  # decimal kept whole
    ("", []),  # empty
]


@pytest.mark.parametrize(("text", "expected"), TOKENIZE_CASES)
def test_tokenize(text, expected):
    assert tokenize(text) == expected


CONTENT_CASES = [
    ("پیک خیلی دیر رسید و غذاها سرد بود", ["پیک", "دیر", "رسید", "غذا", "سرد"]),  # lemmas
    (f"کتاب{Z}ها نرسید", ["کتاب", "رسید"]),  # plural stripped, never split at ZWNJ
    ("شماره <PHONE> EMONEG", ["شماره"]),  # no placeholders or emoji tokens
    ("من 123 تا سفارش دادم", ["سفارش"]),  # digits and stopwords dropped
    ("الخدمه سييه جدا في المطعم", ["خدمه", "سييه", "مطعم"]),  # Arabic article stripped
    ("المنتجات ممتازه", ["منتج", "ممتازه"]),  # Arabic plural suffix ات stripped
    ("the delivery was late", ["delivery", "late"]),  # English stopwords
    ("و ب ک", []),  # one-letter tokens
    ("کیفیت بسته بندی", ["کیفیت", "بسته", "بندی"]),  # content words kept
]


@pytest.mark.parametrize(("text", "expected"), CONTENT_CASES)
def test_content_tokens(text, expected):
    assert content_tokens(text) == expected


def test_content_tokens_without_lemmatisation_keeps_surface_forms():
    assert content_tokens("غذاها سرد بود", lemmatize=False) == ["غذاها", "سرد"]


def test_stopword_lists_are_folded_like_features():
    assert "است" in STOPWORDS_FA and "خیلی" in STOPWORDS_FA
    assert "في" in STOPWORDS_AR and "علي" in STOPWORDS_AR  # على folded to علي
    assert "جدا" in STOPWORDS_AR


def test_tokenizers_pickle_and_work_inside_tfidf():
    docs = [normalize(t) for t in ("کتاب ها نرسید 😡", "کتاب‌ها رسید 👍", "شماره 09121234567")]
    for tok in (tokenize, content_tokens):
        assert pickle.loads(pickle.dumps(tok)) is tok
        vec = TfidfVectorizer(tokenizer=tok, token_pattern=None, lowercase=False).fit(docs)
        again = pickle.loads(pickle.dumps(vec))
        assert again.vocabulary_ == vec.vocabulary_
    vocab = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False).fit(docs)
    assert f"کتاب{Z}ها" in vocab.vocabulary_ and "ها" not in vocab.vocabulary_
