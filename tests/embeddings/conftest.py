"""A fake OpenAI embeddings server per test, and no vector file outside the test's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew.embeddings import EmbeddingStore
from fastcrew.process_runtime import get_runtime

from .fake_server import fake_fixture  # noqa: F401


@pytest.fixture(autouse=True)
def storage_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The default store file goes under the test's tmp folder; the stores the test opened
    there are closed after it (their writer threads end)."""
    folder = tmp_path / "storage"
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(folder))
    yield folder
    for store in get_runtime().open_caches():
        if isinstance(store, EmbeddingStore) and store.path.startswith(str(tmp_path)):
            store.close()
