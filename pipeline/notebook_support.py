"""Small helpers the notebooks share, so that no notebook defines a function of its own.

* Where the data is: :func:`shared_data_dir` finds the real public datasets beside the checkout
  (``../shared/data``) and :func:`labelled_files` picks the labelled files to evaluate on,
  falling back to the shipped ``data/labelled`` when ``../shared`` is absent.
* Which model: :func:`model_dir_or_stand_in` is ``models/default`` when it has been trained,
  else a stand-in trained by ``complaints train``'s code into the notebook's work folder.
* Tuning: :class:`ThemeScorer` scores any estimator in a ``GridSearchCV`` or
  ``RandomizedSearchCV`` with the product's own metrics (:func:`pipeline.evaluate.score_predictions`),
  and :func:`label_matrix` / :func:`frame_from_matrix` let a plain scikit-learn multi-label
  pipeline (a baseline model family) be tuned and scored exactly like
  :class:`~pipeline.classify.FeedbackClassifier`.

Examples
--------
>>> import pandas as pd
>>> from pipeline.notebook_support import frame_from_matrix, label_matrix
>>> truth = pd.DataFrame({"complaint": [True, False], "themes": [["delivery"], []]})
>>> Y = label_matrix(truth, ["delivery", "packaging"])
>>> Y.tolist()
[[1, 1, 0], [0, 0, 0]]
>>> frame_from_matrix(Y, ["delivery", "packaging"])["themes"].tolist()
[['delivery'], []]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import DEFAULT_MODEL_DIR, PROJECT_ROOT
from pipeline.evaluate import score_predictions

__all__ = [
    "SHARED_ENV",
    "ThemeScorer",
    "frame_from_matrix",
    "label_matrix",
    "labelled_files",
    "model_dir_or_stand_in",
    "shared_data_dir",
]

#: Environment variable that overrides where the real datasets are (default ../shared/data).
SHARED_ENV = "PIPELINE_SHARED_DATA"
SHIPPED_LABELLED = PROJECT_ROOT / "data" / "labelled"


def shared_data_dir() -> Path | None:
    """The real public datasets (``$PIPELINE_SHARED_DATA`` or ``../shared/data``), or ``None``.

    They are for evaluation only: the shipped model is never trained on them.
    """
    override = os.environ.get(SHARED_ENV)
    path = Path(override) if override else PROJECT_ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


def labelled_files(*, prefer_shared: bool = True) -> tuple[list[Path], str]:
    """Labelled files to evaluate on, and where they come from.

    Returns
    -------
    (files, origin)
        ``../shared/data/labelled/*.jsonl`` with origin ``"shared"`` when present and
        ``prefer_shared``; else the shipped ``data/labelled/*.jsonl`` with origin ``"shipped"``
        (the training data of the default model: score it out of fold, not with that model).
    """
    shared = shared_data_dir() if prefer_shared else None
    if shared is not None:
        files = sorted((shared / "labelled").glob("*.jsonl"))
        if files:
            return files, "shared"
    return sorted(SHIPPED_LABELLED.glob("*.jsonl")), "shipped"


def model_dir_or_stand_in(
    workdir: str | Path, *, rows: int | None = None, seed: int = 0
) -> tuple[Path, str]:
    """The shipped model's folder, or a stand-in trained into ``workdir`` when it is missing.

    Parameters
    ----------
    workdir : folder the notebook may write to (the stand-in goes to ``workdir/models/stand-in``)
    rows : train the stand-in on a seeded random subset of this many shipped labelled rows
        (``None``: all of them)
    seed : seed of the subset and of the estimator

    Returns
    -------
    (model_dir, origin)
        ``origin`` is ``"default"`` or ``"stand-in"``. The stand-in is trained and saved by
        :func:`pipeline.train.train_model`, the code behind ``complaints train``; an existing
        stand-in in ``workdir`` is reused.
    """
    if (DEFAULT_MODEL_DIR / "model.json").is_file():
        return DEFAULT_MODEL_DIR, "default"
    from pipeline.labelled import write_labelled_csv
    from pipeline.train import load_training_frame, train_model

    out = Path(workdir) / "models" / "stand-in"
    if (out / "model.json").is_file():
        return out, "stand-in"
    frame = load_training_frame(sorted(SHIPPED_LABELLED.glob("*.jsonl")))
    if rows is not None and len(frame) > rows:
        frame = frame.sample(n=rows, random_state=seed).sort_values("id")
    out.mkdir(parents=True, exist_ok=True)
    rows_file = out.parent / "stand-in-rows.csv"
    write_labelled_csv(frame[["id", "text", "themes", "complaint"]], rows_file)
    train_model([rows_file], out, seed=seed, cv_folds=0)
    return out, "stand-in"


def label_matrix(frame: pd.DataFrame, themes: Sequence[str]) -> np.ndarray:
    """Labels as a 0/1 matrix: column 0 is ``complaint``, then one column per theme.

    The target of a plain multi-label scikit-learn pipeline (e.g. ``OneVsRestClassifier``).
    Themes outside ``themes`` are dropped.
    """
    themes = list(themes)
    Y = np.zeros((len(frame), 1 + len(themes)), dtype=np.int64)
    Y[:, 0] = np.asarray(frame["complaint"], dtype=bool)
    index = {t: i for i, t in enumerate(themes)}
    for r, ts in enumerate(frame["themes"]):
        for t in ts:
            if t in index:
                Y[r, 1 + index[t]] = 1
    return Y


def frame_from_matrix(Y, themes: Sequence[str], scores=None) -> pd.DataFrame:
    """Predictions in the shape of ``FeedbackClassifier.predict_frame`` from a 0/1 matrix.

    Parameters
    ----------
    Y : array (n, 1 + len(themes)), column 0 the complaint decision
    themes : theme ids of columns 1..
    scores : optional array like ``Y`` of scores in [0, 1] (column 0 becomes
        ``complaint_proba``; otherwise the 0/1 decision is used)

    A non-complaint gets no themes, as in the product's contract.
    """
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[1] != 1 + len(themes):
        raise ValueError(f"expected a matrix with {1 + len(themes)} columns, got shape {Y.shape}")
    is_c = Y[:, 0].astype(bool)
    names = list(themes)
    theme_lists = [
        [names[j] for j in np.flatnonzero(row[1:])] if c else []
        for row, c in zip(Y, is_c, strict=True)
    ]
    proba = np.asarray(scores, dtype=float)[:, 0] if scores is not None else is_c.astype(float)
    return pd.DataFrame(
        {
            "complaint_proba": proba,
            "is_complaint": is_c,
            "themes": theme_lists,
            "needs_review": np.zeros(len(Y), dtype=bool),
            "top_theme": [ts[0] if ts else None for ts in theme_lists],
        }
    )


class ThemeScorer:
    """Multi-metric scorer for scikit-learn searches: ``scoring=ThemeScorer(themes)``.

    Works with a :class:`~pipeline.classify.FeedbackClassifier` (``y`` a labelled DataFrame,
    predictions from ``predict_frame``) and with any estimator whose ``predict`` returns the
    :func:`label_matrix` layout (``y`` that matrix). One prediction per call, scored by
    :func:`pipeline.evaluate.score_predictions`, so every family gets the same numbers.

    Returns a dict: ``complaint_f1``, ``theme_macro_f1``, ``theme_micro_f1`` and ``f1_<theme>``
    for each theme; use e.g. ``refit="theme_macro_f1"``.

    Parameters
    ----------
    themes : theme ids, in the column order of :func:`label_matrix`
    """

    def __init__(self, themes: Sequence[str]):
        self.themes = list(themes)

    def __call__(self, estimator, X, y) -> dict[str, float]:
        X = list(X)
        if hasattr(estimator, "predict_frame"):
            pred = estimator.predict_frame(X)
            truth = pd.DataFrame(y).reset_index(drop=True)
        else:
            pred = frame_from_matrix(estimator.predict(X), self.themes)
            truth = frame_from_matrix(np.asarray(y), self.themes)
            truth = truth.rename(columns={"is_complaint": "complaint"})
        scores = score_predictions(truth, pred, self.themes)
        out = {
            "complaint_f1": scores["complaint_f1"],
            "theme_macro_f1": scores["theme_macro_f1"],
            "theme_micro_f1": scores["theme_micro_f1"],
        }
        for theme in self.themes:
            out[f"f1_{theme}"] = scores["per_theme"].get(theme, {}).get("f1", 0.0)
        return out

    def __repr__(self) -> str:
        return f"ThemeScorer(themes={self.themes!r})"
