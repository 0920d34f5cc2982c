"""Deterministic generator for the additional, more realistic training data.

Writes
  data/labelled/train_more_fa.jsonl   Persian (ids fa-more-00001 ...)
  data/labelled/train_more_ar.jsonl   Arabic  (ids ar-more-00001 ...)

Run from the repo root:  python data/authoring/build_more.py [--check]
Output is byte-identical on every run (fixed seeds, stable ordering).  All text comes from
the hand-written banks in more_phrases_fa.py / more_phrases_ar.py.  ``--check`` prints
counts, the most frequent 5-word sequences and any bank line that also occurs verbatim in
the older phrase banks.
"""
from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import more_phrases_ar as A  # noqa: E402
import more_phrases_fa as F  # noqa: E402

SEED_FA = 20261201
SEED_AR = 20261202
N_FA = 1620
N_AR = 1320

LETTER = {"Q": "product_quality", "V": "price_value", "K": "packaging", "D": "delivery",
          "S": "customer_service", "W": "wrong_missing_item", "R": "refund_return",
          "B": "payment_billing", "A": "app_website"}
ZWNJ = "\u200c"
FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
AR_DIGITS = "٠١٢٣٤٥٦٧٨٩"


# --------------------------------------------------------------------------
# bank parsing
# --------------------------------------------------------------------------
def parse_bank(text, default=("gen",)):
    """-> list of dicts {cats, pol, letters, themes, text}."""
    out, cats = [], list(default)
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            cats = line[1:].split()
            continue
        code, _, body = line.partition(" ")
        pol, letters = code[0], code[1:] or "G"
        assert pol in "+-!=", line
        themes = sorted({LETTER[c] for c in letters if c in LETTER})
        out.append({"cats": tuple(cats), "pol": pol, "letters": letters, "themes": themes,
                    "text": body.strip()})
    return out


def parse_lines(text):
    """``@cat`` grouped plain lines -> {cat: [line]} (``all`` when no tag)."""
    out, cats = {}, ["all"]
    for raw in text.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("@"):
            cats = line[1:].split()
            continue
        for c in cats:
            out.setdefault(c, []).append(line)
    return out


def parse_whole(text):
    out = []
    for raw in text.strip().splitlines():
        label, _, body = raw.partition("|")
        label = label.strip()
        if label == "+":
            out.append((body.strip(), False, []))
        elif label == "-":
            out.append((body.strip(), True, []))
        else:
            out.append((body.strip(), True, sorted(label.split(","))))
    return out


def by_cat(entries, cat, pol):
    return [e for e in entries if cat in e["cats"] and e["pol"] == pol]


# --------------------------------------------------------------------------
# message composition (shared by both languages)
# --------------------------------------------------------------------------
def pick_distinct(rng, pool, k, used_letters):
    """Pick up to k distinct entries (uniformly) whose aspect letters are not in used_letters
    (the letters of the opposite polarity in the same message); at most one general remark.
    The chosen letters are added to used_letters."""
    forbid = set(used_letters)
    out = []
    cand = pool[:]
    rng.shuffle(cand)
    for e in cand:
        if len(out) >= k:
            break
        ls = set(e["letters"]) - {"G"}
        if ls & forbid:
            continue
        if not ls and any(not (set(o["letters"]) - {"G"}) for o in out):
            continue
        if ls - {"Q"} and any(ls & set(o["letters"]) for o in out):
            continue  # one remark per non-quality aspect
        out.append(e)
        used_letters |= ls
    return out


