"""Tests for pipeline.langid: tables with a comment per case, plus accuracy on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.langid import LANGS, detect_language, is_finglish

LANGID_CASES = [
    # --- Persian
    ("غذا خیلی سرد بود", "fa"),  # everyday complaint
    ("خيلي بد بود", "fa"),  # typed on an Arabic keyboard (ي)
    ("پیک دیر رسید", "fa"),  # Persian-only letter پ
    ("کیفیت عالی", "fa"),  # Persian ک and ی
    ("سرد", "fa"),  # no evidence at all: ties go to Persian
    ("نمی‌خوام دیگه سفارش بدم", "fa"),  # ZWNJ
    ("ﮐـﻮﺭﻭﺵ", "fa"),  # presentation forms
    ("مشکل java certification پیدا کرده", "fa"),  # Latin terms inside Persian
    ("خیییییلی بد", "fa"),  # elongated word still recognised
    ("۱۲ ساعت طول کشید", "fa"),  # Persian digits and words
    # --- Arabic
    ("الطعام بارد جدا", "ar"),  # article and جدا
    ("الخدمة سيئة", "ar"),  # teh marbuta
    ("هذا المنتج ممتاز", "ar"),  # demonstrative
    ("ما عجبني الاكل", "ar"),  # dialect
    ("مو زين ابدا", "ar"),  # Gulf
    ("مش حلو خالص", "ar"),  # Egyptian
    ("ممتاز جدا انصح به", "ar"),  # «به» counts for neither language
    ("في", "ar"),  # a single function word
    ("أنا لن أعود", "ar"),  # hamza alefs
    ("رررروعه مرررر حلوه", "ar"),  # elongated dialect praise
    # --- English, mixed, unknown
    ("the food was cold", "en"),  # English
    ("ok", "en"),  # short English
    ("I love this app", "en"),  # English sentence
    ("غذا خوب بود but the delivery was very late", "mixed"),  # code switching
    ("الطعام جيد but the service is slow", "mixed"),  # Arabic-English
    ("", "unknown"),  # empty
    ("😡😡", "unknown"),  # emoji only
    ("12345", "unknown"),  # digits only
    ("!!! ???", "unknown"),  # punctuation only
    ("<PHONE> EMONEG", "unknown"),  # placeholders only
    ("Привет", "unknown"),  # a script we do not handle
    # --- Finglish counts as Persian
    ("ghaza kheili sard bood", "fa"),  # Finglish sentence
    ("khili sir dasht", "fa"),  # Finglish with an ambiguous word
    ("peyk nayumad", "fa"),  # two lexicon words
    ("kheiliii bad", "fa"),  # elongated Finglish
]


@pytest.mark.parametrize(("text", "expected"), LANGID_CASES)
def test_detect_language(text, expected):
    assert detect_language(text) == expected
    assert detect_language(text) in LANGS


FINGLISH_CASES = [
    ("ghaza kheili sard bood", True),  # classic
    ("sefaresham dir resid", True),  # possessive and verb
    ("mersi az peyk", True),  # thanks
    ("khob bood", True),  # short
    ("the food was cold", False),  # English
    ("the food was bad", False),  # «bad» is ambiguous, English wins
    ("ok", False),  # English
    ("iphone 13", False),  # product name
    ("غذا سرد بود", False),  # Persian script
    ("", False),  # empty
]


@pytest.mark.parametrize(("text", "expected"), FINGLISH_CASES)
def test_is_finglish(text, expected):
    assert is_finglish(text) is expected


LANGID_DATA = Path(__file__).resolve().parents[2] / "shared/data/langid/langid.jsonl"


@pytest.mark.shared
def test_langid_accuracy_on_shared_data():
    if not LANGID_DATA.exists():
        pytest.skip(f"shared language-id data not found at {LANGID_DATA}")
    rows = [json.loads(line) for line in LANGID_DATA.read_text("utf-8").splitlines() if line]
    correct = sum(detect_language(r["text"]) == r["lang"] for r in rows)
    accuracy = correct / len(rows)
    print(f"language-id accuracy on {len(rows)} shared texts: {accuracy:.4f}")
    assert accuracy >= 0.98
