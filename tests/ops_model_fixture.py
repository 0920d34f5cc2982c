"""The ``ops_model`` fixture of the operations tests (load with ``pytest_plugins``).

It is the shipped model (models/default) when it exists, otherwise a small model trained once
per test session on a slice of data/labelled (cached under pytest's base temp folder), or the
model directory in the environment variable ``OPS_TEST_MODEL``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def ops_model(tmp_path_factory) -> Path:
    prebuilt = os.environ.get("OPS_TEST_MODEL")  # a model directory to use instead of training
    if prebuilt:
        return Path(prebuilt)
    shipped = ROOT / "models" / "default"
    if (shipped / "model.json").is_file():
        return shipped
    target = tmp_path_factory.getbasetemp() / "ops_model"
    if (target / "model.json").is_file():
        return target
    from pipeline.train import train_model

    data = tmp_path_factory.getbasetemp() / "ops_model_data"
    data.mkdir(exist_ok=True)
    files = []
    for name in ("train_fa.jsonl", "train_ar.jsonl"):
        lines = (ROOT / "data" / "labelled" / name).read_text(encoding="utf-8").splitlines()[:400]
        path = data / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    train_model(files, target, cv_folds=0)
    return target
