"""Feature extraction for complaint detection and theme classification.

Every text is normalised and tokenised **once** (:func:`analyze_texts`); the vectorisers below
then read the token lists. Four blocks, stacked by :class:`FeedbackFeatures`:

* word TF-IDF over token uni/bi-grams (bigrams carry negation: ``خوب نبود``, ``ليس سيئا``);
* char_wb TF-IDF over 2–5-grams of each token, which absorbs spelling variation
  (``میشه``/``می‌شه``/``میشود``, Arabic/Persian letter variants, stretched letters);
* seed-lexicon counts, one column per taxonomy theme (:class:`SeedLexicon`): the cold-start
  signal, and a feature that generalises from the taxonomy to text never seen in training;
* polarity features (:class:`PolarityFeatures`): positive/negative lexicon hits, negated
  positives (``خوب نبود``, ``مو زين``) and negated negatives (``بد نبود``, ``ليس سيئا``), and
  negatives after a contrast connective (``... ولی دیر رسید``, ``... لكن وصل متاخر``).

All analysers are module-level functions (picklable); vocabularies are sorted so two fits on
the same data give byte-identical pickles.

Examples
--------
>>> from pipeline.features import FeedbackFeatures, analyze_texts
>>> docs = analyze_texts(["غذا خوب نبود", "بد نبود، راضی بودم"])
>>> X = FeedbackFeatures(min_df=1).fit_transform(docs)
>>> X.shape[0]
2
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.utils.validation import check_is_fitted

from pipeline.config import PROJECT_ROOT

#: Hand-written polarity lexicons (``positive_<lang>.txt``, ``negative_<lang>.txt``).
LEXICON_DIR = PROJECT_ROOT / "data" / "lexicons"

__all__ = [
    "FeedbackFeatures",
    "PolarityFeatures",
    "SeedLexicon",
    "analyze_texts",
    "char_wb_ngrams",
    "polarity_lexicons",
    "read_lexicon",
    "word_ngrams",
]

# ---------------------------------------------------------------------------
# Tokenising once
# ---------------------------------------------------------------------------


def analyze_texts(texts: Iterable[str], *, normalized: bool = False) -> list[list[str]]:
    """Normalise (unless ``normalized``) and tokenise each text; returns one token list per text.

    ``normalize`` is idempotent, so raw and already-normalised texts give the same tokens.
    """
    from pipeline.normalize import normalize
    from pipeline.tokenize import tokenize

    if normalized:
        return [tokenize(t) if isinstance(t, str) else [] for t in texts]
    return [tokenize(normalize(t)) if isinstance(t, str) else [] for t in texts]


def word_ngrams(tokens: Sequence[str], ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Space-joined token n-grams (the analyser of the word TF-IDF block)."""
    lo, hi = ngram_range
    out: list[str] = list(tokens) if lo == 1 else []
    n_tok = len(tokens)
    for n in range(max(lo, 2), hi + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(n_tok - n + 1))
    return out


def char_wb_ngrams(tokens: Sequence[str], ngram_range: tuple[int, int] = (2, 5)) -> list[str]:
    """Character n-grams inside word boundaries (sklearn's ``char_wb`` applied to tokens)."""
    lo, hi = ngram_range
    out: list[str] = []
    append = out.append
    for tok in tokens:
        w = f" {tok} "
        lw = len(w)
        for n in range(lo, hi + 1):
            if n > lw:
                break
            for i in range(lw - n + 1):
                append(w[i : i + n])
    return out


_CHAR_CACHE_SIZE = 300_000


def _sorted_vocabulary(vectorizer: TfidfVectorizer) -> None:
    """Rebuild ``vocabulary_`` in key order so the pickle does not depend on document order."""
    vectorizer.vocabulary_ = dict(sorted(vectorizer.vocabulary_.items()))


# ---------------------------------------------------------------------------
# Token matching with light affix stripping
# ---------------------------------------------------------------------------

#: Persian enclitics/plural endings and Arabic suffixes stripped when matching lexicon words
#: (longest first). Only used for matching, never for the n-gram features.
_SUFFIXES = (
    "هایشان",
    "هاشون",
    "هامون",
    "هاتون",
    "هایی",
    "های",
    "هاش",
    "شون",
    "مون",
    "تون",
    "اش",
    "ها",
    "ای",
    "ش",
    "م",
    "ت",
    "ی",
    "ه",
    "ات",
    "ين",
    "ون",
    "هم",
    "كم",
    "ا",
)
_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ف")


