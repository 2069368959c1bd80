"""A vector store for knowledge and memory, built for batches: LanceDB (CrewAI's choice for
memory) in ``$FASTCREW_STORAGE_DIR/<store>``, a table per collection, records keyed by a
content hash (adding one again adds nothing, so a resumed batch repeats no work), cosine
search with scope filters (an ANN index past a size), and writes from many processes at
once made safe by a file lock. LanceDB is imported at first use (the ``knowledge`` extra)."""

from .errors import DimensionMismatchError, VectorsNotInstalledError
from .lance import near_duplicates
from .paths import STORAGE_ENV, default_store_dir
from .records import Hit, VectorRecord
from .store import DEFAULT_INDEX_THRESHOLD, VectorStore
from .table import VectorTable
from .write_lock import WriteLock, WriteLockTimeout

__all__ = [
    "DEFAULT_INDEX_THRESHOLD",
    "STORAGE_ENV",
    "DimensionMismatchError",
    "Hit",
    "VectorRecord",
    "VectorStore",
    "VectorTable",
    "VectorsNotInstalledError",
    "WriteLock",
    "WriteLockTimeout",
    "default_store_dir",
    "near_duplicates",
]
