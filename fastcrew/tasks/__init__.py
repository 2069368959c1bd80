"""CrewAI's ``crewai.tasks`` import paths (``conditional_task``, ``task_output``)."""
