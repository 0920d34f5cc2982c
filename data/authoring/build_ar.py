"""Deterministic generator for the project's own Arabic data.

Writes
  data/labelled/train_ar.jsonl   labelled training set
  data/sample/feedback_ar.csv    Arabic part of the sample feed

Run from the repository root:  python data/authoring/build_ar.py
Output is byte-identical between runs (fixed seeds, stable ordering).
All text comes from the hand-written banks in ar_phrases.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import ar_phrases as P  # noqa: E402

SEED = 20260831          # training set stream
SAMPLE_SEED = 20261101   # sample feed stream (different on purpose)

THEMES = [
    "delivery", "product_quality", "customer_service", "price_value", "packaging",
    "wrong_missing_item", "refund_return", "payment_billing", "app_website",
]

# aspect of a positive clause that would contradict a complaint theme
THEME_ASPECT = {
    "delivery": "delivery", "product_quality": "product_quality",
    "customer_service": "customer_service", "price_value": "price_value",
    "packaging": "packaging", "wrong_missing_item": "product_quality",
    "refund_return": "refund_return", "payment_billing": "app_website",
    "app_website": "app_website",
}

ALL_DOMAINS = "sfhb"

# Shopping clauses that only make sense for some kinds of goods: a clause that
# mentions one of these words is only used for the listed sub-domains.
_E, _P, _K = "electronics", "phones", "kitchen"
SUB_KEYWORDS = {
    "الرائحة": {"perfume"}, "الريحة": {"perfume"}, "ريحة": {"perfume", _K}, "العطر": {"perfume"},
    "البرفان": {"perfume"}, "فواحة": {"perfume"}, "حساسية": {"perfume"}, "الكريم": {"perfume"},
    "القماش": {"clothes", "baby"}, "المقاس": {"clothes", "baby"}, "مقاس": {"clothes", "baby"},
    "غسلة": {"clothes"}, "الخياطة": {"clothes"}, "فردة": {"clothes"}, "الجزمة": {"clothes"},
    "يكرمش": {"clothes"}, "يشف": {"clothes"}, "العباية": {"clothes"}, "لبسة": {"clothes"},
    "البطارية": {_E, _P}, "الصوت": {_E, _P}, "صوت": {_E, _P, _K}, "الشاشة": {_E, _P},
    "الشاحن": {_E, _P}, "شاحن": {_E, _P}, "الكيبل": {_E, _P}, "الكفر": {_P}, "جيجا": {_E, _P},
    "بكسل": {_E, _P}, "الأزرار": {_E, _P, _K}, "التشغيل": {_E, _P, _K}, "يسخن": {_E, _P, _K},
    "{y}سخن": {_E, _P, _K}, "دخان": {_E, _K}, "شبكته": {_E, _P, _K}, "الموديل": {_E, _P, _K},
    "السماعة": {_E, _P}, "الزجاجة": {"perfume", _K, "baby"}, "القزازة": {"perfume", _K, "baby"},
    "العبوة": {"perfume", "baby", _K}, "الصلاحية": {"perfume", "baby"}, "الكمية المستلمة": {"baby", "perfume"},
    "الحذاء": {"clothes"}, "الكوتشي": {"clothes"}, "اللون": {"clothes", _E, _P, _K},
    "الملحقات": {_E, _P, _K}, "السعة": {_E, _P}, "الشنطة": {"clothes"}, "الخامة": {"clothes", _E, _P, _K, "baby"},
    "صدا": {_K}, "كتالوج": {_E, _K, "baby"}, "دليل": {_E, _K, "baby"},
    "سليمة": {"perfume"}, "للإهداء": {"perfume", "clothes"},
    "شتغل": {_E, _P, _K}, "توقف": {_E, _P, _K}, "{y}عمل": {_E, _P, _K}, "باظ": {_E, _P, _K},
    "خرب": {_E, _P, _K, "baby"}, "[خرب|وقف]": {_E, _P, _K}, "مكسور": {_E, _P, _K, "baby", "perfume"},
    "كسر": {_E, _P, _K, "baby", "perfume"}, "أداء": {_E, _P, _K},
    "الكاميرا": {_E, _P}, "الاسكرينة": {_P}, "الباور بانك": {_E, _P}, "الجهاز": {_E, _P, _K},
    "الموبايل": {_P}, "الجراب": {_P}, "المحرك": {_K}, "الموتور": {_K}, "موتوره": {_K},
    "يطحن": {_K}, "يفرم": {_K}, "الطلاء": {_K}, "المقلاة": {_K}, "الطاسة": {_K}, "الخلاط": {_K},
    "الحفاضات": {"baby"}, "البامبرز": {"baby"}, "العربية": {"baby"}, "اللعبة": {"baby"},
    "للطفل": {"baby"}, "للبيبي": {"baby"}, "الولد": {"baby"}, "للأطفال": {"baby"},
    "الثبات": {"perfume"}, "تركيبته": {"perfume"}, "الغطاء": {_K, "baby", "perfume"},
    "انكمش": {"clothes"}, "اتكمش": {"clothes"}, "سماعة": {_E, _P}, "الطباعة": {_E},
}


def sub_ok(text: str, sub: str) -> bool:
    for kw, subs in SUB_KEYWORDS.items():
        if kw in text and sub not in subs:
            return False
    return True


# ---------------------------------------------------------------------------
# Bank parsing
# ---------------------------------------------------------------------------

def parse_bank(text: str) -> list[tuple[str, str, str]]:
    out = []
    for line in text.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        head, body = line.split("|", 1)
        reg, doms = head.split()
        doms = ALL_DOMAINS if doms == "a" else doms
        out.append((reg, doms, body.strip()))
    return out


NEG = {t: parse_bank(P.NEG[t]) for t in THEMES}
NEG_GENERIC = parse_bank(P.NEG_GENERIC)
POS = {k: parse_bank(v) for k, v in P.POS.items()}
NOTNEG = parse_bank(P.NOTNEG)
NEUTRAL = parse_bank(P.NEUTRAL)
QUESTIONS = parse_bank(P.QUESTIONS)
THANKS = parse_bank(P.THANKS)
WISH = parse_bank(P.WISH)
SPIKE = parse_bank(P.SPIKE)
OPEN_NEG = parse_bank(P.OPEN_NEG)
CLOSE_NEG = parse_bank(P.CLOSE_NEG)
OPEN_POS = parse_bank(P.OPEN_POS)
CLOSE_POS = parse_bank(P.CLOSE_POS)


def parse_whole(text: str):
    out = []
    for line in text.strip().splitlines():
        th, comp, body = [x.strip() for x in line.split("|", 2)]
        themes = [] if th == "-" else sorted(th.split(","))
        out.append((themes, comp == "1", body))
    return out


WHOLE = parse_whole(P.WHOLE)

# sub-domain weights for the training set
SUBDOMAIN_W = {
    "electronics": 14, "phones": 9, "perfume": 7, "clothes": 12, "kitchen": 7,
    "baby": 5, "food": 18, "hotel": 20, "bank": 8,
}
REG_W = {"m": 40, "g": 33, "e": 27}


def theme_domains(theme: str) -> set[str]:
    return {d for _, doms, _ in NEG[theme] for d in doms}


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------

AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
ALT_RE = re.compile(r"\[([^\[\]]*)\]")


class Ctx:
    def __init__(self, rng: random.Random, sub: str, reg: str, cur: str | None = None,
                 city: str | None = None):
        self.rng = rng
        self.sub = sub
        self.dom = P.SUBDOMAIN_DOMAIN[sub]
        self.reg = reg
        self.item, self.fem = rng.choice(P.ITEMS[sub])
        self.brand = rng.choice(P.BRANDS)
        self.hotel = rng.choice(P.HOTELS)
        self.cur = cur or rng.choice(P.CURRENCIES[reg])
        self.city = city or rng.choice(P.CITIES)
        self.arabic_digits = rng.random() < 0.35

    def num(self, n: int) -> str:
        s = str(n)
        return s.translate(AR_DIGITS) if self.arabic_digits else s

    def render(self, text: str) -> str:
        rng = self.rng
        while True:
            m = ALT_RE.search(text)
            if not m:
                break
            text = text[:m.start()] + rng.choice(m.group(1).split("|")) + text[m.end():]
        fem = self.fem
        rep = {
            "{item}": self.item,
            "{t}": "ت" if fem else "",
            "{a}": "ة" if fem else "",
            "{y}": "ت" if fem else "ي",
            "{h}": "ها" if fem else "ه",
            "{n}": self.num(rng.choice([3, 4, 5, 6, 7, 8, 10, 12, 14, 15, 20])),
            "{n2}": self.num(rng.choice([2, 3, 4, 5])),
            "{mins}": self.num(rng.choice([40, 45, 50, 60, 70, 75, 90, 100, 120])),
            "{price}": self.num(rng.choice([49, 79, 99, 120, 150, 199, 250, 299, 350, 450, 600, 899, 1200])),
            "{cur}": self.cur,
            "{courier}": rng.choice(P.COURIERS),
            "{hotel}": self.hotel,
            "{app}": rng.choice(P.APPS),
            "{city}": self.city,
            "{order}": self.num(rng.randint(100000, 9999999)),
        }
        # {courier}/{app} may contain {brand}; expand them first
        for k in ("{courier}", "{app}"):
            text = text.replace(k, rep[k])
        text = text.replace("{brand}", self.brand)
        for k, v in rep.items():
            text = text.replace(k, v)
        return text

    def pick(self, bank, strict_reg: bool = False) -> str | None:
        pool = [b for b in bank if self.dom in b[1]]
        if self.dom == "s":
            pool = [b for b in pool if sub_ok(b[2], self.sub)]
        cands = [b for b in pool if b[0] in (self.reg, "*")]
        if not cands and not strict_reg:
            cands = pool
        if not cands:
            return None
        return self.render(self.rng.choice(cands)[2])


NOUN_ONLY_CONN = {"إلا أن", "غير أن", "الا ان", "كما أن", "بالإضافة إلى أن", "مع أن"}


def join(rng: random.Random, a: str, conn: str, b: str) -> str:
    a = a.rstrip(" .،")
    if len(b.split()) < 3 and conn not in ("و", "، و", "لكن", "بس", "ولكن", "انما"):
        conn = "و"
    if conn in NOUN_ONLY_CONN and not b.startswith("ال"):
        if conn in ("كما أن", "بالإضافة إلى أن"):
            conn = "و"
        elif conn == "الا ان":
            conn = rng.choice(["بس", "لكن"])
        else:
            conn = rng.choice(["لكن", "ولكن"])
    if conn == "و":
        return f"{a} و{b}"
    if conn.startswith("،"):
        return f"{a}{conn}{b}" if conn.endswith("و") else f"{a}{conn} {b}"
    sep = rng.choice([" ", " ", "، "])
    return f"{a}{sep}{conn} {b}"


def sentence_end(rng: random.Random, reg: str, neg: bool) -> str:
    r = rng.random()
    if reg == "m":
        return rng.choice([".", ".", ".", "", "!"]) if r < 0.8 else ""
    if r < 0.55:
        return ""
    if neg:
        return rng.choice([".", "!", "!!", " 😡", " 👎", "..", " 😞", " 🙄"])
    return rng.choice([".", "!", " 👌", " 😍", " ❤️", " 👍", " 🌹", "!!"])


def maybe(rng: random.Random, p: float) -> bool:
    return rng.random() < p


# ---------------------------------------------------------------------------
# Message builders.  Each returns (text, themes, complaint, kind)
#   kind: neg / mixed / generic / pos / notneg / neutral / question
# ---------------------------------------------------------------------------

POS_W = {"product_quality": 5, "general": 4, "delivery": 2, "customer_service": 2,
         "price_value": 2, "packaging": 1, "app_website": 0.6, "refund_return": 0.4}


def pos_clause(ctx: Ctx, exclude=frozenset(), used=None, min_words: int = 1) -> str:
    """A praise clause; `used` (a set) collects aspects already used in the message."""
    rng = ctx.rng
    used = used if used is not None else set()
    aspects = [a for a in POS_W if a not in exclude and a not in used]
    if ctx.dom == "b":
        aspects = [a for a in aspects if a not in ("delivery", "packaging", "product_quality")] or ["general"]
    for _ in range(30):
        a = rng.choices(aspects, [POS_W[x] for x in aspects])[0]
        c = ctx.pick(POS[a])
        if c and len(c.split()) >= min_words:
            used.add(a)
            return c
    return ctx.pick(POS["general"])


def with_open_close(ctx: Ctx, body: str, neg: bool, p_open=0.25, p_close=0.25) -> str:
    rng = ctx.rng
    opens, closes = (OPEN_NEG, CLOSE_NEG) if neg else (OPEN_POS, CLOSE_POS)
    if maybe(rng, p_open):
        o = ctx.pick(opens, strict_reg=True)
        if o:
            if not o.endswith(("،", ".", ":")) and len(o.split()) > 2:
                o += rng.choice(["،", "،", "", " و"])
            body = f"{o} {body}"
    end = sentence_end(rng, ctx.reg, neg)
    if maybe(rng, p_close):
        c = ctx.pick(closes, strict_reg=True)
        if c:
            if c[0] in "😡👎😤👌😍❤👍":
                return f"{body} {c}"
            mid = rng.choice(["، ", ". ", " ", "، "]) if not end.strip() else end + " "
            return f"{body}{mid}{c}"
    return body + end


def build_complaint(ctx: Ctx, themes: list[str], mixed: bool):
    rng = ctx.rng
    clauses = []
    for t in themes:
        c = ctx.pick(NEG[t])
        if c is None:
            return None
        clauses.append(c)
    if len(themes) == 1 and not mixed and maybe(rng, 0.2):
        extra = ctx.pick(NEG[themes[0]])
        if extra and extra != clauses[0]:
            clauses.append(extra)
    body = clauses[0]
    for c in clauses[1:]:
        if maybe(rng, 0.3):
            body = body.rstrip(" .،") + rng.choice([". ", "، ", " - "]) + c
        else:
            body = join(rng, body, rng.choice(P.CONN_AND[ctx.reg]), c)
    if mixed:
        excl = {THEME_ASPECT[t] for t in themes}
        lead = maybe(rng, 0.72)
        p = pos_clause(ctx, excl, min_words=1 if lead else 3)
        if lead:
            body = join(rng, p, rng.choice(P.CONN_BUT[ctx.reg]), body)
            if maybe(rng, 0.12):
                o = ctx.pick(OPEN_POS, strict_reg=True)
                if o and len(o.split()) <= 2:
                    body = f"{o} {body}"
            text = with_open_close(ctx, body, True, p_open=0.0, p_close=0.15)
        else:
            tail = {"m": ["لكن", "ولكن"], "g": ["بس", "لكن"], "e": ["بس", "لكن"]}[ctx.reg]
            body = join(rng, body, rng.choice(tail), p)
            text = with_open_close(ctx, body, True, p_open=0.1, p_close=0.1)
        return text, themes, True, "mixed"
    text = with_open_close(ctx, body, True)
    return text, themes, True, "neg"


def build_generic(ctx: Ctx):
    rng = ctx.rng
    c = ctx.pick(NEG_GENERIC)
    r = rng.random()
    if r < 0.3:
        p = pos_clause(ctx)
        body = join(rng, p, rng.choice(P.CONN_BUT[ctx.reg]), c)
        return with_open_close(ctx, body, True, 0.05, 0.1), [], True, "mixed"
    if r < 0.5:
        c2 = ctx.pick(NEG_GENERIC)
        if c2 and c2 != c:
            c = c.rstrip(" .،") + rng.choice(["، ", ". ", " و"]) + c2
    return with_open_close(ctx, c, True, 0.15, 0.3), [], True, "generic"


def build_noncomplaint(ctx: Ctx):
    rng = ctx.rng
    r = rng.random()
    if r < 0.14:  # very short praise
        c = ctx.pick(POS["general"])
        return c + sentence_end(rng, ctx.reg, False), [], False, "pos"
    if r < 0.50:
        used = set()
        body = pos_clause(ctx, used=used)
        if maybe(rng, 0.55):
            body = join(rng, body, rng.choice(P.CONN_AND[ctx.reg]), pos_clause(ctx, used=used, min_words=2))
        if maybe(rng, 0.15):
            body = join(rng, body, rng.choice(P.CONN_AND[ctx.reg]), pos_clause(ctx, used=used, min_words=2))
        return with_open_close(ctx, body, False, 0.25, 0.35), [], False, "pos"
    if r < 0.68:  # negated negatives
        n = ctx.pick(NOTNEG)
        if maybe(rng, 0.6):
            p = pos_clause(ctx)
            body = join(rng, p, rng.choice(P.CONN_AND[ctx.reg]), n) if maybe(rng, 0.5) \
                else n.rstrip(" .،") + rng.choice(["، ", ". ", " و"]) + p
        else:
            body = n
        return with_open_close(ctx, body, False, 0.1, 0.25), [], False, "notneg"
    if r < 0.80:
        body = ctx.pick(NEUTRAL)
        return body + sentence_end(rng, ctx.reg, False), [], False, "neutral"
    if r < 0.90:
        q = ctx.pick(QUESTIONS)
        if maybe(rng, 0.3):
            q = pos_clause(ctx).rstrip(" .،") + rng.choice(["، ", ". ", " "]) + q
        if maybe(rng, 0.2):
            q = q.replace("؟", rng.choice(["؟؟", "?", "؟؟؟", ""]))
        return q, [], False, "question"
    if r < 0.95:
        body = pos_clause(ctx).rstrip(" .،") + rng.choice(["، ", ". ", " "]) + ctx.pick(THANKS)
        return body + sentence_end(rng, ctx.reg, False), [], False, "pos"
    body = pos_clause(ctx).rstrip(" .،") + rng.choice(["، ", ". ", " "]) + ctx.pick(WISH)
    return body + sentence_end(rng, ctx.reg, False), [], False, "pos"


# ---------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------

EMOJI_NEG = ["😡", "👎", "😤", "😞", "🤦‍♂️", "💔", "😒"]
EMOJI_POS = ["😍", "👌", "👍", "❤️", "🔥", "🌹", "😊", "💯"]
DIACRITICS = "\u064e\u064f\u0650\u0651\u0652\u064b"
ENGLISH = [
    ("التوصيل", "delivery"), ("التغليف", "packaging"), ("خدمة العملاء", "customer service"),
    ("التطبيق", "app"), ("المنتج", "product"), ("السعر", "price"), ("الجودة", "quality"),
    ("الفندق", "hotel"), ("الطلب", "order"), ("المندوب", "driver"), ("الغرفة", "room"),
    ("الاسترجاع", "refund"), ("الاستبدال", "exchange"), ("التحديث", "update"),
    ("رمز التحقق", "OTP"), ("ممتاز", "perfect"), ("الموقع", "location"),
    ("الاوردر", "order"), ("الشحن", "shipping"), ("الفاتورة", "invoice"),
    ("الكوبون", "coupon"), ("البطاقة", "card"), ("الفطور", "breakfast"),
]


def noise_alef(rng, s):
    if maybe(rng, 0.8):
        return s.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا"}))
    return re.sub(r"(^|\s)ا", lambda m: m.group(1) + rng.choice("اأإ"), s, count=2)


def noise_teh(rng, s):
    return re.sub(r"ة(?=\s|$|[.،!؟])", "ه", s)


def noise_yeh(rng, s):
    if maybe(rng, 0.5):
        return re.sub(r"ى(?=\s|$)", "ي", s)
    return re.sub(r"ي(?=\s|$)", "ى", s, count=2)


def _pick_word(rng, s, minlen=3):
    words = s.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= minlen and re.fullmatch(r"[\u0621-\u064A]+", w)]
    if not idx:
        return None, words
    return rng.choice(idx), words


def noise_tatweel(rng, s):
    i, words = _pick_word(rng, s, 4)
    if i is None:
        return s
    w = words[i]
    joinable = [k for k in range(1, len(w) - 1) if w[k - 1] not in "اأإآدذرزوؤةء"]
    if not joinable:
        return s
    k = rng.choice(joinable)
    words[i] = w[:k] + "ـ" * rng.randint(1, 4) + w[k:]
    return " ".join(words)


def noise_elongate(rng, s):
    for w in ("جدا", "جداً", "اوي", "وايد", "مرة", "رائع", "حلو", "ممتاز", "سيء", "زفت", "تحفة"):
        if w in s and maybe(rng, 0.6):
            base = w.rstrip("ً")
            last = base[-1]
            return s.replace(w, base + last * rng.randint(2, 5), 1)
    i, words = _pick_word(rng, s, 3)
    if i is None:
        return s
    w = words[i]
    pos = [k for k, ch in enumerate(w) if ch in "اوي" and k >= 2]
    if not pos:
        words[i] = w + w[-1] * rng.randint(2, 4)
    else:
        k = rng.choice(pos)
        words[i] = w[:k] + w[k] * rng.randint(2, 4) + w[k + 1:]
    return " ".join(words)


def noise_diacritics(rng, s):
    i, words = _pick_word(rng, s, 3)
    if i is None:
        return s
    w = words[i]
    out = []
    for k, ch in enumerate(w):
        out.append(ch)
        if k < len(w) - 1 and maybe(rng, 0.35):
            out.append(rng.choice(DIACRITICS[:5]))
    words[i] = "".join(out)
    return " ".join(words)


def noise_digits(rng, s):
    if re.search(r"[0-9]", s):
        return s.translate(AR_DIGITS)
    return s.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))


def noise_punct(rng, s):
    s = s.rstrip()
    if s.endswith((".", "!", "؟")):
        return s[:-1] + rng.choice(["!!!", "...", "؟؟", "!!", "....", "!؟"])
    return s + rng.choice(["!!!", "...", "..", "!!", " !!"])


def noise_english(rng, s):
    cands = [(a, b) for a, b in ENGLISH if a in s]
    if not cands:
        return s
    a, b = rng.choice(cands)
    return re.sub(r"(?<![\u0621-\u064A])" + a + r"(?![\u0621-\u064A])", b, s, count=1)


def noise_nospace_waw(rng, s):
    # users often write without the space after the comma
    return s.replace("، ", rng.choice(["،", " ، ", " "]), 1)


NOISE_OPS = [
    (noise_alef, 5), (noise_teh, 4), (noise_yeh, 2), (noise_tatweel, 2),
    (noise_elongate, 3), (noise_diacritics, 1), (noise_digits, 1),
    (noise_punct, 3), (noise_english, 2), (noise_nospace_waw, 2),
]


def add_noise(rng: random.Random, text: str, complaint: bool) -> str:
    ops = [op for op, _ in NOISE_OPS]
    weights = [w for _, w in NOISE_OPS]
    k = rng.choice([1, 1, 1, 2, 2, 3])
    out = text
    for op in rng.choices(ops, weights, k=k):
        out = op(rng, out)
    if maybe(rng, 0.3):
        e = rng.choice(EMOJI_NEG if complaint else EMOJI_POS)
        e = e * rng.choice([1, 1, 2, 3])
        out = f"{out} {e}" if maybe(rng, 0.85) else f"{e} {out}"
    return out


# ---------------------------------------------------------------------------
# Dedup key
# ---------------------------------------------------------------------------

def norm_key(s: str) -> str:
    s = re.sub(r"[\u064B-\u0652\u0640]", "", s)
    s = s.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"}))
    s = s.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    s = re.sub(r"(.)\1{2,}", r"\1", s)
    s = re.sub(r"[^\w\s]", " ", s)
    return " ".join(s.lower().split())


# ---------------------------------------------------------------------------
# Training set
# ---------------------------------------------------------------------------

PAIRS = [
    (("delivery", "customer_service"), 6), (("delivery", "product_quality"), 5),
    (("product_quality", "price_value"), 6), (("customer_service", "product_quality"), 5),
    (("delivery", "packaging"), 4), (("packaging", "product_quality"), 4),
    (("refund_return", "wrong_missing_item"), 4), (("customer_service", "wrong_missing_item"), 3),
    (("customer_service", "refund_return"), 5), (("app_website", "payment_billing"), 4),
    (("customer_service", "payment_billing"), 3), (("payment_billing", "refund_return"), 4),
    (("app_website", "customer_service"), 3), (("customer_service", "price_value"), 3),
    (("delivery", "wrong_missing_item"), 3), (("packaging", "wrong_missing_item"), 2),
    (("delivery", "price_value"), 3), (("price_value", "payment_billing"), 2),
    (("product_quality", "refund_return"), 3), (("app_website", "delivery"), 2),
]

SINGLE_QUOTA = {
    "delivery": 95, "product_quality": 150, "customer_service": 108, "price_value": 92,
    "packaging": 60, "wrong_missing_item": 60, "refund_return": 58, "payment_billing": 60,
    "app_website": 60,
}
N_PAIRS = 150
N_GENERIC = 100
N_NONCOMPLAINT = 860


def make_ctx(rng: random.Random, need: set[str] | None = None, subs=None, reg=None,
             cur=None, city=None) -> Ctx:
    subs = subs or SUBDOMAIN_W
    names = list(subs)
    if need:
        names = [n for n in names if P.SUBDOMAIN_DOMAIN[n] in need] or names
    sub = rng.choices(names, [subs[n] for n in names])[0]
    reg = reg or rng.choices(list(REG_W), list(REG_W.values()))[0]
    return Ctx(rng, sub, reg, cur, city)


def gen_train():
    rng = random.Random(SEED)
    records = []
    seen = set()

    def add(text, themes, complaint, noisy_ok=True):
        text = " ".join(text.split())
        if noisy_ok and maybe(rng, 0.30):
            text = add_noise(rng, text, complaint)
            text = " ".join(text.split())
        key = norm_key(text)
        if not key or key in seen:
            return False
        seen.add(key)
        records.append({"text": text, "themes": sorted(themes), "complaint": complaint})
        return True

    for themes, comp, body in WHOLE:
        add(body, themes, comp, noisy_ok=False)

    # single-theme complaints (about 40% mixed praise + complaint)
    jobs = []
    for t in THEMES:
        jobs += [("single", (t,))] * SINGLE_QUOTA[t]
    pair_names = [p for p, _ in PAIRS]
    pair_w = [w for _, w in PAIRS]
    jobs += [("pair", tuple(rng.choices(pair_names, pair_w)[0])) for _ in range(N_PAIRS)]
    jobs += [("generic", ())] * N_GENERIC
    jobs += [("non", ())] * N_NONCOMPLAINT
    rng.shuffle(jobs)

    for kind, themes in jobs:
        for _attempt in range(30):
            if kind in ("single", "pair"):
                need = set.intersection(*[theme_domains(t) for t in themes])
                ctx = make_ctx(rng, need)
                mixed = maybe(rng, 0.40 if kind == "single" else 0.2)
                res = build_complaint(ctx, list(themes), mixed)
            elif kind == "generic":
                res = build_generic(make_ctx(rng))
            else:
                res = build_noncomplaint(make_ctx(rng))
            if res and add(res[0], res[1], res[2]):
                break

    rng.shuffle(records)
    lines = []
    for i, r in enumerate(records, 1):
        obj = {"id": f"ar-train-{i:05d}", "text": r["text"], "themes": r["themes"],
               "complaint": r["complaint"], "lang": "ar"}
        lines.append(json.dumps(obj, ensure_ascii=False))
    return lines, seen


# ---------------------------------------------------------------------------
# Sample feed
# ---------------------------------------------------------------------------

PRODUCT_SUBS = {
    "electronics": {"electronics": 6, "phones": 4, "kitchen": 2},
    "fashion": {"clothes": 6, "perfume": 3},
    "hotel": {"hotel": 1},
    "food_delivery": {"food": 1},
}
PRODUCT_W = {"electronics": 30, "fashion": 22, "hotel": 22, "food_delivery": 26}
REGIONS = ["Riyadh", "Jeddah", "Dubai", "Cairo", "Kuwait"]
REGION_CUR = {"Riyadh": "ريال", "Jeddah": "ريال", "Dubai": "درهم", "Cairo": "جنيه", "Kuwait": "دينار"}
REGION_CITY = {"Riyadh": "الرياض", "Jeddah": "جدة", "Dubai": "دبي", "Cairo": "القاهرة", "Kuwait": "الكويت"}
CHANNEL_W = {"app": 40, "web": 25, "call_center": 15, "instagram": 20}
START = dt.date(2026, 8, 31)
N_DAYS = 63  # 2026-08-31 .. 2026-11-01
SPIKE_START = dt.date(2026, 10, 12)
N_SPIKE = 18
N_BASE = 180


def region_reg(rng, region):
    if region == "Cairo":
        return "e" if maybe(rng, 0.8) else "m"
    return "g" if maybe(rng, 0.55) else "m"


def rating_for(rng, kind, complaint):
    if kind == "mixed":
        return rng.choice([2, 3, 3])
    if complaint:
        return rng.choice([1, 1, 1, 2])
    if kind in ("neutral", "question"):
        return rng.choice([3, 3, 4])
    if kind == "notneg":
        return rng.choice([4, 4, 5, 3])
    return rng.choice([5, 5, 4])


def pii_suffix(rng, i):
    d = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))
    options = [
        f"رقم الطلب {d(9)} وتواصلوا معي على +966 5{rng.randint(0,9)} {d(3)} {d(4)}",
        f"جوالي 05{d(8)} ارجو الاتصال",
        f"تواصلوا معي على الواتساب +971 5{rng.randint(0,9)} {d(3)} {d(4)}",
        f"ايميلي customer.{d(3)}@example.com ارسلوا لي التفاصيل",
        f"رجعوا المبلغ على الآيبان SA{d(2)} {d(4)} {d(4)} {d(4)} {d(4)} {d(4)}",
        f"رقم الشحنة TRK{d(10)}",
    ]
    return options[i % len(options)]


SAMPLE_STATS: dict = {}


def gen_sample(train_keys: set[str]):
    rng = random.Random(SAMPLE_SEED)
    rows = []
    seen = set(train_keys)

    def accept(text):
        k = norm_key(text)
        if not k or k in seen:
            return False
        seen.add(k)
        return True

    # base rows: themes rotate so every theme appears
    plan = []
    for i in range(N_BASE):
        r = i % 20
        if r < 9:
            plan.append(("single", (THEMES[(i // 20 + r) % 9],)))
        elif r == 9:
            plan.append(("pair", None))
        elif r == 10:
            plan.append(("generic", ()))
        else:
            plan.append(("non", ()))
    rng.shuffle(plan)

    pair_names = [p for p, _ in PAIRS]
    pair_w = [w for _, w in PAIRS]
    spike_end = SPIKE_START + dt.timedelta(days=6)
    for kind, themes in plan:
        for _attempt in range(50):
            product = rng.choices(list(PRODUCT_W), list(PRODUCT_W.values()))[0]
            region = rng.choice(REGIONS)
            date = START + dt.timedelta(days=rng.randrange(N_DAYS))
            reg = region_reg(rng, region)
            subs = PRODUCT_SUBS[product]
            ctx = make_ctx(rng, None, subs, reg, REGION_CUR[region], REGION_CITY[region])
            if kind == "pair":
                themes = tuple(rng.choices(pair_names, pair_w)[0])
            if kind in ("single", "pair"):
                if any(ctx.dom not in theme_domains(t) for t in themes):
                    continue
                # keep the spike week clean of extra Riyadh payment rows
                if "payment_billing" in themes and region == "Riyadh" and SPIKE_START <= date <= spike_end:
                    continue
                res = build_complaint(ctx, list(themes), maybe(rng, 0.35))
            elif kind == "generic":
                res = build_generic(ctx)
            else:
                res = build_noncomplaint(ctx)
            if not res:
                continue
            text, th, comp, k = res
            text = " ".join(text.split())
            if maybe(rng, 0.30):
                text = " ".join(add_noise(rng, text, comp).split())
            if not accept(text):
                continue
            rows.append({"created_at": date, "channel": rng.choices(list(CHANNEL_W), list(CHANNEL_W.values()))[0],
                         "product": product, "region": region,
                         "rating": rating_for(rng, k, comp), "text": text,
                         "_themes": list(th), "_complaint": comp})
            break
        else:
            raise RuntimeError("could not build sample row")

    # payment spike: Riyadh, week of 2026-10-12
    n = 0
    while n < N_SPIKE:
        product = rng.choices(["electronics", "fashion", "food_delivery"], [4, 3, 4])[0]
        ctx = make_ctx(rng, None, PRODUCT_SUBS[product], region_reg(rng, "Riyadh"), "ريال", "الرياض")
        body = ctx.pick(SPIKE)
        if maybe(rng, 0.35):
            extra = ctx.pick(NEG["payment_billing"])
            body = body + rng.choice(["، ", ". ", " و"]) + extra
        text = with_open_close(ctx, body, True, 0.2, 0.3)
        if maybe(rng, 0.3):
            text = add_noise(rng, text, True)
        text = " ".join(text.split())
        if not accept(text):
            continue
        date = SPIKE_START + dt.timedelta(days=rng.randrange(7))
        rows.append({"created_at": date, "channel": rng.choices(["app", "web", "call_center", "instagram"], [5, 3, 2, 1])[0],
                     "product": product, "region": "Riyadh", "rating": rng.choice([1, 1, 2]),
                     "text": text, "_themes": ["payment_billing"], "_complaint": True})
        n += 1

    rows.sort(key=lambda r: (r["created_at"], r["region"], r["text"]))

    # PII on six complaint rows spread through the feed
    comp_idx = [i for i, r in enumerate(rows) if r["_complaint"]]
    step = len(comp_idx) // 6
    for j in range(6):
        r = rows[comp_idx[j * step + 3]]
        r["text"] = r["text"].rstrip() + rng.choice(["، ", ". ", " - "]) + pii_suffix(rng, j)

    # quarantine row 1: empty text
    empty_at = 97
    rows.insert(empty_at, {"created_at": rows[empty_at]["created_at"], "channel": "web",
                           "product": "fashion", "region": "Jeddah", "rating": 3, "text": ""})

    # summary of planted truth (printed by main, documented in README.md)
    weekly = {}
    for r in rows:
        if "payment_billing" in r.get("_themes", []):
            wk = START + dt.timedelta(days=(r["created_at"] - START).days // 7 * 7)
            key = (wk.isoformat(), r["region"] == "Riyadh")
            weekly[key] = weekly.get(key, 0) + 1
    SAMPLE_STATS["payment_weekly"] = weekly
    SAMPLE_STATS["themes"] = {t: sum(t in r.get("_themes", []) for r in rows) for t in THEMES}
    SAMPLE_STATS["complaints"] = sum(bool(r.get("_complaint")) for r in rows)

    out = []
    for i, r in enumerate(rows, 1):
        out.append([f"ar-{i:06d}", r["created_at"].isoformat(), r["channel"], r["product"],
                    r["region"], r["rating"], r["text"]])

    # quarantine row 2: an id used earlier, different text, later date
    dup_text = "استلمت الطلب اليوم والحمد لله كل شي تمام"
    dup = [out[41][0], "2026-10-29", "app", "electronics", "Dubai", 5, dup_text]
    at = max(i for i, r in enumerate(out) if r[1] <= dup[1]) + 1
    out.insert(at, dup)
    return out


def main():
    train_lines, keys = gen_train()
    tpath = ROOT / "data" / "labelled" / "train_ar.jsonl"
    tpath.parent.mkdir(parents=True, exist_ok=True)
    tpath.write_text("\n".join(train_lines) + "\n", encoding="utf-8")

    rows = gen_sample(keys)
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(["id", "created_at", "channel", "product", "region", "rating", "text"])
    w.writerows(rows)
    spath = ROOT / "data" / "sample" / "feedback_ar.csv"
    spath.parent.mkdir(parents=True, exist_ok=True)
    spath.write_text(buf.getvalue(), encoding="utf-8")
    print(f"wrote {len(train_lines)} training examples -> {tpath.relative_to(ROOT)}")
    print(f"wrote {len(rows)} sample rows -> {spath.relative_to(ROOT)}")
    if "--stats" in sys.argv:
        print("sample complaints:", SAMPLE_STATS["complaints"], "themes:", SAMPLE_STATS["themes"])
        weeks = sorted({w for w, _ in SAMPLE_STATS["payment_weekly"]})
        for w in weeks:
            pw = SAMPLE_STATS["payment_weekly"]
            print(f"  week {w}: payment_billing all regions {pw.get((w, True), 0) + pw.get((w, False), 0)}, Riyadh {pw.get((w, True), 0)}")


if __name__ == "__main__":
    main()
