"""Complaint detection and multi-label theme classification in one linear estimator.

:class:`FeedbackClassifier` answers two questions for every record: *is it a complaint* (a
calibrated probability) and *about what* (a calibrated probability per taxonomy theme, a
per-theme threshold tuned on out-of-fold predictions, abstention when nothing is confident).

How it works
------------
* Features: :class:`pipeline.features.FeedbackFeatures` (word + char_wb TF-IDF, seed-lexicon
  counts per theme, negation/contrast-aware polarity counts), computed from one tokenisation.
* One L2 logistic regression for the complaint target and one per theme. Theme models are
  trained on complaint rows only (by default): a theme answers "what is this complaint about",
  so praise of the food in a mixed message does not count as a food-quality signal.
* Calibration: Platt scaling fitted on out-of-fold decision values (``calibration_cv`` folds),
  applied to the model refitted on all data (like ``CalibratedClassifierCV(ensemble=False)``).
* Thresholds: per theme, the F1-maximising cut-off on the out-of-fold calibrated probabilities
  of complaint rows, stored in ``thresholds_``.
* Cold start: a taxonomy theme with fewer than ``min_theme_positives`` labelled examples is
  learnt from weak labels (complaint rows whose text contains one of its seed keywords); with
  too few of those as well, its probability comes from a seed-match rule. ``theme_sources_``
  records which of ``labelled``/``weak``/``rule`` each theme uses.

Prediction is one sparse matrix product for all targets, so cost is dominated by tokenising.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from pipeline.features import FeedbackFeatures, analyze_texts

__all__ = ["PREDICTION_COLUMNS", "FeedbackClassifier"]

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = [
    "complaint_proba",
    "is_complaint",
    "themes",
    "theme_proba",
    "needs_review",
    "top_theme",
]

#: Probability a cold-start ("rule") theme gets from 0, 1, 2, 3+ seed matches in a complaint.
_RULE_PROBA = np.array([0.02, 0.7, 0.85, 0.9], dtype=np.float64)
_THRESHOLD_GRID = np.round(np.arange(0.15, 0.851, 0.05), 2)


class FeedbackClassifier(ClassifierMixin, BaseEstimator):
    """Complaint detector + multi-label theme classifier for Persian and Arabic feedback.

    Parameters
    ----------
    taxonomy : dict or None
        ``Taxonomy.to_dict()`` of the themes to learn; ``None`` loads the shipped taxonomy at fit.
    features : FeedbackFeatures or None
        Unfitted feature extractor (cloned at fit; its taxonomy is set from ``taxonomy``).
    C_complaint, C_theme : float
        Inverse L2 regularisation of the complaint and theme logistic regressions.
    theme_rows : {"complaints", "all"}
        Train theme models on complaint rows only, or on every row (non-complaints negative).
    calibration : {"sigmoid", "none"}
        Platt scaling on out-of-fold decision values, or raw logistic probabilities.
    calibration_cv : int
        Folds for the out-of-fold predictions used by calibration and threshold tuning.
    tune_thresholds : bool
        Tune a per-theme threshold on out-of-fold predictions (else 0.5 for every theme).
    min_theme_positives : int
        Below this many labelled positives a theme is learnt from seed-keyword weak labels.
    min_weak_positives : int
        Below this many weak positives too, a theme uses the seed-match rule.
    complaint_threshold : float
        Complaint decision threshold on the calibrated probability.
    review_band : float
        Records with ``|complaint_proba - complaint_threshold| < review_band`` need review.
    random_state : int
        Seed of the calibration folds (all solvers used are deterministic).

    Attributes
    ----------
    themes_ : list of str
        Theme ids in taxonomy order.
    taxonomy_ : dict
        The taxonomy the model was trained with.
    thresholds_ : dict of str to float
        Per-theme probability threshold.
    theme_sources_ : dict of str to str
        ``labelled``, ``weak`` or ``rule`` per theme.
    features_ : FeedbackFeatures
        Fitted feature extractor.
    coef_ : ndarray of shape (n_features, 1 + n_themes), float32
        Column 0 is the complaint model, then one column per theme.
    intercept_ : ndarray of shape (1 + n_themes,)
    calibration_ : ndarray of shape (1 + n_themes, 2)
        Platt slope and offset applied to each column's decision value.
    classes_ : ndarray
        ``[False, True]`` (the complaint target).

    Examples
    --------
    >>> import pandas as pd
    >>> from pipeline.classify import FeedbackClassifier
    >>> texts = ["پیک یک ساعت دیر رسید", "غذا عالی بود ممنون"] * 6
    >>> y = pd.DataFrame({"complaint": [True, False] * 6, "themes": [["delivery"], []] * 6})
    >>> clf = FeedbackClassifier(calibration="none", tune_thresholds=False).fit(texts, y)
    >>> bool(clf.predict_frame(["سفارش خیلی دیر رسید"]).loc[0, "is_complaint"])
    True
    """

    def __init__(
        self,
        *,
        taxonomy: dict | None = None,
        features: FeedbackFeatures | None = None,
        C_complaint: float = 4.0,
        C_theme: float = 4.0,
        theme_rows: str = "complaints",
        calibration: str = "sigmoid",
        calibration_cv: int = 3,
        tune_thresholds: bool = True,
        min_theme_positives: int = 10,
        min_weak_positives: int = 5,
        complaint_threshold: float = 0.5,
        review_band: float = 0.1,
        random_state: int = 0,
    ):
        self.taxonomy = taxonomy
        self.features = features
        self.C_complaint = C_complaint
        self.C_theme = C_theme
        self.theme_rows = theme_rows
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.tune_thresholds = tune_thresholds
        self.min_theme_positives = min_theme_positives
        self.min_weak_positives = min_weak_positives
        self.complaint_threshold = complaint_threshold
        self.review_band = review_band
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        texts: Sequence[str],
        y: pd.DataFrame | None = None,
        *,
        sample_weight: Sequence[float] | None = None,
        normalized: bool = False,
    ) -> Self:
        """Fit on texts (raw or normalised) and labels.

        Parameters
        ----------
        texts : sequence of str
        y : DataFrame with columns ``complaint`` (bool) and ``themes`` (list of theme ids)
        sample_weight : sequence of float, optional
            E.g. a higher weight for analyst-labelled rows added by active learning.
        normalized : bool
            ``texts`` already went through ``normalize`` (skips it; training uses this to
            normalise once for all cross-validation folds).
        """
        if y is None:
            raise ValueError(
                "FeedbackClassifier.fit needs labels: y with columns complaint, themes"
            )
        if self.theme_rows not in {"complaints", "all"}:
            raise ValueError(f"theme_rows must be 'complaints' or 'all', got {self.theme_rows!r}")
        if self.calibration not in {"sigmoid", "none"}:
            raise ValueError(f"calibration must be 'sigmoid' or 'none', got {self.calibration!r}")
        from pipeline.taxonomy import load_taxonomy

        texts = list(texts)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} label rows")
        self.taxonomy_ = self.taxonomy if self.taxonomy is not None else load_taxonomy().to_dict()
        self.themes_ = [t["id"] for t in self.taxonomy_["themes"]]
        self.classes_ = np.array([False, True])
        yc = np.asarray(y["complaint"], dtype=bool)
        Y = self._theme_matrix(y["themes"])
        w = (
            np.ones(len(texts), dtype=np.float64)
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64)
        )

        docs = analyze_texts(texts, normalized=normalized)
        feats = clone(self.features) if self.features is not None else FeedbackFeatures()
        feats.set_params(taxonomy=self.taxonomy_)

        # Which themes are learnt from labels, from seed weak labels, or by rule.
        seed_hits = _seed_counts(self.taxonomy_, docs)
        self.theme_sources_ = {}
        for t, theme in enumerate(self.themes_):
            if Y[:, t].sum() >= self.min_theme_positives:
                self.theme_sources_[theme] = "labelled"
                continue
            weak = Y[:, t] | (yc & (seed_hits[:, t] > 0))
            Y[:, t] = weak
            self.theme_sources_[theme] = "weak" if weak.sum() >= self.min_weak_positives else "rule"
        learnt = [t for t, th in enumerate(self.themes_) if self.theme_sources_[th] != "rule"]

        # Out-of-fold decision values: calibration and thresholds.
        n_targets = 1 + len(self.themes_)
        calibration = np.tile([1.0, 0.0], (n_targets, 1))
        thresholds = {theme: 0.5 for theme in self.themes_}
        need_oof = self.calibration == "sigmoid" or self.tune_thresholds
        if need_oof and _enough_for_cv(yc, self.calibration_cv):
            oof = np.zeros((len(texts), n_targets))
            folds = StratifiedKFold(
                self.calibration_cv, shuffle=True, random_state=self.random_state
            )
            for tr, te in folds.split(np.zeros(len(yc)), yc):
                f = clone(feats)
                X_tr = f.fit_transform([docs[i] for i in tr])
                coef, icpt = self._fit_targets(X_tr, yc[tr], Y[tr], w[tr], learnt)
                oof[te] = f.transform([docs[i] for i in te]) @ coef + icpt
            if self.calibration == "sigmoid":
                calibration[0] = _platt(oof[:, 0], yc, w)
                rows = yc if self.theme_rows == "complaints" else np.ones_like(yc)
                for t in learnt:
                    if Y[rows, t].any() and not Y[rows, t].all():
                        calibration[1 + t] = _platt(oof[rows, 1 + t], Y[rows, t], w[rows])
            if self.tune_thresholds:
                for t in learnt:
                    theme = self.themes_[t]
                    if self.theme_sources_[theme] != "labelled":
                        continue
                    a, b = calibration[1 + t]
                    p = expit(a * oof[yc, 1 + t] + b)
                    thresholds[theme] = _best_threshold(p, Y[yc, t])

        # Final fit on everything.
        self.features_ = feats
        X = feats.fit_transform(docs)
        coef, icpt = self._fit_targets(X, yc, Y, w, learnt)
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = icpt.astype(np.float64)
        self.calibration_ = calibration.astype(np.float64)
        self.thresholds_ = {theme: float(thresholds[theme]) for theme in self.themes_}
        self.n_features_in_ = 1
        return self

    def _theme_matrix(self, themes: pd.Series) -> np.ndarray:
        idx = {t: i for i, t in enumerate(self.themes_)}
        Y = np.zeros((len(themes), len(self.themes_)), dtype=bool)
        unknown: set[str] = set()
        for r, ts in enumerate(themes):
            for t in ts if isinstance(ts, (list, tuple, np.ndarray)) else ():
                if t in idx:
                    Y[r, idx[t]] = True
                else:
                    unknown.add(t)
        if unknown:
            log.warning("labels use theme(s) not in the taxonomy, ignored: %s", sorted(unknown))
        return Y

    def _fit_targets(self, X, yc, Y, w, learnt) -> tuple[np.ndarray, np.ndarray]:
        """Fit the complaint model and each learnt theme model; returns (coef, intercept)."""
        n_targets = 1 + Y.shape[1]
        coef = np.zeros((X.shape[1], n_targets), dtype=np.float64)
        icpt = np.full(n_targets, -10.0)
        coef[:, 0], icpt[0] = _fit_lr(X, yc, w, self.C_complaint)
        rows = yc if self.theme_rows == "complaints" else np.ones_like(yc)
        Xr = X[rows]
        for t in learnt:
            yt = Y[rows, t]
            if yt.all() or not yt.any():
                icpt[1 + t] = 10.0 if yt.all() else -10.0
                continue
            coef[:, 1 + t], icpt[1 + t] = _fit_lr(Xr, yt, w[rows], self.C_theme)
        return coef, icpt

    # -------------------------------------------------------------- predict
    def _probabilities(self, texts: Sequence[str], normalized: bool = False):
        check_is_fitted(self)
        docs = analyze_texts(texts, normalized=normalized)
        X = self.features_.transform(docs)
        S = X @ self.coef_ + self.intercept_
        P = expit(S * self.calibration_[:, 0] + self.calibration_[:, 1])
        rule = [t for t, th in enumerate(self.themes_) if self.theme_sources_[th] == "rule"]
        if rule:
            hits = np.asarray(self.features_.seed_counts(docs).todense())
            for t in rule:
                P[:, 1 + t] = _RULE_PROBA[np.minimum(hits[:, t], 3).astype(int)]
        empty = np.fromiter((len(d) == 0 for d in docs), dtype=bool, count=len(docs))
        return P, empty

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated complaint probability as an (n, 2) array (ClassifierMixin convention)."""
        P, _ = self._probabilities(list(texts))
        return np.column_stack([1 - P[:, 0], P[:, 0]])

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean complaint decision per text."""
        return self.predict_frame(texts)["is_complaint"].to_numpy()

    def predict_frame(self, texts: Sequence[str], *, normalized: bool = False) -> pd.DataFrame:
        """Per-record predictions.

        Parameters
        ----------
        texts : sequence of str
            Raw or normalised texts.
        normalized : bool
            Skip normalisation because ``texts`` already went through ``normalize`` (faster).

        Returns
        -------
        DataFrame (index 0..n-1, aligned with ``texts``) with columns ``complaint_proba``
        (float), ``is_complaint`` (bool), ``themes`` (list of ids, most probable first; empty
        for non-complaints and abstentions), ``theme_proba`` (dict id → probability),
        ``needs_review`` (bool), ``top_theme`` (str or None).
        """
        texts = list(texts)
        P, empty = self._probabilities(texts, normalized=normalized)
        pc = P[:, 0]
        is_c = (pc >= self.complaint_threshold) & ~empty
        PT = P[:, 1:]
        thr = np.array([self.thresholds_[t] for t in self.themes_])
        passed = (PT >= thr) & is_c[:, None]
        order = np.argsort(-PT, axis=1, kind="stable")
        names = np.asarray(self.themes_, dtype=object)
        themes = [
            names[o[p[o]]].tolist() if has else []
            for o, p, has in zip(order, passed, passed.any(axis=1), strict=True)
        ]
        rounded = np.round(PT, 4).tolist()
        theme_proba = [dict(zip(self.themes_, row, strict=True)) for row in rounded]
        needs_review = (is_c & ~passed.any(axis=1)) | (
            (np.abs(pc - self.complaint_threshold) < self.review_band) & ~empty
        )
        return pd.DataFrame(
            {
                "complaint_proba": pc.astype(np.float64),
                "is_complaint": is_c,
                "themes": themes,
                "theme_proba": theme_proba,
                "needs_review": needs_review,
                "top_theme": [ts[0] if ts else None for ts in themes],
            }
        )


# ---------------------------------------------------------------------------
# Private helpers
# ---------------------------------------------------------------------------


def _seed_counts(taxonomy: dict, docs) -> np.ndarray:
    from pipeline.features import SeedLexicon

    return np.asarray(SeedLexicon(taxonomy=taxonomy).fit().transform(docs).todense())


def _fit_lr(X, y, w, C) -> tuple[np.ndarray, float]:
    lr = LogisticRegression(C=C, solver="liblinear", max_iter=1000, random_state=0)
    lr.fit(X, y, sample_weight=w)
    return lr.coef_[0], float(lr.intercept_[0])


def _platt(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a*s + b), fitted on out-of-fold decision values."""
    lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    lr.fit(scores.reshape(-1, 1), y, sample_weight=w)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """F1-maximising threshold on a fixed grid; ties go to the value nearest 0.5."""
    if not y.any():
        return 0.5
    best, best_f1 = 0.5, -1.0
    for thr in sorted(_THRESHOLD_GRID, key=lambda t: (abs(t - 0.5), t)):
        pred = p >= thr
        tp = float((pred & y).sum())
        f1 = 2 * tp / (pred.sum() + y.sum()) if (pred.sum() + y.sum()) else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = float(thr), f1
    return best


def _enough_for_cv(y: np.ndarray, k: int) -> bool:
    return k >= 2 and min(y.sum(), (~y).sum()) >= k