def compose(rng, entries, cat, kind, lang):
    """Return (sentence list with connectors applied, complaint, themes)."""
    pos, neg = by_cat(entries, cat, "+"), by_cat(entries, cat, "-")
    mild, neu = by_cat(entries, cat, "!"), by_cat(entries, cat, "=")
    used: set = set()
    but = F.BUT if lang == "fa" else A.BUT_AR
    if kind == "praise":
        k = rng.choice([1, 2, 2, 2, 3, 3])
        parts = pick_distinct(rng, pos, k, used)
        if neu and rng.random() < 0.12:
            parts += pick_distinct(rng, [e for e in neu if "؟" not in e["text"]], 1, used)
            rng.shuffle(parts)
        return [p["text"] for p in parts], False, []
    if kind == "hedged":
        parts = pick_distinct(rng, neu, rng.choice([1, 1, 2]), used)
        if rng.random() < 0.4:
            parts += pick_distinct(rng, pos, 1, used)
        rng.shuffle(parts)
        return [p["text"] for p in parts], False, []
    if kind == "mild":
        m = pick_distinct(rng, mild, 1, used)
        pre = pick_distinct(rng, pos, rng.choice([0, 1, 1, 2]), used)
        parts = [p["text"] for p in pre] + [m[0]["text"]]
        if rng.random() < 0.3:
            extra = pick_distinct(rng, neu, 1, used)
            parts = [e["text"] for e in extra] + parts
        return parts, True, m[0]["themes"]
    # complaints
    n_neg = rng.choice([1, 1, 1, 2, 2, 3]) if kind == "pure" else rng.choice([1, 1, 2])
    negs = pick_distinct(rng, neg, n_neg, used)
    themes = sorted({t for e in negs for t in e["themes"]})
    if len(themes) > 3:
        negs = negs[:2]
        themes = sorted({t for e in negs for t in e["themes"]})
    if kind == "pure":
        return [e["text"] for e in negs], True, themes
    pre = pick_distinct(rng, pos, rng.choice([1, 1, 1, 2, 2, 3]), used)
    if neu and rng.random() < 0.15:
        pre += pick_distinct(rng, [e for e in neu if "؟" not in e["text"]], 1, used)
    rng.shuffle(pre)
    negt = [e["text"] for e in negs]
    if rng.random() < 0.8:
        negt[0] = rng.choice(but) + " " + negt[0]
        parts = [p["text"] for p in pre] + negt
    else:  # complaint first, then the praise
        conn = "ولی" if lang == "fa" else rng.choice(["بس", "لكن"])
        pre = [p for p in pre if p["pol"] == "+"]
        parts = negt + [conn + " " + pre[0]["text"]] + [p["text"] for p in pre[1:]] if pre else negt
    return parts, True, themes


def join(rng, parts, lang):
    out = ""
    for i, p in enumerate(parts):
        if i == 0:
            out = p
            continue
        first = p.split(" ", 1)[0]
        connective = first in ("ولی", "اما", "فقط", "تنها", "منتها", "با", "لكن", "بس", "ولكن",
                               "إلا", "انما", "غير")
        r = rng.random()
        if connective:
            sep = "، " if r < 0.5 else (". " if r < 0.85 else " ")
        elif lang == "fa":
            sep = ". " if r < 0.5 else ("، " if r < 0.75 else (" و " if r < 0.88 else "\n"))
        else:
            sep = ". " if r < 0.35 else ("، " if r < 0.6 else (" و" if r < 0.85 else " "))
        if out.endswith((".", ":", "!", "؟")) and sep in (". ", "، "):
            sep = " "
        out += sep + p
    if rng.random() < 0.55 and not out.endswith((".", "!", "؟", ":")):
        out += rng.choice([".", ".", "!"])
    return out


# --------------------------------------------------------------------------
# noise
# --------------------------------------------------------------------------
MI_RE = re.compile(r"(^|\s)(ن?می) (?=\S)")
EMOJI_POS = ["😍", "👌", "👍", "🙏", "❤️", "😊", "🌹", "💯", "🔥", "👏"]
EMOJI_NEG = ["😡", "😞", "👎", "😒", "🤦‍♀️", "😤", "💔", "🙄", "😑", "😢"]


def fa_clean(text, rng):
    """Resolve ``~`` and ``می `` spacing the way most people type them."""
    r = rng.random()
    if r < 0.7:
        text = MI_RE.sub(lambda m: m.group(1) + m.group(2) + ZWNJ, text)
        return text.replace("~", ZWNJ)
    if r < 0.85:
        return text.replace("~", " ")
    return MI_RE.sub(lambda m: m.group(1) + m.group(2), text).replace("~", "")


