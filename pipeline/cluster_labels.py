"""Readable cluster labels: class-based TF-IDF keywords and representative verbatims.

Pure functions over arrays and small frames (no I/O). They are fed by the streaming pass of
:mod:`pipeline.cluster`, which accumulates, for every cluster, the term counts of all its
records over the night's vocabulary and keeps a bounded list of its most central records.

Terms
-----
Terms are unigrams and bigrams of :func:`pipeline.tokenize.content_tokens` (lemmatised,
stopword-free, ZWNJ-aware), filtered once more by :func:`is_label_term`: every part of a term
must be at least two letters, contain no digit or mask placeholder, not start or end with a
ZWNJ, and not be a stopword. A label therefore never shows a stopword or a word cut at a ZWNJ.

Keywords (c-TF-IDF, as in BERTopic)
-----------------------------------
For class ``c`` and term ``t``: ``W[c, t] = tf[c, t] / sum_t tf[c, t] * log(1 + A / f[t])``
where ``tf`` are raw term counts of the class's records, ``f[t]`` the term's count over all
classes and ``A`` the mean number of term occurrences per class. Ties break on the term string,
so keywords are deterministic.

Examples
--------
>>> import numpy as np
>>> w = class_tfidf(np.array([[5.0, 0.0, 1.0], [0.0, 4.0, 1.0]]))
>>> top_keywords(w[0], np.array(["پیک", "سرد", "غذا"]), 2)
['پیک', 'غذا']
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "class_tfidf",
    "is_label_term",
    "label_from_keywords",
    "load_stopwords",
    "pick_examples",
    "top_keywords",
]

ZWNJ = "\u200c"
_DIGIT = re.compile(r"\d")
#: Separator of the short label (the Persian/Arabic comma reads naturally in both languages).
LABEL_SEPARATOR = "، "


def load_stopwords() -> frozenset[str]:
    """Every stopword list the tokenizer exposes (``STOPWORDS_FA``, ``_AR``, ``_EN``), united.

    A guard only: ``content_tokens`` already drops stopwords, but a lemma can land on one
    (``بودم`` -> ``بود``), and a label must never show it.
    """
    from pipeline import tokenize as tok

    words: set[str] = set()
    for name in dir(tok):
        value = getattr(tok, name)
        if name.upper().startswith("STOPWORDS") and isinstance(value, (set, frozenset)):
            words |= value
    return frozenset(words)


def is_label_term(term: str, stopwords: frozenset[str] = frozenset()) -> bool:
    """True when every space-separated part of ``term`` is a whole, non-stopword word.

    >>> is_label_term("بسته‌بندی"), is_label_term("\u200cها"), is_label_term("از")
    (True, False, False)
    """
    parts = term.split(" ")
    for part in parts:
        if len(part.replace(ZWNJ, "")) < 2 or part.startswith(ZWNJ) or part.endswith(ZWNJ):
            return False
        if _DIGIT.search(part) or not part.replace(ZWNJ, "").isalpha():
            return False
        if part in stopwords or part.lower() in stopwords:
            return False
    return True


def class_tfidf(counts: np.ndarray) -> np.ndarray:
    """c-TF-IDF weights of a (classes x terms) count matrix; rows with no terms stay zero."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0:
        return counts.copy()
    per_class = counts.sum(axis=1, keepdims=True)
    tf = np.divide(counts, per_class, out=np.zeros_like(counts), where=per_class > 0)
    freq = counts.sum(axis=0)
    avg = per_class[per_class > 0].mean() if (per_class > 0).any() else 0.0
    idf = np.log1p(np.divide(avg, freq, out=np.zeros_like(freq), where=freq > 0))
    return tf * idf


def top_keywords(weights: np.ndarray, terms: np.ndarray, n: int) -> list[str]:
    """The ``n`` best terms of one class, without echoing a bigram's words as unigrams.

    A unigram already inside a chosen bigram is skipped, and a bigram whose two words are both
    already chosen is skipped, so the list stays informative. Ties break on the term string.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.size == 0 or n <= 0:
        return []
    order = np.lexsort((terms, -weights))
    chosen: list[str] = []
    words: set[str] = set()
    for i in order:
        if weights[i] <= 0 or len(chosen) >= n:
            break
        term = str(terms[i])
        parts = term.split(" ")
        if len(parts) == 1 and term in words:
            continue
        if len(parts) > 1 and all(p in words for p in parts):
            continue
        chosen.append(term)
        words.update(parts)
    return chosen


def label_from_keywords(keywords: list[str], n: int = 3) -> str:
    """A short label: the first ``n`` keywords joined by the Arabic comma."""
    return LABEL_SEPARATOR.join(keywords[:n])


def pick_examples(candidates: pd.DataFrame, n: int, max_chars: int = 280) -> pd.DataFrame:
    """Choose ``n`` representative verbatims of one cluster from its central candidates.

    ``candidates`` has columns ``record_key``, ``display_text`` (PII-masked), ``text_norm``,
    ``similarity`` (to the cluster centroid) and ``n_terms``. Duplicated normalised texts are
    kept once; records with at least three terms come first (a one-word complaint is central but
    says little); then by similarity, then by key. Long texts are cut at ``max_chars``.
    """
    if candidates.empty:
        return candidates.assign(example=pd.Series(dtype=str))
    frame = candidates.copy()
    frame["_short"] = frame["n_terms"] < 3
    frame["_neg"] = -frame["similarity"].round(9)
    frame = frame.sort_values(["_short", "_neg", "record_key"], kind="mergesort")
    frame = frame.drop_duplicates("text_norm", keep="first").head(n)
    frame["example"] = [
        t if len(t) <= max_chars else t[: max_chars - 1].rstrip() + "…"
        for t in frame["display_text"].fillna("").astype(str)
    ]
    return frame.drop(columns=["_short", "_neg"])
