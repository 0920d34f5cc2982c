"""Model persistence: sidecar contents, SHA-256 check before unpickling, version warning."""

from __future__ import annotations

import json
import warnings

import pytest
from test_classify import tiny_model

from pipeline.model_io import (
    ModelIntegrityError,
    ModelVersionWarning,
    file_sha256,
    load_model,
    load_sidecar,
    model_version,
    save_model,
)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = tmp_path_factory.mktemp("model")
    model = tiny_model()
    save_model(model, directory, sidecar_extra={"metrics": {"cv": {"theme_micro_f1": 0.5}}})
    return directory, model


def test_sidecar_records_versions_params_hash_and_extra(saved):
    directory, model = saved
    sidecar = load_sidecar(directory)
    assert sidecar["sha256"] == file_sha256(directory / "model.joblib")
    assert sidecar["versions"]["scikit-learn"]
    assert sidecar["params"]["C_complaint"] == model.C_complaint
    assert sidecar["thresholds"] == model.thresholds_
    assert sidecar["themes"] == model.themes_
    assert sidecar["metrics"]["cv"]["theme_micro_f1"] == 0.5
    assert model_version(directory) == sidecar["sha256"][:12]


def test_round_trip_predicts_the_same(saved):
    directory, model = saved
    loaded = load_model(directory)
    texts = ["پیک دیر رسید", "السعر غالي جدا"]
    assert loaded.predict_frame(texts).equals(model.predict_frame(texts))


def test_saving_does_not_mutate_the_model(saved, tmp_path):
    _, model = saved
    before = dict(vars(model))
    save_model(model, tmp_path, sidecar_extra={})
    assert vars(model).keys() == before.keys()


def test_tampered_model_file_is_refused(saved, tmp_path):
    directory, _ = saved
    for name in ("model.joblib", "model.json"):
        (tmp_path / name).write_bytes((directory / name).read_bytes())
    data = bytearray((tmp_path / "model.joblib").read_bytes())
    data[-10] ^= 0xFF
    (tmp_path / "model.joblib").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        load_model(tmp_path)


def test_missing_sidecar_is_a_clear_error(tmp_path):
    with pytest.raises(ModelIntegrityError, match="sidecar not found"):
        load_model(tmp_path)


def test_scikit_learn_version_mismatch_warns(saved, tmp_path):
    directory, _ = saved
    (tmp_path / "model.joblib").write_bytes((directory / "model.joblib").read_bytes())
    sidecar = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    sidecar["versions"]["scikit-learn"] = "0.0.1"
    (tmp_path / "model.json").write_text(json.dumps(sidecar), encoding="utf-8")
    with pytest.warns(ModelVersionWarning, match="scikit-learn 0.0.1"):
        load_model(tmp_path)


def test_matching_version_loads_without_warning(saved):
    directory, _ = saved
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        load_model(directory)
