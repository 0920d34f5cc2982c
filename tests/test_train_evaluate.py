"""Training (CV metrics in the sidecar, determinism, --extra), evaluation and review export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_classify import tiny_frame, tiny_model

from pipeline.active import review_export
from pipeline.config import DEFAULT_MODEL_DIR
from pipeline.evaluate import evaluate
from pipeline.labelled import read_labelled, write_labelled_csv
from pipeline.model_io import load_model
from pipeline.train import train_model

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def write_jsonl(frame: pd.DataFrame, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in frame.itertuples(index=False):
            obj = {"id": row.id, "text": row.text, "themes": row.themes, "complaint": row.complaint}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    return write_jsonl(tiny_frame(), tmp_path_factory.mktemp("data") / "tiny.jsonl")


@pytest.fixture(scope="module")
def trained(data_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    return out, train_model([data_file], out, seed=0, cv_folds=3)


def test_train_writes_cv_metrics_and_confusion_into_sidecar(trained):
    out, sidecar = trained
    assert (out / "model.joblib").is_file() and (out / "model.json").is_file()
    assert json.loads((out / "model.json").read_text(encoding="utf-8")) == sidecar
    cv = sidecar["metrics"]["cv"]
    assert cv["folds"] == 3 and cv["n"] == len(tiny_frame())
    for key in ("complaint_accuracy", "theme_micro_f1", "theme_macro_f1"):
        assert 0.0 <= cv[key] <= 1.0
    assert set(cv["per_theme"]["delivery"]) == {"precision", "recall", "f1", "support"}
    assert set(cv["confusion"]["complaint"]) == {
        "true_positive",
        "false_positive",
        "false_negative",
        "true_negative",
    }
    assert "delivery" in cv["confusion"]["themes"]
    assert sidecar["training"]["data_hash"] and sidecar["training"]["rows"] == len(tiny_frame())


def test_training_is_deterministic_to_the_byte(data_file, trained, tmp_path):
    """Two trainings in separate processes with different string-hash seeds (set and dict
    orders differ between processes) write the same model.joblib; CV does not change it."""
    code = (
        "import sys; from pathlib import Path; from pipeline.train import train_model; "
        "train_model([Path(sys.argv[1])], Path(sys.argv[2]), seed=0, cv_folds=0)"
    )
    for hash_seed, name in (("1", "a"), ("2", "b")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-c", code, str(data_file), str(tmp_path / name)],
            check=True,
            env=env,
            cwd=ROOT,
        )
    first = (tmp_path / "a" / "model.joblib").read_bytes()
    assert (tmp_path / "b" / "model.joblib").read_bytes() == first
    out, _ = trained
    assert (out / "model.joblib").read_bytes() == first


def test_extra_labels_are_added_and_weighted(data_file, tmp_path):
    extra = pd.DataFrame(
        [
            {
                "id": "x1",
                "text": "کد تخفیف اعمال نشد",
                "themes": ["payment_billing"],
                "complaint": True,
            },
            {
                "id": "x2",
                "text": "الدفع انخصم مرتين",
                "themes": ["payment_billing"],
                "complaint": True,
            },
        ]
    )
    write_labelled_csv(extra, tmp_path / "extra.csv")
    sidecar = train_model([data_file], tmp_path / "m", extra=[tmp_path / "extra.csv"], cv_folds=0)
    assert sidecar["training"]["rows"] == len(tiny_frame()) + 2
    assert sidecar["training"]["extra_rows"] == 2
    assert [f["role"] for f in sidecar["training"]["files"]] == ["data", "extra"]


def test_evaluate_reports_the_contract_fields():
    model = tiny_model()
    report = evaluate(model, tiny_frame(1))
    assert report["n"] == len(tiny_frame(1))
    for key in ("complaint_accuracy", "complaint_f1", "theme_micro_f1", "theme_macro_f1"):
        assert 0.0 <= report[key] <= 1.0
    assert report["complaint_accuracy"] > 0.9  # its own training text
    assert set(report["per_theme"]) >= set(model.themes_)
    assert report["per_theme"]["delivery"]["support"] == 6
    assert report["per_theme"]["refund_return"]["support"] == 0
    json.dumps(report)  # serialisable as the CLI prints it


def test_review_export_least_sure_first_in_the_contract(tmp_path):
    model = tiny_model()
    texts = ["پیک دیر رسید", "غذا عالی بود، ممنون", "معمولی بود", "الخدمة", "پیک دیر رسید", ""]
    ids = ["a", "b", "c", "d", "e", "f"]
    frame = review_export(model, texts, ids, n=3)
    assert list(frame.columns) == [
        "id",
        "text",
        "themes",
        "complaint",
        "complaint_proba",
        "uncertainty",
    ]
    assert len(frame) == 3
    assert frame["uncertainty"].is_monotonic_decreasing
    assert "e" not in set(frame["id"]) and "f" not in set(frame["id"])  # duplicate, empty
    # the analyst edits the CSV and it reads back as labelled data
    write_labelled_csv(frame, tmp_path / "review.csv")
    back = read_labelled(tmp_path / "review.csv")
    assert back["id"].tolist() == frame["id"].tolist()
    assert back["themes"].tolist() == frame["themes"].tolist()


@pytest.mark.shared
def test_shipped_model_on_real_food_reviews_does_not_regress():
    """Regression floor on real text the model never saw. The issue's targets (complaint
    accuracy 0.85, theme micro-F1 0.75) are not reached yet; these floors sit just under the
    shipped model's current figures (0.777 / 0.624) so a worse model fails loudly."""
    path = SHARED / "labelled" / "parsinlu_food_themes.jsonl"
    if not path.is_file():
        pytest.skip(f"real dataset not available: {path} is absent")
    if not (DEFAULT_MODEL_DIR / "model.joblib").is_file():
        pytest.skip("shipped model models/default is not built yet")
    report = evaluate(load_model(), read_labelled(path))
    assert report["complaint_accuracy"] >= 0.75
    assert report["theme_micro_f1"] >= 0.58


