"""Finglish: Persian typed in Latin letters ("ghaza kheili sard bood").

Detection counts Latin words found in the project's Finglish lexicon
(``resources/finglish_fa.tsv``) against common English words; transliteration maps the
lexicon words to Persian script and leaves every unknown word in Latin letters (a wrong
guess would hurt features more than an unknown token).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

__all__ = ["english_words", "is_finglish_words", "latin_words", "lexicon", "transliterate"]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_DOUBLE = re.compile(r"([a-z])\1")
#: Letter sequences that are typical of Finglish and rare at the start of English words.
_FINGLISH_SHAPE = re.compile(r"^(?:kh|gh|zh|mi(?:kh|sh|g|r|d|z|k)|nemi|na(?:b|d|r|sh|m|y))")


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, str], frozenset[str]]:
    text = resources.files("pipeline.resources").joinpath("finglish_fa.tsv").read_text("utf-8")
    lex: dict[str, str] = {}
    ambiguous: set[str] = set()
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        latin, persian = fields[0].strip(), fields[1].strip()
        lex.setdefault(latin, persian)
        if len(fields) > 2 and fields[2].strip() == "amb":
            ambiguous.add(latin)
    return lex, frozenset(ambiguous)


def lexicon() -> dict[str, str]:
    """The Finglish -> Persian lexicon (read once)."""
    return _load()[0]


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """English stopwords plus a few review words (evidence against Finglish)."""
    text = resources.files("pipeline.resources").joinpath("stopwords_en.txt").read_text("utf-8")
    words = {w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")}
    # A few review words that are clearly English.
    words |= {"good", "great", "food", "service", "delivery", "order", "nice", "bad", "late",
              "cold", "hot", "slow", "fast", "price", "quality", "app", "thanks", "thank",
              "love", "like", "best", "worst", "never", "always", "time", "ok", "okay",
              "please", "delicious", "terrible", "awful", "excellent", "restaurant", "staff"}
    return frozenset(words)


def latin_words(text: str) -> list[str]:
    """Lower-case Latin words of ``text`` (expects lower-cased input)."""
    return _WORD.findall(text)


def _lookup(word: str) -> str | None:
    lex = lexicon()
    hit = lex.get(word)
    if hit is None and _DOUBLE.search(word):
        hit = lex.get(_DOUBLE.sub(r"\1", word))
    return hit


def is_finglish_words(words: list[str]) -> bool:
    """Decide whether Latin ``words`` are Persian written in Latin letters."""
    if not words:
        return False
    ambiguous = _load()[1]
    english = english_words()
    fing = eng = 0.0
    for w in words:
        if w in ambiguous:  # "bad", "man", "to": Persian and English alike
            continue
        if w in english:
            eng += 1
        elif _lookup(w) is not None:
            fing += 1
        elif _FINGLISH_SHAPE.match(w):
            fing += 0.5
    if fing < 1 or fing <= eng:
        return False
    return fing >= 2 or len(words) <= 3 or fing >= 0.3 * len(words)


def _translit_word(m: re.Match[str]) -> str:
    w = m.group()
    hit = _lookup(w)
    if hit is not None:
        return hit
    return w


def transliterate(text: str) -> str:
    """Replace known Finglish words by Persian script; unknown words stay Latin.

    Examples
    --------
    >>> transliterate("ghaza kheili sard bood")
    'غذا خیلی سرد بود'
    >>> transliterate("peyk xyz nayumad")
    'پیک xyz نیومد'
    """
    return _WORD.sub(_translit_word, text)
