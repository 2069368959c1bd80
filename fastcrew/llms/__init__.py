"""CrewAI's ``crewai.llms`` import paths: ``from fastcrew.llms.base_llm import BaseLLM``."""

from .base_llm import BaseLLM

__all__ = ["BaseLLM"]
