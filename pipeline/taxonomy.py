"""The editable theme taxonomy: ids, display names, descriptions and seed keywords."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import DEFAULT_TAXONOMY, ConfigError, read_toml


@dataclass(frozen=True)
class Theme:
    id: str
    name_fa: str
    name_ar: str
    description: str
    seeds_fa: tuple[str, ...]
    seeds_ar: tuple[str, ...]

    def name(self, language: str) -> str:
        return self.name_ar if language == "ar" else self.name_fa

    @property
    def seeds(self) -> tuple[str, ...]:
        return self.seeds_fa + self.seeds_ar


@dataclass(frozen=True)
class Taxonomy:
    themes: tuple[Theme, ...]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.themes]

    def get(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def with_theme(self, theme: Theme) -> Taxonomy:
        """A copy with ``theme`` added (or replacing one with the same id)."""
        kept = tuple(t for t in self.themes if t.id != theme.id)
        return Taxonomy(kept + (theme,))

    def to_dict(self) -> dict:
        return {
            "themes": [
                {
                    "id": t.id,
                    "name_fa": t.name_fa,
                    "name_ar": t.name_ar,
                    "description": t.description,
                    "seeds_fa": list(t.seeds_fa),
                    "seeds_ar": list(t.seeds_ar),
                }
                for t in self.themes
            ]
        }

    @classmethod
    def from_dict(cls, data: dict) -> Taxonomy:
        return parse_taxonomy(data, "<dict>")


def parse_taxonomy(data: dict, where: str) -> Taxonomy:
    raw = data.get("theme") or data.get("themes")
    if not raw:
        raise ConfigError(f"{where}: no [[theme]] entries")
    themes = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        tid = item.get("id")
        if not tid or not isinstance(tid, str) or not tid.replace("_", "").isalnum():
            raise ConfigError(f"{where}: theme #{i + 1} needs an id of letters, digits and '_'")
        if tid in seen:
            raise ConfigError(f"{where}: duplicate theme id {tid!r}")
        seen.add(tid)
        seeds_fa = tuple(item.get("seeds_fa", ()))
        seeds_ar = tuple(item.get("seeds_ar", ()))
        if not seeds_fa and not seeds_ar:
            raise ConfigError(f"{where}: theme {tid!r} needs seed keywords (seeds_fa or seeds_ar)")
        themes.append(
            Theme(
                id=tid,
                name_fa=item.get("name_fa", tid),
                name_ar=item.get("name_ar", tid),
                description=item.get("description", ""),
                seeds_fa=seeds_fa,
                seeds_ar=seeds_ar,
            )
        )
    return Taxonomy(tuple(themes))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read the taxonomy TOML (the shipped default when ``path`` is None)."""
    path = Path(path) if path is not None else DEFAULT_TAXONOMY
    return parse_taxonomy(read_toml(path, "taxonomy"), str(path))
