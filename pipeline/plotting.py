"""Matplotlib helpers for the notebooks: Persian and Arabic labels that render correctly.

Arabic script must be *shaped* (each letter takes its initial/medial/final form and joins its
neighbours; lam-alef becomes a ligature) and laid out by the Unicode *bidi* algorithm
(right-to-left runs, numbers and Latin words inside them). Unshaped, «کتاب» is drawn as the
isolated letters ب ا ت ک in the wrong order.

* matplotlib >= 3.11 lays text out with libraqm, which shapes and reorders by itself. Labels
  must then be passed **as they are**: shaping them first would reverse them twice.
* Older matplotlib draws glyph by glyph, left to right. :func:`shape` then does the work ahead
  of time with ``arabic-reshaper`` (contextual forms; a ZWNJ as in «کتاب‌ها» still breaks the
  join) and ``python-bidi`` (visual order), optional dependencies imported on first use.

So always write ``ax.set_title(shape(title))``: :func:`shape` knows which case applies. A shaped
string is for display only; never feed it back into the pipeline.

Glyphs come from :func:`arabic_font_family`: Vazirmatn or Noto when installed, always ending
with matplotlib's bundled DejaVu Sans, which has Arabic, the Persian letters and every
presentation form. Nothing happens at import time; :func:`use_arabic_font` sets the rcParams.

Examples
--------
>>> import matplotlib.pyplot as plt
>>> from pipeline.plotting import shape, use_arabic_font
>>> use_arabic_font()
>>> fig, ax = plt.subplots()
>>> _ = ax.set_title(shape("پیک دیر رسید"))
>>> shape("delivery")
'delivery'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "arabic_font_family",
    "barh",
    "has_arabic_script",
    "native_shaping",
    "shape",
    "shape_all",
    "use_arabic_font",
]

#: Arabic-script letters (Arabic, Arabic Supplement, Arabic Extended-A). Presentation forms
#: are not included: text already in presentation forms is never shaped again.
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")
_PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufeff]")

#: Preferred families, best first; only installed ones are used. DejaVu Sans ships with
#: matplotlib and covers Latin, digits and all Arabic/Persian presentation forms.
_PREFERRED_FONTS = ("Vazirmatn", "Noto Sans Arabic", "Noto Naskh Arabic", "DejaVu Sans")

_INSTALL_HINT = (
    "this matplotlib cannot shape Persian/Arabic text itself (it can from version 3.11): "
    "pip install 'matplotlib>=3.11', or pip install arabic-reshaper python-bidi"
)


def has_arabic_script(text: str) -> bool:
    """True when ``text`` contains Arabic-script letters (not presentation forms)."""
    return bool(_ARABIC_SCRIPT.search(text))


@lru_cache(maxsize=1)
def native_shaping() -> bool:
    """True when matplotlib shapes and reorders complex text itself (libraqm, >= 3.11)."""
    from matplotlib import ft2font

    return hasattr(ft2font, "__libraqm_version__")


@lru_cache(maxsize=1)
def _shaper():
    """(reshape, get_display) for matplotlib without libraqm, imported once, on first use."""
    try:
        import arabic_reshaper
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    try:
        from bidi import get_display
    except ImportError:
        try:  # python-bidi < 0.5
            from bidi.algorithm import get_display
        except ImportError as exc:
            raise ImportError(_INSTALL_HINT) from exc
    reshaper = arabic_reshaper.ArabicReshaper(
        configuration={"delete_harakat": False, "support_ligatures": True}
    )
    return reshaper.reshape, get_display


def _visual(text: str) -> str:
    """Presentation forms in visual (left-to-right) order, for a renderer that cannot shape."""
    reshape, get_display = _shaper()
    return get_display(reshape(text))


def shape(text: Any, *, max_chars: int | None = None) -> str:
    """Return ``text`` in the form this matplotlib draws correctly.

    Parameters
    ----------
    text : object
        A label; non-strings are converted with ``str``, ``None`` gives ``""``.
    max_chars : int, optional
        Cut longer text (at a word boundary when there is one in the second half) and end it
        with "…"; useful for verbatims as tick labels.

    Returns
    -------
    str
        The text itself when matplotlib shapes natively, when it has no Arabic-script letters
        or when it is already in presentation forms; otherwise shaped, visually ordered text.

    Examples
    --------
    >>> shape(3)
    '3'
    >>> shape("delivery and refunds", max_chars=12)
    'delivery…'
    """
    text = "" if text is None else str(text)
    if max_chars is not None and len(text) > max_chars:
        cut = text[:max_chars]
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars // 2 else cut).rstrip() + "…"
    if native_shaping() or not has_arabic_script(text) or _PRESENTATION.search(text):
        return text
    return _visual(text)


def shape_all(texts: Iterable[Any], *, max_chars: int | None = None) -> list[str]:
    """:func:`shape` over many labels (tick labels, legend entries)."""
    return [shape(t, max_chars=max_chars) for t in texts]


@lru_cache(maxsize=1)
def arabic_font_family() -> tuple[str, ...]:
    """Installed font families for Persian/Arabic labels, best first, DejaVu Sans last.

    Given as a list to ``font.family``, matplotlib (>= 3.6) falls back glyph by glyph, so Latin
    letters and digits still render when the first family lacks them.
    """
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    families = tuple(name for name in _PREFERRED_FONTS if name in installed)
    return families if "DejaVu Sans" in families else (*families, "DejaVu Sans")


def use_arabic_font() -> None:
    """Make matplotlib's default font one with the Persian/Arabic glyphs.

    Call once at the top of a notebook: it changes ``matplotlib.rcParams`` (nothing changes at
    import time). Labels still go through :func:`shape`.
    """
    import matplotlib

    matplotlib.rcParams["font.family"] = list(arabic_font_family())
    matplotlib.rcParams["axes.unicode_minus"] = False


def barh(
    ax,
    labels: Sequence[Any],
    values: Sequence[float],
    *,
    title: str | None = None,
    xlabel: str | None = None,
    color: str = "#0072B2",
    max_chars: int | None = 40,
    annotate: bool = True,
):
    """Horizontal bar chart with shaped labels, the first label on top.

    Parameters
    ----------
    ax : matplotlib Axes
    labels, values : aligned sequences (e.g. tokens and their counts)
    title, xlabel : shaped too, so they may be Persian or Arabic
    color : bar colour (the report's Okabe–Ito blue by default)
    max_chars : cut long labels (verbatims) to this many characters
    annotate : write each value at the end of its bar

    Returns
    -------
    The Axes, for chaining.
    """
    labels = list(labels)
    values = [float(v) for v in values]
    if len(labels) != len(values):
        raise ValueError(f"barh: {len(labels)} labels but {len(values)} values")
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, values, color=color)
    ax.set_yticks(positions, shape_all(labels, max_chars=max_chars))
    if title:
        ax.set_title(shape(title))
    if xlabel:
        ax.set_xlabel(shape(xlabel))
    if annotate and values:
        top = max(abs(v) for v in values) or 1.0
        for y, v in zip(positions, values, strict=True):
            ax.text(v + top * 0.01, y, f"{v:g}", va="center", fontsize=8)
        ax.set_xlim(0, top * 1.15)
    ax.spines[["top", "right"]].set_visible(False)
    return ax
