"""Emoji and emoticons -> sentiment tokens (``EMONEG``, ``EMOPOS``, ``EMONEU``).

The map is data (``resources/emoji_sentiment.tsv``), read once on first use. Mapped
emoji become single space-separated tokens; every other pictographic symbol is dropped.
Emoticons are matched only when not glued to a letter or digit on the left, so URLs
(``http://``) and times (``12:30``) are never read as faces.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

__all__ = ["EMO_TOKENS", "emoji_map", "replace_emoji"]

EMO_TOKENS = ("EMONEG", "EMOPOS", "EMONEU")

#: Pictographic ranges; anything here that is not in the map is dropped.
_SYMBOL_CLASS = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2190-\u21ff\u2300-\u23ff\u24c2\u25a0-\u25ff"
    "\u2600-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)


@lru_cache(maxsize=1)
def emoji_map() -> dict[str, str]:
    """The emoji/emoticon -> token map, read once from the packaged TSV."""
    text = resources.files("pipeline.resources").joinpath("emoji_sentiment.tsv").read_text("utf-8")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, token = line.split("\t")[:2]
        if token not in EMO_TOKENS:
            raise ValueError(f"emoji_sentiment.tsv: unknown token {token!r} for {key!r}")
        out.setdefault(key, token)
    return out


@lru_cache(maxsize=1)
def _regex() -> tuple[re.Pattern[str], dict[str, str]]:
    """The emoticon regex (built from the map) and the lookup table."""
    mapping = emoji_map()
    faces = sorted((k for k in mapping if k.isascii()), key=len, reverse=True)
    glued, free = [], []
    for face in faces:
        pat = re.escape(face)
        if face[-1] in ")(|":
            pat += "+"  # :))) and :((( count once
        if face[0] in "()":  # reversed faces only when standing alone
            free.append(pat)
        else:
            glued.append(pat)
    face_re = (
        rf"(?<![a-z0-9/:;=<])(?:{'|'.join(glued)})(?![a-z0-9])"
        rf"|(?<!\S)(?:{'|'.join(free)})(?!\S)"
    )
    return re.compile(face_re), dict(mapping)


_SYMBOLS = re.compile(f"[{_SYMBOL_CLASS}]")
_FACE_CHARS = re.compile(r"[:;=][-']?[()dp|/\\]|[()]+:")


def _face(m: re.Match[str], lookup: dict[str, str]) -> str:
    s = m.group()
    token = lookup.get(s)
    if token is None:  # :))) -> :) and ((: -> (:
        token = lookup.get(s.rstrip(")(|") + s[-1]) or lookup.get(s[-2:]) or lookup.get(s[:2])
    return f" {token} " if token else " "


def _symbol(m: re.Match[str], lookup: dict[str, str]) -> str:
    token = lookup.get(m.group())
    return f" {token} " if token else " "


def replace_emoji(text: str) -> str:
    """Map emoji and emoticons to sentiment tokens and drop other symbols.

    Expects lower-cased text (emoticons are listed lower-case, e.g. ``:d``).

    Examples
    --------
    >>> replace_emoji("غذا سرد بود😡😡").split()
    ['غذا', 'سرد', 'بود', 'EMONEG', 'EMONEG']
    >>> replace_emoji("عالی بود :)))").split()
    ['عالی', 'بود', 'EMOPOS']
    """
    faces, lookup = _regex()
    if _FACE_CHARS.search(text):
        text = faces.sub(lambda m: _face(m, lookup), text)
    return _SYMBOLS.sub(lambda m: _symbol(m, lookup), text)
