"""Batch text mining of Persian and Arabic customer feedback.

The public API (also used by the notebooks) is re-exported here lazily, so importing
``pipeline`` stays cheap and has no side effects.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "normalize_record": "pipeline.normalize",
    "normalize_many": "pipeline.normalize",
    "display_text": "pipeline.normalize",
    "TextNormalizer": "pipeline.normalize",
    "detect_language": "pipeline.langid",
    "mask_pii": "pipeline.pii",
    "content_tokens": "pipeline.tokenize",
    "Config": "pipeline.config",
    "load_config": "pipeline.config",
    "load_taxonomy": "pipeline.taxonomy",
    "read_labelled": "pipeline.labelled",
    "FeedbackClassifier": "pipeline.classify",
    "load_model": "pipeline.model_io",
    "save_model": "pipeline.model_io",
    "train_model": "pipeline.train",
    "review_export": "pipeline.active",
    "run_pipeline": "pipeline.run",
    "run_backfill": "pipeline.run",
    "HistoryStore": "pipeline.store",
}

__all__ = [
    "Config",
    "FeedbackClassifier",
    "HistoryStore",
    "TextNormalizer",
    "content_tokens",
    "detect_language",
    "display_text",
    "evaluate",
    "load_config",
    "load_model",
    "load_taxonomy",
    "mask_pii",
    "normalize",
    "normalize_many",
    "normalize_record",
    "read_labelled",
    "review_export",
    "run_backfill",
    "run_pipeline",
    "save_model",
    "tokenize",
    "train_model",
]

# These three functions share their name with the module that defines them. Importing the
# module would rebind ``pipeline.<name>`` to the module, so bind the functions eagerly.
from pipeline.evaluate import evaluate
from pipeline.normalize import normalize
from pipeline.tokenize import tokenize


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    return getattr(import_module(module), name)
