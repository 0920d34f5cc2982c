"""Plot helpers (Persian/Arabic labels that render joined) and the notebooks' small helpers."""

from __future__ import annotations

import pickle
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from pipeline import notebook_support, plotting
from pipeline.notebook_support import ThemeScorer, frame_from_matrix, label_matrix

# -- shaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "delivery",  # Latin only
        "42",  # digits only
        "",  # empty
        "ﻛﺘﺎﺏ",  # already in presentation forms: never shaped twice
    ],
)
def test_text_without_arabic_letters_is_returned_unchanged(text):
    assert plotting.shape(text) == text


def test_shape_converts_non_strings_and_none():
    assert plotting.shape(3) == "3"
    assert plotting.shape(None) == ""


def test_shape_cuts_long_labels_at_a_word_boundary():
    assert plotting.shape("delivery and refunds", max_chars=12) == "delivery…"
    assert plotting.shape("abcdefghijklmnop", max_chars=5) == "abcde…"


def test_shape_returns_text_as_is_when_matplotlib_shapes_natively(monkeypatch):
    monkeypatch.setattr(plotting, "native_shaping", lambda: True)
    assert plotting.shape("پیک دیر رسید") == "پیک دیر رسید"


def test_shape_uses_presentation_forms_in_visual_order_for_old_matplotlib(monkeypatch):
    pytest.importorskip("arabic_reshaper")
    pytest.importorskip("bidi")
    monkeypatch.setattr(plotting, "native_shaping", lambda: False)
    # کتاب: kaf initial, teh medial, alef final, beh isolated; visual order is reversed.
    assert plotting.shape("کتاب") == "\ufe8f\ufe8e\ufe98\ufb90"
    # A ZWNJ breaks the join: beh of کتاب is final-less (isolated) and ha starts a new word.
    shaped = plotting.shape("کتاب‌ها")
    assert "\u200c" in shaped and shaped.endswith("\ufb90")
    # Latin words and digits keep their left-to-right order inside Persian text.
    mixed = plotting.shape("delivery تاخیر 3 ساعت")
    assert mixed.startswith("delivery ") and " 3 " in mixed


def test_has_arabic_script():
    assert plotting.has_arabic_script("پیک دیر رسید")
    assert plotting.has_arabic_script("الطلب تأخر")
    assert not plotting.has_arabic_script("EMONEG <PHONE> 42")


def test_font_family_ends_with_the_bundled_dejavu_sans():
    families = plotting.arabic_font_family()
    assert families[-1] == "DejaVu Sans"


def _rendered_width(text: str) -> float:
    fig = plt.figure()
    try:
        label = fig.text(0, 0, text, fontsize=20)
        fig.canvas.draw()
        return label.get_window_extent().width
    finally:
        plt.close(fig)


def test_persian_label_renders_joined_and_without_missing_glyphs():
    """Joined letters are narrower than the same letters drawn isolated, in either mode."""
    plotting.use_arabic_font()
    isolated = "\ufe8f\ufe8f\ufe8f\ufe8f"  # four isolated beh
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would fail here
        joined_width = _rendered_width(plotting.shape("بببب"))
        isolated_width = _rendered_width(isolated)
        _rendered_width(plotting.shape("گچ‌پژ ی ک ۱۲۳ لا"))
    assert joined_width < 0.8 * isolated_width


def test_barh_puts_the_first_label_on_top_and_checks_lengths():
    plotting.use_arabic_font()
    fig, ax = plt.subplots()
    try:
        plotting.barh(ax, ["پیک", "کیفیت", "delivery"], [3, 2, 1], title="واژه‌ها")
        ticks = {t.get_text(): pos for t, pos in zip(ax.get_yticklabels(), ax.get_yticks())}
        assert ticks[plotting.shape("پیک")] > ticks["delivery"]
        with pytest.raises(ValueError, match="3 labels but 2 values"):
            plotting.barh(ax, ["a", "b", "c"], [1, 2])
    finally:
        plt.close(fig)


# -- notebook support ---------------------------------------------------------------------------

THEMES = ["delivery", "packaging"]


def test_label_matrix_and_back_round_trip_the_contract():
    truth = pd.DataFrame(
        {
            "complaint": [True, True, False],
            "themes": [["delivery"], ["delivery", "packaging", "unknown"], []],
        }
    )
    Y = label_matrix(truth, THEMES)
    assert Y.tolist() == [[1, 1, 0], [1, 1, 1], [0, 0, 0]]
    back = frame_from_matrix(Y, THEMES)
    assert back["themes"].tolist() == [["delivery"], ["delivery", "packaging"], []]
    assert back["is_complaint"].tolist() == [True, True, False]


