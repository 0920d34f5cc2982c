"""Shared fixtures: paths to the shipped sample and to the real datasets in ../shared (optional)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return ROOT / "data" / "sample" / "feedback.csv"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets beside the repository; tests skip when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not available: {SHARED_DATA} is absent")
    return SHARED_DATA


def shared_file(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"real dataset not available: {path} is absent")
    return path
