"""Check a model on the real labelled files in ../shared/data (never used for training).

    python -m benchmarks.eval_shared [--model DIR] [--full]

Prints one line per file: the :func:`pipeline.evaluate.evaluate` JSON (without the per-theme
table and confusion unless ``--full``), and the complaint accuracy on the Snappfood dev split
(TAB-separated; SAD = complaint).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from pipeline.evaluate import evaluate
from pipeline.labelled import read_labelled
from pipeline.model_io import load_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def snappfood_accuracy(model, path: Path = SHARED / "snappfood" / "dev.csv") -> dict:
    frame = pd.read_csv(path, sep="\t")
    t0 = time.perf_counter()
    pred = model.predict_frame(frame["comment"].astype(str).tolist())
    seconds = time.perf_counter() - t0
    truth = (frame["label"] == "SAD").to_numpy()
    got = pred["is_complaint"].to_numpy()
    return {
        "n": len(frame),
        "complaint_accuracy": round(float((truth == got).mean()), 4),
        "predict_seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model directory")
    parser.add_argument("--full", action="store_true", help="include per-theme and confusion")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        raise SystemExit(f"real datasets not available: {SHARED} is absent")
    model = load_model(args.model)
    for path in sorted((SHARED / "labelled").glob("*.jsonl")):
        report = evaluate(model, read_labelled(path))
        if not args.full:
            per_theme = report.pop("per_theme")
            report.pop("confusion")
            report["per_theme_f1"] = {t: m["f1"] for t, m in per_theme.items() if m["support"]}
        print(path.name, json.dumps(report, ensure_ascii=False, sort_keys=True), flush=True)
    snap = SHARED / "snappfood" / "dev.csv"
    if snap.is_file():
        print("snappfood/dev.csv", json.dumps(snappfood_accuracy(model, snap)), flush=True)


if __name__ == "__main__":
    main()
