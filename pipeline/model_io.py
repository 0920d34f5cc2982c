"""Saving and loading models: ``model.joblib`` plus a JSON sidecar ``model.json``.

joblib files are pickles, and unpickling runs code. :func:`load_model` therefore checks the
SHA-256 recorded in the sidecar **before** unpickling and refuses a file that does not match
(:class:`ModelIntegrityError`). It warns (:class:`ModelVersionWarning`) when the model was
saved with another scikit-learn version, whose pickles are not guaranteed compatible.

The sidecar records library versions, the estimator parameters, the training-data hash and
metrics (whatever the caller passes in ``sidecar_extra``), the file's size and SHA-256.
Saving never mutates the live model.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import platform
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import joblib

from pipeline.config import DEFAULT_MODEL_DIR

__all__ = [
    "MODEL_FILE",
    "SIDECAR_FILE",
    "ModelIntegrityError",
    "ModelVersionWarning",
    "file_sha256",
    "load_model",
    "load_sidecar",
    "model_version",
    "save_model",
]

MODEL_FILE = "model.joblib"
SIDECAR_FILE = "model.json"
FORMAT_VERSION = 1


class ModelIntegrityError(RuntimeError):
    """The model file is missing, or its SHA-256 differs from the one in its sidecar."""


class ModelVersionWarning(UserWarning):
    """The model was saved with a different scikit-learn version than the one installed."""


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import numpy
    import pandas
    import scipy
    import sklearn

    import pipeline

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "joblib": joblib.__version__,
        "pipeline": pipeline.__version__,
    }


def _jsonable(value: Any) -> Any:
    """Estimator parameters as JSON (nested estimators as their class name and parameters)."""
    if hasattr(value, "get_params"):
        return {
            "class": type(value).__name__,
            "params": {k: _jsonable(v) for k, v in sorted(value.get_params(deep=False).items())},
        }
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _canonical(obj: Any, seen: dict[int, Any]) -> Any:
    """A copy-safe canonical form for pickling: every ``str`` interned, recursively.

    Pickle writes a repeated *object* once and refers back to it, so whether two equal strings
    are one object or two changes the bytes. That depends on process state (interning, caches),
    not on the model; interning every string makes the file depend on the model alone.
    Applied to a deep copy, never to the live model.
    """
    key = id(obj)
    if key in seen:
        return seen[key]
    if isinstance(obj, str):
        return sys.intern(obj)
    if type(obj) is dict:
        out: Any = {}
        seen[key] = out
        for k, v in obj.items():
            out[_canonical(k, seen)] = _canonical(v, seen)
        return out
    if type(obj) is list:
        out = []
        seen[key] = out
        out.extend(_canonical(v, seen) for v in obj)
        return out
    if type(obj) is tuple:
        out = tuple(_canonical(v, seen) for v in obj)
        seen[key] = out
        return out
    if type(obj) is functools.partial:
        out = functools.partial(
            obj.func, *_canonical(obj.args, seen), **_canonical(obj.keywords, seen)
        )
        seen[key] = out
        return out
    if hasattr(obj, "__dict__") and hasattr(obj, "get_params"):  # estimators
        seen[key] = obj
        obj.__dict__ = _canonical(obj.__dict__, seen)
        return obj
    return obj


def save_model(model, directory: str | Path, *, sidecar_extra: dict | None = None) -> Path:
    """Write ``model.joblib`` (compress=3) and ``model.json`` into ``directory``.

    Parameters
    ----------
    model : FeedbackClassifier
        A fitted model; it is not modified.
    directory : path
        Created if missing; existing model files are replaced atomically.
    sidecar_extra : dict
        Merged into the sidecar (e.g. ``data``, ``data_hash``, ``metrics``).

    Returns
    -------
    Path of the written ``model.joblib``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / MODEL_FILE
    fd, tmp = tempfile.mkstemp(prefix=".model-", suffix=".joblib", dir=directory)
    os.close(fd)
    try:
        joblib.dump(_canonical(copy.deepcopy(model), {}), tmp, compress=3)
        sha = file_sha256(tmp)
        size = Path(tmp).stat().st_size
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    params = {k: _jsonable(v) for k, v in sorted(model.get_params(deep=False).items())}
    params.pop("taxonomy", None)  # stored in full under "taxonomy"
    sidecar = {
        "format_version": FORMAT_VERSION,
        "model_file": MODEL_FILE,
        "sha256": sha,
        "size_bytes": size,
        "estimator": type(model).__name__,
        "versions": library_versions(),
        "params": params,
        "themes": list(getattr(model, "themes_", [])),
        "theme_sources": dict(getattr(model, "theme_sources_", {})),
        "thresholds": dict(getattr(model, "thresholds_", {})),
        "taxonomy": getattr(model, "taxonomy_", None),
    }
    sidecar.update(sidecar_extra or {})
    sidecar["sha256"] = sha  # never overridden by the caller
    text = json.dumps(sidecar, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    tmp_json = directory / f".{SIDECAR_FILE}.tmp"
    tmp_json.write_text(text, encoding="utf-8")
    os.replace(tmp_json, directory / SIDECAR_FILE)
    return target


def load_sidecar(directory: str | Path | None = None) -> dict:
    """Read ``model.json``; raises :class:`ModelIntegrityError` if it is missing or unreadable."""
    directory = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
    path = directory / SIDECAR_FILE
    if not path.is_file():
        raise ModelIntegrityError(
            f"model sidecar not found: {path}; train a model with `complaints train --out {directory}`"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelIntegrityError(f"{path}: invalid JSON sidecar ({exc.msg})") from exc


def load_model(directory: str | Path | None = None):
    """Load the model in ``directory`` (``None`` → the shipped default model).

    Raises
    ------
    ModelIntegrityError
        When the sidecar or model file is missing or the model file's SHA-256 differs from the
        sidecar's. The file is not unpickled in that case.

    Warns
    -----
    ModelVersionWarning
        When the model was saved with a different scikit-learn version.
    """
    directory = Path(directory) if directory is not None else DEFAULT_MODEL_DIR
    sidecar = load_sidecar(directory)
    path = directory / sidecar.get("model_file", MODEL_FILE)
    if not path.is_file():
        raise ModelIntegrityError(f"model file not found: {path}")
    expected = sidecar.get("sha256")
    actual = file_sha256(path)
    if not expected or actual != expected:
        raise ModelIntegrityError(
            f"refusing to load {path}: its SHA-256 is {actual} but {directory / SIDECAR_FILE} "
            f"records {expected}. The file was changed or replaced after training; a joblib file "
            "is a pickle and can run code, so only load it if you trust it: retrain, or restore "
            "the matching model.joblib/model.json pair."
        )
    saved = sidecar.get("versions", {}).get("scikit-learn")
    import sklearn

    if saved and saved != sklearn.__version__:
        warnings.warn(
            f"{path} was saved with scikit-learn {saved} but {sklearn.__version__} is installed; "
            "predictions may differ or loading may fail. Retrain the model with "
            "`complaints train`, or install the matching scikit-learn version.",
            ModelVersionWarning,
            stacklevel=2,
        )
    with warnings.catch_warnings():
        if saved and saved != sklearn.__version__:
            # Our warning above already says it once, clearly.
            from sklearn.exceptions import InconsistentVersionWarning

            warnings.simplefilter("ignore", InconsistentVersionWarning)
        return joblib.load(path)


def model_version(directory: str | Path | None = None) -> str:
    """Short id of a saved model for the run history: the first 12 hex digits of its SHA-256."""
    return str(load_sidecar(directory)["sha256"])[:12]
