"""How much should an analyst's labels weigh? A simulation on the project's own data.

    python -m benchmarks.tune_extra_weight [--weights 3 10 30] [--steps 100 200]

One hand-written file plays a company's own feedback (``--domain``, repeatable): the model is
trained on every other labelled file (``make model``'s recipe), ``review_export`` picks the
records it is least sure about, their labels play the analyst's corrections, and the model is
retrained with them through ``train --extra`` at each weight; every model is scored on the
rest of that file. ``pipeline.train.EXTRA_WEIGHT`` is chosen from this table, not from the
real datasets in ``../shared``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from pipeline.active import review_export
from pipeline.evaluate import evaluate
from pipeline.labelled import read_labelled, write_labelled_csv
from pipeline.model_io import load_model
from pipeline.train import train_model

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "data" / "labelled"
HAND_WEIGHT = 3.0
DOMAINS = ("hand_fa_delivery3.jsonl", "hand_ar_products6.jsonl")


def recipe(excluded: str) -> list[str]:
    """``make model``'s training files without ``excluded``."""
    generated = [str(p) for p in sorted(LABELLED.glob("train_*.jsonl"))]
    hand = [f"{p}@{HAND_WEIGHT}" for p in sorted(LABELLED.glob("hand_*.jsonl")) if p.name != excluded]
    return generated + hand


def _scores(report: dict) -> dict:
    keys = ("n", "complaint_accuracy", "theme_micro_f1", "theme_macro_f1")
    return {k: report[k] for k in keys}


def simulate(domain: str, weights: list[float], steps: list[int], work: Path) -> list[dict]:
    pool = read_labelled(LABELLED / domain).reset_index(drop=True)
    data = recipe(domain)
    base_dir = work / f"base-{domain}"
    train_model(data, base_dir, cv_folds=0, seed=0)
    base = load_model(base_dir)
    rows = [{"domain": domain, "weight": None, "added": 0, **_scores(evaluate(base, pool))}]
    print(json.dumps(rows[-1]), flush=True)
    ranked = review_export(base, pool["text"].tolist(), pool["id"].tolist(), max(steps))["id"].tolist()
    for total in steps:
        picked = set(ranked[:total])
        labelled = pool[pool["id"].isin(picked)]
        rest = pool[~pool["id"].isin(picked)].reset_index(drop=True)
        extra = work / f"{domain}-{total}.csv"
        write_labelled_csv(labelled[["id", "text", "themes", "complaint"]], extra)
        for weight in weights:
            out = work / f"model-{domain}-{total}-{weight}"
            train_model(data, out, extra=[extra], extra_weight=weight, cv_folds=0, seed=0)
            report = evaluate(load_model(out), rest)
            rows.append({"domain": domain, "weight": weight, "added": total, **_scores(report)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| company data | extra weight | labels added | evaluated on | complaint acc | theme micro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        weight = "—" if r["weight"] is None else f"{r['weight']:g}"
        lines.append(
            f"| {r['domain']} | {weight} | {r['added']} | {r['n']} | {r['complaint_accuracy']:.3f} "
            f"| {r['theme_micro_f1']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", action="append", default=None, help="hand-written file name")
    parser.add_argument("--weights", type=float, nargs="+", default=[3.0, 10.0, 30.0])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 200])
    args = parser.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for domain in args.domain or DOMAINS:
            rows += simulate(domain, args.weights, sorted(args.steps), Path(tmp))
    print(table(rows))


if __name__ == "__main__":
    main()
