"""Active learning: pick the records the model is least sure about, for an analyst to label.

The export is in the labelled-data contract (``id, text, themes, complaint``) with the model's
guesses pre-filled, plus ``complaint_proba`` and ``uncertainty`` columns to help the analyst.
After correcting it, ``complaints train --data ... --extra review.csv`` retrains with it.

Uncertainty of a record is the larger of
* complaint uncertainty ``1 - |2 p - 1|`` (1 at p = 0.5), and
* theme uncertainty, weighted by the complaint probability: for the theme whose probability is
  closest to its threshold, ``1 - |p_t - thr_t| / max(thr_t, 1 - thr_t)``; a likely complaint
  with no theme above threshold scores at least 0.5 (abstentions are worth labelling).

Exact duplicate texts are exported once. Ties are broken by id, so the output is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["review_export", "uncertainty"]


def uncertainty(model, pred: pd.DataFrame) -> np.ndarray:
    """Per-record uncertainty in [0, 1] from ``predict_frame`` output."""
    pc = pred["complaint_proba"].to_numpy(dtype=float)
    u_c = 1.0 - np.abs(2.0 * pc - 1.0)
    themes = list(model.themes_)
    PT = np.array([[row[t] for t in themes] for row in pred["theme_proba"]], dtype=float)
    PT = PT.reshape(len(pred), len(themes))
    thr = np.array([model.thresholds_[t] for t in themes], dtype=float)
    margin = np.abs(PT - thr) / np.maximum(thr, 1.0 - thr)
    u_t = 1.0 - margin.min(axis=1) if len(themes) else np.zeros(len(pred))
    abstain = ~(PT >= thr).any(axis=1) if len(themes) else np.ones(len(pred), dtype=bool)
    u_t = np.where(abstain, np.maximum(u_t, 0.5), u_t)
    return np.clip(np.maximum(u_c, pc * u_t), 0.0, 1.0)


def review_export(model, texts: Sequence[str], ids: Sequence[str], n: int) -> pd.DataFrame:
    """The ``n`` records the model is least sure about, least sure first.

    Parameters
    ----------
    model : fitted FeedbackClassifier
    texts, ids : aligned sequences (raw texts are fine)
    n : how many to export

    Returns
    -------
    DataFrame with columns ``id, text, themes, complaint`` (the model's guess, for the analyst
    to correct), ``complaint_proba`` and ``uncertainty``.
    """
    texts = [t if isinstance(t, str) else "" for t in texts]
    ids = [str(i) for i in ids]
    if len(texts) != len(ids):
        raise ValueError(f"{len(texts)} texts but {len(ids)} ids")
    frame = pd.DataFrame({"id": ids, "text": texts})
    frame = frame[frame["text"].str.strip() != ""]
    frame = frame.drop_duplicates("text", keep="first").reset_index(drop=True)
    if frame.empty or n <= 0:
        return pd.DataFrame(
            columns=["id", "text", "themes", "complaint", "complaint_proba", "uncertainty"]
        )
    pred = model.predict_frame(frame["text"].tolist())
    frame["themes"] = [sorted(ts) for ts in pred["themes"]]
    frame["complaint"] = pred["is_complaint"].to_numpy(dtype=bool)
    frame["complaint_proba"] = np.round(pred["complaint_proba"].to_numpy(dtype=float), 4)
    frame["uncertainty"] = np.round(uncertainty(model, pred), 4)
    frame = frame.sort_values(["uncertainty", "id"], ascending=[False, True], kind="mergesort")
    return frame.head(n).reset_index(drop=True)
