"""Training: read labelled files, cross-validate, fit on everything, save with a sidecar.

``complaints train --data A.jsonl --data B.jsonl [--extra review.csv] --out models/x`` calls
:func:`train_model`. Stratified k-fold cross-validation (strata: complaint × first theme) gives
out-of-fold predictions of the *whole* fitting procedure (features, calibration, threshold
tuning), scored into per-theme precision/recall/F1 and a confusion summary that go into the
model's sidecar. Training is deterministic: the same data, taxonomy and seed give a
byte-identical ``model.joblib``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from pipeline.classify import FeedbackClassifier
from pipeline.config import PROJECT_ROOT
from pipeline.evaluate import score_predictions
from pipeline.features import FeedbackFeatures
from pipeline.labelled import LabelledDataError, read_many
from pipeline.model_io import file_sha256, load_sidecar, save_model
from pipeline.taxonomy import load_taxonomy

__all__ = [
    "DEFAULT_PARAMS",
    "EXTRA_WEIGHT",
    "cross_validate",
    "data_hash",
    "load_training_frame",
    "split_weight",
    "train_model",
]

log = logging.getLogger(__name__)

#: Estimator settings of the shipped model (chosen by cross-validation on data/labelled).
DEFAULT_PARAMS: dict = {"C_complaint": 16.0, "C_theme": 16.0}
#: Feature settings of the shipped model (``FeedbackFeatures`` parameters; empty = its defaults).
DEFAULT_FEATURES: dict = {}
#: Sample weight of rows from ``--extra`` files (analyst labels on the company's own text).
EXTRA_WEIGHT = 3.0


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the training rows in a canonical form (id, text, sorted themes, complaint)."""
    digest = hashlib.sha256()
    for row in frame[["id", "text", "themes", "complaint", "weight"]].itertuples(index=False):
        digest.update(
            json.dumps(
                [row.id, row.text, sorted(row.themes), bool(row.complaint), float(row.weight)],
                ensure_ascii=False,
            ).encode("utf-8")
        )
        digest.update(b"\n")
    return digest.hexdigest()


def split_weight(spec: str | Path) -> tuple[Path, float]:
    """``"FILE@W"`` → (FILE, W); a plain path has weight 1.

    The shipped model weights the hand-written files above the phrase-bank files, because
    they are closer to what customers really type (chosen by ``benchmarks/tune_transfer.py``).
    """
    text = str(spec)
    path, sep, weight = text.rpartition("@")
    if not sep:
        return Path(text), 1.0
    try:
        value = float(weight)
    except ValueError:
        return Path(text), 1.0  # an '@' that is part of the file name
    if not value > 0:
        raise LabelledDataError(f"weight of {path} must be > 0, got {weight!r}")
    return Path(path), value


def load_training_frame(
    data: Sequence[Path | str], extra: Sequence[Path] = (), *, extra_weight: float = EXTRA_WEIGHT
) -> pd.DataFrame:
    """Labelled rows from ``data`` then ``extra`` (an extra row replaces a same-id data row),
    with a ``weight`` column: a data file's own weight (``FILE@W``, default 1), and
    ``extra_weight`` for extra rows; ``is_extra`` marks the rows that came from ``extra``."""
    parts = [split_weight(spec) for spec in data]
    frames = [read_many([path]).assign(weight=weight, is_extra=False) for path, weight in parts]
    if extra:
        frames.append(read_many(list(extra)).assign(weight=float(extra_weight), is_extra=True))
    frame = pd.concat(frames, ignore_index=True)
    return frame.drop_duplicates("id", keep="last").reset_index(drop=True)


def normalize_texts(texts) -> list[str]:
    """Normalise once (``normalize`` is idempotent; fitting folds then skip it)."""
    from pipeline.normalize import normalize

    return [normalize(t) for t in texts]


def _strata(frame: pd.DataFrame, k: int) -> np.ndarray:
    label = np.where(
        frame["complaint"],
        "c:" + frame["themes"].map(lambda ts: ts[0] if ts else "-"),
        "n",
    )
    counts = pd.Series(label).value_counts()
    rare = set(counts[counts < k].index)
    return np.array(
        [("c:rare" if lab.startswith("c:") else lab) if lab in rare else lab for lab in label]
    )


