"""Benchmark: pipeline.normalize.normalize against hazm.Normalizer().normalize.

Both run in the same process on the same corpus (real feedback from ../shared/data; files
that are missing are skipped with a message), a few interleaved repeats,
the best repeat of each reported.
``run()`` returns a dict for the benchmark runner; ``python -m benchmarks.bench_normalize``
prints it.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: (relative path, delimiter, text column)
SOURCES = (
    ("snappfood/dev.csv", "\t", "comment"),
    ("taaghche/val.csv", ",", "text"),
    ("arabic/souq_product_reviews.csv", ",", "text"),
    ("arabic/tripadvisor_restaurant_reviews.csv", ",", "text"),
    ("cafebazaar_banking/reviews.csv", ",", "comment"),
)


def load_corpus(data_dir: Path = DATA) -> list[str]:
    """Texts from every available source, in a fixed order."""
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    for rel, delim, column in SOURCES:
        path = data_dir / rel
        if not path.exists():
            print(f"[bench_normalize] skipping missing {path}")
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter=delim):
                text = row.get(column)
                if text:
                    texts.append(text)
    return texts


def _once(fn, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for t in texts:
        fn(t)
    return time.perf_counter() - t0


def run(repeats: int = 3, texts: list[str] | None = None) -> dict:
    """Time both normalisers; returns docs/s, Mchar/s and the speed ratio."""
    from hazm import Normalizer

    from pipeline.normalize import normalize

    texts = load_corpus() if texts is None else texts
    if not texts:
        print("[bench_normalize] no corpus found; nothing to measure")
        return {"docs": 0}
    chars = sum(map(len, texts))
    hazm_norm = Normalizer()  # one instance, as a careful user would
    normalize(texts[0])  # first-use loading (emoji map, lexicon) outside the timing
    hazm_norm.normalize(texts[0])
    ours = theirs = float("inf")
    for _ in range(repeats):  # interleaved, so load changes on the machine hit both alike
        ours = min(ours, _once(normalize, texts))
        theirs = min(theirs, _once(hazm_norm.normalize, texts))
    result = {
        "docs": len(texts),
        "chars": chars,
        "repeats": repeats,
        "ours_docs_per_s": len(texts) / ours,
        "ours_mchar_per_s": chars / ours / 1e6,
        "hazm_docs_per_s": len(texts) / theirs,
        "hazm_mchar_per_s": chars / theirs / 1e6,
        "ratio": theirs / ours,
    }
    print(
        f"corpus: {len(texts)} docs, {chars / 1e6:.2f} Mchar, best of {repeats}\n"
        f"pipeline.normalize (PII on): {result['ours_docs_per_s']:>9,.0f} docs/s "
        f"{result['ours_mchar_per_s']:.2f} Mchar/s\n"
        f"hazm Normalizer.normalize:   {result['hazm_docs_per_s']:>9,.0f} docs/s "
        f"{result['hazm_mchar_per_s']:.2f} Mchar/s\n"
        f"ratio: {result['ratio']:.1f}x"
    )
    return result


if __name__ == "__main__":
    run()
