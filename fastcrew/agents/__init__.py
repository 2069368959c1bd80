"""CrewAI's ``crewai.agents`` import paths that project templates use (type hints only)."""