@lru_cache(maxsize=1 << 18)
def _variants(token: str) -> tuple[str, ...]:
    """The token and its affix-stripped stems (kept at >= 3 letters); cached, tokens repeat."""
    out = [token]
    for pre in _PREFIXES:
        if token.startswith(pre) and len(token) - len(pre) >= 3:
            out.append(token[len(pre) :])
            break
    for base in list(out):
        for suf in _SUFFIXES:
            if base.endswith(suf) and len(base) - len(suf) >= 3:
                out.append(base[: -len(suf)])
                break
    return tuple(out)


def _phrase_variants(phrase: str) -> set[tuple[str, ...]]:
    """Token tuples of a lexicon phrase under both the Persian and the Arabic folding (a lone
    word's language is ambiguous: ``سيء`` folds to ``سیء`` as Persian, stays as Arabic)."""
    from pipeline.normalize import normalize
    from pipeline.tokenize import tokenize

    out = {tuple(tokenize(normalize(phrase, lang))) for lang in ("fa", "ar", "auto")}
    return {t for t in out if t}


def _compile_phrases(phrases_by_class: Sequence[Iterable[str]]) -> dict[str, list[tuple]]:
    """Index phrases by first token: {first: [(rest_tokens, class_index), ...]} (sorted)."""
    index: dict[str, set[tuple]] = {}
    for k, phrases in enumerate(phrases_by_class):
        for phrase in phrases:
            for tokens in _phrase_variants(phrase):
                index.setdefault(tokens[0], set()).add((tuple(tokens[1:]), k))
    return {first: sorted(entries) for first, entries in sorted(index.items())}


_MEMO_SIZE = 200_000


def _sublinear_tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """What ``TfidfVectorizer(sublinear_tf=True, norm="l2")`` does to raw counts."""
    counts.sum_duplicates()
    counts.data = np.log(counts.data) + 1
    counts.data *= idf.astype(np.float32)[counts.indices]
    return l2_normalize(counts, norm="l2", copy=False)


class _PhraseMemo:
    """Which tokens start a phrase of one index (through their first stem in the index).

    Most tokens start no phrase and tokens repeat across a corpus, so each distinct token is
    looked up once; a document whose token set misses every phrase start costs two set
    operations. Bounded: cleared after ``_MEMO_SIZE`` distinct tokens.
    """

    def __init__(self, index: dict[str, list[tuple]]):
        self.index = index
        self.known: set[str] = set()
        #: token -> its phrases, split by :func:`_split_entries`
        self.starts: dict[str, tuple[tuple[int, ...], dict[str, list[tuple]]]] = {}

    def learn(self, tokens: set[str]) -> None:
        new = tokens.difference(self.known)
        if not new:
            return
        if len(self.known) + len(new) > _MEMO_SIZE:
            self.known.clear()
            self.starts.clear()
        index = self.index
        for tok in new:
            for v in _variants(tok):
                entries = index.get(v)
                if entries is not None:
                    self.starts[tok] = _split_entries(entries)
                    break
        self.known.update(new)


def _split_entries(entries: list[tuple]) -> tuple[tuple[int, ...], dict[str, list[tuple]]]:
    """A start token's phrases as (classes of its one-token phrases, longer phrases by their
    second token): a common first word («خیلی», «ما») starts hundreds of phrases, and the next
    token's forms pick the few that can match instead of trying them all."""
    singles = tuple(k for rest, k in entries if not rest)
    by_second: dict[str, list[tuple]] = {}
    for rest, k in entries:
        if rest:
            by_second.setdefault(rest[0], []).append((rest, k))
    return singles, by_second


@lru_cache(maxsize=1 << 18)
def _forms(token: str) -> tuple[str, ...]:
    """Distinct forms a phrase token may take to match ``token`` (itself and its stems)."""
    return tuple(dict.fromkeys(_variants(token)))


