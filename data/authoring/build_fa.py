"""Deterministic generator for the project's own Persian data.

Writes
  data/labelled/train_fa.jsonl   labelled training set
  data/sample/feedback_fa.csv    Persian part of the sample feed (with planted patterns)

Run from the repo root:  python data/authoring/build_fa.py
Output is byte-identical on every run (fixed seeds, stable ordering).
All text is composed from the hand-written banks in fa_phrases.py.
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
import fa_phrases as P  # noqa: E402

SEED = 20260901
SAMPLE_SEED = 7310  # a different stream for the sample feed

THEMES = ["delivery", "product_quality", "customer_service", "price_value", "packaging",
          "wrong_missing_item", "refund_return", "payment_billing", "app_website"]
THEME_WEIGHTS = {"delivery": 13, "product_quality": 13, "customer_service": 12, "price_value": 12,
                 "app_website": 13, "packaging": 13, "wrong_missing_item": 9, "refund_return": 9,
                 "payment_billing": 9}
DOMAIN_WEIGHTS = {"food": 38, "grocery": 18, "elec": 10, "cloth": 6, "cosm": 5, "bank": 14,
                  "ride": 3, "ebook": 4, "hotel": 2}

N_TRAIN = 2600
COMPLAINT_SHARE = 0.55

ZWNJ = "\u200c"
FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
AR_DIGITS = "٠١٢٣٤٥٦٧٨٩"


# --------------------------------------------------------------------------
# indexes over the banks
# --------------------------------------------------------------------------
def index(entries):
    by_dom = {d: [] for d in P.DOMAINS}
    for doms, text in entries:
        for d in doms:
            by_dom[d].append(text)
    return by_dom


C_IDX = {t: index(P.COMPLAINT[t]) for t in THEMES}
PR_IDX = {t: index(P.PRAISE[t]) for t in THEMES}
COMBO_IDX = {k: index(v) for k, v in P.COMBO.items()}
NEG_IDX = index(P.NEG_OK)
MILD_IDX = index(P.MILD_OK)
GP_IDX = index(P.GENERIC_PRAISE)
GC_IDX = index(P.GENERIC_COMPLAINT)
NEU_IDX = index(P.NEUTRAL)
LEAD_IDX = index(P.PRAISE_LEADIN)
CTX_IDX = index(P.CONTEXT)
CONS_IDX = index(P.CONSEQUENCE)

# how often each aspect is praised (people praise food and speed, rarely refunds)
PRAISE_ASPECT_W = {"product_quality": 6, "delivery": 5, "price_value": 2, "packaging": 2,
                   "customer_service": 1.5, "app_website": 1.5, "wrong_missing_item": 1,
                   "payment_billing": 0.6, "refund_return": 0.3}
PRAISE_ASPECT_W_BANK = {"app_website": 6, "payment_billing": 3, "customer_service": 2,
                        "price_value": 1.5, "refund_return": 0.5}


def praise_aspect(rng, dom, exclude=()):
    base = PRAISE_ASPECT_W_BANK if dom in ("bank", "ride") else PRAISE_ASPECT_W
    w = {t: v for t, v in base.items() if t not in exclude and PR_IDX[t][dom]}
    return wchoice(rng, w) if w else None


def parse_whole(text):
    out = []
    for line in text.strip().splitlines():
        themes, comp, dom, msg = line.split("|", 3)
        th = [] if themes == "-" else sorted(themes.split(","))
        out.append((msg.strip(), th, comp == "1", dom))
    return out


def parse_finglish(text):
    out = []
    for line in text.strip().splitlines():
        themes, comp, msg = line.split("|", 2)
        th = [] if themes == "-" else sorted(themes.split(","))
        out.append((msg.strip(), th, comp == "1"))
    return out


WHOLE = parse_whole(P.WHOLE)
FINGLISH = parse_finglish(P.FINGLISH)


def wchoice(rng, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


# --------------------------------------------------------------------------
# composing
# --------------------------------------------------------------------------
SLOT_RE = re.compile(r"\{(\w+)\}")


def fill(phrase, dom, rng, cache):
    used = set()

    def rep(m):
        name = m.group(1)
        if name == "x":
            key = P.X_SLOT[dom]
        elif name == "shop":
            key = P.SHOP_SLOT.get(dom, "shop_goods")
        else:
            key = name
        if name in ("x", "shop", "brand", "app"):
            if name not in cache or rng.random() < 0.15:
                cache[name] = rng.choice(P.SLOTS[key])
            return cache[name]
        opts = [v for v in P.SLOTS[key] if v not in used] or P.SLOTS[key]
        val = rng.choice(opts)
        used.add(val)
        return val
    return SLOT_RE.sub(rep, phrase)


HOT = ("داغ", "گرم")
COLD = ("سرد", "یخ", "گرم نبود")


def conflict(a, b):
    if any(h in a for h in HOT) and any(c in b for c in COLD):
        return True
    if any(h in b for h in HOT) and any(c in a for c in COLD):
        return True
    return False


def join2(rng, a, b, connectors):
    con = rng.choice(connectors)
    if con in ("،",):
        return f"{a}، {b}"
    if con.startswith(". "):
        return f"{a}. {b}"
    if con.startswith("."):
        return f"{a}{con} {b}"
    if con.startswith("،"):
        return f"{a}{con} {b}"
    if con.endswith(":"):
        return f"{a}، {con} {b}"
    if con == "و":
        return f"{a} و {b}"
    sep = "، " if rng.random() < 0.45 or con.startswith("تنها") else " "
    return f"{a}{sep}{con} {b}"


ORDERLESS = ("bank", "ride", "hotel", "ebook")


def with_open(rng, body, complaint, formal_ok=True, dom="food"):
    r = rng.random()
    if complaint:
        opens = P.OPEN_COMPLAINT if dom not in ORDERLESS else \
            [o for o in P.OPEN_COMPLAINT if "سفارش" not in o]
        if r < 0.18:
            op = rng.choice(P.OPEN_ANY)
            if rng.random() < 0.5:
                op = op.rstrip("،.") + "، " + rng.choice(opens)
            return f"{op} {body}"
        if r < 0.38:
            return f"{rng.choice(opens)} {body}"
        if r < 0.43 and formal_ok:
            return f"{rng.choice(P.OPEN_COMPLAINT_FORMAL)} {body}"
        return body
    if r < 0.15:
        return f"{rng.choice(P.OPEN_ANY)} {body}"
    if r < 0.27:
        return f"{rng.choice(P.OPEN_PRAISE)} {body}"
    return body


def with_close(rng, body, complaint, p=0.3):
    if rng.random() >= p:
        return body
    close = rng.choice(P.CLOSE_COMPLAINT if complaint else P.CLOSE_PRAISE)
    sep = rng.choice([". ", "، ", " ", ".. ", "! "])
    return f"{body}{sep}{close}"


def pick(rng, idx, dom):
    lst = idx.get(dom) or []
    return rng.choice(lst) if lst else None


def domains_for_theme(theme):
    return {d: w for d, w in DOMAIN_WEIGHTS.items() if C_IDX[theme][d]}


def compose_complaint(rng, themes, dom):
    """Return text for a complaint carrying exactly `themes` (0, 1 or 2) in domain `dom`."""
    cache = {}
    if not themes:
        a = fill(pick(rng, GC_IDX, dom), dom, rng, cache)
        r = rng.random()
        if r < 0.35:
            return a
        if r < 0.55:
            b = fill(pick(rng, GC_IDX, dom), dom, rng, cache)
            return a if b == a else join2(rng, a, b, ["،", ". ", "،", "."])
        if r < 0.75:
            return with_open(rng, a, True, dom=dom)
        return with_close(rng, with_open(rng, a, True, dom=dom), True, p=0.8)

    if len(themes) == 2:
        key = tuple(themes)
        if key in COMBO_IDX and COMBO_IDX[key][dom] and rng.random() < 0.4:
            body = fill(rng.choice(COMBO_IDX[key][dom]), dom, rng, cache)
        else:
            a = fill(pick(rng, C_IDX[themes[0]], dom), dom, rng, cache)
            b = fill(pick(rng, C_IDX[themes[1]], dom), dom, rng, cache)
            if rng.random() < 0.5:
                a, b = b, a
            body = join2(rng, a, b, P.CONNECT_AND)
        if rng.random() < 0.2:
            pr = pick(rng, GP_IDX, dom) if rng.random() < 0.3 else None
            if pr:
                body = join2(rng, fill(pr, dom, rng, cache), body, P.CONNECT_MIXED[:3])
        body = with_open(rng, body, True, dom=dom)
        return with_close(rng, body, True, p=0.35)

    theme = themes[0]
    clause = fill(pick(rng, C_IDX[theme], dom), dom, rng, cache)
    r = rng.random()
    if r < 0.17:
        return clause
    if r < 0.44:
        return with_close(rng, with_open(rng, clause, True, dom=dom), True, p=0.5)
    if r < 0.78:  # mixed: praise + but + complaint
        for _ in range(6):
            aspect = praise_aspect(rng, dom, exclude=(theme,))
            src = PR_IDX[aspect] if aspect and rng.random() < 0.65 else LEAD_IDX
            pr = pick(rng, src, dom)
            if pr and not conflict(pr, clause):
                break
            pr = None
        if pr is None:
            return clause
        praise = fill(pr, dom, rng, cache)
        body = join2(rng, praise, clause, P.CONNECT_MIXED)
        if rng.random() < 0.12:
            body = f"{rng.choice(P.OPEN_ANY)} {body}"
        return with_close(rng, body, True, p=0.35)
    story_ok = dom in ORDERLESS or theme in ("delivery", "product_quality", "wrong_missing_item", "packaging") \
        or (dom in ("elec", "cloth", "cosm") and theme in ("customer_service", "refund_return"))
    if r < 0.86 and CTX_IDX[dom] and story_ok:  # story: context. clause. consequence
        ctx = fill(rng.choice(CTX_IDX[dom]), dom, rng, cache)
        body = f"{ctx} {clause}"
        if rng.random() < 0.6:
            body = f"{body}. {fill(rng.choice(CONS_IDX[dom]), dom, rng, cache)}"
        return with_close(rng, body, True, p=0.4)
    if r < 0.91:
        other = fill(pick(rng, C_IDX[theme], dom), dom, rng, cache)
        if other == clause:
            return clause
        return with_close(rng, join2(rng, clause, other, ["،", " و", ". ", "، تازه"]), True, p=0.3)
    gc = fill(pick(rng, GC_IDX, dom), dom, rng, cache)
    if rng.random() < 0.5:
        return f"{clause}. {gc}"
    return f"{gc}، {clause}"


def compose_noncomplaint(rng, dom):
    """Return (text, kind) for a non-complaint: praise / negated_ok / mild / neutral."""
    cache = {}
    r = rng.random()
    if r < 0.16:
        t = fill(pick(rng, GP_IDX, dom), dom, rng, cache)
        if rng.random() < 0.4:
            t = with_close(rng, t, False, p=1.0)
        return t, "praise"
    if r < 0.50:
        a1 = praise_aspect(rng, dom)
        c1 = fill(pick(rng, PR_IDX[a1], dom), dom, rng, cache)
        body = c1
        if rng.random() < 0.5:
            a2 = praise_aspect(rng, dom, exclude=(a1,)) or a1
            c2 = fill(pick(rng, PR_IDX[a2], dom), dom, rng, cache)
            if c2 != c1:
                body = join2(rng, c1, c2, ["و", "،", ". "])
        if rng.random() < 0.25:
            body = join2(rng, body, fill(pick(rng, GP_IDX, dom), dom, rng, cache), ["،", ". "])
        body = with_open(rng, body, False)
        return with_close(rng, body, False, p=0.45), "praise"
    if r < 0.72:
        n = fill(pick(rng, NEG_IDX, dom), dom, rng, cache)
        rr = rng.random()
        if rr < 0.35:
            body = n
        elif rr < 0.7:
            pr = fill(pick(rng, PR_IDX[praise_aspect(rng, dom)], dom), dom, rng, cache)
            body = join2(rng, pr, n, ["و", "،", ". ", "، تازه"]) if rng.random() < 0.5 else \
                join2(rng, n, pr, ["و", "،", ". "])
        else:
            n2 = fill(pick(rng, NEG_IDX, dom), dom, rng, cache)
            body = n if n2 == n else join2(rng, n, n2, ["و", "،", ". "])
        body = with_open(rng, body, False)
        return with_close(rng, body, False, p=0.3), "negated_ok"
    if r < 0.80:
        m = fill(pick(rng, MILD_IDX, dom), dom, rng, cache)
        return with_close(rng, m, False, p=0.25), "mild"
    q = fill(pick(rng, NEU_IDX, dom), dom, rng, cache)
    if rng.random() < 0.12 and not q.startswith("سلام"):
        q = f"{rng.choice(P.OPEN_ANY)} {q}"
    return q, "neutral"


# --------------------------------------------------------------------------
# spelling variation & noise
# --------------------------------------------------------------------------
MI_RE = re.compile(r"(^|[\s،.])(ن?می) (?=[\u0600-\u06FF])")


def spell(text, rng):
    """Clean spelling choice: ZWNJ after می/نمی (the typed form stays for the rest)."""
    return MI_RE.sub(lambda m: m.group(1) + m.group(2) + ZWNJ, text)


ELONG_WORDS = ["خیلی", "عالی", "افتضاح", "بد", "چرا", "واقعا", "دیر", "سرد", "گرونه", "ممنون",
               "مرسی", "اصلا", "هیچ", "خوب", "دمتون", "عالیه", "گرون"]


def elongate(text, rng):
    cands = [w for w in ELONG_WORDS if re.search(rf"(?<![\u0600-\u06FF]){w}(?![\u0600-\u06FF])", text)]
    if not cands:
        return None
    w = rng.choice(cands)
    idxs = [i for i, ch in enumerate(w) if ch in "اوی"]
    i = idxs[-1] if idxs else len(w) - 1
    if rng.random() < 0.2 and len(w) > 2:  # tatweel style
        new = w[: i] + "ـ" * rng.randint(2, 5) + w[i:] if i > 0 else w
    else:
        new = w[: i + 1] + w[i] * rng.randint(2, 5) + w[i + 1:]
    return re.sub(rf"(?<![\u0600-\u06FF]){w}(?![\u0600-\u06FF])", new, text, count=1)


def noise(text, rng, complaint):
    """Apply 1-2 noise operations; returns (text, applied-op-names)."""
    ops = []
    order = ["arabic_yk", "zwnj", "elong", "emoji", "digits", "punct"]
    weights = [22, 24, 18, 26, 10, 22]
    n_ops = 1 if rng.random() < 0.65 else 2
    chosen = []
    while len(chosen) < n_ops:
        op = rng.choices(order, weights=weights, k=1)[0]
        if op not in chosen:
            chosen.append(op)
    for op in chosen:
        new = None
        if op == "arabic_yk":
            if "ی" in text or "ک" in text:
                if rng.random() < 0.7:
                    new = text.replace("ی", "ي").replace("ک", "ك")
                else:
                    new = text.replace("ی", "ي")
        elif op == "zwnj":
            if ZWNJ in text:
                new = text.replace(ZWNJ, " " if rng.random() < 0.55 else "")
            elif MI_RE.search(text):
                new = MI_RE.sub(lambda m: m.group(1) + m.group(2), text)
        elif op == "elong":
            new = elongate(text, rng)
        elif op == "emoji":
            pool = P.EMOJI_NEG if complaint else P.EMOJI_POS
            e = rng.choice(pool) * rng.choice([1, 1, 2, 3])
            if rng.random() < 0.8:
                new = text + rng.choice([" ", "", " "]) + e
            else:
                new = e + " " + text
        elif op == "digits":
            if re.search(r"[0-9۰-۹]", text):
                tgt = rng.choice(["ascii", "arabic", "persian"])
                def conv(ch):
                    if ch in FA_DIGITS:
                        v = FA_DIGITS.index(ch)
                    elif ch.isascii() and ch.isdigit():
                        v = int(ch)
                    else:
                        return ch
                    return {"ascii": str(v), "arabic": AR_DIGITS[v], "persian": FA_DIGITS[v]}[tgt]
                new = "".join(conv(c) for c in text)
                if new == text:
                    new = None
        elif op == "punct":
            t = text.rstrip(".!؟?")
            if complaint:
                new = t + rng.choice(["!!!", "!!", "؟؟", "!!!!", "؟!", "..."])
            else:
                new = t + rng.choice(["!!", "...", "!!!", ":)"])
        if new and new != text:
            text = new
            ops.append(op)
    return text, ops


def finish(text, rng, complaint, noise_p=0.30):
    text = spell(text, rng)
    text = re.sub(r"\s+", " ", text).strip()
    text = text.replace(" ،", "،").replace("،،", "،")
    ops = []
    if rng.random() < noise_p:
        text, ops = noise(text, rng, complaint)
    elif rng.random() < 0.12 and not text.endswith(("؟", "?", "!", ".")):
        text += rng.choice([".", ".", "!"])
    return text, ops


def finglish_variant(msg, rng, complaint):
    r = rng.random()
    if r < 0.4:
        return msg
    if r < 0.55:
        return msg.capitalize()
    if r < 0.75:
        return msg + rng.choice(["!!", "!!!", " :(", " ..."] if complaint else ["!", " :)", " ❤️"])
    if r < 0.9:
        return msg + " " + rng.choice(P.EMOJI_NEG if complaint else P.EMOJI_POS)
    return msg.replace("kheili", "khili").replace("ee", "i")


# --------------------------------------------------------------------------
# label plan
# --------------------------------------------------------------------------
COMBO_PAIRS = list(P.COMBO.keys()) + [
    ("customer_service", "delivery"), ("customer_service", "payment_billing"),
    ("app_website", "customer_service"), ("price_value", "product_quality"),
    ("packaging", "delivery"), ("customer_service", "wrong_missing_item"),
    ("payment_billing", "refund_return"), ("price_value", "delivery"),
    ("app_website", "delivery"), ("product_quality", "wrong_missing_item"),
    ("customer_service", "product_quality"), ("price_value", "app_website"),
]


def plan_complaint(rng):
    """Pick (themes, domain) for a complaint."""
    r = rng.random()
    if r < 0.09:
        return [], wchoice(rng, DOMAIN_WEIGHTS)
    if r < 0.25:
        for _ in range(20):
            pair = rng.choice(COMBO_PAIRS)
            doms = {d: w for d, w in DOMAIN_WEIGHTS.items()
                    if C_IDX[pair[0]][d] and C_IDX[pair[1]][d]}
            if doms:
                return sorted(pair), wchoice(rng, doms)
    theme = wchoice(rng, THEME_WEIGHTS)
    return [theme], wchoice(rng, domains_for_theme(theme))


def make_record(rng, complaint, seen, noise_p=0.30, forbid=None):
    for _ in range(40):
        if complaint:
            themes, dom = plan_complaint(rng)
            raw = compose_complaint(rng, themes, dom)
            kind = "mixed" if any(c in raw for c in (" ولی", " اما", "فقط", "منتها", "البته")) else "complaint"
        else:
            themes, dom = [], wchoice(rng, DOMAIN_WEIGHTS)
            raw, kind = compose_noncomplaint(rng, dom)
        text, ops = finish(raw, rng, complaint, noise_p)
        if text in seen or (forbid and forbid(text, themes)):
            continue
        return {"text": text, "themes": sorted(themes), "complaint": complaint, "domain": dom,
                "kind": kind, "noise": ops}
    return None


# --------------------------------------------------------------------------
# training set
# --------------------------------------------------------------------------
def build_train():
    rng = random.Random(SEED)
    records, seen = [], set()

    def add(rec):
        if rec and rec["text"] not in seen:
            seen.add(rec["text"])
            records.append(rec)

    for msg, th, comp, dom in WHOLE:
        text, ops = finish(msg, rng, comp, noise_p=0.2)
        add({"text": text, "themes": th, "complaint": comp, "domain": dom, "kind": "whole", "noise": ops})
    for msg, th, comp in FINGLISH:
        add({"text": msg, "themes": th, "complaint": comp, "domain": "finglish", "kind": "finglish",
             "noise": ["finglish"]})
        v = finglish_variant(msg, rng, comp)
        add({"text": v, "themes": th, "complaint": comp, "domain": "finglish", "kind": "finglish",
             "noise": ["finglish"]})

    n_comp_target = round(N_TRAIN * COMPLAINT_SHARE)
    n_comp = sum(r["complaint"] for r in records)
    n_non = len(records) - n_comp
    while n_comp < n_comp_target:
        rec = make_record(rng, True, seen)
        if rec:
            add(rec)
            n_comp += 1
    while n_non < N_TRAIN - n_comp_target:
        rec = make_record(rng, False, seen)
        if rec:
            add(rec)
            n_non += 1
    rng.shuffle(records)
    for i, r in enumerate(records, 1):
        r["id"] = f"fa-train-{i:05d}"
    return records


def write_train(records, path):
    buf = io.StringIO()
    for r in records:
        buf.write(json.dumps({"id": r["id"], "text": r["text"], "themes": r["themes"],
                              "complaint": r["complaint"], "lang": "fa"}, ensure_ascii=False))
        buf.write("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))


# --------------------------------------------------------------------------
# sample feed
# --------------------------------------------------------------------------
START = dt.date(2026, 8, 31)
END = dt.date(2026, 11, 1)
DAYS = [START + dt.timedelta(days=i) for i in range((END - START).days + 1)]
# Mon..Sun: heavier Thu-Sun (covers both the Iranian Thu/Fri and the Sat/Sun weekend)
WEEKDAY_W = [1.0, 1.0, 1.0, 1.35, 1.8, 1.6, 1.3]
SPIKE_START, SPIKE_END = dt.date(2026, 10, 19), dt.date(2026, 10, 25)
LEAK_START = dt.date(2026, 10, 26)

PRODUCT_DOMAIN = {"food_delivery": "food", "grocery": "grocery", "electronics": "elec",
                  "banking_app": "bank"}
PRODUCT_W = {"food_delivery": 55, "grocery": 19, "electronics": 12, "banking_app": 14}
SAMPLE_COMPLAINT_SHARE = 0.60
# complaint theme mix per product in the sample feed (delivery dominates food feedback)
SAMPLE_THEME_W = {
    "food": {"delivery": 60, "product_quality": 18, "packaging": 5, "wrong_missing_item": 8,
             "price_value": 8, "customer_service": 6, "app_website": 4, "payment_billing": 3,
             "refund_return": 3},
    "grocery": {"delivery": 45, "product_quality": 22, "packaging": 8, "wrong_missing_item": 10,
                "price_value": 12, "customer_service": 5, "app_website": 3, "payment_billing": 3,
                "refund_return": 3},
    "elec": {"delivery": 40, "product_quality": 22, "packaging": 6, "wrong_missing_item": 8,
             "price_value": 10, "customer_service": 8, "app_website": 4, "payment_billing": 4,
             "refund_return": 8},
    "bank": {"app_website": 40, "payment_billing": 22, "customer_service": 16, "price_value": 10,
             "refund_return": 12},
}
CHANNEL_W = {"app": 50, "web": 20, "call_center": 12, "instagram": 18}
REGION_W = {"Tehran": 40, "Isfahan": 16, "Mashhad": 17, "Shiraz": 14, "Tabriz": 13}

N_SAMPLE = 420
N_SPIKE = 35
N_LEAK = 25
LEAK_WORDS = ("نشت", "خیس", "چکه", "نشتی", "آب بندی")


def pick_day(rng, lo=START, hi=END):
    days = [d for d in DAYS if lo <= d <= hi]
    return rng.choices(days, weights=[WEEKDAY_W[d.weekday()] for d in days], k=1)[0]


def rating_for(rng, rec):
    if not rec["complaint"]:
        if rec["kind"] in ("negated_ok", "mild"):
            return rng.choice([3, 4, 4, 4, 5])
        if rec["kind"] == "neutral":
            return rng.choice([3, 3, 4, 4, 5])
        return rng.choice([4, 5, 5, 5])
    if rec["kind"] == "mixed":
        return rng.choice([2, 2, 3, 3, 1])
    return rng.choice([1, 1, 1, 2, 2])


def sample_record(rng, product, complaint, seen, theme=None):
    dom = PRODUCT_DOMAIN[product]

    def forbid(text, themes):
        return any(w in text for w in LEAK_WORDS)

    for _ in range(60):
        if complaint:
            r = rng.random()
            if theme:
                themes = [theme]
            elif r < 0.08:
                themes = []
            elif r < 0.22:
                pairs = [p for p in COMBO_PAIRS if C_IDX[p[0]][dom] and C_IDX[p[1]][dom]]
                themes = sorted(rng.choice(pairs))
            else:
                themes = [wchoice(rng, SAMPLE_THEME_W[dom])]
            raw = compose_complaint(rng, themes, dom)
            kind = "mixed" if any(c in raw for c in (" ولی", " اما", "فقط", "منتها", "البته")) else "complaint"
        else:
            themes = []
            raw, kind = compose_noncomplaint(rng, dom)
        text, ops = finish(raw, rng, complaint)
        if text in seen or forbid(text, themes):
            continue
        return {"text": text, "themes": sorted(themes), "complaint": complaint, "domain": dom,
                "kind": kind, "noise": ops}
    raise RuntimeError("could not compose a sample row")


def build_sample(train_texts):
    rng = random.Random(SAMPLE_SEED)
    seen = set(train_texts)
    rows = []

    def base_row(day, product, rec, region=None, channel=None, pattern=""):
        if product == "banking_app":
            ch = channel or rng.choice(["app", "app", "app", "call_center", "web", "instagram"])
        else:
            ch = channel or wchoice(rng, CHANNEL_W)
        seen.add(rec["text"])
        rows.append({"created_at": day.isoformat(), "channel": ch, "product": product,
                     "region": region or wchoice(rng, REGION_W), "rating": rating_for(rng, rec),
                     "text": rec["text"], "themes": rec["themes"], "complaint": rec["complaint"],
                     "pattern": pattern, "kind": rec["kind"], "noise": rec["noise"]})

    # planted 1: delivery spike, Tehran, week of 2026-10-19
    for i in range(N_SPIKE):
        product = "food_delivery" if i % 6 else "grocery"
        dom = PRODUCT_DOMAIN[product]
        cache = {}
        for _ in range(30):
            raw = fill(rng.choice(P.SPIKE_DELIVERY), dom, rng, cache)
            raw = with_close(rng, with_open(rng, raw, True, formal_ok=False), True, p=0.35)
            text, ops = finish(raw, rng, True)
            if text not in seen:
                break
        rec = {"text": text, "themes": ["delivery"], "complaint": True, "kind": "complaint", "noise": ops}
        base_row(pick_day(rng, SPIKE_START, SPIKE_END), product, rec, region="Tehran", pattern="spike")

    # planted 2: new issue -- the new packaging leaks (only from 2026-10-26)
    for i in range(N_LEAK):
        product = rng.choice(["food_delivery", "food_delivery", "grocery"])
        dom = PRODUCT_DOMAIN[product]
        cache = {}
        for _ in range(30):
            raw = fill(rng.choice(P.NEW_LEAK), dom, rng, cache)
            raw = with_close(rng, with_open(rng, raw, True, formal_ok=False), True, p=0.35)
            text, ops = finish(raw, rng, True)
            if text not in seen:
                break
        rec = {"text": text, "themes": ["packaging"], "complaint": True, "kind": "complaint", "noise": ops}
        base_row(pick_day(rng, LEAK_START, END), product, rec, pattern="new_issue")

    # planted 3: PII
    counters = {k: 0 for k in P.PII_VALUES}

    def pii_value(m):  # rotate so every PII form appears
        kind = m.group(1)
        v = P.PII_VALUES[kind][counters[kind] % len(P.PII_VALUES[kind])]
        counters[kind] += 1
        return v

    for theme, product, tmpl in P.PII_TEMPLATES:
        text = re.sub(r"\{(\w+)\}", pii_value, tmpl)
        rec = {"text": text, "themes": [theme], "complaint": True, "kind": "complaint", "noise": []}
        base_row(pick_day(rng, START, dt.date(2026, 10, 15)), product, rec, pattern="pii")

    # ordinary rows
    n_quarantine = 3
    n_base = N_SAMPLE - len(rows) - n_quarantine
    for _ in range(n_base):
        product = wchoice(rng, PRODUCT_W)
        complaint = rng.random() < SAMPLE_COMPLAINT_SHARE
        theme = None
        rec = sample_record(rng, product, complaint, seen, theme)
        base_row(pick_day(rng), product, rec)

    # stable order by date, then assign ids
    order = list(range(len(rows)))
    rng.shuffle(order)
    rows = [rows[i] for i in order]
    rows.sort(key=lambda r: r["created_at"])

    # planted 4: quarantine rows (empty, whitespace-only, duplicate id)
    def qrow(day, text, pattern):
        return {"created_at": day.isoformat(), "channel": "app", "product": "food_delivery",
                "region": "Shiraz", "rating": 3, "text": text, "themes": [], "complaint": False,
                "pattern": pattern, "kind": "quarantine", "noise": []}

    ins = [(dt.date(2026, 9, 16), "", "empty_text"), (dt.date(2026, 10, 7), "   \t  ", "whitespace_text")]
    for day, text, pat in ins:
        pos = max(i for i, r in enumerate(rows) if r["created_at"] <= day.isoformat()) + 1
        rows.insert(pos, qrow(day, text, pat))
    for i, r in enumerate(rows, 1):
        r["id"] = f"fa-{i:06d}"
    # duplicate of an earlier id (same id, different text), placed a few weeks later
    orig = rows[57]
    dup_day = dt.date(2026, 10, 1)
    dup = {"created_at": dup_day.isoformat(), "channel": "web", "product": orig["product"],
           "region": "Isfahan", "rating": 5, "text": "ممنون، این بار همه چی خوب بود",
           "themes": [], "complaint": False, "pattern": "duplicate_id", "kind": "quarantine",
           "noise": [], "id": orig["id"]}
    pos = max(i for i, r in enumerate(rows) if r["created_at"] <= dup_day.isoformat()) + 1
    rows.insert(pos, dup)
    assert len(rows) == N_SAMPLE, len(rows)
    return rows


def write_sample(rows, path):
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(["id", "created_at", "channel", "product", "region", "rating", "text"])
    for r in rows:
        w.writerow([r["id"], r["created_at"], r["channel"], r["product"], r["region"], r["rating"], r["text"]])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def main():
    train = build_train()
    write_train(train, ROOT / "data/labelled/train_fa.jsonl")
    sample = build_sample({r["text"] for r in train})
    write_sample(sample, ROOT / "data/sample/feedback_fa.csv")
    print(f"train_fa.jsonl: {len(train)} rows; feedback_fa.csv: {len(sample)} rows")


if __name__ == "__main__":
    main()
