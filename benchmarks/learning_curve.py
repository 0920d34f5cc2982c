"""Learning curve of the active-learning loop on real Digikala food reviews.

    python -m benchmarks.learning_curve [--model DIR] [--steps 50 100 200] [--random]

Simulates a company that installs the shipped model and labels what ``review-export`` asks:

1. the shipped model alone is evaluated on the whole pool
   (``../shared/data/labelled/parsinlu_food_themes.jsonl``);
2. ``review_export`` picks the records the current model is least sure about; their gold labels
   play the analyst's corrections; ``train_model(data, extra=[that CSV])`` retrains on the
   project's own training files plus those labels; cumulative totals of +50, +100, +200;
3. each model is evaluated on the rest of the pool (the records not yet labelled).

With ``--random`` a second curve picks the records at random instead (the baseline that
uncertainty sampling should beat). Models and CSVs go to a temporary folder and are deleted:
nothing trained on shared data is kept.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.active import review_export
from pipeline.evaluate import evaluate
from pipeline.labelled import read_labelled, write_labelled_csv
from pipeline.model_io import load_model, load_sidecar
from pipeline.train import train_model

ROOT = Path(__file__).resolve().parents[1]
POOL = ROOT.parent / "shared" / "data" / "labelled" / "parsinlu_food_themes.jsonl"


def training_files(model_dir: Path | None) -> list[str]:
    """The files the shipped model was trained on, with their weights (``FILE@W``)."""
    files = load_sidecar(model_dir)["training"]["files"]
    return [f"{ROOT / f['path']}@{f.get('weight', 1.0)}" for f in files if f["role"] == "data"]


def curve(
    model_dir: Path | None, steps: list[int], strategy: str, work: Path, seed: int = 0
) -> list[dict]:
    pool = read_labelled(POOL).reset_index(drop=True)
    data = training_files(model_dir)
    model = load_model(model_dir)
    rows = [{"strategy": strategy, "added": 0, **_summary(evaluate(model, pool))}]
    labelled = pd.DataFrame(columns=pool.columns)
    rng = np.random.default_rng(seed)
    for total in steps:
        rest = pool[~pool["id"].isin(labelled["id"])].reset_index(drop=True)
        k = total - len(labelled)
        if strategy == "uncertainty":
            picked_ids = review_export(model, rest["text"].tolist(), rest["id"].tolist(), k)["id"]
        else:
            picked_ids = rest["id"].iloc[np.sort(rng.choice(len(rest), size=k, replace=False))]
        picked = rest[rest["id"].isin(set(picked_ids))]
        labelled = pd.concat([labelled, picked], ignore_index=True)
        extra = work / f"{strategy}-{total}.csv"
        write_labelled_csv(labelled[["id", "text", "themes", "complaint"]], extra)
        out = work / f"model-{strategy}-{total}"
        train_model(data, out, extra=[extra], cv_folds=0, seed=seed)
        model = load_model(out)
        rest = pool[~pool["id"].isin(labelled["id"])].reset_index(drop=True)
        rows.append({"strategy": strategy, "added": total, **_summary(evaluate(model, rest))})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _summary(report: dict) -> dict:
    return {
        "n_eval": report["n"],
        "complaint_accuracy": report["complaint_accuracy"],
        "theme_micro_f1": report["theme_micro_f1"],
        "theme_macro_f1": report["theme_macro_f1"],
    }


def table(rows: list[dict]) -> str:
    head = "| strategy | labels added | evaluated on | complaint acc | theme micro-F1 | theme macro-F1 |"
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['added']} | {r['n_eval']} | {r['complaint_accuracy']:.3f} "
            f"| {r['theme_micro_f1']:.3f} | {r['theme_macro_f1']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=None, help="starting model (default: shipped)"
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--random", action="store_true", help="also run the random baseline")
    args = parser.parse_args(argv)
    if not POOL.is_file():
        raise SystemExit(f"real dataset not available: {POOL} is absent")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="learning-curve-") as tmp:
        for strategy in ["uncertainty"] + (["random"] if args.random else []):
            rows += curve(args.model, sorted(args.steps), strategy, Path(tmp))
    print(table(rows))


if __name__ == "__main__":
    main()