def _match_positions(
    tokens: Sequence[str], index: dict[str, list[tuple]], memo: _PhraseMemo | None = None
) -> list[tuple[int, int, int]]:
    """(start, end, class) of every phrase occurrence; a token matches a phrase token when equal
    or when one of its affix-stripped stems is (``کیفیتش`` → ``کیفیت``, ``والتوصيل`` → ``توصيل``).
    ``memo`` is an optional cache for ``index`` (see :class:`_PhraseMemo`)."""
    if memo is None:
        memo = _PhraseMemo(index)
    present = set(tokens)
    memo.learn(present)
    starts = memo.starts
    if present.isdisjoint(starts):
        return []
    hits: list[tuple[int, int, int]] = []
    n = len(tokens)
    for i in [i for i, tok in enumerate(tokens) if tok in starts]:
        singles, by_second = starts[tokens[i]]
        for k in singles:
            hits.append((i, i + 1, k))
        if not by_second or i + 1 >= n:
            continue
        for form in _forms(tokens[i + 1]):
            for rest, k in by_second.get(form, ()):
                end = i + 1 + len(rest)
                if end > n:
                    continue
                if all(want in _forms(tokens[i + 1 + j]) for j, want in enumerate(rest) if j):
                    hits.append((i, end, k))
    return hits


class _TransientCache:
    """Mixin: a per-instance dict that speeds up ``transform`` and is never pickled
    (it is not part of the model; two fits must give byte-identical files)."""

    _transient = ("_memo", "_char_cache")

    def _cache(self, name: str = "_char_cache") -> dict:
        return self.__dict__.setdefault(name, {})

    def _phrase_memo(self) -> _PhraseMemo:
        memo = self.__dict__.get("_memo")
        if memo is None or memo.index is not self.index_:
            memo = self.__dict__["_memo"] = _PhraseMemo(self.index_)
        return memo

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._transient:
            state.pop(name, None)
        return state


# ---------------------------------------------------------------------------
# Seed lexicon (one column per theme)
# ---------------------------------------------------------------------------


