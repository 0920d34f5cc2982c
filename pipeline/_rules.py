"""Normalisation rules as data.

Every rule is a ``(pattern, replacement, comment)`` tuple; character rules are
``(source_chars, target, comment)``. Tables and regexes are built once, at import,
from these tuples (compiling ~20 small patterns costs well under a millisecond), and
applied by the functions in :mod:`pipeline.normalize`. Nothing here touches disk.

Decisions that differ from ``hazm.Normalizer`` are marked ``[not hazm]``.
"""

from __future__ import annotations

import re
import unicodedata

# ---------------------------------------------------------------------------
# Letter classes
# ---------------------------------------------------------------------------
#: Arabic-script letters (base block, supplement, extended-A; presentation forms are
#: folded by NFKC before any rule sees them).
AR_LETTERS = "\u0621-\u063a\u0641-\u064a\u066e-\u066f\u0671-\u06d3\u06d5\u06ee-\u06ef\u06fa-\u06fc\u06ff\u0750-\u077f\u08a0-\u08c9"
#: Letters that never join to the following letter: a ZWNJ after them is meaningless
#: (the hazm#367 bug class writes کار‌ها; we write کارها).
NON_JOINING = "\u0621\u0622\u0623\u0624\u0625\u0627\u0629\u062f\u0630\u0631\u0632\u0648\u0671\u0698\u06c0\u06d5\u0688\u0691\u06c6\u06c7\u06c8\u06cb"
ZWNJ = "\u200c"

# ---------------------------------------------------------------------------
# Character table shared by every language (str.translate, built once)
# ---------------------------------------------------------------------------
_DELETE = (
    ("\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f", "C0/C1 control characters (NUL included)"),
    ("\u00ad", "soft hyphen"),
    ("\u0640", "tatweel / kashida: خیلـــی -> خیلی"),
    ("\u064b-\u065f\u0670\u0610-\u061a\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u08d3-\u08ff",
     "Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef, Quranic marks)"),
    ("\u200b\u200d\u2060\ufeff", "zero-width space, ZWJ, word joiner, BOM (ZWNJ is kept)"),
    ("\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c", "bidi marks and embeddings (LRM, RLM, RLE ...)"),
    ("\ufe00-\ufe0f", "variation selectors (❤️ -> ❤)"),
    ("\U0001f3fb-\U0001f3ff", "emoji skin-tone modifiers"),
    ("\ud800-\udfff", "lone surrogates (invalid UTF-16 halves that slip through decoding)"),
)

_MAP = (
    ("۰۱۲۳۴۵۶۷۸۹", "0123456789", "Persian digits -> ASCII"),
    ("٠١٢٣٤٥٦٧٨٩", "0123456789", "Arabic-Indic digits -> ASCII"),
    ("؟", "?", "Arabic question mark"),
    ("،", ",", "Arabic comma"),
    ("؛", ";", "Arabic semicolon"),
    ("٪", "%", "Arabic percent"),
    ("٫", ".", "Arabic decimal separator"),
    ("٬", ",", "Arabic thousands separator"),
    ("«»“”„‟″", '"""""""', "guillemets and curly double quotes -> straight"),
    ("‘’‚‛′`", "''''''", "curly single quotes -> straight"),
    ("‐‑‒–—―", "------", "dashes -> hyphen-minus"),
    ("\u000c\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
     None, "exotic spaces -> space (tabs and newlines are handled by the whitespace collapse)"),
)

_MULTI = (
    ("…", "...", "ellipsis character -> three dots"),
)