def elongate(text, rng, letters):
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 3 and w[-1] in letters]
    if not idx:
        return None
    i = rng.choice(idx)
    words[i] = words[i] + words[i][-1] * rng.choice([2, 3, 4])
    return " ".join(words)


def typo(text, rng):
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not idx:
        return None
    i = rng.choice(idx)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    if rng.random() < 0.5:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    else:
        w = w[:j] + w[j + 1:]
    words[i] = w
    return " ".join(words)


def digits(text, rng, table):
    if not re.search(r"[0-9۰-۹٠-٩]", text):
        return None
    conv = {}
    for d in range(10):
        for src in ("0123456789", FA_DIGITS, AR_DIGITS):
            conv[src[d]] = table[d]
    return "".join(conv.get(c, c) for c in text)


def emoji(text, rng, complaint):
    e = rng.choice(EMOJI_NEG if complaint else EMOJI_POS) * rng.choice([1, 1, 2, 3])
    return text + rng.choice([" ", ""]) + e if rng.random() < 0.85 else e + " " + text


def punct(text, rng):
    if text.endswith((".", "!")):
        return text[:-1] + rng.choice(["!!", "!!!", "...", "..", "!؟"])
    return text + rng.choice(["!!", "...", "!!!"])


def noise_fa(text, rng, complaint):
    ops = rng.sample(["yk", "zwnj", "elong", "emoji", "digits", "typo", "punct"],
                     k=1 if rng.random() < 0.65 else 2)
    for op in ops:
        new = None
        if op == "yk" and ("ی" in text or "ک" in text):
            new = text.replace("ی", "ي")
            if rng.random() < 0.7:
                new = new.replace("ک", "ك")
        elif op == "zwnj" and ZWNJ in text:
            new = text.replace(ZWNJ, " " if rng.random() < 0.5 else "")
        elif op == "elong":
            new = elongate(text, rng, "یيهوشر")
        elif op == "emoji":
            new = emoji(text, rng, complaint)
        elif op == "digits":
            new = digits(text, rng, rng.choice([FA_DIGITS, AR_DIGITS, "0123456789"]))
        elif op == "typo":
            new = typo(text, rng)
        elif op == "punct":
            new = punct(text, rng)
        if new:
            text = new
    return text


def noise_ar(text, rng, complaint):
    ops = rng.sample(["alef", "teh", "elong", "tatweel", "emoji", "digits", "typo", "punct"],
                     k=1 if rng.random() < 0.6 else 2)
    for op in ops:
        new = None
        if op == "alef" and re.search("[أإآ]", text):
            new = re.sub("[أإآ]", "ا", text)
        elif op == "teh" and re.search(r"[ةى](?=\s|$|[.,،!])", text):
            new = re.sub(r"ة(?=\s|$|[.,،!])", "ه", text)
            if rng.random() < 0.5:
                new = re.sub(r"ى(?=\s|$)", "ي", new)
        elif op == "elong":
            new = elongate(text, rng, "اويهرعز")
        elif op == "tatweel":
            words = text.split(" ")
            idx = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
            if idx:
                i = rng.choice(idx)
                w = words[i]
                words[i] = w[:2] + "ـ" * rng.choice([1, 3, 5]) + w[2:]
                new = " ".join(words)
        elif op == "emoji":
            new = emoji(text, rng, complaint)
        elif op == "digits":
            new = digits(text, rng, rng.choice([AR_DIGITS, "0123456789"]))
        elif op == "typo":
            new = typo(text, rng)
        elif op == "punct":
            new = punct(text, rng)
        if new:
            text = new
    return text


def norm_key(text):
    t = text.replace(ZWNJ, "").replace("ـ", "")
    t = t.translate(str.maketrans("يكىةأإآ", "یکیهااا"))
    t = re.sub(r"[^\w]+", " ", t)
    t = re.sub(r"(\w)\1{2,}", r"\1", t)
    return " ".join(t.split())


