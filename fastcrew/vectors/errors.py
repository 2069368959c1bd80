"""The vector store's errors."""

from __future__ import annotations

__all__ = ["DimensionMismatchError", "VectorsNotInstalledError"]

INSTALL_HINT = "pip install 'fastcrew[knowledge]'"


class VectorsNotInstalledError(ImportError):
    """LanceDB (or pyarrow, numpy) is missing: the vector store is an optional extra."""

    def __init__(self, missing: str) -> None:
        super().__init__(
            f"fastcrew's vector store needs {missing}, which is not installed: {INSTALL_HINT}",
            name=missing,
        )


class DimensionMismatchError(ValueError):
    """A vector's length is not the table's dimension."""

    def __init__(self, table: str, expected: int, got: int) -> None:
        super().__init__(f"table {table!r} holds {expected}-dimension vectors, got {got}")
        self.table = table
        self.expected = expected
        self.got = got
