"""Quick sanity report on the generated Persian data (not used by the pipeline).

python data/authoring/check_fa.py [--sample N] [--overlap]
  --overlap  also scan ../shared/data for shared 30-character runs (slow-ish)
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
import json
import random
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import build_fa as B  # noqa: E402

ARABIC_YK = re.compile("[يك]")
NOISE_RE = re.compile("[يك٠-٩ـ]|[\U0001F300-\U0001FAFF❤]|!!|؟؟|(.)\\1\\1|^[A-Za-z]")


def train_report(n_sample):
    recs = [json.loads(l) for l in (ROOT / "data/labelled/train_fa.jsonl").open(encoding="utf-8")]
    n = len(recs)
    comp = [r for r in recs if r["complaint"]]
    theme_c = collections.Counter(t for r in recs for t in r["themes"])
    multi = sum(len(r["themes"]) >= 2 for r in comp)
    nothemes = sum(not r["themes"] for r in comp)
    texts = [r["text"] for r in recs]
    dups = n - len(set(texts))
    lens = [len(t.split()) for t in texts]
    noisy = sum(bool(NOISE_RE.search(t)) or "\u200c" not in t and re.search(r"(^|\s)ن?می ", t) is not None
                for t in texts)
    latin = sum(bool(re.match(r"^[A-Za-z]", t)) for t in texts)
    bad = [r for r in recs if (not r["complaint"] and r["themes"]) or r["themes"] != sorted(r["themes"])
           or any(t not in B.THEMES for t in r["themes"])]
    print(f"== train_fa.jsonl: {n} rows")
    print(f"complaints {len(comp)} ({len(comp)/n:.1%}); non-complaints {n-len(comp)}")
    print(f"multi-theme complaints {multi} ({multi/len(comp):.1%}); complaints with no theme {nothemes}")
    for t in B.THEMES:
        print(f"  {t:20s} {theme_c[t]}")
    print(f"duplicate texts {dups}; label errors {len(bad)}")
    qs = statistics.quantiles(lens, n=10)
    print(f"words: min {min(lens)} median {statistics.median(lens)} max {max(lens)} deciles {qs}")
    print(f"noisy-looking texts {noisy} ({noisy/n:.1%}); Finglish {latin}")
    rng = random.Random()
    print("-- random sample --")
    for r in rng.sample(recs, n_sample):
        print(int(r["complaint"]), ",".join(r["themes"]) or "-", "|", r["text"])
    return texts


def sample_report():
    rows = list(csv.DictReader((ROOT / "data/sample/feedback_fa.csv").open(encoding="utf-8", newline="")))
    built = B.build_sample(set(t["text"] for t in B.build_train()))
    print(f"\n== feedback_fa.csv: {len(rows)} rows; header ok: "
          f"{list(rows[0].keys()) == ['id','created_at','channel','product','region','rating','text']}")
    ids = collections.Counter(r["id"] for r in rows)
    print("duplicate ids:", [i for i, c in ids.items() if c > 1],
          "| empty/blank texts:", sum(not r["text"].strip() for r in rows))
    print("products", collections.Counter(r["product"] for r in rows))
    print("channels", collections.Counter(r["channel"] for r in rows))
    print("regions", collections.Counter(r["region"] for r in rows))
    print("ratings", sorted(collections.Counter(r["rating"] for r in rows).items()))
    wd = collections.Counter(dt.date.fromisoformat(r["created_at"]).weekday() for r in rows)
    print("rows per weekday Mon..Sun", [wd[i] for i in range(7)])
    comp = [r for r in built if r["complaint"]]
    print(f"complaints {len(comp)}; themes", collections.Counter(t for r in built for t in r["themes"]))
    weeks = collections.defaultdict(collections.Counter)
    for r in built:
        wk = (dt.date.fromisoformat(r["created_at"]) - B.START).days // 7
        weeks[wk]["rows"] += 1
        if "delivery" in r["themes"]:
            weeks[wk]["delivery"] += 1
            if r["region"] == "Tehran":
                weeks[wk]["delivery_tehran"] += 1
        if any(w in r["text"] for w in B.LEAK_WORDS):
            weeks[wk]["leak"] += 1
    for wk in sorted(weeks):
        print(f"  week {wk} ({B.START + dt.timedelta(days=7*wk)}): {dict(weeks[wk])}")
    print("patterns", collections.Counter(r["pattern"] for r in built if r["pattern"]))
    by_kind = collections.defaultdict(list)
    for r in built:
        by_kind[(r["complaint"], r["kind"])].append(r["rating"])
    for k, v in sorted(by_kind.items()):
        print(f"  rating {k}: mean {statistics.mean(v):.2f} n={len(v)}")
    return [r["text"] for r in rows]


def overlap(texts, k=30):
    shared = ROOT.parent / "shared/data"
    if not shared.exists():
        print("no ../shared/data; overlap check skipped")
        return
    def norm(s):
        s = s.replace("ي", "ی").replace("ك", "ک").replace("\u200c", " ")
        return re.sub(r"\s+", " ", s)
    grams = set()
    for f in shared.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".jsonl"):
            s = norm(f.read_text(encoding="utf-8", errors="ignore"))
            for line in s.splitlines():
                for i in range(0, max(0, len(line) - k + 1)):
                    grams.add(line[i:i + k])
    hits = 0
    for t in texts:
        t2 = norm(t)
        for i in range(0, max(0, len(t2) - k + 1)):
            if t2[i:i + k] in grams:
                hits += 1
                print("OVERLAP:", t2[i:i + k], "<<", t)
                break
    print(f"overlap check ({k} chars): {hits} texts share a run with ../shared/data")


if __name__ == "__main__":
    n = int(sys.argv[sys.argv.index("--sample") + 1]) if "--sample" in sys.argv else 40
    texts = train_report(n)
    texts += sample_report()
    if "--overlap" in sys.argv:
        overlap(texts)