# --------------------------------------------------------------------------
# Persian
# --------------------------------------------------------------------------
FA_INTRO = ["{p} این برند رو خریدم.", "{p} رو با تخفیف گرفتم.", "درباره این {p}:",
            "این {p} رو چند هفته~ست دارم.", "{p} رو برای خونه سفارش دادم.",
            "این اولین {p}ـیه که اینترنتی می گیرم.", "{p} رو قبلا هم خریده بودم.",
            "{p} سفارش دادم.", "من این {p} رو برای مامانم گرفتم.", "{p}:", "نظرم راجع به {p}:",
            "{p} رو تو جشنواره گرفتم.", "سه بسته {p} خریدم.", "{p} خریدم بعد از کلی گشتن.",
            "این {p} رو همکارم معرفی کرد.", "{p} رو دفعه اوله که امتحان می کنم.",
            "یه {p} گرفتم.", "{p} رو از این {shop} گرفتم.", "دو هفته پیش {p} رو سفارش دادم.",
            "همیشه {p} همین مارک رو می گیرم."]
FA_CAT_N = {"grocery": 680, "cosm": 250, "elec": 250, "food": 150, "bank": 200}
FA_KIND_W = {"praise": 35, "mixed": 25, "pure": 16, "mild": 10, "hedged": 14}


def build_fa():
    rng = random.Random(SEED_FA)
    entries = parse_bank(F.BANK)
    opens = parse_lines(F.OPEN)
    close_pos = list(parse_lines(F.CLOSE_POS)["all"])
    close_neg = list(parse_lines(F.CLOSE_NEG)["all"])
    close_mix = list(parse_lines(F.CLOSE_MIXED)["all"])
    rows, seen = [], set()

    def add(text, complaint, themes, noisy_p=0.3):
        text = fa_clean(text, rng)
        if rng.random() < noisy_p:
            text = noise_fa(text, rng, complaint)
        key = norm_key(text)
        if key in seen or not key:
            return False
        seen.add(key)
        rows.append({"text": text, "themes": sorted(themes), "complaint": complaint})
        return True

    for text, c, th in parse_whole(F.WHOLE):
        add(text, c, th, noisy_p=0.2)
    kinds, kw = zip(*FA_KIND_W.items())
    for cat in F.CATS:
        target, made, tries = FA_CAT_N[cat], 0, 0
        while made < target and tries < target * 20:
            tries += 1
            kind = rng.choices(kinds, kw)[0]
            parts, complaint, themes = compose(rng, entries, cat, kind, "fa")
            if not parts:
                continue
            text = join(rng, parts, "fa")
            prod = rng.choice(F.PRODUCTS[cat])
            if cat in ("grocery", "cosm", "elec") and rng.random() < 0.35:
                text = rng.choice(FA_INTRO).format(p=prod, shop=rng.choice(F.SHOPS)) + " " + text
            elif rng.random() < 0.3 and opens.get(cat):
                text = rng.choice(opens[cat]).format(shop=rng.choice(F.SHOPS)) + " " + text
            r = rng.random()
            if not complaint and kind == "praise" and r < 0.45:
                text += " " + rng.choice(close_pos).format(shop=rng.choice(F.SHOPS))
            elif complaint and kind == "pure" and r < 0.4:
                text += " " + rng.choice(close_neg)
            elif complaint and kind == "mixed" and r < 0.25:
                text += " " + rng.choice(close_mix + close_neg[:4])
            elif complaint and kind == "mild" and r < 0.25:
                text += " " + rng.choice(close_mix)
            if add(text, complaint, themes):
                made += 1
    # a few complaints with no theme at all (only a negative verdict)
    for _ in range(60):
        pre = rng.choice([""] + [o for o in opens["grocery"] if "{" not in o])
        text = (pre + " " + rng.choice(close_neg)).strip()
        if rng.random() < 0.5:
            text = rng.choice(["اصلا خوب نبود.", "انتظار بیشتری داشتم.", "خوشم نیومد.",
                               "به درد نمی خوره.", "جالب نبود."]) + " " + text
        add(text, True, [])
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------
# Arabic
# --------------------------------------------------------------------------
AR_PLAN = {"short": 560, "medium": 400, "hotel": 400}


