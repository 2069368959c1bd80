"""``from crewai.agents.agent_builder.base_agent import BaseAgent``, as the ``crewai create``
templates write it (``agents: list[BaseAgent]``): in fastcrew every agent is an
:class:`~fastcrew.Agent`, so ``BaseAgent`` is that class."""

from ...runtime import Agent as BaseAgent

__all__ = ["BaseAgent"]