class SeedLexicon(_TransientCache, BaseEstimator, TransformerMixin):
    """Count taxonomy seed-keyword matches per theme.

    Parameters
    ----------
    taxonomy : dict or None
        ``Taxonomy.to_dict()``; ``None`` uses the shipped default taxonomy.

    Attributes
    ----------
    themes_ : list of str
        Theme ids, one output column each.
    index_ : dict
        Seed phrases (normalised, tokenised) indexed by first token.

    Examples
    --------
    >>> from pipeline.features import SeedLexicon, analyze_texts
    >>> lex = SeedLexicon().fit(None)
    >>> int(lex.transform(analyze_texts(["پیک خیلی دیر رسید"]))[0, lex.themes_.index("delivery")]) >= 1
    True
    """

    def __init__(self, *, taxonomy: dict | None = None):
        self.taxonomy = taxonomy

    def fit(self, X=None, y=None):
        from pipeline.taxonomy import Taxonomy, load_taxonomy

        tax = Taxonomy.from_dict(self.taxonomy) if self.taxonomy is not None else load_taxonomy()
        self.themes_ = tax.ids
        self.index_ = _compile_phrases([t.seeds for t in tax.themes])
        return self

    def transform(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Per-theme seed-match counts, shape (n_docs, n_themes), float32."""
        check_is_fitted(self)
        rows, cols = [], []
        index, memo = self.index_, self._phrase_memo()
        for r, tokens in enumerate(X):
            for _, _, k in _match_positions(tokens, index, memo):
                rows.append(r)
                cols.append(k)
        data = np.ones(len(rows), dtype=np.float32)
        M = sp.csr_matrix((data, (rows, cols)), shape=(len(X), len(self.themes_)), dtype=np.float32)
        M.sum_duplicates()
        return M

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray([f"seed__{t}" for t in self.themes_], dtype=object)


# ---------------------------------------------------------------------------
# Polarity, negation scope and contrast
# ---------------------------------------------------------------------------
# Hand-written word lists (project team). Matched on normalised tokens with affix stripping.

_POSITIVE = (
    # Persian
    "خوب",
    "خوبه",
    "عالی",
    "عالیه",
    "خوشمزه",
    "خوشمزست",
    "خوشمزه‌ست",
    "لذیذ",
    "تازه",
    "داغ",
    "گرم",
    "سریع",
    "راضی",
    "رضایت",
    "ممنون",
    "ممنونم",
    "مرسی",
    "تشکر",
    "متشکرم",
    "سپاس",
    "بهترین",
    "محشر",
    "فوق العاده",
    "فوق‌العاده",
    "بی نظیر",
    "بی‌نظیر",
    "عاااالی",
    "درجه یک",
    "تمیز",
    "مناسب",
    "ارزون",
    "ارزان",
    "به موقع",
    "سر وقت",
    "باکیفیت",
    "با کیفیت",
    "خوش برخورد",
    "مودب",
    "دوست داشتم",
    "پیشنهاد میکنم",
    "پیشنهاد می‌کنم",
    "توصیه میکنم",
    "قشنگ",
    "خوشگل",
    "راحت",
    "سالم",
    "خوش طعم",
    "خوش‌طعم",
    "ترد",
    "نرم",
    "معرکه",
    "perfect",
    "good",
    "great",
    "ok",
    "اوکی",
    # Arabic
    "ممتاز",
    "ممتازه",
    "رائع",
    "رائعه",
    "رايع",
    "روعه",
    "جميل",
    "جميله",
    "جيد",
    "جيده",
    "حلو",
    "حلوه",
    "لذيذ",
    "لذيذه",
    "افضل",
    "انصح",
    "انصح به",
    "سريع",
    "نظيف",
    "نظيفه",
    "مناسب",
    "شكرا",
    "ممتع",
    "يستاهل",
    "يستحق",
    "كويس",
    "كويسه",
    "زين",
    "راضي",
    "راضيه",
    "مبدع",
    "اعجبني",
    "عجبني",
    "احببت",
    "ننصح",
    "متميز",
    "ممتازة",
    "طازج",
    "طازه",
    "سهل",
    "مريح",
    "اصلي",
    "فخم",
    "يجنن",
    "مضبوط",
)
_NEGATIVE = (
    # Persian
    "بد",
    "بده",
    "افتضاح",
    "افتضاحه",
    "بی کیفیت",
    "بی‌کیفیت",
    "سرد",
    "دیر",
    "خراب",
    "بی مزه",
    "بی‌مزه",
    "بیمزه",
    "شور",
    "کهنه",
    "مونده",
    "بیات",
    "گرون",
    "گران",
    "ضعیف",
    "داغون",
    "آشغال",
    "اشغال",
    "مزخرف",
    "وحشتناک",
    "ناراضی",
    "متاسفانه",
    "متأسفانه",
    "نرسید",
    "ناقص",
    "اشتباه",
    "سوخته",
    "فاسد",
    "تاخیر",
    "تأخیر",
    "بدترین",
    "حیف",
    "پشیمون",
    "پشیمان",
    "چرب",
    "کثیف",
    "افتضاحی",
    "اسفناک",
    "ناامید",
    "دلخور",
    "بدمزه",
    "بد مزه",
    "افت",
    "کلاهبرداری",
    "کلاه برداری",
    "دزدی",
    "بی ادب",
    "بی‌ادب",
    "بی احترامی",
    "معیوب",
    "شکسته",
    "پاره",
    "تقلبی",
    "کمه",
    "ریخته",
    "یخ",
    "هنگ",
    "ارور",
    "مسخره",
    "نپخته",
    "سفت",
    "خمیر",
    "لغو",
    "کنسل",
    "اعصاب",
    "بدبختی",
    "فاجعه",
    "ضایع",
    "bad",
    "worst",
    # Arabic
    "سيء",
    "سيئ",
    "سيئه",
    "سيئة",
    "سئ",
    "رديء",
    "ردئ",
    "رديئه",
    "تعبان",
    "خايس",
    "زفت",
    "مقرف",
    "بطيء",
    "بطئ",
    "متاخر",
    "تاخير",
    "تاخر",
    "غالي",
    "غاليه",
    "مكسور",
    "خربان",
    "فاشل",
    "اسوا",
    "للاسف",
    "معطل",
    "ضعيف",
    "مزعج",
    "سيئا",
    "رديئا",
    "وسخ",
    "خساره",
    "ندمت",
    "نصب",
    "حرامي",
    "بارد",
    "تالف",
    "مغشوش",
    "تقليد",
    "سرقه",
    "اسوء",
    "فاشله",
    "مخيب",
    "خيبه",
    "مشكله",
    "مشاكل",
    "عيب",
    "عيوب",
    "سيئين",
    "قذر",
    "متسخ",
    "ناقص",
    "خطا",
    "غلط",
    "ابدا",
    "حسبي الله",
)
#: Persian verbal negation that follows its predicate: "خوب نبود", "تازه نیست".
_NEG_AFTER = (
    "نبود",
    "نیست",
    "نبودن",
    "نیستن",
    "نبوده",
    "نیس",
    "نشد",
    "نمیشه",
    "نمی‌شه",
    "نشده",
    "نبودند",
    "نیستند",
    "نداشت",
    "نداره",
    "نداشتن",
    "ندارد",
    "ندارن",
    "نداشتم",
    "نمیکنه",
    "نمیده",
    "نمیاد",
    "نمیکنم",
    "نیستم",
    "نبودم",
    "ندارم",
    "نداشته",
    "نداشتیم",
    "نبودیم",
    "نشدم",
    "نشدیم",
)
#: Words that may sit between a predicate and its Persian negation: "بی مزه هم نمیشه".
_NEG_GAP = ("هم", "اصلا", "زیاد", "خیلی", "چندان", "دیگه", "که")
#: Negators that precede their scope (Persian and Arabic): "نه خوب", "ليس سيئا", "مو زين".
_NEG_BEFORE = (
    "نه",
    "هیچ",
    "غیر",
    "ليس",
    "ليست",
    "لا",
    "لم",
    "لن",
    "مو",
    "مش",
    "مب",
    "مهوب",
    "غير",
    "بدون",
    "مافي",
    "مابي",
    "مافيه",
    "عدم",
    "ولا",
    "ولم",
    "وليس",
    "وليست",
    "ومو",
    "ومش",
    "بلا",
)
#: Words that may stand between a preceding negator and what it negates:
#: "لا توجد مشاكل", "بدون اي مشكلة", "ليس فيه عيب".
_NEG_BEFORE_GAP = ("اي", "أي", "توجد", "يوجد", "فيه", "فيها", "هناك", "ای", "هیچ")
#: Positive words that also act as intensifiers: before a negative word they are not praise
#: («فوق العاده بد», "extremely bad").
_INTENSIFIERS = ("فوق العاده", "فوق‌العاده", "بی نهایت", "بی‌نهایت")
#: Contrast connectives: what follows usually carries the point of a mixed message.
_CONTRAST = (
    "ولی",
    "اما",
    "ولي",
    "لكن",
    "لاكن",
    "ولكن",
    "بس",
    "منتها",
    "الا",
    "إلا",
    "مع ذلك",
    "هرچند",
)
_EMO = ("EMOPOS", "EMONEG")

POLARITY_FEATURES = (
    "pos",
    "neg",
    "neg_pos",  # negated positive: "خوب نبود" -> complaint
    "neg_neg",  # negated negative: "بد نبود" -> not a complaint
    "contrast",
    "neg_after_contrast",
    "pos_after_contrast",
    "emo_pos",
    "emo_neg",
    "net",
)


def _outermost(hits: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Drop phrase hits that lie inside a longer hit: in ``ما يستاهل`` (negative) the
    positive ``يستاهل`` is not a second, opposite signal."""
    if len(hits) < 2:
        return hits
    return [
        (s, e, k)
        for s, e, k in hits
        if not any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2, _ in hits)
    ]


