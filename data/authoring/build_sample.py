"""Merge the Persian and Arabic sample parts into data/sample/feedback.csv, ordered by date then id.

Run after build_fa.py and build_ar.py: ``python data/authoring/build_sample.py``.
Rows keep their original order within a day, so the planted quarantine cases stay in place.
"""

from __future__ import annotations

import csv
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
HEADER = ["id", "created_at", "channel", "product", "region", "rating", "text"]


def main() -> None:
    rows: list[dict] = []
    for part in ("feedback_fa.csv", "feedback_ar.csv"):
        with (SAMPLE / part).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != HEADER:
                raise SystemExit(f"{part}: header must be {HEADER}, got {reader.fieldnames}")
            rows.extend((i, r) for i, r in enumerate(reader))
    # Stable: by date, then language part order, then position in its part.
    rows.sort(key=lambda pair: (pair[1]["created_at"], pair[1]["id"][:2], pair[0]))
    with (SAMPLE / "feedback.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for _, r in rows)
    print(f"wrote {len(rows)} rows to {SAMPLE / 'feedback.csv'}")


if __name__ == "__main__":
    main()