def build_ar():
    rng = random.Random(SEED_AR)
    short = parse_bank(A.SHORT)
    medium = parse_bank(A.MEDIUM)
    hotel_banks = [parse_bank(A.HOTEL, ("h",)), parse_bank(A.HOTEL_MSA, ("h",)),
                   parse_bank(A.HOTEL_EGY, ("h",))]
    m_open = parse_lines(A.MED_OPEN)["all"]
    m_cpos = parse_lines(A.MED_CLOSE_POS)["all"]
    m_cneg = parse_lines(A.MED_CLOSE_NEG)["all"]
    short_pos = [e for e in short if e["pol"] in "+="]
    short_neg = [e for e in short if e["pol"] in "-!"]
    rows, seen = [], set()

    def add(text, complaint, themes, noisy_p=0.3):
        if rng.random() < noisy_p:
            text = noise_ar(text, rng, complaint)
        key = norm_key(text)
        if key in seen or not key:
            return False
        seen.add(key)
        rows.append({"text": text, "themes": sorted(themes), "complaint": complaint})
        return True

    # ---- short verdicts (1-6 words)
    made = tries = 0
    while made < AR_PLAN["short"] and tries < 20000:
        tries += 1
        r = rng.random()
        a = rng.choice(short_pos if rng.random() < 0.64 else short_neg)
        if r < 0.55 or "؟" in a["text"]:
            items = [a]
        else:
            b = rng.choice(short)
            if "؟" in b["text"] or b is a:
                continue
            la, lb = set(a["letters"]), set(b["letters"])
            if (la & lb) and a["pol"] != b["pol"]:
                continue
            if a["pol"] in "-!" and b["pol"] in "+=" and la == {"G"}:
                continue
            if a["pol"] in "+=" and b["pol"] in "-!" and lb == {"G"} and la == {"G"}:
                continue
            if a["pol"] == "!" or b["pol"] == "!":
                continue
            items = [a, b]
        neg = [e for e in items if e["pol"] in "-!"]
        complaint = bool(neg)
        themes = sorted({t for e in neg for t in e["themes"]})
        if len(items) == 1:
            text = items[0]["text"]
        else:
            if items[0]["pol"] in "+=" and items[1]["pol"] in "-!":
                conn = " " + rng.choice(["بس", "لكن", "بس للاسف", "الا ان", "انما"]) + " "
            else:
                conn = rng.choice([" و", "، ", " ", " . ", " و"])
            text = items[0]["text"] + conn + items[1]["text"]
        if len(text.split()) > 7:
            continue
        if rng.random() < 0.12 and len(text.split()) <= 4:
            text += " " + rng.choice(["👍", "👎" if complaint else "😍", "!", "..", "🌹" if not complaint else "😡"])
        if add(text, complaint, themes, noisy_p=0.25):
            made += 1

    # ---- medium product reviews
    kinds, kw = zip(*{"praise": 44, "mixed": 22, "pure": 15, "mild": 7, "hedged": 12}.items())
    made = tries = 0
    cats = ["elec", "perf", "cloth", "baby"]
    while made < AR_PLAN["medium"] and tries < 20000:
        tries += 1
        cat = rng.choice(cats)
        kind = rng.choices(kinds, kw)[0]
        parts, complaint, themes = compose(rng, medium, cat, kind, "ar")
        if not parts:
            continue
        text = join(rng, parts, "ar")
        if rng.random() < 0.3:
            prod = rng.choice(A.PRODUCTS[cat])
            text = rng.choice(["طلبت " + prod + ".", prod + ":", "بخصوص " + prod + "،",
                               rng.choice(m_open)]) + " " + text
        r = rng.random()
        if not complaint and r < 0.35:
            text += " " + rng.choice(m_cpos)
        elif complaint and kind == "pure" and r < 0.4:
            text += " " + rng.choice(m_cneg)
        if add(text, complaint, themes):
            made += 1

    # ---- hotel sentences (one sentence each)
    made = tries = 0
    while made < AR_PLAN["hotel"] and tries < 20000:
        tries += 1
        bank = hotel_banks[rng.choices([0, 1, 2], [55, 30, 15])[0]]
        want_pos = rng.random() < 0.56
        a = rng.choice([e for e in bank if (e["pol"] in "+=") == want_pos])
        if rng.random() < 0.6 or "؟" in a["text"] or a["pol"] == "!":
            items = [a]
        else:
            b = rng.choice(bank)
            if b is a or "؟" in b["text"] or b["pol"] == "!":
                continue
            if set(a["letters"]) & set(b["letters"]) - {"G"} and a["pol"] != b["pol"]:
                continue
            if a["letters"] == b["letters"] == "G" and a["pol"] != b["pol"]:
                continue
            items = [a, b]
        neg = [e for e in items if e["pol"] in "-!"]
        complaint = bool(neg)
        themes = sorted({t for e in neg for t in e["themes"]})
        if len(items) == 1:
            text = a["text"]
        else:
            if (items[0]["pol"] in "+=") != (items[1]["pol"] in "+="):
                conn = " " + rng.choice(["لكن", "بس", "ولكن", "إلا أن", "غير أن"]) + " "
            else:
                conn = rng.choice([" و", "، و", " كما أن ", "، "])
            text = items[0]["text"] + conn + items[1]["text"]
        if rng.random() < 0.4:
            text += "."
        if add(text, complaint, themes):
            made += 1
    rng.shuffle(rows)
    return rows


