"""Fixtures for the knowledge sources: the committed files, a project directory to run in."""

from __future__ import annotations

from pathlib import Path

import pytest

FILES = Path(__file__).parent / "files"


@pytest.fixture
def files() -> Path:
    """tests/knowledge/files: a text, CSV, JSON and two-page PDF file."""
    return FILES


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project with a ``knowledge/`` directory, as the working directory."""
    (tmp_path / "knowledge").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path
