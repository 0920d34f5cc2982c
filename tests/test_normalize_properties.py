"""Property tests (hypothesis) for the normalisation stage: idempotent, total, PII-safe."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.normalize import normalize, normalize_record
from pipeline.pii import mask_pii
from pipeline.tokenize import content_tokens, tokenize

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Alphabets that exercise the rules: Persian/Arabic letters and their variants, digits of
# three scripts, ZWNJ, marks, punctuation, Latin, emoji and emoticon characters.
_PERSO_ARABIC = (
    "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكىةأإآٱؤئءۀە"
    "\u064b\u064e\u0651\u0640\u200c\u200d\u200e\u200f"
)
_OTHER = "0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩ ،؟!?.:;()-_<>@/ abcdeghiklmnoprstuxyzABZ\n\t😡👍😂🍕❤\ufe0f"
fa_ar_text = st.text(alphabet=st.sampled_from(_PERSO_ARABIC + _OTHER), max_size=80)
words = st.sampled_from(
    [
        "می", "نمی", "ها", "های", "تر", "ترین", "ام", "ای", "اند", "کتاب", "کار", "خسته", "غذا",
        "خیلی", "خيلي", "سرد", "بود", "في", "من", "على", "هذا", "جدا", "الخدمة", "المطعم",
        "ghaza", "kheili", "sard", "bood", "the", "food", "was", "<PHONE>", "EMONEG", ":)", ":(",
        "😡", "ة", "ی", "ي", "ك", "\u200c", "!", "!!", "؟", "۰۹۱۲", "سفارش", "کد",
    ]
)
word_text = st.lists(words, max_size=15).map(" ".join)


@SETTINGS
@given(st.text(max_size=200))
@example("\ud800")
@example("\x00\u200f\u200e\u202b")
@example("کتاب ‌ ‌ها")
@example("ᄀ\u200cᅡ")
def test_normalize_is_idempotent_on_arbitrary_unicode(text):
    once = normalize(text)
    assert normalize(once) == once


@SETTINGS
@given(st.one_of(fa_ar_text, word_text))
@example("مدرسة ها")
@example("فيیي ممتاز")
@example("قارچ بود:::))))")
def test_normalize_is_idempotent_on_persian_arabic_text(text):
    once = normalize(text)
    assert normalize(once) == once


@SETTINGS
@given(st.text(max_size=300))
def test_nothing_raises_on_arbitrary_unicode(text):
    record = normalize_record(text)
    assert isinstance(record.text, str)
    tokenize(record.text)
    content_tokens(record.text)
    mask_pii(text)


def test_nothing_raises_on_special_characters_and_a_100kb_input():
    for text in ("\ud800", "\udfff\ud800", "\x00", "\u200f\u200e\u202b\u202c", "\ufeff" * 3):
        assert normalize(text) == ""
    big = "غذا خيلي سرد بود 😡 09123456789 " * 3400  # about 100 kB
    out = normalize(big)
    assert len(big.encode()) > 100_000
    assert "0912" not in out and out.count("<PHONE>") == 3400


_SEPARATED = st.sampled_from(["", " ", "-"])


@st.composite
def phone_numbers(draw):
    sep = draw(_SEPARATED)
    rest = draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    prefix = draw(st.sampled_from(["09", "+989", "00989", "9"]))
    body = prefix + draw(st.text(alphabet="0123456789", min_size=2, max_size=2))
    return f"{body}{sep}{rest[:3]}{sep}{rest[3:]}"


@st.composite
def card_numbers(draw):
    sep = draw(_SEPARATED)
    groups = [draw(st.text(alphabet="0123456789", min_size=4, max_size=4)) for _ in range(4)]
    return sep.join(groups)


@st.composite
def emails(draw):
    user = draw(st.text(alphabet="abcxyz", min_size=1, max_size=6))
    digits = draw(st.text(alphabet="0123456789", min_size=3, max_size=9))
    return f"{user}{digits}@{draw(st.sampled_from(['gmail.com', 'yahoo.com', 'x.ir']))}"


_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_DIGITS = re.compile(r"\d")


@SETTINGS
@given(
    st.lists(st.sampled_from(["غذا", "سرد", "بود", "شماره", "تماس", "الطلب", "رقم", "my", "کارت"]),
             max_size=5).map(" ".join),
    st.one_of(phone_numbers(), card_numbers(), emails()),
    st.lists(st.sampled_from(["لطفا", "زنگ", "بزنید", "جدا", "please", "!", "😡"]),
             max_size=5).map(" ".join),
    st.booleans(),
    st.sampled_from([" ", "", "\u200c", ":", "\n"]),
)
def test_no_pii_digits_survive(before, pii, after, persian_digits, glue):
    pii_text = pii.translate(_TO_PERSIAN) if persian_digits else pii
    out = normalize(f"{before}{glue}{pii_text}{glue}{after}")
    digits = "".join(_DIGITS.findall(pii))
    assert not _DIGITS.search(out), (pii, out)
    assert digits not in out
