"""Shared fixtures. Recordings are read from ../shared/data (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of public reference recordings; skips the test, naming the folder, when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} absent (public reference recordings)")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private, empty data directory for one test (what --home / BIOFEEDBACK_HOME point at)."""
    d = tmp_path / "home"
    d.mkdir()
    return d