def cross_validate(
    model: FeedbackClassifier, frame: pd.DataFrame, *, folds: int, seed: int
) -> tuple[dict, pd.DataFrame]:
    """Stratified k-fold out-of-fold predictions of ``model`` on ``frame`` and their scores."""
    frame = frame.reset_index(drop=True)
    texts = normalize_texts(frame["text"])
    strata = _strata(frame, folds)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    parts = []
    for fold, (tr, te) in enumerate(splitter.split(np.zeros(len(frame)), strata)):
        train = frame.iloc[tr]
        fitted = clone(model).fit(
            [texts[i] for i in tr],
            train,
            sample_weight=train["weight"].to_numpy(),
            normalized=True,
        )
        pred = fitted.predict_frame([texts[i] for i in te], normalized=True)
        pred.index = te
        parts.append(pred.assign(fold=fold))
        log.info("cv fold %d/%d done", fold + 1, folds)
    oof = pd.concat(parts).sort_index()
    themes = [t["id"] for t in (model.taxonomy or load_taxonomy().to_dict())["themes"]]
    metrics = score_predictions(frame, oof, themes)
    if "lang" in frame and frame["lang"].notna().any():
        metrics["by_lang"] = {
            str(lang): {
                k: v
                for k, v in score_predictions(frame[m], oof[m], themes).items()
                if k not in {"per_theme", "confusion"}
            }
            for lang in sorted(frame["lang"].dropna().unique())
            for m in [(frame["lang"] == lang).to_numpy()]
        }
    metrics["folds"] = folds
    return metrics, oof


def _display_path(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def train_model(
    data: list[Path],
    out_dir: Path,
    *,
    extra: Sequence[Path] = (),
    taxonomy_path: Path | None = None,
    seed: int = 0,
    cv_folds: int = 5,
    params: dict | None = None,
    extra_weight: float = EXTRA_WEIGHT,
) -> dict:
    """Cross-validate, fit on all rows, and save model + sidecar in ``out_dir``.

    Parameters
    ----------
    data : labelled files (JSONL or CSV contract); ``FILE@W`` gives a file's rows weight W
    out_dir : model directory to write
    extra : further labelled files (e.g. an analyst's corrected review export); their rows
        replace same-id rows of ``data`` and get weight ``extra_weight``
    taxonomy_path : taxonomy TOML (default: the shipped taxonomy)
    seed : seed of the CV splits and of the estimator
    cv_folds : folds for the reported cross-validation (0 or 1 skips it)
    params : estimator parameters overriding :data:`DEFAULT_PARAMS`

    Returns
    -------
    The sidecar dict written next to the model.
    """
    weighted = [split_weight(p) for p in data]
    extra = [Path(p) for p in extra]
    frame = load_training_frame(data, extra, extra_weight=extra_weight)
    taxonomy = load_taxonomy(taxonomy_path).to_dict()
    settings = {**DEFAULT_PARAMS, **(params or {})}
    if DEFAULT_FEATURES and "features" not in settings:
        settings["features"] = FeedbackFeatures(**DEFAULT_FEATURES)
    model = FeedbackClassifier(taxonomy=taxonomy, random_state=seed, **settings)
    metrics: dict = {}
    if cv_folds and cv_folds >= 2:
        metrics["cv"], _ = cross_validate(model, frame, folds=cv_folds, seed=seed)
    fitted = model.fit(
        normalize_texts(frame["text"]),
        frame,
        sample_weight=frame["weight"].to_numpy(),
        normalized=True,
    )
    files = [
        {"path": _display_path(p), "role": "data", "weight": w, "sha256": file_sha256(p)}
        for p, w in weighted
    ] + [
        {"path": _display_path(p), "role": "extra", "weight": float(extra_weight), "sha256": file_sha256(p)}
        for p in extra
    ]
    sidecar_extra = {
        "training": {
            "files": files,
            "data_hash": data_hash(frame),
            "rows": len(frame),
            "complaints": int(frame["complaint"].sum()),
            "theme_counts": {
                t: int(frame["themes"].map(lambda ts, t=t: t in ts).sum()) for t in fitted.themes_
            },
            "extra_rows": int(frame["is_extra"].sum()),
            "extra_weight": float(extra_weight),
            "seed": seed,
            "cv_folds": cv_folds,
        },
        "metrics": metrics,
    }
    save_model(fitted, out_dir, sidecar_extra=sidecar_extra)
    return load_sidecar(out_dir)
