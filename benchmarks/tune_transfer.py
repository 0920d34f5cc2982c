"""Transfer validation on the project's own data: does the model generalise to free-form text?

    python -m benchmarks.tune_transfer [--grid NAME] [--folds 4]

The generated training files (``data/labelled/train_*.jsonl``, composed from phrase banks)
are easy for ordinary cross-validation: near-duplicate templates land in both train and test
folds, so CV rewards memorising them. The hand-written files (``data/labelled/hand_*.jsonl``,
each message written individually) are closer to what a company's customers type. This
script trains on all generated rows plus K-1 folds of the hand-written rows and scores the
held-out hand-written fold, for each setting of a small grid; the settings of the shipped
model (:data:`pipeline.train.DEFAULT_PARAMS`) are chosen from this table, not from the real
datasets in ``../shared`` (those are only used afterwards, by ``benchmarks/eval_shared.py``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from pipeline.classify import FeedbackClassifier
from pipeline.evaluate import score_predictions
from pipeline.features import FeedbackFeatures
from pipeline.taxonomy import load_taxonomy
from pipeline.train import DEFAULT_FEATURES, DEFAULT_PARAMS, load_training_frame, normalize_texts

#: Sample weight of hand-written rows unless a grid says otherwise (the shipped recipe, `make model`).
HAND_WEIGHT = 3.0

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "data" / "labelled"

#: name -> list of (label, classifier params, feature params, hand-written row weight)
GRIDS: dict[str, list[tuple[str, dict, dict, float]]] = {
    "default": [("shipped settings", {}, {}, HAND_WEIGHT)],
    "C": [(f"C={c}", {"C_complaint": c, "C_theme": c}, {}, HAND_WEIGHT) for c in (4.0, 16.0, 32.0, 64.0)],
    "char": [
        ("char 2-5", {}, {"use_char": True, "char_ngram_range": (2, 5)}, HAND_WEIGHT),
        ("char 3-5", {}, {"use_char": True, "char_ngram_range": (3, 5)}, HAND_WEIGHT),
        ("no char", {}, {"use_char": False}, HAND_WEIGHT),
    ],
    "lexfiles": [
        ("built-in lexicons only", {}, {"lexicon_files": False}, HAND_WEIGHT),
        ("with data/lexicons", {}, {"lexicon_files": True}, HAND_WEIGHT),
    ],
    "weight": [(f"hand weight {w}", {}, {}, w) for w in (1.0, 2.0, 3.0)],
    # one set of out-of-fold predictions, scored with a top-1 fallback for abstaining complaints
    "fallback": [("shipped settings", {}, {"_fallback": (1.0, 0.75, 0.5, 0.25, 0.0)}, HAND_WEIGHT)],
    # weight of the generated (phrase-bank) rows against the hand-written ones; 0 leaves them out
    "generated": [(f"generated weight {w}", {}, {"_generated_weight": w}, HAND_WEIGHT) for w in (1.0, 0.3, 0.0)],
    "tail": [(f"tail block {w}", {}, {"tail_weight": w}, HAND_WEIGHT) for w in (0.0, 0.5)],
    "lexicon": [
        (f"polarity {p}, seeds {s}", {}, {"polarity_weight": p, "seed_weight": s}, HAND_WEIGHT)
        for p, s in ((1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (0.0, 1.0))
    ],
}


def load_groups() -> pd.DataFrame:
    generated = sorted(LABELLED.glob("train_*.jsonl"))
    hand = sorted(LABELLED.glob("hand_*.jsonl"))
    frame = load_training_frame(generated + hand)
    frame["hand"] = frame["id"].str.contains("-hand-")
    return frame


def transfer_scores(frame: pd.DataFrame, texts: list[str], clf_params: dict, feat_params: dict,
                    hand_weight: float, folds: int, seed: int = 0) -> dict:
    """Out-of-fold scores on the hand-written rows (generated rows always train)."""
    themes = [t["id"] for t in load_taxonomy().to_dict()["themes"]]
    hand_idx = np.flatnonzero(frame["hand"].to_numpy())
    gen_idx = np.flatnonzero(~frame["hand"].to_numpy())
    strata = frame["lang"].fillna("?").astype(str) + frame["complaint"].astype(str)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    feat_params = dict(feat_params)
    fallback = feat_params.pop("_fallback", None)
    generated_weight = feat_params.pop("_generated_weight", 1.0)
    weights = np.where(frame["hand"], hand_weight, generated_weight) * frame["weight"].to_numpy()
    parts = []
    if not generated_weight:
        gen_idx = gen_idx[:0]
    for tr_h, te_h in splitter.split(hand_idx, strata.iloc[hand_idx]):
        tr = np.concatenate([gen_idx, hand_idx[tr_h]])
        te = hand_idx[te_h]
        model = FeedbackClassifier(
            **{**DEFAULT_PARAMS, **clf_params},
            features=FeedbackFeatures(**{**DEFAULT_FEATURES, **feat_params}),
            random_state=seed,
        )
        model.fit([texts[i] for i in tr], frame.iloc[tr], sample_weight=weights[tr], normalized=True)
        pred = model.predict_frame([texts[i] for i in te], normalized=True)
        pred.index = te
        # how far the best theme of each record is from its threshold (for the fallback grid)
        pred["top_ratio"] = [max(p[t] / model.thresholds_[t] for t in p) for p in pred["theme_proba"]]
        pred["top_guess"] = [max(p, key=lambda t, p=p: p[t] / model.thresholds_[t]) for p in pred["theme_proba"]]
        parts.append(pred)
    oof = pd.concat(parts).sort_index()
    truth = frame.loc[oof.index]
    if fallback is not None:
        return {f"fallback {r}": _fallback_scores(truth, oof, themes, r) for r in fallback}
    out = {k: v for k, v in score_predictions(truth, oof, themes).items() if k not in {"per_theme", "confusion"}}
    for lang in ("fa", "ar"):
        m = (truth["lang"] == lang).to_numpy()
        if m.any():
            s = score_predictions(truth[m], oof[m], themes)
            out[f"{lang}_complaint_accuracy"] = s["complaint_accuracy"]
            out[f"{lang}_theme_micro_f1"] = s["theme_micro_f1"]
    return out


def _fallback_scores(truth: pd.DataFrame, oof: pd.DataFrame, themes: list[str], ratio: float) -> dict:
    """Scores when a complaint with no theme over its threshold takes its best theme, provided
    that theme's probability reaches ``ratio`` x its threshold (``ratio`` 1: the shipped rule)."""
    pred = oof.copy()
    abstained = pred["is_complaint"] & (pred["themes"].map(len) == 0)
    take = abstained & (pred["top_ratio"] >= ratio)
    pred.loc[take, "themes"] = pred.loc[take, "top_guess"].map(lambda t: [t])
    scores = score_predictions(truth, pred, themes)
    return {
        "theme_micro_f1": scores["theme_micro_f1"],
        "theme_macro_f1": scores["theme_macro_f1"],
        "abstained": round(float((abstained & ~take).mean()), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=sorted(GRIDS), default="default")
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args(argv)
    frame = load_groups()
    print(f"{len(frame)} rows, {int(frame['hand'].sum())} hand-written", flush=True)
    texts = normalize_texts(frame["text"])
    for label, clf_params, feat_params, hand_weight in GRIDS[args.grid]:
        t0 = time.perf_counter()
        scores = transfer_scores(frame, texts, clf_params, feat_params, hand_weight, args.folds)
        scores["seconds"] = round(time.perf_counter() - t0, 1)
        print(label, json.dumps(scores, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
