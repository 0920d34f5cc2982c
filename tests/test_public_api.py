"""The names the README and notebooks use resolve to the right objects."""

from __future__ import annotations

import importlib
import inspect

import pipeline


def test_every_exported_name_resolves():
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None, name


def test_functions_sharing_a_module_name_stay_functions_after_module_import():
    for name in ("normalize", "tokenize", "evaluate"):
        importlib.import_module(f"pipeline.{name}")
        assert inspect.isfunction(getattr(pipeline, name)), name


def test_unknown_name_raises_attribute_error():
    try:
        pipeline.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_normalize_masks_and_unifies_letters():
    out = pipeline.normalize("غذا خيلييي سرد بود 😡 09121234567")
    assert out == "غذا خیلی سرد بود EMONEG <PHONE>"
