"""Masking of personal data (PII) with typed placeholders.

Patterns are data (one ``(kind, pattern, comment)`` row each), combined into ONE
alternation per requested set of kinds, compiled once and cached. Matching runs on a
copy of the text whose Persian/Arabic-Indic digits are folded to ASCII (a 1:1 character
mapping, so match offsets are valid in the original), which lets :func:`mask_pii` keep
the original characters everywhere outside the masked spans.

Placeholders: ``<EMAIL> <URL> <IBAN> <CARD> <NATIONAL_ID> <PHONE> <ORDER_ID>``; the
safety net ``<NUMBER>`` (kind ``"number"``) masks any other run of 7 or more digits
(digits may be separated by single spaces or dashes) unless a currency word follows
(prices such as «۱۲۰۰۰۰۰ تومان» stay), or it has the shape of a date (1402-05-12).
It is on whenever ``kinds`` is ``None``.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["MASK_KINDS", "PII_KINDS", "PLACEHOLDERS", "is_valid_iran_national_id", "mask_pii"]

PII_KINDS = ("email", "url", "iban", "card", "national_id", "phone", "order_id")
#: Every kind :func:`mask_pii` knows, including the long-number safety net.
MASK_KINDS = (*PII_KINDS, "number")
PLACEHOLDERS = {kind: f"<{kind.upper()}>" for kind in MASK_KINDS}

_DIGIT_FOLD = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 2)

# Letter-variant classes, so keywords match both Persian and Arabic keyboards.
_Y = "[یيى]"
_K = "[کك]"
_H = "[هةۀ]"
_SP = r"[\s\u200c]*"
_SEP = r"[ .-]?"  # one optional space, dot or dash between digit groups
_URL_CHARS = r"[!#-;=?-~]"  # printable ASCII except space, '"', '<' and '>'
_URL_END = r"[a-z0-9/=#&%+~_-]"

_ORDER_KW = "|".join(
    (
        rf"شماره{_SP}سفارش", rf"{_K}د{_SP}سفارش", "سفارش",
        rf"{_K}د{_SP}پ{_Y}گ{_Y}ر{_Y}", rf"{_K}د{_SP}ره{_Y}اب{_Y}", rf"{_K}د{_SP}رهگ{_Y}ر{_Y}",
        rf"رهگ{_Y}ر{_Y}", rf"پ{_Y}گ{_Y}ر{_Y}", "فا[کك]تور", "بارنامه", "مرسوله",
        rf"رقم{_SP}ال[طت]لب{_H}?", rf"ال[طت]لب{_Y}{_H}", rf"[طت]لب{_Y}{_H}", "الطلب", "طلب",
        rf"الشحن{_H}", rf"شحن{_H}", rf"رقم{_SP}التتبع", "التتبع", rf"بول{_Y}ص{_H}",
        r"order(?:\s*(?:no|number|id))?", r"tracking(?:\s*(?:no|number|code|id))?",
        "invoice", "awb", "shipment",
    )
)
_NID_KW = "|".join(
    (
        rf"{_K}د{_SP}مل{_Y}", rf"شماره{_SP}مل{_Y}", rf"{_K}ارت{_SP}مل{_Y}",
        rf"رقم{_SP}ال[هه]و{_Y}{_H}", rf"ال[هه]و{_Y}{_H}", r"national\s*id", r"national\s*code",
    )
)
_IBAN_KW = "|".join((r"شبا", rf"ش{_Y}با", "sheba", "shaba", "iban", rf"[اآ]{_Y}بان", rf"ال[اآأ]{_Y}بان"))
_CURRENCY = (
    r"تومان|تومن|ت\b|ریال|ريال|درهم|دينار|دینار|جنيه|جنیه|دلار|یورو|\$"
    r"|(?:toman|tomen|rial|riyal|sar|aed|usd|egp|kwd|irr|irt)(?![a-z])"
)

_ID_ORDER = r"(?:[a-z]{1,4}-?)?\d(?:[ .-]?\d){5,}(?![ .-]?\d)"

#: Patterns that start with letters: (kind, pattern, comment).
TEXT_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("email", r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
     "ali.rezaei+shop@gmail.com"),
    ("url", rf"(?:https?://|www\.){_URL_CHARS}*{_URL_END}",
     "http(s)://… and www.… up to the next space or non-ASCII letter; trailing . , ) dropped"),
    ("url", (r"(?<![a-z0-9@._-])(?:[a-z0-9-]+\.)+(?:com|ir|net|org|info|io|co|app|me|sa|ae|eg|kw"
             r"|qa|om|bh|shop|store|online|site|xyz|biz|tv|news|link)(?![a-z0-9-])"
             rf"(?:/{_URL_CHARS}*{_URL_END}|/)?"),
     "bare domains: digikala.com, snappfood.ir/order/123"),
)
#: A number right after a keyword: (kind, keyword pattern, number pattern, comment).
KEYWORD_PATTERNS: tuple[tuple[str, str, str, str], ...] = (
    ("national_id", _NID_KW, r"\d{3}-?\d{6}-?\d(?![ .-]?\d)",
     "10 digits after کد ملی / رقم الهوية / national id, checksum not required"),
    ("iban", _IBAN_KW, r"\d(?:[ .-]?\d){15,29}(?![ .-]?\d)",
     "Sheba written without IR after the word شبا/iban"),
    ("order_id", _ORDER_KW, _ID_ORDER,
     "order / tracking ids: ≥6 digits after سفارش، کد پیگیری، رهگیری، رقم الطلب، الشحنة، order …"),
)
#: Patterns found around runs of digits: (kind, pattern, comment). Earlier rows win when
#: two start at the same place.
DIGIT_PATTERNS: tuple[tuple[str, str, str], ...] = (
    ("iban", rf"(?<![a-z0-9])(?:ir|sa|ae|kw|qa|bh|om|jo|eg|tr|gb|de){_SEP}\d\d(?:{_SEP}\d){{11,30}}(?!\d)",
     "IBAN / Sheba with country code: IR06 0120 0200 0000 0123 4567 89, SA03 8000 …"),
    ("card", rf"(?<!\d)\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}{_SEP}\d{{4}}(?![ .-]?\d)",
     "16-digit card numbers, plain or in groups of four (no Luhn check: masking more is safer)"),
    ("phone", rf"(?<![\d+])(?:\+|00)98{_SEP}\(?0?9\d\d\)?{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?![ .-]?\d)",
     "Iranian mobile, international: +98 912 345 6789, 0098-912…"),
    ("phone", rf"(?<!\d)0?9\d\d{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?![ .-]?\d)",
     "Iranian mobile: 09123456789, 0912 345 67 89, 912-345-6789"),
    ("phone", rf"(?<![\d+])\(?(?:(?:\+|00)98{_SEP}|0)\(?[1-8]\d\)?{_SEP}\d{{4}}{_SEP}\d{{4}}(?![ .-]?\d)",
     "Iranian landline: 021-88888888, (021) 8888 8888, +98 21 8888 8888"),
    ("phone", rf"(?<![\d+])(?:\+|00)(?:966|971){_SEP}\(?0?5\d\)?{_SEP}\d{{3}}{_SEP}\d{{4}}(?![ .-]?\d)",
     "Saudi / UAE mobile, international: +966 50 123 4567, 00971-55-…"),
    ("phone", rf"(?<!\d)05\d{_SEP}\d{{3}}{_SEP}\d{{4}}(?![ .-]?\d)",
     "Saudi / UAE mobile, national: 050 123 4567, 0551234567"),
    ("phone", rf"(?<![\d+])(?:\+|00)965{_SEP}[569]\d{{3}}{_SEP}\d{{4}}(?![ .-]?\d)",
     "Kuwait: +965 5123 4567"),
    ("phone", rf"(?<![\d+])(?:(?:\+|00)20{_SEP}|0)1[0125]{_SEP}\d{{4}}{_SEP}\d{{4}}(?![ .-]?\d)",
     "Egypt mobile: +20 10 1234 5678, 01012345678"),
    ("phone", rf"(?<![\d+])\+[1-9]\d{{0,2}}(?:{_SEP}\(?\d{{1,4}}\)?){{2,5}}(?![ .-]?\d)",
     "any other +country number written with a plus sign"),
    ("national_id", r"(?<!\d)(?P<nid_bare>\d{10})(?!\d)",
     "bare 10 digits that pass the Iranian national-id checksum (others fall to <NUMBER>)"),
    ("number", (rf"(?<![\d<])(?!\d{{4}}(?P<dsep>[-.])\d{{1,2}}(?P=dsep)\d{{1,2}}(?!\d))\d(?:{_SEP}\d){{6,}}(?![ .-]?\d)"
                rf"(?!\s*(?:{_CURRENCY}))"),
     "safety net: any other run of ≥7 digits (not a price followed by a currency, not a date)"),
)
#: Every row, for documentation and tests: (kind, pattern, comment).
PII_PATTERNS = (
    *TEXT_PATTERNS,
    *((k, f"(?:{kw})[^\\d]{{0,20}}{num}", c) for k, kw, num, c in KEYWORD_PATTERNS),
    *DIGIT_PATTERNS,
)


def is_valid_iran_national_id(digits: str) -> bool:
    """Iranian national-id (کد ملی) checksum on 10 ASCII digits.

    Examples
    --------
    >>> is_valid_iran_national_id("0084575948")
    True
    >>> is_valid_iran_national_id("1111111111")
    False
    """
    if len(digits) != 10 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    s = sum(int(digits[i]) * (10 - i) for i in range(9)) % 11
    check = int(digits[9])
    return check == s if s < 2 else check == 11 - s


def _alternation(rows, kinds: frozenset[str], prefix: str) -> tuple[re.Pattern[str] | None, dict]:
    parts, names = [], {}
    for i, (kind, pattern, _comment) in enumerate(rows):
        if kind in kinds or (kind == "national_id" and "number" in kinds and "nid_bare" in pattern):
            parts.append(f"(?P<{prefix}{i}>{pattern})")
            names[f"{prefix}{i}"] = kind
    if not parts:
        return None, names
    return re.compile("|".join(parts), re.IGNORECASE), names


@lru_cache(maxsize=64)
def _compiled(kinds: frozenset[str]):
    """The three matchers for a set of kinds, compiled once per set."""
    text_rx, text_names = _alternation(TEXT_PATTERNS, kinds, "t")
    digit_rx, digit_names = _alternation(DIGIT_PATTERNS, kinds, "d")
    kw_rows = [(k, kw, num) for k, kw, num, _c in KEYWORD_PATTERNS if k in kinds]
    kw_rx = None
    if kw_rows:
        kw_rx = re.compile(
            "|".join(f"(?P<w{i}>(?:{kw})[^\\d\\n]{{0,20}}?)$" for i, (_k, kw, _n) in enumerate(kw_rows)),
            re.IGNORECASE,
        )
    kw_num = {f"w{i}": (k, re.compile(num, re.IGNORECASE)) for i, (k, _kw, num) in enumerate(kw_rows)}
    return text_rx, text_names, digit_rx, digit_names, kw_rx, kw_num


#: A run of digits with single separators; PII needs at least 6 digits in one.
_CANDIDATE = re.compile(r"\d(?:[ ().\-]{0,2}\d)*")
_HAS_DIGIT = re.compile(r"\d")
_LETTER_PREFIX = re.compile(r"(?<![a-z])[a-z]{1,4}-?$", re.IGNORECASE)
_DOMAIN_GATE = re.compile(r"\.[a-z]", re.IGNORECASE)
_NOT_DIGIT = str.maketrans("", "", " ().-")
_TEXT_KINDS = frozenset(("email", "url"))
_DIGIT_KINDS = frozenset(MASK_KINDS) - _TEXT_KINDS


def _resolve_kinds(kinds: frozenset[str] | None) -> frozenset[str]:
    if kinds is None:
        return frozenset(MASK_KINDS)
    unknown = set(kinds) - set(MASK_KINDS)
    if unknown:
        raise ValueError(f"unknown PII kinds {sorted(unknown)}; choose from {MASK_KINDS}")
    return frozenset(kinds)


@lru_cache(maxsize=64)
def _zero_counts(kinds: frozenset[str]) -> dict[str, int]:
    return {k: 0 for k in MASK_KINDS if k in kinds}


#: Without a digit, an @ or a dot before a letter nothing can match.
_ANY_PII = re.compile(r"[0-9@]|\.[a-z]", re.IGNORECASE)
#: The same gate before digit folding, so most texts skip the fold altogether.
_ANY_PII_RAW = re.compile(r"[0-9@\u0660-\u0669\u06f0-\u06f9]|\.[a-z]", re.IGNORECASE)


def _find(folded: str, kinds: frozenset[str]) -> list[tuple[int, int, str]]:
    """Spans ``(start, end, kind)`` of PII in ``folded`` (ASCII digits), left to right."""
    text_rx, text_names, digit_rx, digit_names, kw_rx, kw_num = _compiled(kinds)
    spans: list[tuple[int, int, str]] = []
    if text_rx is not None and ("@" in folded or _DOMAIN_GATE.search(folded)):
        spans.extend((m.start(), m.end(), text_names[m.lastgroup]) for m in text_rx.finditer(folded))
    if (digit_rx is None and kw_rx is None) or not _HAS_DIGIT.search(folded):
        return spans
    taken = list(spans)
    last = 0
    for cand in _CANDIDATE.finditer(folded):
        cs, ce = cand.span()
        if cs < last or any(s <= cs < e for s, e, _k in taken):
            continue
        if len(cand.group().translate(_NOT_DIGIT)) < 6:
            continue
        if kw_rx is not None:
            km = kw_rx.search(folded, max(0, cs - 45), cs)
            if km is not None:
                kind, num_rx = kw_num[km.lastgroup]
                begin = km.end()
                if kind == "order_id":  # an id may start with letters: ABC-1234567
                    pm = _LETTER_PREFIX.search(folded, km.start(), cs)
                    if pm is not None:
                        begin = pm.start()
                nm = num_rx.match(folded, begin)
                if nm is not None:
                    spans.append((nm.start(), nm.end(), kind))
                    last = nm.end()
                    if last >= ce:
                        continue
        if digit_rx is None:
            continue
        for m in digit_rx.finditer(folded, max(last, cs - 4), ce + 40):
            if m.start() >= ce:
                break
            kind = digit_names[m.lastgroup]
            nid = m.group("nid_bare") if "nid_bare" in digit_rx.groupindex else None
            if nid is not None:
                if "national_id" in kinds and is_valid_iran_national_id(nid):
                    kind = "national_id"
                elif "number" in kinds:
                    kind = "number"
                else:
                    continue
            spans.append((m.start(), m.end(), kind))
            last = m.end()
        last = max(last, ce)
    spans.sort()
    return spans


def _mask_folded(folded: str, kinds: frozenset[str], original: str | None = None):
    """Mask PII in ``folded`` (ASCII digits); rebuild from ``original`` when given."""
    counts = _zero_counts(kinds).copy()
    src = original if original is not None else folded
    if not kinds or not _ANY_PII.search(folded):
        return src, counts
    spans = _find(folded, kinds)
    if not spans:
        return src, counts
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:  # overlaps an earlier match
            continue
        out.append(src[pos:start])
        left = " " if start > 0 and not src[start - 1].isspace() else ""
        right = " " if end < len(src) and not src[end].isspace() else ""
        out.append(f"{left}{PLACEHOLDERS[kind]}{right}")
        counts[kind] += 1
        pos = end
    out.append(src[pos:])
    return "".join(out), counts


def mask_pii(text: str, kinds: frozenset[str] | None = None) -> tuple[str, dict[str, int]]:
    """Replace personal data with typed placeholders.

    Parameters
    ----------
    text : str
        Raw or normalised text; Persian and Arabic-Indic digits are recognised.
    kinds : frozenset of str, optional
        Kinds to mask, from ``PII_KINDS`` (plus ``"number"``, the ≥7-digit safety net).
        ``None`` (default) masks every kind including the safety net; ``frozenset()``
        masks nothing.

    Returns
    -------
    masked : str
        The text with each match replaced by ``<KIND>`` (with a space added on a side
        that touches a non-space, so it stays a separate token); characters outside
        matches are unchanged.
    counts : dict of str to int
        Number of replacements per requested kind (zeros included).

    Examples
    --------
    >>> mask_pii("شماره من ۰۹۱۲۳۴۵۶۷۸۹ است")
    ('شماره من <PHONE> است', {'email': 0, 'url': 0, 'iban': 0, 'card': 0, \
'national_id': 0, 'phone': 1, 'order_id': 0, 'number': 0})
    """
    kinds_ = _resolve_kinds(kinds)
    if not kinds_ or not _ANY_PII_RAW.search(text):
        return text, _zero_counts(kinds_).copy()
    folded = text.translate(_DIGIT_FOLD)
    return _mask_folded(folded, kinds_, original=text if folded != text else None)