def _expand(spec: str) -> list[int]:
    """Expand a character-class-like spec ``"a-cx"`` into code points."""
    out: list[int] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.extend(range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.append(ord(spec[i]))
            i += 1
    return out


def _build_common() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for spec, _comment in _DELETE:
        for cp in _expand(spec):
            table[cp] = None
    for src, dst, _comment in _MAP:
        dst = dst if dst is not None else " " * len(src)
        assert len(src) == len(dst), _comment
        for a, b in zip(src, dst, strict=True):
            table[ord(a)] = b
    for src, dst, _comment in _MULTI:
        table[ord(src)] = dst
    # Every other non-spacing combining mark (Latin accents left over after NFKC, etc.):
    # dropping them keeps the output free of marks that NFKC could later recompose.
    for cp in range(0x0300, 0x10000):
        if cp not in table and unicodedata.category(chr(cp)) == "Mn" and cp not in (0x200C,):
            table[cp] = None
    return table


COMMON_TABLE = _build_common()

#: Persian feature letters. [not hazm] ة -> ه (hazm keeps ة): Persian writes the few
#: loanwords with ة as ه (علاقه، اشاره), so folding merges the two spellings.
FA_LETTERS = (
    ("يى", "یی", "Arabic yeh and alef maksura -> Persian yeh (خيلي -> خیلی)"),
    ("ك", "ک", "Arabic kaf -> Persian keheh"),
    ("ةۀەۃھ", "ههههه", "teh marbuta, heh-yeh, ae, goal-heh, heh-doachashmee -> heh"),
    ("أإٱ", "ااا", "hamza/wasla alefs -> alef (آ is a distinct Persian letter and is kept)"),
    ("ؤ", "و", "waw-hamza -> waw (مؤسسه/موسسه both common)"),
    ("ڪ", "ک", "swash kaf"),
)
#: Arabic feature letters: fold orthographic variants for matching; the original text is
#: kept in ``NormalizedText.original`` for display.
AR_LETTERS_MAP = (
    ("أإآٱ", "اااا", "alef variants -> bare alef"),
    ("ة", "ه", "teh marbuta -> heh (الخدمة/الخدمه)"),
    ("ىیۍې", "يييي", "alef maksura and Persian/Pashto yeh -> Arabic yeh (على/علي)"),
    ("کڪگ", "ككك", "Persian keheh/swash kaf/gaf typed on Persian keyboards -> kaf"),
    ("ؤ", "و", "waw-hamza -> waw"),
    ("ئ", "ي", "yeh-hamza -> yeh"),
    ("ۀەۃھ", "هههه", "heh variants -> heh"),
)


def as_list_table(table: dict[int, str | None], size: int = 0x10000) -> list[int | str | None]:
    """A ``str.translate`` table as a list indexed by code point.

    ``str.translate`` with a dict raises and clears a ``KeyError`` for every character
    that is not in the table; a list answers every BMP character without an exception,
    which is about four times faster. Characters beyond ``size`` are left unchanged.
    """
    out: list[int | str | None] = list(range(size))
    for cp, value in table.items():
        if cp < size:
            out[cp] = value
    return out


def needs_table(table: dict[int, str | None]) -> re.Pattern[str]:
    """A one-class regex that finds any character the table would change."""
    chars = sorted(chr(cp) for cp in table if cp < 0x10000 and table[cp] != chr(cp))
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def _letters_table(rules) -> dict[int, str]:
    table: dict[int, str] = {}
    for src, dst, _comment in rules:
        for a, b in zip(src, dst, strict=True):
            table[ord(a)] = b
    return table


FA_TABLE = _letters_table(FA_LETTERS)
AR_TABLE = _letters_table(AR_LETTERS_MAP)
#: Language-neutral fold used only for language identification: both feature
#: normalisations map a text to the same folded view, so detection is stable.
FOLD_TABLE = {
    **_letters_table(FA_LETTERS),
    **_letters_table((("آئ", "ای", "alef-madda and yeh-hamza, for matching only"),)),
    ord(ZWNJ): " ",
}

# ---------------------------------------------------------------------------
# Regex rules applied after the character tables
# ---------------------------------------------------------------------------
_L = AR_LETTERS
PUNCT_SQUEEZE = (
    (r"([!?,;:])\1+", r"\1",
     "!!!! -> !, ??? -> ? (adjacent only: merging across spaces could glue a new emoticon)"),
    (r"\.{2,}", "...", "two or more dots -> ... (one ellipsis form)"),
    (r"-{2,}", "-", "--- -> -"),
)
SQUEEZE_RULES = (
    (rf"([{_L}])\1{{2,}}", r"\1",
     "3+ identical Arabic-script letters -> 1 (خیییلی -> خیلی); real doubles (الله، محقق) are 2 and stay"),
    (r"([a-z])\1{2,}", r"\1\1", "3+ identical Latin letters -> 2 (goood -> good, not god)"),
)
PLACEHOLDER_CASE = (
    (r"<(email|url|iban|card|national_id|phone|order_id|number)>|\b(emoneg|emopos|emoneu)\b",
     "upper", "placeholders and emoji tokens are upper-case whatever the input case"),
)
EMO_REPEAT = (
    (r"\b(EMONEG|EMOPOS|EMONEU)(?: \1\b)+", r"\1", "😡😡😡 -> one EMONEG (like letter squeezing)"),
)
#: Persian affix joining; applied to Persian-family texts only. The joiner is chosen by the
#: last letter of the stem: ZWNJ after joining letters, nothing after non-joining ones.
#: Each rule carries the substrings one of which must occur for it to apply (a cheap
#: ``in`` test that skips the regex for most texts).
FA_AFFIX_GATES = (("می ",), (" ها", " تر"), ("ه ا",))
FA_AFFIX_RULES = (
    (r"(?<![^\s])(ن?می) (?=[" + _L + "])", "\\1\u200c",
     "می/نمی written apart -> joined with ZWNJ (می خوام -> می‌خوام)"),
    (r"(?<=[" + _L + r"]) (هایی|هایم|هایت|هایش|هایمان|هایتان|هایشان|هامون|هاتون|هاشون|های|ها|ترین|تر)(?![^\s.,!?;:])",
     "\u200c\\1",
     "plural and comparative suffixes written apart (کتاب ها -> کتاب‌ها, بزرگ تر -> بزرگ‌تر)"),
    (r"(?<=[" + _L + r"]ه) (ام|ای|ایم|اید|اند)(?![^\s.,!?;:])", "\u200c\\1",
     ("clitics after a word ending in ه (خسته ام -> خسته‌ام, رفته اند -> رفته‌اند); "
      "only after ه, so the vocative «ای خدا» is never glued to the word before")),
)
ZWNJ_CLEANUP = (
    (r"\u200c{2,}", ZWNJ, "runs of ZWNJ -> one"),
    (r"(?<![" + _L + r"])\u200c|\u200c(?![" + _L + r"])|(?<=[" + NON_JOINING + r"])\u200c", "",
     ("stray ZWNJ at word edges or next to anything but an Arabic-script letter (the space "
      "stays); [not hazm] never a ZWNJ after a non-joining letter (کار‌ها -> کارها)")),
)
#: The non-joining part of the clean-up alone, for ZWNJs the affix rules insert.
NONJOIN_ZWNJ = (
    (r"(?<=[" + NON_JOINING + r"])\u200c", "", "no ZWNJ after a non-joining letter"),
)


def compile_rules(rules) -> list[tuple[re.Pattern[str], str]]:
    """Compile ``(pattern, replacement, comment)`` tuples, dropping the comment."""
    return [(re.compile(p), r) for p, r, _c in rules]