def test_file_weights_reach_the_training_rows_and_the_sidecar(tmp_path):
    from pipeline.labelled import LabelledDataError
    from pipeline.train import load_training_frame, split_weight

    frame = tiny_frame()
    a = write_jsonl(frame.assign(id=[f"a{i}" for i in range(len(frame))]), tmp_path / "a.jsonl")
    b = write_jsonl(frame.assign(id=[f"b{i}" for i in range(len(frame))]), tmp_path / "b@home.jsonl")
    assert split_weight(f"{a}@3") == (a, 3.0)
    assert split_weight(b) == (b, 1.0)  # an '@' in the file name is not a weight
    with pytest.raises(LabelledDataError, match="must be > 0"):
        split_weight(f"{a}@0")
    rows = load_training_frame([f"{a}@2.5", b])
    assert rows.loc[rows["id"].str.startswith("a"), "weight"].eq(2.5).all()
    assert rows.loc[rows["id"].str.startswith("b"), "weight"].eq(1.0).all()
    sidecar = train_model([f"{a}@2.5", b], tmp_path / "model", cv_folds=0)
    weights = {Path(f["path"]).name: f["weight"] for f in sidecar["training"]["files"]}
    assert weights == {"a.jsonl": 2.5, "b@home.jsonl": 1.0}


def test_shipped_training_files_agree_on_every_repeated_text():
    """Short texts («ممتاز», «بد نبود») recur across the labelled files; the same text must carry
    the same complaint flag and themes everywhere, or training pulls the model two ways."""
    from conftest import ROOT

    labels: dict[str, set] = {}
    for path in sorted((ROOT / "data" / "labelled").glob("*.jsonl")):
        frame = read_labelled(path)
        for text, complaint, themes in zip(frame["text"], frame["complaint"], frame["themes"], strict=True):
            labels.setdefault(" ".join(str(text).split()), set()).add((bool(complaint), tuple(sorted(themes))))
    assert len(labels) > 30_000
    conflicts = {text: sorted(v) for text, v in labels.items() if len(v) > 1}
    assert not conflicts, conflicts
