"""Evaluation of a model on labelled data (the labelled-data contract), as plain dicts.

:func:`evaluate` predicts and scores; :func:`score_predictions` scores predictions you already
have (training uses it on out-of-fold predictions). Theme metrics count every record: a
non-complaint's true themes are ``[]``, and a predicted theme on it is a false positive.

Examples
--------
>>> import pandas as pd
>>> from pipeline.evaluate import score_predictions
>>> truth = pd.DataFrame({"complaint": [True, False], "themes": [["delivery"], []]})
>>> pred = pd.DataFrame({"is_complaint": [True, False], "complaint_proba": [0.9, 0.1],
...                      "themes": [["delivery"], []], "needs_review": [False, False]})
>>> score_predictions(truth, pred, ["delivery"])["theme_micro_f1"]
1.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["confusion_summary", "evaluate", "score_predictions"]


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _r(x: float) -> float:
    return round(float(x), 4)


def score_predictions(truth: pd.DataFrame, pred: pd.DataFrame, themes: Sequence[str]) -> dict:
    """Complaint and theme metrics for aligned truth (complaint, themes) and predictions.

    Parameters
    ----------
    truth : DataFrame with ``complaint`` (bool) and ``themes`` (list of str)
    pred : DataFrame from ``FeedbackClassifier.predict_frame`` (same length and order)
    themes : the model's theme ids; true themes outside this list are scored too (recall 0)
    """
    y = np.asarray(truth["complaint"], dtype=bool)
    p = np.asarray(pred["is_complaint"], dtype=bool)
    tp, fp, fn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum())
    tn = int((~y & ~p).sum())
    _, _, c_f1 = _prf(tp, fp, fn)
    true_sets = [set(ts) for ts in truth["themes"]]
    pred_sets = [set(ts) for ts in pred["themes"]]
    labels = list(themes) + sorted({t for s in true_sets for t in s} - set(themes))
    per_theme: dict[str, dict] = {}
    TP = FP = FN = 0
    macro = []
    for label in labels:
        t_tp = sum(
            1 for a, b in zip(true_sets, pred_sets, strict=True) if label in a and label in b
        )
        t_fp = sum(
            1 for a, b in zip(true_sets, pred_sets, strict=True) if label not in a and label in b
        )
        t_fn = sum(
            1 for a, b in zip(true_sets, pred_sets, strict=True) if label in a and label not in b
        )
        pr, rc, f1 = _prf(t_tp, t_fp, t_fn)
        support = t_tp + t_fn
        per_theme[label] = {"precision": _r(pr), "recall": _r(rc), "f1": _r(f1), "support": support}
        TP, FP, FN = TP + t_tp, FP + t_fp, FN + t_fn
        if support > 0:
            macro.append(f1)
    _, _, micro = _prf(TP, FP, FN)
    n = len(y)
    proba = np.asarray(pred["complaint_proba"], dtype=float)
    return {
        "n": n,
        "complaint_accuracy": _r((tp + tn) / n) if n else 0.0,
        "complaint_f1": _r(c_f1),
        "complaint_brier": _r(np.mean((proba - y) ** 2)) if n else 0.0,
        "theme_micro_f1": _r(micro),
        "theme_macro_f1": _r(np.mean(macro)) if macro else 0.0,
        "needs_review_rate": _r(np.mean(np.asarray(pred["needs_review"], dtype=bool)))
        if n
        else 0.0,
        "per_theme": per_theme,
        "confusion": confusion_summary(truth, pred, labels),
    }


def confusion_summary(truth: pd.DataFrame, pred: pd.DataFrame, themes: Sequence[str]) -> dict:
    """Complaint 2x2 counts, and for each true theme what the model predicted instead.

    ``themes[true_theme]`` counts, over records labelled with ``true_theme``, each predicted
    theme, plus ``"(none)"`` (a complaint with no theme) and ``"(not complaint)"``.
    """
    y = np.asarray(truth["complaint"], dtype=bool)
    p = np.asarray(pred["is_complaint"], dtype=bool)
    out: dict = {
        "complaint": {
            "true_positive": int((y & p).sum()),
            "false_positive": int((~y & p).sum()),
            "false_negative": int((y & ~p).sum()),
            "true_negative": int((~y & ~p).sum()),
        },
        "themes": {},
    }
    for label in themes:
        counts: dict[str, int] = {}
        for ts, pts, pc in zip(truth["themes"], pred["themes"], p, strict=True):
            if label not in ts:
                continue
            keys = ["(not complaint)"] if not pc else (list(pts) or ["(none)"])
            for k in keys:
                counts[k] = counts.get(k, 0) + 1
        if counts:
            out["themes"][label] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def evaluate(model, frame: pd.DataFrame) -> dict:
    """Predict ``frame["text"]`` with ``model`` and score against its labels.

    Parameters
    ----------
    model : fitted FeedbackClassifier
    frame : DataFrame in the labelled-data contract (``text``, ``complaint``, ``themes``)

    Returns
    -------
    dict with ``n``, ``complaint_accuracy``, ``complaint_f1``, ``theme_micro_f1``,
    ``theme_macro_f1`` (over themes with support > 0), ``per_theme`` ({id: precision, recall,
    f1, support}), plus ``complaint_brier``, ``needs_review_rate`` and ``confusion``.
    """
    frame = frame.reset_index(drop=True)
    pred = model.predict_frame(frame["text"].tolist())
    return score_predictions(frame, pred, model.themes_)
