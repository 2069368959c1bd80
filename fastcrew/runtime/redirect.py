"""Re-pointing a crew's agents at another endpoint (``--simulate``, the bench's simulator)."""

from __future__ import annotations

from ..llm import LLM
from .crew import Crew

__all__ = ["point_at"]


def point_at(crew: Crew, base_url: str) -> Crew:
    """Make every agent of ``crew`` whose LLM points elsewhere talk to ``base_url``.

    Model, temperature, max_tokens, timeout, rate limit and retry policy are kept; the key is
    not (the new endpoint gets none). Returns ``crew``, changed in place.
    """
    agents = {id(a): a for a in [*crew.agents, *(t.agent for t in crew.tasks if t.agent)]}
    for agent in agents.values():
        llm = agent.llm
        if isinstance(llm, LLM) and llm.base_url != base_url:
            agent.llm = LLM(
                llm.model,
                base_url=base_url,
                temperature=llm.temperature,
                max_tokens=llm.max_tokens,
                timeout=llm.timeout,
                rate_limit=llm.rate_limit,
                retry=llm.retry,
            )
    return crew
