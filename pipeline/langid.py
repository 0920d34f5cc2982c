"""Language identification for short customer feedback: fa / ar / en / mixed / unknown.

Evidence (all data below, weights in ``_WEIGHTS``):

* letters only Persian has (پ چ ژ گ) and Persian ی/ک against Arabic ي/ك/ى/ئ and
  ة/أ/إ/ؤ;
* function words of each language, matched on a *folded* view of each token (ي/ی, ك/ک,
  ة/ه, أ/ا … unified) so that Persian typed on an Arabic keyboard («خيلي») still counts;
* the Arabic article «ال» at the start of words (a few Persian words such as «الان»
  excepted) and ZWNJ (Persian only);
* for Latin script, the Finglish lexicon against English words.

Ties go to Persian. ``mixed`` means a substantial share of Latin-letter English next to
Arabic-script text; ``unknown`` means no letters at all (empty, emoji-only, digits-only).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pipeline import _rules
from pipeline.finglish import english_words, is_finglish_words, latin_words

__all__ = ["LANGS", "detect_language", "is_finglish", "script_family"]

LANGS = ("fa", "ar", "en", "mixed", "unknown")

_FA_FUNCTION = (
    "است را رو می نمی این که خیلی بود نبود هست نیست بودن شد نشد شده نشده کرد کردم کردن کنید"
    " کنه کنم کنن میشه نمیشه ولی اما برای برا از با تو دیگه یه یک اون شما هیچ واقعا اصلا"
    " بسیار چرا چون اگه اگر هر همه چیزی چی کجا الان اینکه اینه بودم بودند هستش داره نداره"
    " داشت نداشت دارم ندارم بشه باشه باید نباید تا هم رسید نرسید اومد نیومد دادم"
    " خوب بد عالی ممنون مرسی لطفا متاسفانه خیلیی کاملا حتما الکی بودن یعنی نه آره ازش بهش"
    " براش توی روی بعدش همیشه هنوز شدم شدن کردند کردیم گرفتم گفتم گفتن میده نمیده میکنه"
    " نمیکنه میخوام نمیخوام نمی‌خوام می‌خوام خودم خودش اصلاً چند تومان تومن سلام درود"
)
_AR_FUNCTION = (
    "في من على الى إلى عن هذا هذه ذلك تلك التي الذي الذين لا لم لن مع كان كانت جدا جداً"
    " ولكن لكن ثم قد لقد كل بعض ليس هو انا أنا نحن انت كنت يكون عند حتى ان أن إن انه أنه"
    " اللي الي وهو وهي وكان وفي ومن وعلى فيه فيها منه منها عليه عليها به بها له لها لي ايضا"
    " أيضا اكثر أكثر افضل أفضل مره مرة شي شيء كتير كثير وايد زي اذا إذا لما والله طيب حلو"
    " سيء مش بس ولا فى علي عليه وانا واذا يعني هاذا هذي هاد شو ايش وش ليش عشان علشان"
    " لانه لأن لان حيث كما ابدا أبدا ده دي اللى إلي"
    " بصراحة صراحة الحمدلله ماشاءالله انصح انصحكم لاباس يستاهل جيد جيدة شكرا عادي ممتازة"
    " روعة رائع رائعة جميل جميلة حلوة سيئ سيئة"
)
#: Words both languages use often («به»، «ما»، «من»، «او»، «بعد» …) count for neither.
_SHARED = "به ما من او أو بعد قبل هم كل یا يا"
#: Persian words that start with «ال» and must not count as the Arabic article.
_FA_AL_WORDS = (
    "الان الآن البته الکی الکترونیکی الکترونیک الگو الویت الهی الماس الو الف الی الا الکل الکلی"
    " بالا بالای بالاخره بالاتر بالایی بالش فالو فالوور لله"
)

_WEIGHTS = {
    "fa_letter": 1.0,  # ی ک (Persian code points)
    "fa_only": 2.0,  # پ چ ژ گ
    "fa_word": 2.5,
    "zwnj": 1.0,
    "ar_letter": 1.0,  # ي ك ى ئ (Arabic code points)
    "ar_only": 1.5,  # ة أ إ ؤ ٱ
    "ar_word": 2.5,
    "al": 1.0,
}

_FOLD = _rules.FOLD_TABLE
_SQUEEZE = re.compile(f"([{_rules.AR_LETTERS}])\\1{{2,}}")
_LATIN_SQUEEZE = re.compile(r"([a-z])\1{2,}")


def _fold_words(words: str) -> frozenset[str]:
    return frozenset(w.translate(_FOLD) for w in words.split())


def _spellings(words: frozenset[str]) -> frozenset[str]:
    """Every spelling that folds to one of ``words`` (خیلی -> خيلي, خیلي, خيلی ...).

    Matching raw tokens against the expanded set avoids folding every text.
    """
    preimages: dict[str, list[str]] = {}
    for cp, target in _FOLD.items():
        if isinstance(target, str) and len(target) == 1:
            preimages.setdefault(target, [target]).append(chr(cp))
    out: set[str] = set()
    for word in words:
        forms = [""]
        for ch in word:
            forms = [f + alt for f in forms for alt in preimages.get(ch, [ch])]
            if len(forms) > 5000:  # long words with many variable letters: folded form only
                forms = [word]
                break
        out.update(forms)
    return frozenset(out)


FA_FUNCTION_WORDS = _fold_words(_FA_FUNCTION)
FA_FUNCTION_WORDS = FA_FUNCTION_WORDS - _fold_words(_SHARED)
AR_FUNCTION_WORDS = _fold_words(_AR_FUNCTION) - FA_FUNCTION_WORDS - _fold_words(_SHARED)
_AL_EXCEPT = _fold_words(_FA_AL_WORDS)
_FA_SPELLINGS = _spellings(FA_FUNCTION_WORDS)
_AR_SPELLINGS = _spellings(AR_FUNCTION_WORDS)
_AL_EXCEPT_SPELLINGS = _spellings(_AL_EXCEPT)

_AR_WORD = re.compile(f"[{_rules.AR_LETTERS}]+")
_ARABIC_SCRIPT = re.compile(f"[{_rules.AR_LETTERS}]")
_LATIN = re.compile(r"[a-zA-Z]")
_TOKENS = re.compile(r"<[A-Z_]+>|\b(?:EMONEG|EMOPOS|EMONEU)\b", re.IGNORECASE)
_FA_ONLY = "پچژگ"
_AR_ONLY = "ةأإؤٱ"
#: The article at the start of a word, alone or after و/ب/ف, and لل (counted with
#: ``str.count`` on the text with a leading space).
_AL_PREFIXES = (" ال", " وال", " بال", " فال", " لل", " ٱل")


@lru_cache(maxsize=8)
def _scores(text: str) -> tuple[float, float, float]:
    """(Persian score, Arabic score, Arabic score without ة/أ/إ/ؤ/ٱ) of ``text``.

    ``text`` has been through the common character table (no diacritics or tatweel).
    Cached for the last few texts: normalising one text asks for the language (on the
    squeezed text) and then for the script family (usually the same string).
    """
    w = _WEIGHTS
    fa = w["fa_letter"] * (text.count("ی") + text.count("ک"))
    fa += w["fa_only"] * (text.count("پ") + text.count("چ") + text.count("ژ") + text.count("گ"))
    fa += w["zwnj"] * text.count("\u200c")
    ar = w["ar_letter"] * (text.count("ي") + text.count("ك") + text.count("ى") + text.count("ئ"))
    special = w["ar_only"] * (
        text.count("ة") + text.count("أ") + text.count("إ") + text.count("ؤ") + text.count("ٱ")
    )
    toks = (text.replace("\u200c", " ") if "\u200c" in text else text).split()
    fa += w["fa_word"] * sum(map(_FA_SPELLINGS.__contains__, toks))
    ar += w["ar_word"] * sum(map(_AR_SPELLINGS.__contains__, toks))
    if "ال" in text or "لل" in text:
        padded = " " + text
        al = sum(padded.count(p) for p in _AL_PREFIXES)
        ar += w["al"] * (al - sum(map(_AL_EXCEPT_SPELLINGS.__contains__, toks)))
    return fa, ar + special, ar


def script_family(text: str) -> str:
    """``"fa"`` or ``"ar"``: which feature normalisation suits the Arabic-script part.

    Ties and texts without evidence go to Persian.
    """
    fa, ar, _core = _scores(text)
    return "ar" if ar > fa else "fa"


def is_finglish(text: str) -> bool:
    """True when ``text`` is (mostly) Persian typed in Latin letters.

    Examples
    --------
    >>> is_finglish("ghaza kheili sard bood")
    True
    >>> is_finglish("the food was cold")
    False
    """
    text = _LATIN_SQUEEZE.sub(r"\1\1", _TOKENS.sub(" ", text).lower())
    if len(_ARABIC_SCRIPT.findall(text)) > len(_LATIN.findall(text)):
        return False
    return is_finglish_words(latin_words(text))


def detect_language(text: str) -> str:
    """Language of a feedback text, one of :data:`LANGS`.

    Parameters
    ----------
    text : str
        Raw or normalised text.

    Returns
    -------
    str
        ``"fa"`` (Persian, including Finglish), ``"ar"``, ``"en"``, ``"mixed"``
        (substantial Latin-script English next to Arabic-script text) or ``"unknown"``
        (no letters).

    Examples
    --------
    >>> detect_language("غذا خیلی سرد بود")
    'fa'
    >>> detect_language("الطعام بارد جدا")
    'ar'
    >>> detect_language("ghaza kheili sard bood")
    'fa'
    """
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.translate(_rules.COMMON_TABLE).lower()
    if "<" in text or "emo" in text:
        text = _TOKENS.sub(" ", text)
    text = _SQUEEZE.sub(r"\1", text)
    if _LATIN.search(text):
        text = _LATIN_SQUEEZE.sub(r"\1\1", text)
    return _detect_clean(text)


def _detect_clean(text: str) -> str:
    """:func:`detect_language` on lower-cased text free of placeholders."""
    has_lat = _LATIN.search(text) is not None
    if not has_lat:
        return script_family(text) if _ARABIC_SCRIPT.search(text) else "unknown"
    n_ar = len(_ARABIC_SCRIPT.findall(text))
    n_lat = len(_LATIN.findall(text))
    if n_ar == 0 and n_lat == 0:
        # Letters from other scripts (Cyrillic, CJK ...) are not a language we handle.
        return "unknown"
    if n_lat:
        words = latin_words(text)
        if is_finglish_words(words):
            if n_ar == 0 or n_lat >= n_ar:
                return "fa"
        elif n_ar == 0:
            return "en"
        elif (
            len(words) >= 2
            and len(words) >= 0.4 * (len(words) + len(_AR_WORD.findall(text)))
            and any(w in english_words() for w in words)
        ):
            return "mixed"
    return script_family(text)
