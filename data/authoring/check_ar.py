"""Quick sanity check of the generated Arabic data.

python data/authoring/check_ar.py [--sample N] [--overlap]
  --overlap  also look for 30-character runs shared with ../shared/data (slow-ish)
"""

from __future__ import annotations

import collections
import csv
import json
import random
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TRAIN = ROOT / "data" / "labelled" / "train_ar.jsonl"
SAMPLE = ROOT / "data" / "sample" / "feedback_ar.csv"
SHARED = ROOT.parent / "shared" / "data"

NOISE_RE = re.compile(r"[\u064B-\u0652\u0640٠-٩]|(.)\1{2,}|[!؟?.]{2,}|[a-zA-Z]|[\U0001F300-\U0001FAFF\u2764]")


def main():
    n_sample = 40
    if "--sample" in sys.argv:
        n_sample = int(sys.argv[sys.argv.index("--sample") + 1])
    recs = [json.loads(x) for x in TRAIN.read_text(encoding="utf-8").splitlines()]
    print(f"training examples: {len(recs)}")
    comp = [r for r in recs if r["complaint"]]
    print(f"complaints: {len(comp)} ({len(comp)/len(recs):.1%})")
    themes = collections.Counter(t for r in recs for t in r["themes"])
    for t, c in sorted(themes.items(), key=lambda x: -x[1]):
        print(f"  {t:20s} {c}")
    multi = sum(1 for r in comp if len(r["themes"]) > 1)
    none = sum(1 for r in comp if not r["themes"])
    print(f"multi-theme complaints: {multi} ({multi/len(comp):.1%}); complaints with no theme: {none}")
    bad = [r for r in recs if r["themes"] and not r["complaint"]]
    print(f"non-complaints carrying themes (should be 0): {len(bad)}")
    texts = [r["text"] for r in recs]
    print(f"exact duplicate texts: {len(texts) - len(set(texts))}")
    ids = [r["id"] for r in recs]
    print(f"duplicate ids: {len(ids) - len(set(ids))}")
    lens = [len(t.split()) for t in texts]
    q = statistics.quantiles(lens, n=10)
    print(f"words: min {min(lens)} median {statistics.median(lens)} p10 {q[0]} p90 {q[-1]} max {max(lens)}")
    buckets = collections.Counter(min(l, 20) // 3 * 3 for l in lens)
    print("  length buckets:", dict(sorted(buckets.items())))
    noisy = sum(1 for t in texts if NOISE_RE.search(t))
    print(f"texts with visible noise markers (diacritics/tatweel/digits/elongation/latin/emoji): {noisy} ({noisy/len(texts):.1%})")
    print(f"  with Latin letters: {sum(1 for t in texts if re.search('[a-zA-Z]', t))}")
    print(f"  with Arabic-Indic digits: {sum(1 for t in texts if re.search('[٠-٩]', t))}")

    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
    print(f"\nsample rows: {len(rows)}")
    for col in ("channel", "product", "region", "rating"):
        print(f"  {col}: {dict(collections.Counter(r[col] for r in rows))}")
    print(f"  dates: {min(r['created_at'] for r in rows)} .. {max(r['created_at'] for r in rows)}")
    idc = collections.Counter(r["id"] for r in rows)
    print(f"  duplicate ids: {[k for k, v in idc.items() if v > 1]}; empty texts: {sum(1 for r in rows if not r['text'].strip())}")
    spike = [r for r in rows if r["region"] == "Riyadh" and "2026-10-12" <= r["created_at"] <= "2026-10-18"]
    print(f"  Riyadh rows in spike week: {len(spike)}")
    pii = [r["id"] for r in rows if re.search(r"\+9\d\d|05\d{8}|@|SA\d\d|TRK\d|رقم الطلب \d", r["text"])]
    print(f"  rows with PII: {pii}")
    tk = set(texts)
    print(f"  sample texts identical to a training text: {sum(1 for r in rows if r['text'] in tk)}")

    rng = random.Random()
    print(f"\n--- {n_sample} random training lines ---")
    for r in rng.sample(recs, n_sample):
        flag = "C" if r["complaint"] else "-"
        print(f"{flag} {','.join(r['themes']) or '·':35s} {r['text']}")

    if "--overlap" in sys.argv:
        overlap_check(texts + [r["text"] for r in rows])


def overlap_check(texts, n=30):
    if not SHARED.exists():
        print("shared data not found; skip overlap check")
        return
    grams = set()
    for p in sorted(SHARED.rglob("*")):
        if p.is_file() and p.suffix in (".csv", ".jsonl", ".txt", ".tsv"):
            s = p.read_text(encoding="utf-8", errors="ignore")
            for i in range(len(s) - n + 1):
                grams.add(s[i:i + n])
    hits = 0
    for t in texts:
        for i in range(len(t) - n + 1):
            if t[i:i + n] in grams:
                hits += 1
                print("OVERLAP:", t[i:i + n], "|", t)
                break
    print(f"texts sharing a {n}-char run with shared data: {hits}")


if __name__ == "__main__":
    main()
