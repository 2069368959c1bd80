"""A separate process that embeds texts through a shared vector file and prints its counts:
``python embed_child.py ORIGIN DB N`` (no flush, no close: the exit writes what is queued)."""

from __future__ import annotations

import json
import sys

from fastcrew.embeddings import Embedder


def main() -> None:
    origin, db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spec = {"provider": "openai", "config": {"api_key": "k", "api_base": f"{origin}/v1"}}
    embedder = Embedder(spec, cache=db)
    vectors = embedder.embed([f"row {i}" for i in range(count)])
    stats = embedder.stats
    print(json.dumps({"vectors": len(vectors), "requests": stats.requests,
                      "embedded": stats.embedded, "stored": stats.stored}))  # fmt: skip


if __name__ == "__main__":
    main()
