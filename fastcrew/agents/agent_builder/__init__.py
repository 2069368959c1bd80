"""``crewai.agents.agent_builder``: see :mod:`fastcrew.agents.agent_builder.base_agent`."""