# --------------------------------------------------------------------------
def write(rows, path, lang, prefix):
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for i, r in enumerate(rows, 1):
            obj = {"id": f"{prefix}-{i:05d}", "text": r["text"], "themes": r["themes"],
                   "complaint": r["complaint"], "lang": lang}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")


def check(rows, name, older_bank_files, bank_lines):
    n = len(rows)
    c = sum(r["complaint"] for r in rows)
    th = Counter(t for r in rows for t in r["themes"])
    print(f"== {name}: {n} rows, complaints {c} ({c / n:.1%}), "
          f"no-theme complaints {sum(1 for r in rows if r['complaint'] and not r['themes'])}, "
          f"multi-theme {sum(1 for r in rows if len(r['themes']) > 1)}")
    for t, k in th.most_common():
        print(f"   {t:20s} {k}")
    lens = sorted(len(r["text"].split()) for r in rows)
    print(f"   words: median {lens[n // 2]}, p10 {lens[n // 10]}, p90 {lens[9 * n // 10]}, max {lens[-1]}")
    grams = Counter()
    for r in rows:
        toks = norm_key(r["text"]).split()
        grams.update({tuple(toks[i:i + 5]) for i in range(len(toks) - 4)})
    print("   top 5-grams (share of texts):")
    for g, k in grams.most_common(6):
        print(f"     {k / n:.2%}  {' '.join(g)}")
    older = "".join(p.read_text(encoding="utf-8") for p in older_bank_files)
    older_k = norm_key(older.replace("~", ""))
    dup = [b for b in bank_lines if len(b) >= 18 and norm_key(b.replace("~", "")) in older_k]
    print(f"   bank lines (>=18 chars) also in older banks: {len(dup)}")
    for b in dup[:10]:
        print("     ", b)


def main():
    fa, ar = build_fa(), build_ar()
    out = ROOT / "data" / "labelled"
    write(fa, out / "train_more_fa.jsonl", "fa", "fa-more")
    write(ar, out / "train_more_ar.jsonl", "ar", "ar-more")
    if "--check" in sys.argv:
        fa_lines = [e["text"] for e in parse_bank(F.BANK)] + [t for t, _, _ in parse_whole(F.WHOLE)]
        ar_lines = [e["text"] for b in (A.SHORT, A.MEDIUM, A.HOTEL, A.HOTEL_MSA, A.HOTEL_EGY)
                    for e in parse_bank(b)]
        check(fa, "train_more_fa", [HERE / "fa_phrases.py"], fa_lines)
        check(ar, "train_more_ar", [HERE / "ar_phrases.py"], ar_lines)
    print(f"wrote {len(fa)} fa, {len(ar)} ar rows")


if __name__ == "__main__":
    main()
