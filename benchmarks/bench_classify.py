"""The classify path against the path a user following hazm's and scikit-learn's docs would write.

Both run in this process, one after the other, on the same synthetic corpus, single-threaded:

- **shipped**: :func:`pipeline.run.process_chunk` with the shipped model, i.e. normalise (with
  PII masking and language id) → features → complaint + themes, plus the display text: all
  the per-record work of a run. Also timed alone: the model's ``predict_frame`` on the raw
  texts (its own normalise → features → complaint + themes), the part the naive path does.
- **naive**: ``hazm.Normalizer`` → ``hazm.WordTokenizer`` → ``hazm.Lemmatizer`` per text →
  ``TfidfVectorizer(ngram_range=(1, 2))`` → ``LogisticRegression`` for the complaint flag and
  ``OneVsRestClassifier(LogisticRegression)`` for the themes, trained on the same project
  training data (``data/labelled/*.jsonl``).

Only prediction is timed (training and model loading are not), after a short warm-up of both.
"""

from __future__ import annotations

import glob
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.synth import ROOT, feed_path

CORPUS_SIZE = 30_000
WARMUP = 300


@dataclass
class ClassifyMeasure:
    docs: int
    shipped_s: float
    model_only_s: float
    naive_s: float
    shipped_complaint_rate: float
    naive_complaint_rate: float
    engine_s: float = float("nan")
    engine_workers: int = 1

    @property
    def ratio(self) -> float:
        return self.naive_s / self.shipped_s

    @property
    def model_only_ratio(self) -> float:
        return self.naive_s / self.model_only_s

    @property
    def engine_ratio(self) -> float:
        return self.naive_s / self.engine_s


ENGINE_CHUNK = 5_000


def _process_part(records: pd.DataFrame, shared) -> int:
    """``process_chunk`` on one part inside a local-engine worker (module level: picklable)."""
    from pipeline.run import process_chunk

    model, mask, lang = shared
    return int(process_chunk(records, model, "bench", mask, lang)["is_complaint"].sum())


def corpus(n: int = CORPUS_SIZE) -> pd.DataFrame:
    """Accepted records of a synthetic feed, as ingest hands them to ``process_chunk``."""
    from pipeline.config import IngestConfig
    from pipeline.ingest import iter_records

    chunks = [c.records for c in iter_records(str(feed_path(n)), IngestConfig(chunk_size=n))]
    return pd.concat(chunks, ignore_index=True)


class NaivePipeline:
    """What the hazm and scikit-learn tutorials lead to, trained on ``data/labelled``."""

    def fit(self, texts: list[str], complaint: np.ndarray, themes: list[list[str]]) -> NaivePipeline:
        from hazm import Lemmatizer, Normalizer, WordTokenizer
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        self.normalizer_ = Normalizer()
        self.tokenizer_ = WordTokenizer()
        self.lemmatizer_ = Lemmatizer()
        self.vectorizer_ = TfidfVectorizer(ngram_range=(1, 2))
        X = self.vectorizer_.fit_transform(self.preprocess(texts))
        self.complaint_ = LogisticRegression(max_iter=1000).fit(X, complaint)
        self.binarizer_ = MultiLabelBinarizer()
        Y = self.binarizer_.fit_transform(themes)
        self.themes_ = OneVsRestClassifier(LogisticRegression(max_iter=1000)).fit(X, Y)
        return self

    def preprocess(self, texts: list[str]) -> list[str]:
        return [
            " ".join(self.lemmatizer_.lemmatize(w) for w in self.tokenizer_.tokenize(self.normalizer_.normalize(t)))
            for t in texts
        ]

    def predict(self, texts: list[str]) -> pd.DataFrame:
        X = self.vectorizer_.transform(self.preprocess(texts))
        proba = self.complaint_.predict_proba(X)[:, 1]
        theme_proba = self.themes_.predict_proba(X)
        names = self.binarizer_.classes_
        themes = [list(names[row >= 0.5]) for row in theme_proba]
        return pd.DataFrame({"is_complaint": proba >= 0.5, "complaint_proba": proba, "themes": themes})


def train_naive() -> NaivePipeline:
    from pipeline.labelled import read_labelled

    paths = sorted(glob.glob(str(ROOT / "data" / "labelled" / "*.jsonl")))
    frame = pd.concat([read_labelled(p) for p in paths], ignore_index=True)
    return NaivePipeline().fit(
        frame["text"].tolist(), frame["complaint"].to_numpy(bool), frame["themes"].tolist()
    )


def run(n: int = CORPUS_SIZE, *, model_dir: Path | None = None) -> ClassifyMeasure:
    from pipeline.config import Config
    from pipeline.model_io import load_model
    from pipeline.run import process_chunk

    config = Config()
    records = corpus(n)
    texts = records["text"].tolist()
    model = load_model(model_dir or config.run.model_dir)
    mask = frozenset(config.normalize.mask_pii)
    naive = train_naive()

    process_chunk(records.head(WARMUP), model, "bench", mask, config.normalize.lang)
    naive.predict(texts[:WARMUP])

    start = time.perf_counter()
    shipped = process_chunk(records, model, "bench", mask, config.normalize.lang)
    shipped_s = time.perf_counter() - start

    start = time.perf_counter()
    model.predict_frame(texts)
    model_only_s = time.perf_counter() - start

    start = time.perf_counter()
    baseline = naive.predict(texts)
    naive_s = time.perf_counter() - start

    # The same per-record work as a run does it: parts on every core of the local engine
    # (pool start-up and shipping the model to each worker included in the time).
    from pipeline.engine import LocalEngine

    parts = [records.iloc[i : i + ENGINE_CHUNK] for i in range(0, len(records), ENGINE_CHUNK)]
    start = time.perf_counter()
    with LocalEngine() as engine:
        workers = engine.n_workers()
        engine_complaints = sum(engine.map(_process_part, parts, (model, mask, config.normalize.lang)))
        engine_s = time.perf_counter() - start
    if engine_complaints != int(shipped["is_complaint"].sum()):
        raise RuntimeError("the local engine and process_chunk disagree")

    return ClassifyMeasure(
        docs=len(records),
        shipped_s=shipped_s,
        model_only_s=model_only_s,
        naive_s=naive_s,
        shipped_complaint_rate=float(shipped["is_complaint"].mean()),
        naive_complaint_rate=float(baseline["is_complaint"].mean()),
        engine_s=engine_s,
        engine_workers=workers,
    )


if __name__ == "__main__":
    m = run()
    print(
        f"{m.docs} docs: shipped {m.shipped_s:.2f} s ({m.docs / m.shipped_s:,.0f} docs/s), "
        f"model only {m.model_only_s:.2f} s, naive {m.naive_s:.2f} s ({m.docs / m.naive_s:,.0f} docs/s): "
        f"{m.ratio:.1f}x ({m.model_only_ratio:.1f}x model only; {m.engine_ratio:.1f}x on "
        f"{m.engine_workers} local-engine workers)"
    )