def _token_set(words: Iterable[str]) -> dict[str, None]:
    """Normalised tokens as a key-sorted dict (O(1) membership like a set, but it pickles in
    a fixed order: a frozenset's order follows the per-process string hash seed)."""
    return dict.fromkeys(sorted({t for w in words for toks in _phrase_variants(w) for t in toks}))


def read_lexicon(path: Path) -> tuple[str, ...]:
    """Phrases of a lexicon file: one a line, ``#`` comments and blank lines skipped."""
    with open(path, encoding="utf-8") as fh:
        lines = (line.strip() for line in fh)
        return tuple(dict.fromkeys(t for t in lines if t and not t.startswith("#")))


def polarity_lexicons(lexicon_dir: Path | None = LEXICON_DIR) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(positive, negative) phrases: the built-in lists plus ``positive_*.txt`` and
    ``negative_*.txt`` in ``lexicon_dir`` (the project's hand-written Persian and Arabic
    lexicons in ``data/lexicons``). ``None`` gives the built-in lists only."""
    pos, neg = list(_POSITIVE), list(_NEGATIVE)
    if lexicon_dir is not None and Path(lexicon_dir).is_dir():
        for path in sorted(Path(lexicon_dir).glob("positive_*.txt")):
            pos.extend(read_lexicon(path))
        for path in sorted(Path(lexicon_dir).glob("negative_*.txt")):
            neg.extend(read_lexicon(path))
    return tuple(dict.fromkeys(pos)), tuple(dict.fromkeys(neg))


class PolarityFeatures(_TransientCache, BaseEstimator, TransformerMixin):
    """Negation- and contrast-aware lexicon polarity counts (log-scaled).

    Parameters
    ----------
    scale : float
        Multiplies every feature (relative weight of this block against the TF-IDF blocks).
    lexicon_files : bool
        Add the hand-written lexicon files of ``data/lexicons`` to the built-in word lists.

    Attributes
    ----------
    index_ : dict
        Positive (class 0) and negative (class 1) phrases indexed by first token.
    neg_after_, neg_before_, neg_gap_, neg_before_gap_, contrast_ : dict of str to None
        Normalised negator and connective tokens (ordered sets).
    intensifiers_ : list of tuple of str
        Token forms of the positive words that only intensify a following negative word.

    Examples
    --------
    >>> from pipeline.features import PolarityFeatures, analyze_texts
    >>> pf = PolarityFeatures().fit(None)
    >>> X = pf.transform(analyze_texts(["غذا خوب نبود", "بد نبود"]))
    >>> bool(X[0, 2] > 0 and X[1, 3] > 0)
    True
    """

    def __init__(self, *, scale: float = 1.0, lexicon_files: bool = True):
        self.scale = scale
        self.lexicon_files = lexicon_files

    def fit(self, X=None, y=None):
        pos, neg = polarity_lexicons(LEXICON_DIR if self.lexicon_files else None)
        self.index_ = _compile_phrases([pos, neg])
        self.neg_after_ = _token_set(_NEG_AFTER)
        self.neg_before_ = _token_set(_NEG_BEFORE)
        self.contrast_ = _token_set(_CONTRAST)
        self.neg_gap_ = _token_set(_NEG_GAP)
        self.neg_before_gap_ = _token_set(_NEG_BEFORE_GAP)
        self.intensifiers_ = sorted({t for w in _INTENSIFIERS for t in _phrase_variants(w)})
        return self

    def _row(self, tokens: Sequence[str], memo: _PhraseMemo | None = None) -> list[float]:
        f = [0.0] * len(POLARITY_FEATURES)
        last_contrast = -1
        for i, tok in enumerate(tokens):
            if tok in self.contrast_:
                f[4] += 1
                last_contrast = i
            elif tok == "EMOPOS":
                f[7] += 1
            elif tok == "EMONEG":
                f[8] += 1
        n = len(tokens)
        before_gap = getattr(self, "neg_before_gap_", {})  # models fitted before it existed
        hits = _outermost(_match_positions(tokens, self.index_, memo))
        intensifiers = getattr(self, "intensifiers_", ())
        if intensifiers and len(hits) > 1:
            # «فوق العاده بد»: a positive word that only intensifies the negative one after it
            negative_starts = {s for s, _, k in hits if k == 1}
            hits = [
                (s, e, k)
                for s, e, k in hits
                if not (k == 0 and e in negative_starts and tuple(tokens[s:e]) in intensifiers)
            ]
        for start, end, k in hits:
            negated = (
                (start > 0 and tokens[start - 1] in self.neg_before_)
                or (
                    start > 1
                    and tokens[start - 1] in before_gap
                    and tokens[start - 2] in self.neg_before_
                )
                or (end < n and tokens[end] in self.neg_after_)
                or (
                    end + 1 < n
                    and tokens[end] in self.neg_gap_
                    and tokens[end + 1] in self.neg_after_
                )
            )
            if k == 0:
                f[2 if negated else 0] += 1
            else:
                f[3 if negated else 1] += 1
            if start > last_contrast >= 0:
                f[6 if (k == 0) != negated else 5] += 1
        f[9] = (f[0] + f[3] + f[7]) - (f[1] + f[2] + f[8])
        return f

    def transform(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Shape (n_docs, len(POLARITY_FEATURES)), float32, sign-preserving log1p scaling."""
        check_is_fitted(self)
        memo = self._phrase_memo()
        F = np.asarray([self._row(tokens, memo) for tokens in X], dtype=np.float32).reshape(
            len(X), len(POLARITY_FEATURES)
        )
        F = np.sign(F) * np.log1p(np.abs(F)) * np.float32(self.scale)
        return sp.csr_matrix(F.astype(np.float32))

    def get_feature_names_out(self, input_features=None):
        return np.asarray([f"polarity__{n}" for n in POLARITY_FEATURES], dtype=object)


