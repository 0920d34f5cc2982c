"""Tokenisers for already-normalised text (output of :func:`pipeline.normalize.normalize`).

* :func:`tokenize` - for classifier features: every word, negations and stopwords kept,
  ZWNJ words whole (کتاب‌ها, نمی‌خوام), placeholders (``<PHONE>``) and emoji tokens
  (``EMONEG``) as single tokens, punctuation dropped except ``!`` and ``?``.
* :func:`content_tokens` - for cluster keywords and labels: stopwords (Persian, Arabic,
  English) removed, lemmatised (hazm's ``Lemmatizer`` for Persian, a light stemmer for
  Arabic), no placeholders, no 1-letter or digit-only tokens.

Both are module-level functions, so they pickle and can be passed to
``TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False)``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from pipeline import _rules

__all__ = ["STOPWORDS_AR", "STOPWORDS_EN", "STOPWORDS_FA", "content_tokens", "tokenize"]

_L = _rules.AR_LETTERS
_TOKEN = re.compile(
    rf"<[A-Z_]+>|EMONEG|EMOPOS|EMONEU|[{_L}]+(?:\u200c[{_L}]+)*|[a-z0-9]+(?:['.][a-z0-9]+)*"
    r"|[!?]"
)


def tokenize(text: str) -> list[str]:
    """Split normalised text into feature tokens.

    Examples
    --------
    >>> tokenize("کتاب‌ها نرسید! نمی‌خوام <PHONE> EMONEG")
    ['کتاب‌ها', 'نرسید', '!', 'نمی‌خوام', '<PHONE>', 'EMONEG']
    >>> tokenize("الطعام ليس جيدا مو زين")
    ['الطعام', 'ليس', 'جيدا', 'مو', 'زين']
    """
    return _TOKEN.findall(text)


def _read_list(name: str) -> frozenset[str]:
    text = resources.files("pipeline.resources").joinpath(name).read_text("utf-8")
    return frozenset(
        w.strip() for w in text.splitlines() if w.strip() and not w.lstrip().startswith("#")
    )


#: Words in hazm's (news-oriented) stopword list that carry the topic of a complaint.
_HAZM_KEEP = frozenset(
    {
        "رسید", "رسیدن", "کم", "کمی", "زیاد", "زیادی", "کامل", "کافی", "بزرگ", "کوچک",
        "جدید", "مناسب", "اجرا", "تغییر", "پخش", "گرفت", "خطر", "پیدا", "قابل", "عالی",
        "خوب", "خوبی", "بهتر", "بهترین", "بندی", "سازی", "ارسال",
    }
)


def _hazm_stopwords() -> frozenset[str]:
    from hazm import stopwords_list

    words = frozenset(w.translate(_rules.FA_TABLE) for w in stopwords_list() if "_" not in w)
    return words - _HAZM_KEEP


STOPWORDS_FA: frozenset[str] = frozenset(
    w.translate(_rules.FA_TABLE) for w in _read_list("stopwords_fa.txt")
) | _hazm_stopwords()
STOPWORDS_AR: frozenset[str] = frozenset(
    w.translate(_rules.AR_TABLE) for w in _read_list("stopwords_ar.txt")
)
STOPWORDS_EN: frozenset[str] = _read_list("stopwords_en.txt")
#: Every stopword in both foldings, so a Persian-folded Arabic word still matches.
_ALL_STOP = (
    STOPWORDS_FA
    | STOPWORDS_AR
    | STOPWORDS_EN
    | frozenset(w.translate(_rules.FA_TABLE) for w in STOPWORDS_AR)
    | frozenset(w.translate(_rules.AR_TABLE) for w in STOPWORDS_FA)
)

_CONTENT = re.compile(rf"[{_L}]+(?:\u200c[{_L}]+)*|[a-z][a-z0-9]*(?:'[a-z]+)?")
_ARABIC_MARK = re.compile("[يكة]")
_AR_PREFIXES = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال")
_AR_SUFFIXES = ("هما", "كما", "ات", "ون", "ين", "ها", "هم", "كم", "نا")


@lru_cache(maxsize=1)
def _lemmatizer():
    """hazm's Lemmatizer, built once on first use (it loads word lists, ~1 s)."""
    from hazm import Lemmatizer

    return Lemmatizer()


def _arabic_stem(word: str) -> str:
    """Light Arabic stemmer: drop the article and one common suffix, keep ≥3 letters."""
    for p in _AR_PREFIXES:
        if word.startswith(p) and len(word) - len(p) >= 3:
            word = word[len(p):]
            break
    for s in _AR_SUFFIXES:
        if word.endswith(s) and len(word) - len(s) >= 3:
            return word[: -len(s)]
    return word


@lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    if word.isascii():
        return word
    if _ARABIC_MARK.search(word) or (word.startswith("ال") and word not in STOPWORDS_FA):
        return _arabic_stem(word)
    lemma = _lemmatizer().lemmatize(word)
    if "#" in lemma:  # verbs come back as "past#present": keep the past stem (رسید)
        past, _present = lemma.split("#", 1)
        # hazm also reads some nouns as verbs (بندی -> بست): accept the verb reading only
        # when the past stem is visible in the word or the word has a verbal prefix.
        if past and (past in word or word.startswith(("می", "نمی"))):
            return past
        return word
    return lemma or word


def content_tokens(text: str, *, lemmatize: bool = True) -> list[str]:
    """Content words of normalised text, for cluster keywords and labels.

    Parameters
    ----------
    text : str
        Normalised text (see :func:`pipeline.normalize.normalize`).
    lemmatize : bool, default=True
        Lemmatise Persian (hazm) and stem Arabic (light stemmer).

    Returns
    -------
    list of str
        Tokens without stopwords, placeholders, 1-letter or digit-only tokens; Persian
        words are never cut at a ZWNJ (کتاب‌ها -> کتاب, not کتاب + ها).

    Examples
    --------
    >>> content_tokens("پیک خیلی دیر رسید و غذاها سرد بود")
    ['پیک', 'دیر', 'رسید', 'غذا', 'سرد']
    """
    out = []
    for tok in _CONTENT.findall(text):
        if tok in _ALL_STOP:
            continue
        if lemmatize:
            tok = _lemma(tok)
            if tok in _ALL_STOP:
                continue
        if len(tok) < 2 or tok.isdigit() or tok in ("EMONEG", "EMOPOS", "EMONEU"):
            continue
        out.append(tok)
    return out