def test_frame_from_matrix_gives_no_themes_to_non_complaints_and_checks_shape():
    pred = frame_from_matrix(np.array([[0, 1, 1]]), THEMES)
    assert pred.loc[0, "themes"] == [] and pred.loc[0, "top_theme"] is None
    with pytest.raises(ValueError, match="3 columns"):
        frame_from_matrix(np.zeros((2, 2)), THEMES)


class _MatrixModel:
    """Predicts a fixed label matrix (a stand-in for a fitted multi-label pipeline)."""

    def __init__(self, Y):
        self.Y = np.asarray(Y)

    def predict(self, X):
        return self.Y[: len(X)]


class _FrameModel:
    def __init__(self, pred):
        self.pred = pred

    def predict_frame(self, X):
        return self.pred


def test_theme_scorer_scores_matrix_and_frame_models_alike():
    truth = pd.DataFrame(
        {"complaint": [True, True, False], "themes": [["delivery"], ["packaging"], []]}
    )
    Y_pred = [[1, 1, 0], [1, 1, 0], [0, 0, 0]]  # second record: wrong theme
    scorer = ThemeScorer(THEMES)
    from_matrix = scorer(_MatrixModel(Y_pred), ["a", "b", "c"], label_matrix(truth, THEMES))
    from_frame = scorer(_FrameModel(frame_from_matrix(Y_pred, THEMES)), ["a", "b", "c"], truth)
    assert from_matrix == from_frame
    assert from_matrix["complaint_f1"] == 1.0
    assert from_matrix["f1_delivery"] == pytest.approx(2 / 3, abs=1e-4)
    assert from_matrix["f1_packaging"] == 0.0
    assert set(from_matrix) == {
        "complaint_f1",
        "theme_macro_f1",
        "theme_micro_f1",
        "f1_delivery",
        "f1_packaging",
    }
    assert pickle.loads(pickle.dumps(scorer)).themes == THEMES


def test_labelled_files_fall_back_to_the_shipped_data_without_shared(monkeypatch, tmp_path):
    monkeypatch.setenv(notebook_support.SHARED_ENV, str(tmp_path / "absent"))
    assert notebook_support.shared_data_dir() is None
    files, origin = notebook_support.labelled_files()
    assert origin == "shipped"
    assert files and all(p.parent == notebook_support.SHIPPED_LABELLED for p in files)


def test_labelled_files_prefer_shared_when_present(monkeypatch, tmp_path):
    (tmp_path / "labelled").mkdir()
    (tmp_path / "labelled" / "real.jsonl").write_text(
        '{"id": "1", "text": "پیک دیر رسید", "themes": ["delivery"], "complaint": true}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(notebook_support.SHARED_ENV, str(tmp_path))
    files, origin = notebook_support.labelled_files()
    assert origin == "shared" and [p.name for p in files] == ["real.jsonl"]
    assert notebook_support.labelled_files(prefer_shared=False)[1] == "shipped"


def test_model_dir_is_the_default_model_when_it_exists(monkeypatch, tmp_path):
    default = tmp_path / "default"
    default.mkdir()
    (default / "model.json").write_text("{}", encoding="utf-8")
    monkeypatch.setattr(notebook_support, "DEFAULT_MODEL_DIR", default)
    assert notebook_support.model_dir_or_stand_in(tmp_path / "work") == (default, "default")
    assert not (tmp_path / "work").exists()


def test_stand_in_model_is_trained_into_the_workdir_when_default_is_missing(monkeypatch, tmp_path):
    from pipeline.model_io import load_model

    monkeypatch.setattr(notebook_support, "DEFAULT_MODEL_DIR", tmp_path / "absent")
    model_dir, origin = notebook_support.model_dir_or_stand_in(tmp_path, rows=120, seed=0)
    assert origin == "stand-in" and model_dir.parent.parent == tmp_path
    model = load_model(model_dir)  # the sidecar's SHA-256 matches
    assert model.predict_frame(["پیک دو ساعت دیر رسید"]).shape[0] == 1
    # A second call reuses it.
    assert notebook_support.model_dir_or_stand_in(tmp_path, rows=120)[0] == model_dir
