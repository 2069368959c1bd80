"""Helpers at CrewAI's path ``crewai.knowledge.utils``."""
