"""``Embedder`` against fastcrew's own simulator (``fastcrew.sim``'s ``/v1/embeddings``):
its rate limits are learned from its headers, and its vectors rank by shared words."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastcrew.embeddings import Embedder
from fastcrew.limits.shared import SharedBudget
from fastcrew.sim import serve


def cosine(a: object, b: object) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # type: ignore[call-overload]


async def test_the_simulator_embeds_once_and_teaches_its_limits(tmp_path: Path) -> None:
    texts = ["the cat sat on the mat", "a cat on a mat", "quantum chromodynamics"]
    async with serve(rpm=6000, tpm=600_000) as sim:
        spec = {"provider": "openai", "config": {"api_key": "k", "api_base": sim.base_url,
                                                 "dimensions": 64}}  # fmt: skip
        embedder = Embedder(spec, cache=tmp_path / "v.sqlite")
        vectors = await embedder.aembed([*texts, texts[0]])
        assert [len(v) for v in vectors] == [64] * 4
        assert vectors[3] is vectors[0]
        assert cosine(vectors[0], vectors[1]) > 0.5 > abs(cosine(vectors[0], vectors[2]))
        await Embedder(spec, cache=tmp_path / "v.sqlite").aembed(texts)  # all from the store
        stats = sim.stats()
        assert stats["embedding_requests"] == 1
        assert stats["embedding_inputs"] == 3
        source = embedder.limiter().source
        assert isinstance(source, SharedBudget)
        assert source.budget.requests is not None
        assert source.budget.requests.rate == pytest.approx(6000 / 60)
