"""Synthetic feedback feeds of any size, built from the shipped sample's own vocabulary.

Every text is a recombination of clauses cut from the sample texts of one language (so the
words, spelling noise, PII patterns and complaint phrasing are the sample's), stretched to at least
a length drawn from a log-normal distribution (median 10 words, sigma 0.85). Whole clauses
overshoot the drawn length a little, so texts come out at median 14, mean 17.6, p90 33 and p99
77 words: the shape of public Persian food-delivery comments (median 14, p90 37, p99 77), which
are longer and have a longer tail than the short sample texts. Channel, product, region, rating and language come from a
sample row drawn at random; dates spread over 13 weeks. About 0.3% of rows are bad on purpose
(empty text, impossible date, repeated id) so that the quarantine path runs too.

Generated files are cached under ``benchmarks/_work/`` (git-ignored) by size and seed.

    python -m benchmarks.synth 100000            # prints the path of the CSV
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
SAMPLE_DIR = ROOT / "data" / "sample"
HEADER = ["id", "created_at", "channel", "product", "region", "rating", "text"]

MEDIAN_WORDS = 10
SIGMA = 0.85
MAX_WORDS = 300
BAD_SHARE = 0.003
FIRST_DAY = date(2026, 8, 3)
DAYS = 91

_CLAUSE_SPLIT = re.compile(r"\s*[.!?؟،,;؛\n]+\s*")
_JOINERS = ("، ", ". ", " ", "! ", "، ")


def sample_frame() -> pd.DataFrame:
    """The shipped sample (``feedback.csv``, or its two language parts before they are merged)."""
    merged = SAMPLE_DIR / "feedback.csv"
    paths = [merged] if merged.is_file() else sorted(SAMPLE_DIR.glob("feedback_*.csv"))
    if not paths:
        raise FileNotFoundError(f"no sample feedback under {SAMPLE_DIR}")
    frame = pd.concat(
        (pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths), ignore_index=True
    )
    return frame[frame["text"].str.strip() != ""].reset_index(drop=True)


def _language(record_id: str, text: str) -> str:
    if record_id[:3] in {"fa-", "ar-"}:
        return record_id[:2]
    return "fa" if re.search("[پچژگکی]", text) else "ar"


def generate(n: int, *, seed: int = 0) -> pd.DataFrame:
    """A synthetic feed of ``n`` rows with the sample's columns (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    sample = sample_frame()
    langs = np.array([_language(i, t) for i, t in zip(sample["id"], sample["text"], strict=True)])
    clauses: dict[str, list[str]] = {}
    for lang in ("fa", "ar"):
        pool = []
        for text in sample["text"][langs == lang]:
            pool.extend(c for c in _CLAUSE_SPLIT.split(text) if c.strip())
        clauses[lang] = pool
    pool_words = {lang: np.array([len(c.split()) for c in pool]) for lang, pool in clauses.items()}

    rows = rng.integers(0, len(sample), n)
    targets = np.clip(np.round(rng.lognormal(np.log(MEDIAN_WORDS), SIGMA, n)), 1, MAX_WORDS).astype(int)
    # Enough clause draws for the longest text; consumed per row below.
    texts: list[str] = []
    picks = {lang: rng.integers(0, len(clauses[lang]), n * 4) for lang in clauses}
    cursor = {lang: 0 for lang in clauses}
    joiner_draws = rng.integers(0, len(_JOINERS), n * 4)
    jc = 0
    for row, target in zip(rows, targets, strict=True):
        lang = langs[row]
        pool, words, pk = clauses[lang], pool_words[lang], picks[lang]
        parts: list[str] = []
        count = 0
        while count < target:
            i = pk[cursor[lang] % len(pk)]
            cursor[lang] += 1
            parts.append(pool[i])
            parts.append(_JOINERS[joiner_draws[jc % len(joiner_draws)]])
            jc += 1
            count += words[i]
        parts.pop()
        texts.append("".join(parts))

    days = rng.integers(0, DAYS, n)
    created = [(FIRST_DAY + timedelta(days=int(d))).isoformat() for d in days]
    feed = pd.DataFrame(
        {
            "id": [f"syn-{i:08d}" for i in range(n)],
            "created_at": created,
            "channel": sample["channel"].to_numpy()[rows],
            "product": sample["product"].to_numpy()[rows],
            "region": sample["region"].to_numpy()[rows],
            "rating": sample["rating"].to_numpy()[rows],
            "text": texts,
        }
    )
    feed = feed.sort_values("created_at", kind="stable").reset_index(drop=True)
    bad = rng.choice(n, size=int(n * BAD_SHARE), replace=False) if n >= 1000 else np.array([], int)
    for k, i in enumerate(bad):
        if k % 3 == 0:
            feed.at[i, "text"] = ""
        elif k % 3 == 1:
            feed.at[i, "created_at"] = "2026-13-45"
        elif i > 0:
            feed.at[i, "id"] = feed.at[i - 1, "id"]
    return feed


def feed_path(n: int, *, seed: int = 0) -> Path:
    """Path of the cached synthetic CSV with ``n`` rows, generating it on first use."""
    sample = sample_frame()
    digest = hashlib.sha256(pd.util.hash_pandas_object(sample, index=False).to_numpy().tobytes()).hexdigest()[:8]
    path = WORK / f"synth-{n}-s{seed}-{digest}.csv"
    if not path.is_file():
        WORK.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        generate(n, seed=seed).to_csv(tmp, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        tmp.replace(path)
    return path


def length_stats(path: Path) -> dict:
    """Word-count quantiles of a feed's texts (reported next to the benchmark figures)."""
    words = pd.read_csv(path, usecols=["text"], dtype=str, keep_default_na=False)["text"].str.split().str.len()
    q = words.quantile([0.5, 0.9, 0.99])
    return {"mean": round(float(words.mean()), 1), "p50": int(q[0.5]), "p90": int(q[0.9]), "p99": int(q[0.99])}


if __name__ == "__main__":
    print(feed_path(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
