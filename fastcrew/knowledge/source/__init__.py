"""Knowledge sources, one module each at CrewAI's import paths."""