# ---------------------------------------------------------------------------
# The stacked feature block
# ---------------------------------------------------------------------------

#: Words after which a mixed message usually states its problem: the contrast connectives
#: plus Persian «فقط» / «تنها» ("great, only it came cold").
_TAIL_MARKERS = (*_CONTRAST, "فقط", "تنها")


@lru_cache(maxsize=None)
def _tail_marker_tokens() -> frozenset[str]:
    """Normalised one-token forms of :data:`_TAIL_MARKERS` (built on first use: it needs the
    normaliser)."""
    return frozenset(
        toks[0] for w in _TAIL_MARKERS for toks in _phrase_variants(w) if len(toks) == 1
    )


def contrast_tail(tokens: Sequence[str]) -> Sequence[str]:
    """Tokens after the last contrast marker (empty when there is none, or nothing follows).

    >>> contrast_tail(["عالی", "بود", "ولی", "گرونه"])
    ['گرونه']
    >>> contrast_tail(["عالی", "بود"])
    []
    """
    markers = _tail_marker_tokens()
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i] in markers:
            return list(tokens[i + 1 :])
    return []


class FeedbackFeatures(_TransientCache, BaseEstimator, TransformerMixin):
    """Word TF-IDF + char_wb TF-IDF + seed-lexicon + polarity features on token lists.

    Parameters
    ----------
    taxonomy : dict or None
        For the seed block (``Taxonomy.to_dict()``); ``None`` is the shipped taxonomy.
    word_ngram_range, char_ngram_range : tuple of int
    min_df : int
        Minimum document frequency for both TF-IDF blocks.
    max_word_features, max_char_features : int or None
        Vocabulary caps (keeps the model file small).
    seed_weight, polarity_weight : float
        Scale of the dense lexicon blocks; 0 drops the block.
    use_char : bool
        Whether to include the char n-gram block.
    lexicon_files : bool
        Whether the polarity block adds the lexicon files of ``data/lexicons``.
    tail_weight : float
        Scale of the tail block: word TF-IDF of the tokens after the last contrast marker
        ("... ولی گرونه", "... بس البطارية ضعيفة"); 0 drops the block. In a long mixed
        review the one complaint word is diluted by the praise around it in the L2-normalised
        word block; in the tail block it stands alone. 0.5 was chosen on held-out hand-written
        rows (``python -m benchmarks.tune_transfer --grid tail``).

    Attributes
    ----------
    word_ : TfidfVectorizer
    char_ : TfidfVectorizer or None
    seeds_ : SeedLexicon
    polarity_ : PolarityFeatures
    n_features_out_ : int
    """

    def __init__(
        self,
        *,
        taxonomy: dict | None = None,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        min_df: int = 2,
        max_word_features: int | None = 60_000,
        max_char_features: int | None = 120_000,
        seed_weight: float = 1.0,
        polarity_weight: float = 1.0,
        use_char: bool = True,
        lexicon_files: bool = True,
        tail_weight: float = 0.5,
    ):
        self.taxonomy = taxonomy
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.seed_weight = seed_weight
        self.polarity_weight = polarity_weight
        self.use_char = use_char
        self.lexicon_files = lexicon_files
        self.tail_weight = tail_weight

    def fit(self, X: Sequence[Sequence[str]], y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Sequence[Sequence[str]], y=None) -> sp.csr_matrix:
        X = list(X)
        self.word_ = TfidfVectorizer(
            analyzer=partial(word_ngrams, ngram_range=tuple(self.word_ngram_range)),
            min_df=self.min_df,
            max_features=self.max_word_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        blocks = [self.word_.fit_transform(X)]
        _sorted_vocabulary(self.word_)
        self.char_ = None
        if self.use_char:
            self.char_ = TfidfVectorizer(
                analyzer=partial(char_wb_ngrams, ngram_range=tuple(self.char_ngram_range)),
                min_df=self.min_df,
                max_features=self.max_char_features,
                sublinear_tf=True,
                dtype=np.float32,
            )
            blocks.append(self.char_.fit_transform(X))
            _sorted_vocabulary(self.char_)
        self.seeds_ = SeedLexicon(taxonomy=self.taxonomy).fit()
        self.polarity_ = PolarityFeatures(
            scale=self.polarity_weight, lexicon_files=self.lexicon_files
        ).fit()
        blocks += self._lexicon_blocks(X)
        blocks += self._tail_blocks(X)
        out = sp.hstack(blocks, format="csr", dtype=np.float32)
        self.n_features_out_ = out.shape[1]
        return out

    def _lexicon_blocks(self, X) -> list[sp.csr_matrix]:
        seeds = self.seeds_.transform(X)
        seeds.data = np.log1p(seeds.data) * np.float32(self.seed_weight)
        return [seeds, self.polarity_.transform(X)]

    def transform(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        check_is_fitted(self)
        X = list(X)
        blocks = [self._word_transform(X)]
        if self.char_ is not None:
            blocks.append(self._char_transform(X))
        blocks += self._lexicon_blocks(X)
        blocks += self._tail_blocks(X)
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _tail_blocks(self, X: list[Sequence[str]]) -> list[sp.csr_matrix]:
        """The word block of each document's tail (see ``tail_weight``); none when it is 0."""
        weight = getattr(self, "tail_weight", 0.0)  # models fitted before it existed
        if not weight:
            return []
        tail = self._word_transform([contrast_tail(tokens) for tokens in X])
        if weight != 1.0:
            tail.data *= np.float32(weight)
        return [tail]

    def _char_transform(self, X: list[Sequence[str]]) -> sp.csr_matrix:
        """``self.char_.transform(X)``, but n-grams are generated once per distinct token
        (tokens repeat, so this is several times faster on large batches)."""
        vocab = self.char_.vocabulary_
        cache = self._cache("_char_cache")
        ngram_range = tuple(self.char_ngram_range)
        # documents x distinct tokens of this batch, then distinct tokens x char n-grams
        local: dict[str, int] = {}
        cols: list[int] = []
        indptr = [0]
        for tokens in X:
            cols.extend([local.setdefault(tok, len(local)) for tok in tokens])
            indptr.append(len(cols))
        D = sp.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), cols, indptr), shape=(len(X), len(local))
        )
        t_indices: list[int] = []
        t_indptr = [0]
        for tok in local:
            idx = cache.get(tok)
            if idx is None:
                idx = [vocab[g] for g in char_wb_ngrams((tok,), ngram_range) if g in vocab]
                if len(cache) >= _CHAR_CACHE_SIZE:
                    cache.clear()
                cache[tok] = idx
            t_indices.extend(idx)
            t_indptr.append(len(t_indices))
        T = sp.csr_matrix(
            (np.ones(len(t_indices), dtype=np.float32), t_indices, t_indptr),
            shape=(len(local), len(vocab)),
        )
        T.sum_duplicates()
        counts = (D @ T).tocsr()
        return _sublinear_tfidf(counts, self.char_.idf_)

    def _word_transform(self, X: list[Sequence[str]]) -> sp.csr_matrix:
        """``self.word_.transform(X)`` without sklearn's per-document Counter: n-gram ids are
        looked up straight in the vocabulary and duplicates summed by scipy (same result)."""
        get = self.word_.vocabulary_.get
        lo, hi = self.word_ngram_range
        indices: list[int] = []
        indptr = [0]
        for tokens in X:
            if lo == 1:
                indices.extend([i for i in map(get, tokens) if i is not None])
            for n in range(max(lo, 2), hi + 1):
                grams = map(" ".join, zip(*(tokens[k:] for k in range(n))))
                indices.extend([i for i in map(get, grams) if i is not None])
            indptr.append(len(indices))
        counts = sp.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), indices, indptr),
            shape=(len(X), len(self.word_.vocabulary_)),
        )
        return _sublinear_tfidf(counts, self.word_.idf_)

    def seed_counts(self, X: Sequence[Sequence[str]]) -> sp.csr_matrix:
        """Raw per-theme seed-match counts (for weak supervision and the cold-start rule)."""
        check_is_fitted(self)
        return self.seeds_.transform(list(X))

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        names = [f"word__{n}" for n in self.word_.get_feature_names_out()]
        if self.char_ is not None:
            names += [f"char__{n}" for n in self.char_.get_feature_names_out()]
        names += list(self.seeds_.get_feature_names_out()) + list(
            self.polarity_.get_feature_names_out()
        )
        if getattr(self, "tail_weight", 0.0):
            names += [f"tail__{n}" for n in self.word_.get_feature_names_out()]
        return np.asarray(names, dtype=object)
