"""CrewAI's ``crewai.types`` import path (``fastcrew.types.streaming``)."""
