"""The labelled-data contract shared by ``train``, ``evaluate`` and ``review-export``.

JSONL: one object a line ``{"id": str, "text": str, "themes": [ids], "complaint": bool}``
(optional ``"lang"``). CSV: columns ``id,text,themes,complaint`` with themes separated by ``;``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

LABEL_COLUMNS = ["id", "text", "themes", "complaint"]
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


class LabelledDataError(ValueError):
    """A labelled file that does not follow the contract; the message names file and line."""


def _as_bool(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise LabelledDataError(f"{where}: 'complaint' must be true/false, got {value!r}")


def _as_themes(value, where: str) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        return sorted({t.strip() for t in value.split(";") if t.strip()})
    if isinstance(value, (list, tuple)):
        return sorted({str(t).strip() for t in value if str(t).strip()})
    raise LabelledDataError(f"{where}: 'themes' must be a list or ';'-separated string")


def read_labelled(path: str | Path) -> pd.DataFrame:
    """Read a labelled file (``.jsonl``/``.json`` or ``.csv``) into columns id, text, themes, complaint, lang."""
    path = Path(path)
    if not path.is_file():
        raise LabelledDataError(f"labelled file not found: {path}")
    rows: list[dict] = []
    if path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
        with path.open(encoding="utf-8-sig") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise LabelledDataError(f"{path}:{n}: invalid JSON: {exc.msg}") from exc
                rows.append(_row(obj, f"{path}:{n}"))
    elif path.suffix.lower() in {".csv", ".tsv"}:
        delim = "\t" if path.suffix.lower() == ".tsv" else ","
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh, delimiter=delim)
            missing = {"text", "complaint"} - set(reader.fieldnames or [])
            if missing:
                raise LabelledDataError(f"{path}: missing column(s) {sorted(missing)}")
            for n, obj in enumerate(reader, 2):
                rows.append(_row(obj, f"{path}:{n}"))
    else:
        raise LabelledDataError(f"{path}: unsupported labelled format (use .jsonl or .csv)")
    if not rows:
        raise LabelledDataError(f"{path}: no labelled rows")
    frame = pd.DataFrame(rows, columns=["id", "text", "themes", "complaint", "lang"])
    return frame


def _row(obj: dict, where: str) -> dict:
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LabelledDataError(f"{where}: 'text' is missing or empty")
    if "complaint" not in obj:
        raise LabelledDataError(f"{where}: 'complaint' is missing")
    rid = obj.get("id")
    return {
        "id": str(rid) if rid not in (None, "") else where,
        "text": text,
        "themes": _as_themes(obj.get("themes"), where),
        "complaint": _as_bool(obj.get("complaint"), where),
        "lang": obj.get("lang") or None,
    }


def read_many(paths) -> pd.DataFrame:
    """Concatenate several labelled files; later files win on duplicate ids."""
    frames = [read_labelled(p) for p in paths]
    frame = pd.concat(frames, ignore_index=True)
    return frame.drop_duplicates("id", keep="last").reset_index(drop=True)


def write_labelled_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write rows in the CSV form of the contract (themes joined with ';')."""
    out = frame.copy()
    out["themes"] = out["themes"].map(lambda ts: ";".join(ts))
    out["complaint"] = out["complaint"].map(lambda b: "true" if b else "false")
    extra = [c for c in out.columns if c not in LABEL_COLUMNS]
    out[LABEL_COLUMNS + extra].to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
